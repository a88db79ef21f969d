#!/usr/bin/env bash
# Runs the preview1 part of the official WASI test suite (WebAssembly/wasi-testsuite) under a runtime.
#
#   scripts/wasi-testsuite.sh [-v] RUNTIME_CMD [SUITE_DIR]
#
# RUNTIME_CMD is the command that runs a program, split as a shell would: `target/release/weft run`,
# `wasmtime run`.
# SUITE_DIR (or $WASI_TESTSUITE) is a checkout of the suite's `prod/testsuite-base` branch, which holds the
# prebuilt programs under tests/{assemblyscript,c,rust}/testsuite/wasm32-wasip1/. Each test runs with a fresh
# copy of its root directory preopened as `/`, exactly the arguments and environment its JSON file gives, and
# passes when its exit code is the one the JSON expects, and so is its standard output where the JSON gives one.
# As with the suite's own runner, the standard streams are pipes and stdin stays open (and empty) while it runs.
# Prints a line per test, then `N passed, M failed`; exits non-zero when any failed. With -v, a failing test's
# stdout and stderr are shown.
#
# Nothing of the suite is part of this repository: this is a tool for whoever has a checkout.
set -euo pipefail
verbose=0
if [ "${1:-}" = "-v" ]; then
    verbose=1
    shift
fi
if [ $# -lt 1 ]; then
    echo "usage: $0 [-v] RUNTIME_CMD [SUITE_DIR]   (or set \$WASI_TESTSUITE)" >&2
    exit 2
fi
runtime="$1"
suite="${2:-${WASI_TESTSUITE:-}}"
if [ -z "$suite" ] || [ ! -d "$suite/tests" ]; then
    echo "error: no WASI test suite checkout: pass its folder or set \$WASI_TESTSUITE (got '${suite}')" >&2
    exit 2
fi

exec python3 - "$runtime" "$suite" "$verbose" <<'PY'
import json, os, shlex, shutil, subprocess, sys, tempfile
from pathlib import Path

runtime, suite, verbose = shlex.split(sys.argv[1]), Path(sys.argv[2]).resolve(), sys.argv[3] == "1"
# Tests run in a scratch folder: a relative path to the runtime must not depend on it.
if "/" in runtime[0]:
    runtime[0] = str(Path(runtime[0]).resolve())
if not shutil.which(runtime[0]):
    sys.exit(f"error: cannot run '{runtime[0]}'")
tests = sorted(suite.glob("tests/*/testsuite/wasm32-wasip1/*.wasm"))
if not tests:
    sys.exit(f"error: no wasm32-wasip1 tests under {suite}/tests/*/testsuite/")

def expectations(spec):
    """(args, env, root, exit_code, stdout) from a legacy or an operation-based specification."""
    if "operations" not in spec:
        return (spec.get("args", []), spec.get("env", {}), spec.get("root"),
                spec.get("exit_code", 0), spec.get("stdout"))
    args, env, root, code, out = [], {}, None, 0, None
    for op in spec["operations"]:
        kind = op.get("type")
        if kind == "run":
            args, env, root = op.get("args", []), op.get("env", {}), op.get("root")
        elif kind == "wait":
            code = op.get("exit_code", 0)
        elif kind == "read" and op.get("id", "stdout") == "stdout":
            out = (out or "") + op.get("payload", "")
        elif kind in ("connect", "send", "recv"):
            raise ValueError(f"needs the '{kind}' operation (sockets), which this runner does not drive")
    return args, env, root, code, out

passed = failed = 0
for wasm in tests:
    name = f"{wasm.parent.parent.parent.name}/{wasm.stem}"
    spec_file = wasm.with_suffix(".json")
    try:
        spec = json.loads(spec_file.read_text()) if spec_file.exists() else {}
        args, env, root, want_code, want_out = expectations(spec)
    except (ValueError, json.JSONDecodeError) as e:
        print(f"FAIL {name}: {e}")
        failed += 1
        continue
    with tempfile.TemporaryDirectory(prefix="wasi-testsuite-") as scratch:
        argv = list(runtime)
        for key, value in env.items():
            argv += ["--env", f"{key}={value}"]
        if root:
            fresh = Path(scratch) / "root"
            shutil.copytree(wasm.parent / root, fresh, symlinks=True)
            argv += ["--dir", f"{fresh}::/"]
        argv += [str(wasm), *args]
        stdin_read, stdin_write = os.pipe()
        try:
            run = subprocess.run(argv, capture_output=True, timeout=120, cwd=scratch, stdin=stdin_read)
            code, out, err = run.returncode, run.stdout.decode(errors="replace"), run.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired:
            code, out, err = "timeout", "", ""
        finally:
            os.close(stdin_read)
            os.close(stdin_write)
    problems = []
    if code != want_code:
        problems.append(f"exit code {code}, expected {want_code}")
    if want_out is not None and out != want_out:
        problems.append(f"stdout {out[:200]!r}, expected {want_out[:200]!r}")
    if problems:
        failed += 1
        print(f"FAIL {name}: {'; '.join(problems)}")
        if verbose and err:
            print("  stderr: " + err.strip().replace("\n", "\n          ")[:2000])
    else:
        passed += 1
        print(f"ok   {name}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
