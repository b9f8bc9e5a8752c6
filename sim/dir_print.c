/* A node's directory as it was, and whether it still is (dir_print.h):
 * its names, sizes and venv stamps, and the bytes' hash of each file that
 * changes or leaves its name while the print is followed. */
#include <stdio.h>
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

/* A hash of every path, size and byte under dir, in venv_list's order. */
static uint64_t sim_dir_fingerprint(sim *s, const char *dir)
{
    dir_print d = {s, dir, strlen(dir), 0xcbf29ce484222325ull};
    venv_list(s->v, print_file, &d);
    return d.h;
}

/* ------------------------------------------------ before and after */

typedef struct dir_walk {
    sim *s;
    sim_dir_print *p;
    size_t dlen;
    uint32_t i;   /* names seen */
    bool differs; /* after: a name, size or byte is not as it was */
} dir_walk;

static bool under_dir(const char *path, const char *dir, size_t dlen)
{
    return strncmp(path, dir, dlen) == 0 && path[dlen] == '/';
}

static uint64_t path_hash(const char *path)
{
    return hash_bytes(0x84222325cbf29ce4ull, (const uint8_t *)path, strlen(path));
}

static void note_name(void *u, const char *path, bool is_dir, size_t size)
{
    dir_walk *w = u;
    sim_dir_print *p = w->p;
    if (!under_dir(path, p->dir, w->dlen))
        return;
    if (w->i++ >= SIM_DIR_PRINT_FILES) {
        p->whole = true;
        return;
    }
    sim_dir_print_entry *e = &p->e[p->n++];
    *e = (sim_dir_print_entry){.path = path_hash(path), .size = size, .is_dir = is_dir};
    if (is_dir)
        return;
    size_t len;
    (void)venv_file_stamped(w->s->v, path, &len, &e->stamp);
    if (e->stamp == 0) { /* mapped: its bytes may change under any pointer, taken now */
        bool file;
        e->hash = file_hash(w->s, path, &file);
        e->hashed = true;
    }
}

/* venv's stamp hook: a followed file's bytes as they were, before they change */
static void stamp_leaves(void *user, uint64_t stamp, const uint8_t *data, size_t size)
{
    sim_dir_print *p = user;
    for (uint32_t i = 0; i < p->n; i++) {
        sim_dir_print_entry *e = &p->e[i];
        if (!e->is_dir && !e->hashed && e->stamp == stamp) {
            e->hash = hash_bytes(0xcbf29ce484222325ull, data, size);
            e->hashed = true;
        }
    }
}

void sim_dir_print_begin(sim *s, const char *dir, sim_dir_print *p)
{
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    p->n = 0;
    p->whole = false;
    dir_walk w = {s, p, strlen(p->dir), 0, false};
    venv_list(s->v, note_name, &w);
    if (p->whole)
        p->before = sim_dir_fingerprint(s, p->dir);
    else
        venv_set_stamp_hook(s->v, stamp_leaves, p);
}

void sim_dir_print_end(sim *s, sim_dir_print *p)
{
    (void)p;
    venv_set_stamp_hook(s->v, NULL, NULL);
}

static void check_name(void *u, const char *path, bool is_dir, size_t size)
{
    dir_walk *w = u;
    sim_dir_print *p = w->p;
    if (w->differs || !under_dir(path, p->dir, w->dlen))
        return;
    if (w->i >= p->n) {
        w->differs = true;
        return;
    }
    const sim_dir_print_entry *e = &p->e[w->i++];
    if (e->path != path_hash(path) || e->is_dir != is_dir || e->size != size) {
        w->differs = true;
        return;
    }
    if (is_dir)
        return;
    size_t len;
    uint64_t stamp;
    (void)venv_file_stamped(w->s->v, path, &len, &stamp);
    if (stamp != 0 && stamp == e->stamp)
        return; /* the same stamp: the same bytes */
    bool file;
    /* changed or moved without the hook (cannot be): not as it was */
    w->differs = !e->hashed || file_hash(w->s, path, &file) != e->hash;
}

bool sim_dir_print_same(sim *s, sim_dir_print *p)
{
    if (p->whole)
        return sim_dir_fingerprint(s, p->dir) == p->before;
    dir_walk w = {s, p, strlen(p->dir), 0, false};
    venv_list(s->v, check_name, &w);
    return !w.differs && w.i == p->n;
}
