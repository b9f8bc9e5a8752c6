/* The replay runner: runs a fuzz target's LLVMFuzzerTestOneInput over files,
 * without any fuzzer runtime. Arguments are files or directories (every
 * regular file directly inside, in name order). A path that does not exist
 * or cannot be opened, or no path at all, ends it with exit status 2 and the
 * reason on stderr (a replay of nothing must not pass). CTest runs it over
 * fuzz/corpus/<target>/ and fuzz/regressions/<target>/; a failed check
 * aborts with the message and the file being run is named first. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "escape.h"
#include "fuzz_common.h"

static int run_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -2;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                fclose(f);
                free(buf);
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    /* an exact-size copy, so ASan sees reads past the input's end */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    if (len)
        memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -2;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *names);
        if (!nn)
            break;
        names = nn;
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!names[n])
            break;
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc != -2 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            int r = run_file(names[i], count);
            if (r != 0)
                rc = r;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s FILE|DIR...\n"
            "\n"
            "Runs the fuzz target once on every FILE and on every file of every DIR (in\n"
            "name order), as the fuzzer would; a failed check aborts.\n"
            "\n"
            "  -h, --help  this text\n"
            "  --version   the program's version\n"
            "\n"
            "Exit status: 0 every input ran, 1 an input could not be read, 2 usage error\n"
            "(also: a path is missing, so a mistyped corpus cannot pass as 0 inputs).\n",
            prog);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {CLI_STD_LONG_OPTIONS, {0, 0, 0, 0}};
    /* '+': the first operand ends the options */
    for (int c; (c = getopt_long(argc, argv, "+" CLI_SHORT_OPTS, opts, NULL)) != -1;)
        return cli_std_option(c, argv[0], usage);
    if (optind == argc)
        return cli_usage_error(argv[0], "FILE|DIR is missing");
    /* Every path first: a missing one is a usage error, before anything runs. */
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            return cli_usage_error(argv[0], "%s: %s", CLI_ESC(argv[i]), strerror(errno));
    }
    size_t count = 0;
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        int r = stat(argv[i], &st) == 0 && S_ISREG(st.st_mode) ? run_file(argv[i], &count)
                                                                : run_dir(argv[i], &count);
        if (r == -2)
            return 2;
        rc |= r;
    }
    printf("replay: %zu inputs ran without a failed check\n", count);
    return rc ? 1 : 0;
}
