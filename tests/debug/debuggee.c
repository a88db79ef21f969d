/* The program the gdb tests debug (tests/cli.rs, `debugger_*`), built with -g at -O0 and -O1 by
 * tests/wasi/build.sh. It uses no C library, so that its debug information is all its own and small; it talks to
 * WASI directly. The tests find the lines to stop on by the `line:` comments, so keep those comments. */
typedef int int32_t;
typedef unsigned int uint32_t;

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) int32_t
fd_write(int32_t fd, const void *iovs, int32_t iovs_len, uint32_t *written);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("args_sizes_get"))) int32_t
args_sizes_get(uint32_t *count, uint32_t *size);
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit"))) void proc_exit(int32_t code);

struct point {
    int32_t x;
    int32_t y;
};

struct iovec {
    const char *base;
    uint32_t len;
};

int32_t table[8] = {1, 2, 3, 5, 8, 13, 21, 34};

/* A list in linear memory: pointers stored in memory stay wasm32 pointers (4 bytes) for the debugger. */
struct node {
    int32_t value;
    struct node *next;
    int32_t tag;
};

struct node nodes[3] = {{1, &nodes[1], 7}, {2, &nodes[2], 8}, {3, 0, 9}};

static void say(const char *text, uint32_t len) {
    struct iovec iov = {text, len};
    uint32_t written;
    fd_write(1, &iov, 1, &written);
}

__attribute__((noinline)) int32_t fib(int32_t n) {
    if (n < 2)
        return n;
    int32_t a = fib(n - 1);
    int32_t b = fib(n - 2);
    return a + b; /* line: fib-return */
}

__attribute__((noinline)) int32_t sum_points(const struct point *points, int32_t count) {
    int32_t total = 0;
    for (int32_t i = 0; i < count; i++) {
        total += points[i].x * points[i].y; /* line: sum-loop */
    }
    return total;
}

__attribute__((noinline)) int32_t walk(const struct node *head) {
    int32_t sum = 0;
    for (const struct node *n = head; n; n = n->next)
        sum += n->value; /* line: walk-loop */
    return sum;
}

__attribute__((noinline)) int32_t divide(int32_t a, int32_t b) {
    return a / b; /* line: divide */
}

__attribute__((export_name("_start"))) void start(void) {
    struct point points[3];
    for (int32_t i = 0; i < 3; i++) {
        points[i].x = 2 * i + 1;
        points[i].y = 2 * i + 2;
    }
    int32_t *cursor = &table[3];
    int32_t result = fib(10) + sum_points(points, 3) + *cursor + walk(&nodes[0]); /* line: main-call */
    char text[16] = {'r', 'e', 's', 'u', 'l', 't', ' ', '=', ' '};
    int32_t len = 9;
    for (int32_t scale = 1000; scale > 0; scale /= 10) {
        if (result >= scale || len > 9 || scale == 1)
            text[len++] = (char)('0' + result / scale % 10);
    }
    text[len++] = '\n';
    say(text, (uint32_t)len);
    /* With an argument, divide by zero: a trap whose backtrace names source lines. */
    uint32_t count, size;
    args_sizes_get(&count, &size);
    if (count > 1)
        proc_exit(divide(result, (int32_t)count - 2)); /* line: start-divide */
}
