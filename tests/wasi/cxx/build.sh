#!/usr/bin/env bash
# Builds the C++ exception-handling test programs (tests/wasi/cxx/*.cpp -> *.wasm) for wasm32-wasi with
# Debian's clang 22, in the final ("exnref") form of Wasm exception handling: try_table, throw, throw_ref
# (no legacy try/catch/delegate/rethrow). The .wasm files are committed so `cargo test` needs no compiler.
#
# Needs (Debian 12 packages; this script installs nothing):
#   apt-get install clang-22 lld-22 libc++-22-dev-wasm32 libc++abi-22-dev-wasm32 libclang-rt-22-dev-wasm32 wasi-libc
# clang 19 cannot do it: LLVM 19 only emits the legacy instructions (try_table/throw_ref came in LLVM 20).
#
# Debian builds the wasm32 libc++/libc++abi with exceptions off and ships no wasm libunwind, and its wasm32
# compiler-rt has no __cpp_exception tag. So the exception runtime is compiled here from unmodified LLVM
# 22.1.8 sources fetched into llvm-eh-runtime/ (not committed) by update-llvm-eh-runtime.sh (libc++abi's cxa_exception.cpp and cxa_personality.cpp,
# libunwind's Unwind-wasm.c, compiler-rt's __cpp_exception.S; Apache-2.0 WITH LLVM-exception, see the
# LICENSE.TXT files there), taken from Debian's source package and checked by its SHA-256.
# They are linked before Debian's libc++.a, which supplies the rest of libc++abi (exception storage,
# type_info matching, terminate handlers). Debian's libc++ itself stays built without exceptions: its
# out-of-line throwing functions (std::vector::at, std::stoi...) abort instead of throwing, so the test
# programs throw only their own exceptions.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
for tool in clang-22 clang++-22 wasm-ld-22; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
for file in /usr/lib/llvm-22/include/wasm32-wasi/c++/v1/exception /usr/lib/llvm-22/lib/wasm32-wasi/libc++.a \
    /usr/lib/llvm-22/lib/clang/22/lib/wasi/libclang_rt.builtins-wasm32.a /usr/lib/wasm32-wasi/libc.a; do
    [ -e "$file" ] || missing+=("$file")
done
if [ ${#missing[@]} -ne 0 ]; then
    echo "missing: ${missing[*]}" >&2
    echo "install: apt-get install clang-22 lld-22 libc++-22-dev-wasm32 libc++abi-22-dev-wasm32" \
        "libclang-rt-22-dev-wasm32 wasi-libc" >&2
    exit 1
fi

RT=llvm-eh-runtime
# The LLVM sources are not kept in the repository; fetch them (once) from Debian's source package.
[ -d "$RT" ] || ./update-llvm-eh-runtime.sh
# --target=wasm32-wasi (not wasm32-wasip1) is what finds Debian's sysroot at /usr/{include,lib}/wasm32-wasi.
TARGET=(--target=wasm32-wasi -Wno-deprecated)
# -fwasm-exceptions: Wasm EH instead of aborting; -wasm-use-legacy-eh=false: the exnref instructions
# (clang 22 still emits the legacy ones by default).
EH=(-fwasm-exceptions -mllvm -wasm-use-legacy-eh=false)
CXXSTD=(-nostdinc++ -isystem /usr/lib/llvm-22/include/wasm32-wasi/c++/v1)

obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT

clang-22 "${TARGET[@]}" "${EH[@]}" -c "$RT/compiler-rt/lib/builtins/wasm/__cpp_exception.S" -o "$obj/cpp_exception.o"
clang-22 "${TARGET[@]}" "${EH[@]}" -O2 -DNDEBUG -std=c23 -D_LIBUNWIND_IS_NATIVE_ONLY -D_LIBUNWIND_HIDE_SYMBOLS \
    -I"$RT/libunwind/include" -I"$RT/libunwind/src" -c "$RT/libunwind/src/Unwind-wasm.c" -o "$obj/Unwind-wasm.o"
for src in cxa_exception cxa_personality; do
    clang++-22 "${TARGET[@]}" "${EH[@]}" "${CXXSTD[@]}" -O2 -DNDEBUG -std=c++23 \
        -D_LIBCXXABI_BUILDING_LIBRARY -D_LIBCPP_BUILDING_LIBRARY -DLIBCXXABI_USE_LLVM_UNWINDER \
        -I"$RT/libcxxabi/include" -I"$RT/libcxxabi/src" -I"$RT/libcxx/src" \
        -c "$RT/libcxxabi/src/$src.cpp" -o "$obj/$src.o"
done

for src in *.cpp; do
    clang++-22 "${TARGET[@]}" "${EH[@]}" "${CXXSTD[@]}" -O2 -std=c++17 -L/usr/lib/llvm-22/lib/wasm32-wasi \
        -o "${src%.cpp}.wasm" "$src" \
        "$obj/cxa_exception.o" "$obj/cxa_personality.o" "$obj/Unwind-wasm.o" "$obj/cpp_exception.o"
done
echo "built $(ls *.wasm | wc -l) programs with $(clang++-22 --version | head -1)"
