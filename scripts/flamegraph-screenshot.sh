#!/usr/bin/env bash
# Regenerates docs/images/flamegraph.png, the flame graph docs/profiling.md shows: the team's `qsort` benchmark
# (../shared/bench/src/qsort.c) built with names and DWARF, run under `weft run --profile=guest`, and the SVG it
# writes rendered by headless Chromium. Needs ../shared/bench, the ziglang wheel (installed if missing) and
# Chromium (scripts/ensure-chromium.sh). Usage: scripts/flamegraph-screenshot.sh [WEFT]
set -euo pipefail
cd "$(dirname "$0")/.."
weft="${1:-target/release/weft}"
[ -x "$weft" ] || cargo build --release -q -p weft-cli
python3 -c "import ziglang" 2>/dev/null || python3 -m pip install --quiet ziglang
scripts/ensure-chromium.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m ziglang cc --target=wasm32-wasi -O2 -g -o "$work/qsort.wasm" ../shared/bench/src/qsort.c
(cd "$work" && "$OLDPWD/$weft" run --no-cache --profile=guest,qsort.json qsort.wasm > /dev/null)
height="$(grep -o 'height="[0-9.]*"' "$work/qsort.svg" | head -1 | tr -dc '0-9.' | cut -d. -f1)"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$work/chromium" --hide-scrollbars \
    --window-size=1200,"$height" --screenshot="$work/flamegraph.png" "file://$work/qsort.svg" 2> /dev/null
# Palette quantisation keeps the committed PNG small.
python3 - "$work/flamegraph.png" docs/images/flamegraph.png <<'PY'
import sys
try:
    from PIL import Image
except ImportError:
    import subprocess
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "pillow"])
    from PIL import Image
Image.open(sys.argv[1]).convert("RGB").quantize(64).save(sys.argv[2], optimize=True)
PY
echo "wrote docs/images/flamegraph.png ($(stat -c %s docs/images/flamegraph.png) bytes)"
