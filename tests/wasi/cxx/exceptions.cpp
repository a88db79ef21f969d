// C++ exceptions through several kinds of wasm frames, compiled to the final ("exnref") form of Wasm
// exception handling: try_table / throw / throw_ref (see build.sh). Every step prints one line with a
// deterministic result; the last line is "ok". Expected output: exceptions.expected.
#include <cstdio>
#include <exception>

// Counts destructor runs, to check that unwinding ran the cleanups of the frames it passed.
static int g_cleanups = 0;
struct Guard {
    ~Guard() { ++g_cleanups; }
};

// The custom exception class carrying an int, and a class derived from it.
struct CodeError {
    int code;
    explicit CodeError(int c) : code(c) {}
    virtual ~CodeError() {}
};
struct DerivedError : CodeError {
    explicit DerivedError(int c) : CodeError(c) {}
};
struct Unrelated {};

// Keeps values and pointers out of the optimizer's reach, so calls stay real calls.
template <class T> static T opaque(T v) {
    asm volatile("" : "+r"(v));
    return v;
}

// 1. Direct calls: main -> level1 -> level2 -> level3, which throws.
__attribute__((noinline)) static int level3(int x) {
    Guard g;
    if (opaque(x) > 0) throw CodeError(x * 10);
    return x;
}
__attribute__((noinline)) static int level2(int x) {
    Guard g;
    return level3(x + 1) + 1;
}
__attribute__((noinline)) static int level1(int x) {
    Guard g;
    return level2(x + 1) + 1;
}

// 2. A call through a function pointer (call_indirect).
__attribute__((noinline)) static int thrower_a(int x) {
    Guard g;
    throw CodeError(x + 100);
}
__attribute__((noinline)) static int thrower_b(int x) {
    Guard g;
    throw DerivedError(x + 200);
}
__attribute__((noinline)) static int no_throw(int x) {
    return x * 2;
}
static int (*const g_table[3])(int) = {no_throw, thrower_a, thrower_b};

// 3. A virtual call.
struct Shape {
    virtual int area(int scale) const = 0;
    virtual ~Shape() {}
};
struct Square : Shape {
    int side;
    explicit Square(int s) : side(s) {}
    int area(int scale) const override { return side * side * scale; }
};
struct Broken : Shape {
    int id;
    explicit Broken(int i) : id(i) {}
    int area(int scale) const override {
        Guard g;
        throw DerivedError(id * 1000 + scale);
    }
};
__attribute__((noinline)) static int total_area(const Shape* const* shapes, int n, int scale) {
    Guard g;
    int sum = 0;
    for (int i = 0; i < n; i++) sum += shapes[i]->area(scale);
    return sum;
}

// 4. A rethrow with `throw;` after modifying the caught object.
static const void* g_first_address = nullptr;
__attribute__((noinline)) static void rethrow_inner(int x) {
    try {
        level1(x);
    } catch (CodeError& e) {
        g_first_address = &e;
        e.code += 5;
        throw;  // the same object goes on
    }
}
__attribute__((noinline)) static void rethrow_middle(int x) {
    Guard g;
    try {
        rethrow_inner(x);
    } catch (Unrelated&) {  // does not match: the exception passes through this frame
        std::puts("unreachable: Unrelated caught");
    }
}

// 5. catch (...) of a non-class exception.
__attribute__((noinline)) static void throw_int(int v) {
    Guard g;
    throw v;
}

// 6. Typed catch: the clauses are tried in order, the first that matches wins.
__attribute__((noinline)) static const char* classify(int which) {
    try {
        switch (opaque(which)) {
            case 0: throw 42;
            case 1: throw CodeError(1);
            case 2: throw DerivedError(2);
            case 3: throw Unrelated();
            case 4: throw 2.5;
            default: return "none";
        }
    } catch (int v) {
        return v == 42 ? "int 42" : "int ?";
    } catch (DerivedError& e) {
        return e.code == 2 ? "DerivedError 2" : "DerivedError ?";
    } catch (CodeError& e) {
        return e.code == 1 ? "CodeError 1" : "CodeError ?";
    } catch (Unrelated&) {
        return "Unrelated";
    } catch (...) {
        return "other";
    }
}

// 7. A new exception thrown from inside a catch handler.
__attribute__((noinline)) static void translate(int x) {
    try {
        throw_int(x);
    } catch (int v) {
        throw CodeError(v + 1);
    }
}

int main() {
    // 1
    g_cleanups = 0;
    try {
        level1(1);
        std::puts("step 1 direct: no exception");
    } catch (const CodeError& e) {
        std::printf("step 1 direct: caught CodeError code=%d cleanups=%d\n", e.code, g_cleanups);
    }

    // 2
    g_cleanups = 0;
    int results = 0;
    for (int i = 0; i < 3; i++) {
        try {
            results += g_table[opaque(i)](i + 1);
        } catch (const DerivedError& e) {
            results += e.code;
            std::printf("step 2 indirect: slot %d threw DerivedError code=%d\n", i, e.code);
        } catch (const CodeError& e) {
            results += e.code;
            std::printf("step 2 indirect: slot %d threw CodeError code=%d\n", i, e.code);
        }
    }
    std::printf("step 2 indirect: sum=%d cleanups=%d\n", results, g_cleanups);

    // 3
    g_cleanups = 0;
    Square s1(2), s2(3);
    Broken b(7);
    const Shape* good[2] = {&s1, &s2};
    const Shape* bad[3] = {&s1, &b, &s2};
    std::printf("step 3 virtual: area=%d\n", total_area(opaque(good), 2, 3));
    try {
        total_area(opaque(bad), 3, 3);
        std::puts("step 3 virtual: no exception");
    } catch (const CodeError& e) {  // a DerivedError, caught by its base class
        std::printf("step 3 virtual: caught via base code=%d cleanups=%d\n", e.code, g_cleanups);
    }

    // 4
    g_cleanups = 0;
    try {
        rethrow_middle(4);
        std::puts("step 4 rethrow: no exception");
    } catch (CodeError& e) {
        std::printf("step 4 rethrow: code=%d same_object=%s cleanups=%d\n", e.code,
                    &e == g_first_address ? "yes" : "no", g_cleanups);
    }

    // 5
    g_cleanups = 0;
    try {
        throw_int(99);
    } catch (...) {
        std::printf("step 5 catch-all: caught, cleanups=%d, uncaught=%d\n", g_cleanups,
                    std::uncaught_exceptions());
    }

    // 6
    for (int i = 0; i <= 5; i++) std::printf("step 6 typed: %d -> %s\n", i, classify(i));

    // 7
    try {
        translate(10);
    } catch (const CodeError& e) {
        std::printf("step 7 throw-in-catch: code=%d\n", e.code);
    }

    // 8: many round trips (the exception objects must be freed each time).
    long sum = 0;
    for (int i = 0; i < 10000; i++) {
        try {
            g_table[1 + (i & 1)](i);
        } catch (const CodeError& e) {
            sum += e.code;
        }
    }
    std::printf("step 8 loop: sum=%ld\n", sum);

    std::puts("ok");
    return 0;
}
