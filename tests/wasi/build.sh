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
echo "built $(ls *.wasm | wc -l) programs with zig $(python3 -m ziglang version)"
