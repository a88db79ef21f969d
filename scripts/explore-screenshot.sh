#!/usr/bin/env bash
# Regenerates docs/images/explore.png, the `weft explore` page docs/profiling.md shows: the team's `mandelbrot`
# benchmark (../shared/bench/src/mandelbrot.c) built with zig cc -O2, its explore page opened at the function `main`
# (the benchmark's loops are inlined into it) with the wasm instruction that has the most machine code (the epilogue aside) highlighted
# (`#f=N&o=HEX`), rendered by headless Chromium at 1000x600. Needs ../shared/bench, the ziglang wheel (installed if missing) and Chromium
# (scripts/ensure-chromium.sh). Usage: scripts/explore-screenshot.sh [WEFT]
set -euo pipefail
cd "$(dirname "$0")/.."
weft="${1:-target/debug/weft}"
[ -x "$weft" ] || cargo build -q -p weft-cli
python3 -c "import ziglang" 2>/dev/null || python3 -m pip install --quiet ziglang
scripts/ensure-chromium.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m ziglang cc --target=wasm32-wasi -O2 -o "$work/mandelbrot.wasm" ../shared/bench/src/mandelbrot.c
"$weft" explore "$work/mandelbrot.wasm" -o "$work/explore.html"
# The function to show and the instruction to highlight, read from the page's own data.
hash="$(python3 - "$work/explore.html" <<'PY'
import collections, json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
block = lambda id: json.loads(re.search(r'<script type="application/json" id="%s">(.*?)</script>' % id, page, re.S).group(1))
functions = block("index")["functions"]
k = next(k for k, f in enumerate(functions) if f[1] == "main")
f = block("f%d" % k)
# The function's closing parenthesis (its epilogue) aside.
o, _ = collections.Counter(o for o in f["aw"] if 0 <= o < max(f["wo"])).most_common(1)[0]
print("f=%d&o=%x" % (functions[k][0], f["b"] + o))
PY
)"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$work/chromium" --hide-scrollbars \
    --window-size=1000,600 --screenshot="$work/explore.png" "file://$work/explore.html#$hash" 2> /dev/null
# Palette quantisation keeps the committed PNG small.
python3 - "$work/explore.png" docs/images/explore.png <<'PY'
import sys
try:
    from PIL import Image
except ImportError:
    import subprocess
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "pillow"])
    from PIL import Image
Image.open(sys.argv[1]).convert("RGB").quantize(64).save(sys.argv[2], optimize=True)
PY
echo "wrote docs/images/explore.png ($(stat -c %s docs/images/explore.png) bytes, #$hash)"
