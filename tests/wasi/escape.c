// Tries to leave the sandbox every way it can; prints how each attempt was refused.
// Run with the directory "box" preopened read-write and "ro" preopened read-only.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int escaped = 0;

static void attempt_open(const char *what, const char *path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd >= 0) {
        printf("ESCAPED %s: opened %s\n", what, path);
        escaped = 1;
        close(fd);
    } else {
        printf("refused %s: %s\n", what, strerror(errno));
    }
}

int main(void) {
    attempt_open("dotdot", "box/../secret.txt", O_RDONLY);
    attempt_open("dotdot-deep", "box/a/../../secret.txt", O_RDONLY);
    attempt_open("absolute", "/etc/passwd", O_RDONLY);
    attempt_open("symlink-out", "box/link-out", O_RDONLY);
    attempt_open("symlink-abs", "box/link-abs", O_RDONLY);
    attempt_open("symlink-chain", "box/link-chain", O_RDONLY);
    attempt_open("write-readonly", "ro/data.txt", O_WRONLY);
    attempt_open("create-readonly", "ro/new.txt", O_CREAT | O_WRONLY);
    if (symlink("../secret.txt", "box/made-link") == 0) {
        attempt_open("made-symlink", "box/made-link", O_RDONLY);
    }
    if (link("box/../secret.txt", "box/hard") == 0) {
        printf("ESCAPED hardlink\n");
        escaped = 1;
    } else {
        printf("refused hardlink-out: %s\n", strerror(errno));
    }
    if (rename("box/inside.txt", "box/../moved.txt") == 0) {
        printf("ESCAPED rename\n");
        escaped = 1;
    } else {
        printf("refused rename-out: %s\n", strerror(errno));
    }
    if (unlink("ro/data.txt") == 0) {
        printf("ESCAPED unlink-readonly\n");
        escaped = 1;
    } else {
        printf("refused unlink-readonly: %s\n", strerror(errno));
    }
    // Inside the sandbox, reading (and, in the read-only directory, reading only) still works.
    int fd = open("box/inside.txt", O_RDONLY);
    int fd2 = open("ro/data.txt", O_RDONLY);
    printf("inside readable: %s\n", fd >= 0 && fd2 >= 0 ? "yes" : "no");
    return escaped || fd < 0 || fd2 < 0;
}
