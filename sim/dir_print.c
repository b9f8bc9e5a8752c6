/* sim_dir_fingerprint (dir_print.h): FNV-1a over every path, size and byte
 * under dir, in venv_list's order. */
#include <string.h>

#include "dir_print.h"

typedef struct dir_print {
    const venv *v;
    const char *dir;
    size_t dlen;
    uint64_t h;
} dir_print;

static void print_file(void *u, const char *path, bool is_dir, size_t size)
{
    dir_print *d = u;
    if (strncmp(path, d->dir, d->dlen) != 0 || path[d->dlen] != '/')
        return;
    size_t len = 0;
    const uint8_t *b = is_dir ? NULL : venv_file_data(d->v, path, &len);
    uint64_t h = d->h ^ (uint64_t)size;
    for (const char *c = path; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
    for (size_t i = 0; b && i < len; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    d->h = h * 0x100000001b3ull;
}

uint64_t sim_dir_fingerprint(const sim *s, const char *dir)
{
    dir_print d = {s->v, dir, strlen(dir), 0xcbf29ce484222325ull};
    venv_list(s->v, print_file, &d);
    return d.h;
}
