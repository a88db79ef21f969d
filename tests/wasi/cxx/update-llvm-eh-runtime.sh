#!/usr/bin/env bash
# Refreshes llvm-eh-runtime/ (the C++ exception runtime sources that build.sh compiles) from Debian's
# source package of LLVM 22.1.8, checked by its SHA-256. The files are copied unmodified, keeping LLVM's layout.
# Downloads about 200 MB; not needed for a normal build.
set -euo pipefail
cd "$(dirname "$0")"
VERSION=22.1.8
TARBALL="llvm-toolchain-22_${VERSION}.orig.tar.xz"
SHA256=b49b9277aef97616320b2da259e1f8174c65b0ce2fbe2e8629644a97693402fe
URL="http://deb.debian.org/debian/pool/main/l/llvm-toolchain-22/$TARBALL"
FILES=(
    libcxx/LICENSE.TXT
    libcxx/src/include/atomic_support.h
    libcxxabi/LICENSE.TXT
    libcxxabi/include/__cxxabi_config.h
    libcxxabi/include/cxxabi.h
    libcxxabi/src/cxa_exception.cpp
    libcxxabi/src/cxa_exception.h
    libcxxabi/src/cxa_handlers.h
    libcxxabi/src/cxa_personality.cpp
    libcxxabi/src/fallback_malloc.h
    libcxxabi/src/private_typeinfo.h
    libunwind/LICENSE.TXT
    libunwind/include/__libunwind_config.h
    libunwind/include/unwind.h
    libunwind/include/unwind_itanium.h
    libunwind/src/Unwind-wasm.c
    libunwind/src/config.h
    compiler-rt/LICENSE.TXT
    compiler-rt/lib/builtins/wasm/__cpp_exception.S
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL -o "$tmp/$TARBALL" "$URL"
echo "$SHA256  $tmp/$TARBALL" | sha256sum -c --quiet
prefixed=()
for f in "${FILES[@]}"; do prefixed+=("llvm-toolchain-22_${VERSION}/$f"); done
tar -xJf "$tmp/$TARBALL" -C "$tmp" "${prefixed[@]}"
rm -rf llvm-eh-runtime
for f in "${FILES[@]}"; do
    mkdir -p "llvm-eh-runtime/$(dirname "$f")"
    cp "$tmp/llvm-toolchain-22_${VERSION}/$f" "llvm-eh-runtime/$f"
done
echo "llvm-eh-runtime/ refreshed from $TARBALL"
