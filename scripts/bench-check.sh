#!/usr/bin/env bash
# Runs every program of ../shared/bench under `weft run` with its quick inputs and checks that each prints exactly
# what the native build prints, twice: compiled (filling a fresh compilation cache), then loaded from that cache.
# Usage: scripts/bench-check.sh [path/to/weft]
set -euo pipefail
cd "$(dirname "$0")/.."
WEFT="${1:-target/release/weft}"
BENCH="../shared/bench"
if [ ! -d "$BENCH/out/wasm" ]; then
    echo "bench-check: $BENCH/out/wasm not found (the team's shared/ folder must sit beside the repository)" >&2
    exit 1
fi
# name and quick arguments, as in $BENCH/run.sh
read -r -d '' PROGRAMS <<'LIST' || true
fib 25
sieve 100000 2
nbody 50 16
mandelbrot 100 100
matmul 40 2
sha256 1 2
qsort 10000 2
hashtab 20000 5000
memops 1
interp 5000
tokenize 1 1
indirect 100000 0
LIST
passed=0 failed=0
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT
while read -r name args; do
    [ -n "$name" ] || continue
    # shellcheck disable=SC2086
    expected="$("$BENCH/out/native/$name" $args)"
    for run in compiled cached; do
        # shellcheck disable=SC2086
        actual="$("$WEFT" run --cache-dir "$cache" "$BENCH/out/wasm/$name.wasm" $args)"
        if [ "$expected" = "$actual" ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "bench-check: $name ($run) differs: native [$expected] weft [$actual]" >&2
        fi
    done
done <<< "$PROGRAMS"
entries=$(find "$cache" -name '*.cwasm' | wc -l)
[ "$entries" -eq 12 ] || { echo "bench-check: expected 12 cache entries, found $entries" >&2; failed=$((failed + 1)); }
echo "bench-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
