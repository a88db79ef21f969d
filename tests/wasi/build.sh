#!/usr/bin/env bash
# Builds the WASI test programs (tests/wasi/*.c -> tests/wasi/*.wasm) with Zig's clang for wasm32-wasi.
# The .wasm files are committed so `cargo test` needs no compiler; CI re-runs this script and checks that the
# output is unchanged. Needs the pinned `ziglang` wheel from PyPI (installed if missing).
set -euo pipefail
cd "$(dirname "$0")"
ZIG_VERSION="0.17.1"
if ! python3 -c "import ziglang" 2>/dev/null || [ "$(python3 -m ziglang version)" != "$ZIG_VERSION" ]; then
    python3 -m pip install --quiet "ziglang==$ZIG_VERSION"
fi
for src in *.c; do
    python3 -m ziglang cc --target=wasm32-wasi -O2 -s -o "${src%.c}.wasm" "$src"
done
# The debugger tests' program, with DWARF, unoptimised and optimised; without the C library (and without Zig's
# default UBSan runtime), so that its debug information is only its own. Paths in the DWARF are relative to
# tests/debug, so the output does not depend on where the repository is.
cd ../debug
for level in 0 1; do
    python3 -m ziglang cc --target=wasm32-wasi -g -O"$level" -fno-sanitize=undefined -fdebug-prefix-map="$PWD"=. \
        -nostdlib -Wl,--no-entry -o "debuggee-O$level.wasm" debuggee.c
done
python3 -m ziglang cc --target=wasm32-wasi -g -O0 -fno-sanitize=undefined -fdebug-prefix-map="$PWD"=. \
    -nostdlib -Wl,--no-entry -o hotloop.wasm hotloop.c
# The Rust one, at -O1 (at -O0 the DWARF of the parts of `core` it uses is 600 KB), when the wasm32-wasip1 target
# is there or can be added; without it the committed build stays as it is.
if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || timeout 120 rustup target add wasm32-wasip1 2>/dev/null; then
    rustc --target wasm32-wasip1 --crate-type cdylib -g -C opt-level=1 -C panic=abort \
        --remap-path-prefix="$PWD"=. -o debuggee_rs-O1.wasm debuggee_rs.rs
else
    echo "no wasm32-wasip1 Rust target: tests/debug/debuggee_rs-O1.wasm left as committed"
fi
echo "built $(ls ../wasi/*.wasm ./*.wasm | wc -l) programs with zig $(python3 -m ziglang version)"
