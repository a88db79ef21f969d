// Files and directories: create, write, seek, read, stat, rename, readdir, unlink, mkdir, rmdir.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond) do { if (!(cond)) { printf("FAIL line %d: %s (errno %d: %s)\n", __LINE__, #cond, errno, strerror(errno)); return 1; } } while (0)

int main(void) {
    int fd = open("work/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "hello, weft", 11) == 11);
    CHECK(lseek(fd, 7, SEEK_SET) == 7);
    char buf[32] = {0};
    CHECK(read(fd, buf, sizeof buf) == 4);
    CHECK(strcmp(buf, "weft") == 0);
    CHECK(pwrite(fd, "W", 1, 7) == 1);
    CHECK(pread(fd, buf, 4, 7) == 4 && memcmp(buf, "Weft", 4) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode));
    CHECK(ftruncate(fd, 5) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
    CHECK(close(fd) == 0);

    CHECK(mkdir("work/sub", 0755) == 0);
    CHECK(rename("work/a.txt", "work/sub/b.txt") == 0);
    CHECK(stat("work/sub/b.txt", &st) == 0 && st.st_size == 5);
    CHECK(access("work/a.txt", F_OK) != 0 && errno == ENOENT);

    FILE *f = fopen("work/sub/c.txt", "w");
    CHECK(f != NULL);
    fprintf(f, "line\n");
    CHECK(fclose(f) == 0);

    int seen = 0;
    DIR *d = opendir("work/sub");
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "b.txt") == 0 || strcmp(e->d_name, "c.txt") == 0) seen++;
    }
    closedir(d);
    CHECK(seen == 2);

    CHECK(rmdir("work/sub") != 0 && errno == ENOTEMPTY);
    CHECK(unlink("work/sub/b.txt") == 0);
    CHECK(unlink("work/sub/c.txt") == 0);
    CHECK(rmdir("work/sub") == 0);
    CHECK(open("work/missing", O_RDONLY) < 0 && errno == ENOENT);
    printf("fs ok\n");
    return 0;
}
