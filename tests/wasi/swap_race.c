// Opens box/swap/f.txt over and over while the host swaps box/swap between a real directory and a symlink to a
// directory outside the sandbox. Prints how often each content was seen; the outside content must never appear.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 20000;
    int inside = 0, outside = 0, refused = 0;
    for (int i = 0; i < rounds; i++) {
        int fd = open("box/swap/f.txt", O_RDONLY);
        if (fd < 0) { refused++; continue; }
        char buf[16] = {0};
        read(fd, buf, sizeof buf - 1);
        close(fd);
        if (strncmp(buf, "outside", 7) == 0) outside++; else inside++;
    }
    printf("inside=%d outside=%d refused=%d\n", inside, outside, refused);
    return outside != 0;
}
