// Clocks move forward and random bytes are not all zero.
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec a, b, real;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (volatile int i = 0; i < 1000000; i++) {}
    clock_gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_REALTIME, &real);
    int forward = b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec);
    unsigned char bytes[64];
    memset(bytes, 0, sizeof bytes);
    int ok = getentropy(bytes, sizeof bytes) == 0;
    int nonzero = 0;
    for (size_t i = 0; i < sizeof bytes; i++) nonzero |= bytes[i];
    struct timespec res;
    clock_getres(CLOCK_MONOTONIC, &res);
    printf("monotonic forward=%d realtime_after_2020=%d random=%d resolution_ok=%d\n", forward,
           real.tv_sec > 1577836800, ok && nonzero != 0, res.tv_sec == 0 && res.tv_nsec > 0);
    struct timespec nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long slept_ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    printf("slept_at_least_20ms=%d\n", slept_ms >= 19);
    return 0;
}
