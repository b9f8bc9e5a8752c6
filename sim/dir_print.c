/* sim_dir_fingerprint (dir_print.h): a hash of every path, size and byte
 * under dir, in venv_list's order. */
#include <string.h>

#include "dir_print.h"

typedef struct dir_print {
    sim *s;
    const char *dir;
    size_t dlen;
    uint64_t h;
} dir_print;

/* Eight bytes per multiply, in four independent lanes so that the
 * multiplies overlap: queue files (1 MiB in a user's world) are hashed whole
 * before and after every twin and misconfigured start. Only compared with
 * itself. */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x100000001b3ull;
    return h ^ h >> 29;
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *b, size_t len)
{
    uint64_t lane[4] = {h, h ^ 1, h ^ 2, h ^ 3};
    size_t i = 0;
    for (; i + 32 <= len; i += 32)
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, b + i + 8 * (size_t)k, sizeof w);
            lane[k] = mix(lane[k], w);
        }
    h = mix(mix(mix(lane[0], lane[1]), lane[2]), lane[3]);
    for (; i < len; i++)
        h = mix(h, b[i]);
    return mix(h, len);
}

/* The hash of a file's bytes; one whose venv stamp is in the run's cache
 * is not read again (most files of a directory are unchanged between the
 * fingerprint before a refused start and the one after, and many between
 * one start and the next). */
static uint64_t file_hash(sim *s, const char *path, bool *file)
{
    size_t len = 0;
    uint64_t stamp;
    const uint8_t *b = venv_file_stamped(s->v, path, &len, &stamp);
    *file = b != NULL;
    if (!b)
        return 0;
    sim_print_cache *c = &s->print_cache[stamp % SIM_PRINT_CACHE];
    if (stamp && c->stamp == stamp)
        return c->hash;
    uint64_t h = hash_bytes(0xcbf29ce484222325ull, b, len);
    if (stamp)
        *c = (sim_print_cache){stamp, h};
    return h;
}

static void print_file(void *u, const char *path, bool is_dir, size_t size)
{
    dir_print *d = u;
    if (strncmp(path, d->dir, d->dlen) != 0 || path[d->dlen] != '/')
        return;
    bool file = false;
    uint64_t fh = is_dir ? 0 : file_hash(d->s, path, &file);
    uint64_t h = hash_bytes(d->h ^ (uint64_t)size, (const uint8_t *)path, strlen(path));
    d->h = file ? mix(mix(h, fh), 1) : mix(h, 0);
}

uint64_t sim_dir_fingerprint(sim *s, const char *dir)
{
    dir_print d = {s, dir, strlen(dir), 0xcbf29ce484222325ull};
    venv_list(s->v, print_file, &d);
    return d.h;
}
