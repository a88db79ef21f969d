/* The guest profiler's program with DWARF (tests/all/guest_profiler.rs): nearly all of its time goes to the loop
 * in `hot`, whose source line (the loop header's, where samples are taken) the profile must name. Built with -g
 * at -O0 (at -O1 the unrolled loop's header has line 0) by tests/wasi/build.sh; no C library. The test finds the
 * line by its `line:` comment, so keep that comment. */
typedef unsigned int uint32_t;

__attribute__((noinline)) uint32_t hot(uint32_t n) {
    uint32_t acc = 1;
    for (uint32_t i = 0; i < n; i++) /* line: hot-loop */
        acc = acc * 2654435761u + (acc >> 13) + i;
    return acc;
}

__attribute__((noinline)) uint32_t warm(uint32_t n) {
    return hot(n / 10) ^ n;
}

__attribute__((export_name("run"))) uint32_t run(uint32_t n) {
    return hot(n) + warm(n);
}
