// Reads standard input with two 4-byte buffers in one call (readv), reports what that one call returned, then
// reads to the end. Fed "abcd" through a pipe that stays open, the first call must return those 4 bytes at once:
// waiting to fill the second buffer would stall a program that answers its input line by line. The CLI tests run
// it. Built by tests/wasi/build.sh.
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
    char first[4], second[4];
    struct iovec iov[2] = {{first, sizeof first}, {second, sizeof second}};
    ssize_t n = readv(0, iov, 2);
    printf("first read: %zd bytes: %.*s\n", n, n > 0 ? (int)(n < 4 ? n : 4) : 0, first);
    fflush(stdout);
    size_t rest = 0;
    char buf[256];
    ssize_t m;
    while ((m = read(0, buf, sizeof buf)) > 0) rest += (size_t)m;
    printf("then %zu more bytes\n", rest);
    return 0;
}
