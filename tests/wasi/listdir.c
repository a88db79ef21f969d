// Lists the current directory, reads input.txt and writes output.txt with its length: the "new user" program.
#include <dirent.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    DIR *d = opendir(".");
    if (!d) { perror("opendir ."); return 1; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') printf("%s\n", e->d_name);
    }
    closedir(d);
    FILE *in = fopen("input.txt", "r");
    if (!in) { perror("input.txt"); return 1; }
    char buf[256] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    FILE *out = fopen("output.txt", "w");
    if (!out) { perror("output.txt"); return 1; }
    fprintf(out, "input.txt has %zu bytes: %s", n, buf);
    fclose(out);
    return 0;
}
