// Reports how the program sees its standard streams: whether each is a terminal, its file type, and whether it
// can seek. The CLI tests run it with stdin and stdout redirected from and to files, pipes, /dev/null and a
// pseudo-terminal, and compare with what those are on the host. Then it reads three bytes of stdin and reports
// the offset, which a regular file must advance by exactly that much (no read-ahead). Built by tests/wasi/build.sh.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *type_of(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return strerror(errno);
    if (S_ISREG(st.st_mode)) return "file";
    if (S_ISCHR(st.st_mode)) return "chardev";
    if (S_ISDIR(st.st_mode)) return "dir";
    if (S_ISSOCK(st.st_mode)) return "socket";
    return "other";  // a pipe: WASI has no file type for it
}

static void report(const char *name, int fd, char *line, size_t size) {
    off_t at = lseek(fd, 0, SEEK_CUR);
    char seek[64];
    if (at < 0)
        snprintf(seek, sizeof seek, "%s", errno == ESPIPE ? "ESPIPE" : strerror(errno));
    else
        snprintf(seek, sizeof seek, "%lld", (long long)at);
    snprintf(line, size, "%s: tty=%d type=%s seek=%s", name, isatty(fd), type_of(fd), seek);
}

int main(void) {
    // Everything is gathered before anything is printed: printing first would move a file stdout's offset.
    char in_line[128], out_line[128], err_line[128];
    report("stdin", 0, in_line, sizeof in_line);
    report("stdout", 1, out_line, sizeof out_line);
    report("stderr", 2, err_line, sizeof err_line);
    char buf[3];
    ssize_t n = read(0, buf, sizeof buf);
    off_t after = lseek(0, 0, SEEK_CUR);
    printf("%s\n%s\n%s\nread=%zd at=%lld\n", in_line, out_line, err_line, n, (long long)after);
    return 0;
}
