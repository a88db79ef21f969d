#!/usr/bin/env python3
"""Writes a large, deterministic C program (every function reachable through a table, so none is dropped) for measuring compile throughput and the compilation cache.

Usage: scripts/large-module.py N > large.c   (N functions; 20000 gives a wasm module of several MB with zig -O2)

The functions mix what real code has: loops over arrays, switches (br_table), calls between functions, integer and
floating-point arithmetic. `main` calls the first CALLS entries of the table (its first argument; 100000 by default, which wraps round the
table, so every function runs) and prints a checksum, so the module is a runnable WASI
program whose output can be compared between runtimes.
"""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rng = random.Random(42)
out = ["#include <stdio.h>", "#include <stdint.h>", "#include <stdlib.h>", "static uint32_t data[1024];", "static double fdata[256];"]
for i in range(n):
    out.append(f"uint32_t f{i}(uint32_t x, uint32_t y);")
for i in range(n):
    kind = i % 4
    body = []
    if kind == 0:
        a, b, c = rng.randrange(1, 1 << 16), rng.randrange(1, 31), rng.randrange(1, 1 << 16)
        body.append(f"for (uint32_t i = 0; i < (y & 63); i++) {{ x = (x * {a}u) ^ (x >> {b}); data[(x + i) & 1023] += x + {c}u; }}")
        body.append("return x;")
    elif kind == 1:
        cases = " ".join(f"case {k}: x = x * {rng.randrange(3, 999)}u + {rng.randrange(1, 99999)}u; break;" for k in range(12))
        body.append(f"switch (y % 13) {{ {cases} default: x ^= y; }}")
        body.append("return x + data[x & 1023];")
    elif kind == 2:
        callee = rng.randrange(0, i) if i else 0
        body.append(f"if (y > 3 && {i} > 0) x += f{callee}(x ^ {rng.randrange(1, 1 << 20)}u, y - 4);")
        body.append(f"x = (x << {rng.randrange(1, 31)}) | (x >> {rng.randrange(1, 31)});")
        body.append("return x;")
    else:
        body.append(f"double acc = {rng.random():.6f};")
        body.append(f"for (uint32_t i = 0; i < (y & 15); i++) {{ acc = acc * {rng.uniform(0.5, 1.5):.6f} + fdata[(x + i) & 255]; fdata[i & 255] = acc; }}")
        body.append("return x + (uint32_t)(int64_t)(acc * 1000.0);")
    out.append(f"__attribute__((noinline)) uint32_t f{i}(uint32_t x, uint32_t y) {{ {' '.join(body)} }}")
out.append("typedef uint32_t (*fn_t)(uint32_t, uint32_t);")
out.append("fn_t table[] = {" + ", ".join(f"f{i}" for i in range(n)) + "};")
out.append("int main(int argc, char **argv) { uint32_t calls = argc > 1 ? (uint32_t)strtoul(argv[1], 0, 10) : 100000u; uint32_t sum = 0; for (uint32_t i = 0; i < calls; i++) { sum += table[i % (sizeof table / sizeof table[0])](i, i * 7u); } printf(\"%u\\n\", sum); return 0; }")
print("\n".join(out))
