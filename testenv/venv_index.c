/* A hash index of a name array (venv's live or durable names): open
 * addressing over the entries' path hashes. The simulator looks names up
 * far more often than it adds or drops them, and the linear scan showed in
 * its profiles. Dropping or renaming a name shifts or changes entries, so
 * the index is then rebuilt whole at the next find; an appended name goes
 * in. Names are unique in an array, so a find returns what the scan in
 * order returned. */
#include "venv_internal.h"

#include <string.h>

struct venv_index {
    uint32_t *slot; /* an entry's index + 1; 0: empty */
    size_t cap;     /* a power of two, at least twice the entries */
    size_t n;       /* entries indexed (the array's length when built) */
    bool stale;
};

venv_index *venv_index_new(void)
{
    venv_index *ix = calloc(1, sizeof *ix);
    if (ix)
        ix->stale = true;
    return ix;
}

void venv_index_free(venv_index *ix)
{
    if (ix)
        free(ix->slot);
    free(ix);
}

void venv_index_stale(venv_index *ix) { ix->stale = true; }

static void put(venv_index *ix, uint32_t hash, size_t i)
{
    size_t at = hash & (ix->cap - 1);
    while (ix->slot[at])
        at = (at + 1) & (ix->cap - 1);
    ix->slot[at] = (uint32_t)i + 1u;
}

/* false when out of memory (the caller then scans) */
static bool rebuild(venv_index *ix, const dentry *arr, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    if (cap != ix->cap) {
        uint32_t *slot = realloc(ix->slot, cap * sizeof *slot);
        if (!slot)
            return false;
        ix->slot = slot;
        ix->cap = cap;
    }
    memset(ix->slot, 0, cap * sizeof *ix->slot);
    for (size_t i = 0; i < n; i++)
        put(ix, arr[i].hash, i);
    ix->n = n;
    ix->stale = false;
    return true;
}

void venv_index_added(venv_index *ix, const dentry *arr, size_t n)
{
    if (ix->stale || n != ix->n + 1 || 2 * n > ix->cap) {
        ix->stale = true; /* (or full) rebuilt at the next find */
        return;
    }
    put(ix, arr[n - 1].hash, n - 1);
    ix->n = n;
}

static bool named(const dentry *d, const char *s, size_t len, uint32_t hash)
{
    return d->hash == hash && d->len == len && memcmp(d->path, s, len) == 0;
}

dentry *venv_index_find(venv_index *ix, dentry *arr, size_t n, const char *s, size_t len, uint32_t hash)
{
    if ((ix->stale || ix->n != n) && !rebuild(ix, arr, n)) {
        for (size_t i = 0; i < n; i++)
            if (named(&arr[i], s, len, hash))
                return &arr[i];
        return NULL;
    }
    for (size_t at = hash & (ix->cap - 1); ix->slot[at]; at = (at + 1) & (ix->cap - 1))
        if (named(&arr[ix->slot[at] - 1], s, len, hash))
            return &arr[ix->slot[at] - 1];
    return NULL;
}
