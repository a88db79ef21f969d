#!/usr/bin/env bash
# Installs Weft's C library for use from C: PREFIX/lib/libweft.{so,a}, PREFIX/include/{wasm,weft,wasi}.h and
# PREFIX/lib/pkgconfig/weft.pc, so that `pkg-config --cflags --libs weft` (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
# for a prefix pkg-config does not search) gives the flags to build against it.
#
#   scripts/install-c-api.sh [PREFIX]        (default /usr/local; builds the release library first)
#   WEFT_PROFILE=debug scripts/install-c-api.sh PREFIX    (the debug library: quicker to build, for tests)
set -euo pipefail
prefix=${1:-/usr/local}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
profile=${WEFT_PROFILE:-release}
if [ "$profile" = release ]; then cargo build --release -q -p weft-c-api; else cargo build -q -p weft-c-api; fi
target=${CARGO_TARGET_DIR:-$root/target}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
install -m 644 "$target/$profile/libweft.a" "$prefix/lib/"
install -m 755 "$target/$profile/libweft.so" "$prefix/lib/"
install -m 644 crates/c-api/include/wasm.h crates/c-api/include/weft.h crates/c-api/include/wasi.h "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" crates/c-api/weft.pc.in > "$prefix/lib/pkgconfig/weft.pc"
echo "installed Weft's C library $version in $prefix"
