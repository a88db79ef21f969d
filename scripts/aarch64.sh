#!/usr/bin/env bash
# Weft on aarch64 Linux, from an x86-64 machine: cross-compiled with gcc's aarch64 toolchain and run under
# qemu's user-mode emulation.
#
#   scripts/aarch64.sh setup    installs qemu-user, the aarch64 gcc and libc (apt) and the Rust target (rustup)
#   scripts/aarch64.sh test     the test suite, built for aarch64 and run under qemu (see below for what)
#   scripts/aarch64.sh spec     only the spec suite part of it
#   scripts/aarch64.sh cross    artifacts across architectures: `weft compile --target` on x86-64 run by the
#                               aarch64 `weft run`, and the reverse; each refuses the other's artifact clearly
#   scripts/aarch64.sh bench    ../shared/bench's programs (quick sizes) under the aarch64 `weft run`, checked
#                               against their native output
#
# `test` runs every integration test of every crate except two, whose programs are x86-64 executables (the C API's
# tests compile and run C programs with the host's cc; the CLI tests spawn `wasmtime` from PyPI for comparison); the
# spec suite runs in its default code mode and in lazy mode (whose stubs and entry routine are per architecture); the
# bounds-checked, instrumented and tiered modes are skipped: they change what the translator emits, which is the
# same on both architectures, and would double the time under emulation (tiered code is tested on aarch64 by the
# `lazy` integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $SYSROOT"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
# Tests that start a copy of themselves start it through the emulator.
export WEFT_TEST_RUNNER="$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"

setup() {
    if ! command -v qemu-aarch64 > /dev/null || ! command -v aarch64-linux-gnu-gcc > /dev/null; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    fi
    rustup target add "$TARGET" > /dev/null
}

# A `weft` for aarch64 that this machine can start: qemu running the aarch64 build.
aarch64_weft() {
    cargo build -q --release --target "$TARGET" -p weft-cli
    local wrapper
    wrapper="$(mktemp -d)/weft-aarch64"
    printf '#!/bin/sh\nexec qemu-aarch64 -L %s %s "$@"\n' "$SYSROOT" "$PWD/target/$TARGET/release/weft" > "$wrapper"
    chmod +x "$wrapper"
    echo "$wrapper"
}

# The spec suite, one .wast file per process. qemu 7.2 keeps its bookkeeping for every guest page a mapping ever
# covered, so each linear memory's reservation (gigabytes of address space, almost none of it touched) costs the
# emulator tens of MiB that it never returns; a single process running every file reaches the machine's memory.
spec_files() {
    local spec
    spec="$(cargo test --target "$TARGET" -p weft --test spec --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p')"
    [ -x "$spec" ] || { echo "cannot find the spec test binary" >&2; exit 1; }
    local list failed
    list="$(qemu-aarch64 -L "$SYSROOT" "$spec" --list --skip "[bounds-checked]" --skip "[instrumented]" --skip "[tiered]" |
        sed -n 's/: test$//p')"
    failed="$(mktemp)"
    echo "spec suite: $(echo "$list" | wc -l) files, one process each"
    echo "$list" | xargs -P 2 -d '\n' -I{} sh -c \
        'qemu-aarch64 -L "$1" "$2" --exact "$3" -q > /dev/null 2>&1 || echo "$3" >> "$4"' _ "$SYSROOT" "$spec" {} "$failed"
    if [ -s "$failed" ]; then
        echo "spec files failing on aarch64:" >&2
        cat "$failed" >&2
        exit 1
    fi
    echo "spec suite on aarch64: ok"
}

case "${1:-}" in
setup) setup ;;
test)
    setup
    cargo test --target "$TARGET" --workspace --exclude weft-c-api --exclude weft-cli -- \
        --skip "[bounds-checked]" --skip "[instrumented]" --skip "[tiered]" --skip a_million_traps_leave_memory_flat \
        --skip .wast
    # It measures the whole process's resident memory, which under qemu includes the emulator's and, with other
    # tests running beside it, theirs: alone, it measures Weft's.
    cargo test --target "$TARGET" -p weft --test all -- --exact backtraces::a_million_traps_leave_memory_flat
    spec_files
    ;;
spec)
    setup
    spec_files
    ;;
cross)
    setup
    cargo build -q --release -p weft-cli
    weft_arm="$(aarch64_weft)"
    dir="$(mktemp -d)"
    trap 'rm -rf "$dir"' EXIT
    target/release/weft compile --target "$TARGET" examples/hello.wat -o "$dir/arm.cwasm"
    test "$("$weft_arm" run --allow-precompiled "$dir/arm.cwasm")" = "Hello from Weft, wasm!"
    "$weft_arm" compile --target x86_64-unknown-linux-gnu examples/hello.wat -o "$dir/x86.cwasm"
    test "$(target/release/weft run --allow-precompiled "$dir/x86.cwasm")" = "Hello from Weft, wasm!"
    if target/release/weft run --allow-precompiled "$dir/arm.cwasm" 2> "$dir/err"; then
        echo "an aarch64 artifact ran on x86-64" >&2
        exit 1
    fi
    grep -q "aarch64" "$dir/err" || { cat "$dir/err" >&2; exit 1; }
    echo "cross-compiled artifacts: ok ($(head -1 "$dir/err"))"
    ;;
bench)
    setup
    scripts/bench-check.sh "$(aarch64_weft)"
    ;;
*)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
