#!/usr/bin/env bash
# Builds and runs Weft's cargo-fuzz targets (fuzz/), installing cargo-fuzz from crates.io when it is missing.
#
#   scripts/fuzz.sh build                 build all five targets
#   scripts/fuzz.sh run TARGET [SECONDS]  fuzz TARGET (differential, self_differential, compile, api, wat) for SECONDS (default 60)
#   scripts/fuzz.sh all [SECONDS]         each target in turn, SECONDS each
#   scripts/fuzz.sh smoke [RUNS]          build, then run each target on RUNS inputs (default 300): what CI does
#
# Corpora grow in fuzz/corpus/TARGET (not committed); crashes land in fuzz/artifacts/TARGET, and reproduce with
# `cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-...`. Extra arguments after SECONDS go to libFuzzer.
# The machine's stable toolchain is used: RUSTC_BOOTSTRAP lets it take the sanitizer flags cargo-fuzz passes.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
if ! rustc -V | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
# Weft's trap handler must see the faults of JIT code before the sanitizer does (it forwards the others).
export ASAN_OPTIONS="${ASAN_OPTIONS:-allow_user_segv_handler=1:detect_leaks=0}"
# Debug assertions stay on (-a), the code is optimised (-O, the default of cargo fuzz build --release).
# FUZZ_SANITIZER=none builds without AddressSanitizer (three times the inputs per second for the compile-bound
# differential and compile targets, which mostly run safe code) into a target directory of its own.
FUZZ_FLAGS=(--release --debug-assertions)
if [ "${FUZZ_SANITIZER:-address}" != address ]; then
    FUZZ_FLAGS+=(--sanitizer "$FUZZ_SANITIZER" --target-dir "fuzz/target-$FUZZ_SANITIZER")
fi
TARGETS=(differential self_differential compile api wat)

seed_corpus() {
    local target=$1 dir=fuzz/corpus/$1
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || return 0
    if [ "$target" = wat ]; then
        cp examples/*.wat tests/misc/*.wast "$dir"/
    else
        # Random inputs of 256 B to 8 KiB, so that wasm-smith makes modules of some size from the start (libFuzzer
        # otherwise grows its inputs from 4 bytes, and a few bytes make only empty modules).
        for i in $(seq 1 32); do head -c $((256 * i)) /dev/urandom > "$dir/seed-$i"; done
    fi
}

run_target() {
    local target=$1 seconds=$2
    shift 2
    seed_corpus "$target"
    local extra=()
    [ "$target" = wat ] && extra+=(-dict=fuzz/wat.dict)
    # Inputs up to 16 KiB, one hang (10 s) or crash stops the run; the memory limit stays the default 2 GiB.
    cargo fuzz run "${FUZZ_FLAGS[@]}" "$target" -- -max_total_time="$seconds" -max_len=16384 -timeout=10 \
        -print_final_stats=1 "${extra[@]}" "$@"
}

case "${1:-}" in
    build) cargo fuzz build "${FUZZ_FLAGS[@]}" ;;
    run) target=${2:?target}; shift 2; run_target "$target" "${1:-60}" "${@:2}" ;;
    all)
        seconds=${2:-60}
        for t in "${TARGETS[@]}"; do run_target "$t" "$seconds"; done ;;
    smoke)
        runs=${2:-300}
        cargo fuzz build "${FUZZ_FLAGS[@]}"
        # -max_total_time stops a run early should an input be slow; -runs bounds it otherwise.
        for t in "${TARGETS[@]}"; do run_target "$t" 120 -runs="$runs"; done ;;
    *) sed -n '2,11p' "$0"; exit 2 ;;
esac
