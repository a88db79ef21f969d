#!/usr/bin/env bash
# Records a wasm program under `perf` with each of weft's profiling agents and checks that `perf report` names the
# wasm function where the time went. Needs perf (Debian: linux-perf) and a kernel that lets it sample (the
# software cpu-clock event is enough). Usage: scripts/perf-check.sh [path/to/weft]   (default target/release/weft)
set -euo pipefail
weft="$(realpath "${1:-target/release/weft}")"
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)"; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > hot.wat <<'WAT'
(module $hot
  (func $spin (export "spin") (param $n i32) (result i32)
    (local $acc i32)
    (loop $again
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc)))
WAT
iterations=400000000

perf record -q -k mono -e cpu-clock -o jit.data "$weft" run --no-cache --profile=jitdump --invoke spin hot.wat "$iterations" >/dev/null
perf inject --jit -i jit.data -o jit.injected.data
jit_report="$(perf report -i jit.injected.data --stdio --sort sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -3)"
echo "jitdump, perf inject --jit, perf report:"; echo "$jit_report"
head -1 <<<"$jit_report" | grep -q 'hot::spin' || { echo "FAIL: hot::spin is not the top symbol"; exit 1; }

perf record -q -e cpu-clock -o map.data "$weft" run --no-cache --profile=perfmap --invoke spin hot.wat "$iterations" >/dev/null
map_report="$(perf report -i map.data --stdio --sort sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -3)"
echo "perfmap, perf report:"; echo "$map_report"
head -1 <<<"$map_report" | grep -q 'hot::spin' || { echo "FAIL: hot::spin is not the top symbol"; exit 1; }
echo "perf shows wasm function names: ok"
