/* venv's stable storage: beside each file's live bytes (the page cache) a
 * durable copy (the disk), and beside the live names a durable namespace.
 * map_sync copies the pages it covers, file_sync the whole file (with its
 * size), dir_sync the names of one directory. venv_power_loss brings a host
 * back to its disk, where each thing written since its last sync may or may
 * not have reached it: per name (created, replaced, removed since its
 * directory's last sync) and per page (VENV_PAGE_SIZE) of every file, a
 * coin of the caller's seeded PRNG; the size as well; SHM segments (RAM)
 * are gone. See venv.h. */
#include "venv_internal.h"

#include <string.h>

/* ------------------------------------------------------- durable names */

static dentry *dlookup(const venv *v, const char *norm) { return venv_find(v->ddents, v->nddents, v->ddix, norm); }

static void ddrop(venv *v, dentry *d)
{
    inode *ino = d->ino;
    free(d->path);
    size_t i = (size_t)(d - v->ddents);
    memmove(&v->ddents[i], &v->ddents[i + 1], (v->nddents - i - 1) * sizeof *v->ddents);
    v->nddents--;
    venv_index_stale(v->ddix);
    venv_names_changed(v);
    ino->dlinks--;
    venv_inode_maybe_free(ino);
}

/* The durable name path points at ino (replacing what it pointed at). */
static int dset(venv *v, const char *path, inode *ino)
{
    dentry *d = dlookup(v, path);
    if (d) {
        if (d->ino != ino) {
            inode *old = d->ino;
            d->ino = ino;
            venv_names_changed(v);
            ino->dlinks++;
            old->dlinks--;
            venv_inode_maybe_free(old);
        }
        return 0;
    }
    char *p = strdup(path);
    if (!p || !venv_grow((void **)&v->ddents, &v->cap_ddents, v->nddents + 1, sizeof *v->ddents)) {
        free(p);
        return venv_fail(ENOMEM);
    }
    dentry *nd = &v->ddents[v->nddents++];
    venv_dentry_name(nd, p);
    nd->ino = ino;
    venv_index_added(v->ddix, v->ddents, v->nddents);
    venv_names_changed(v);
    ino->dlinks++;
    return 0;
}

/* Whether d is a direct child of the directory dir (normalized, dlen
 * bytes; root: venv_is_root(dir)): its parent is dir, or both are the
 * root. By the parent's length kept in d, then the bytes: dir_sync asks it
 * of every name (a malloc each, then the parent's length each, then a
 * strncmp each showed in profiles). */
static bool child_of(const dentry *d, const char *dir, size_t dlen, bool root)
{
    if (root)
        return venv_parent_is_root(d->path, d->plen);
    return d->plen == dlen && memcmp(d->path, dir, dlen) == 0;
}

const uint8_t *venv_disk_data(const venv *v, const char *path, size_t *len, bool *name_durable)
{
    static const uint8_t empty[1];
    char *norm = venv_normalize(path);
    if (!norm)
        return NULL;
    dentry *d = venv_lookup(v, norm);
    dentry *dd = d ? dlookup(v, norm) : NULL;
    bool named = dd && dd->ino == d->ino;
    /* and every directory above it: a power loss takes an unsynced one back
     * with everything in it */
    for (size_t k = venv_parent_len(norm); named && d && !venv_parent_is_root(norm, k); k = venv_parent_len(norm)) {
        norm[k] = '\0';
        dentry *pd = venv_lookup(v, norm), *pdd = dlookup(v, norm);
        named = pd && pdd && pdd->ino == pd->ino;
    }
    free(norm);
    if (!d || d->ino->is_dir)
        return NULL;
    *name_durable = named;
    *len = d->ino->dur_size;
    return d->ino->dur_size ? d->ino->dur : empty;
}

/* ------------------------------------------------------ durable bytes */

/* The durable copy becomes the file's size with [from, to) copied from the
 * live bytes (the rest as it was, zeros past the old durable size). */
static int dcopy(inode *ino, size_t from, size_t to)
{
    if (to > ino->size)
        to = ino->size;
    if (ino->dur_size != ino->size) {
        uint8_t *nd = ino->size ? malloc(ino->size) : NULL;
        if (ino->size && !nd)
            return venv_fail(ENOMEM);
        size_t keep = ino->dur_size < ino->size ? ino->dur_size : ino->size;
        if (keep)
            memcpy(nd, ino->dur, keep);
        /* zeros past the old durable size, but where [from, to) goes below
         * (zeroing a whole new copy first showed in profiles) */
        size_t a = from < keep ? keep : from < ino->size ? from : ino->size, b = to > a ? to : a;
        if (a > keep)
            memset(nd + keep, 0, a - keep);
        if (ino->size > b)
            memset(nd + b, 0, ino->size - b);
        free(ino->dur);
        ino->dur = nd;
        ino->dur_size = ino->size;
    }
    if (from < to)
        memcpy(ino->dur + from, ino->data + from, to - from);
    return 0;
}

int venv_disk_settle(venv *v, const char *norm)
{
    dentry *d = venv_lookup(v, norm);
    if (!d)
        return venv_fail(ENOENT);
    if (dcopy(d->ino, 0, d->ino->size) != 0)
        return -1;
    return dset(v, norm, d->ino);
}

void venv_sync_all(venv *v)
{
    for (size_t i = 0; i < v->ndents; i++)
        (void)venv_disk_settle(v, v->dents[i].path);
    for (size_t i = v->nddents; i-- > 0;) /* names removed since: gone from the disk too */
        if (!venv_lookup(v, v->ddents[i].path))
            ddrop(v, &v->ddents[i]);
}

/* msync(MS_SYNC): the pages (sync units) of [addr, addr + len) of the mapping that holds
 * addr reach the disk, and the file's size with them (as fdatasync does for
 * a range). */
static int v_map_sync(void *ctx, void *addr, size_t len)
{
    venv *v = ctx;
    if (!addr)
        return venv_fail(EINVAL);
    for (size_t i = 0; i < v->nmaps; i++) {
        mapping *m = &v->maps[i];
        uint8_t *a = addr, *base = m->addr;
        if (m->owner != v->owner || a < base || a >= base + m->size)
            continue;
        if (m->dead)
            return venv_fail(EIO); /* the process was killed (venv_kill) */
        size_t off = (size_t)(a - base);
        if (len > m->size - off)
            return venv_fail(ENOMEM);
        size_t unit = v->sync_unit;
        size_t from = off / unit * unit;
        size_t to = (off + len + unit - 1) / unit * unit;
        return dcopy(m->ino, from, to);
    }
    return venv_fail(ENOMEM); /* as msync on an address that is not mapped */
}

static int v_file_sync(void *ctx, int fd)
{
    handle *hd = venv_get_handle(ctx, fd, H_FILE);
    if (!hd)
        return -1;
    return dcopy(hd->ino, 0, hd->ino->size);
}

/* fsync of a directory: its entries (created, replaced, removed, renamed in
 * or away) reach the disk as they are now. */
static int v_dir_sync(void *ctx, const char *path)
{
    venv *v = ctx;
    if (!path)
        return venv_fail(EFAULT);
    char buf[VENV_NORM_BUF];
    char *dir = venv_normalize_in(path, buf, sizeof buf);
    if (!dir)
        return venv_fail(ENOMEM);
    dentry *d = venv_lookup(v, dir);
    size_t dlen = strlen(dir);
    bool root = venv_is_root(dir);
    int e = !root && !d ? ENOENT : !root && !d->ino->is_dir ? ENOTDIR : 0;
    /* no name changed anywhere since this directory's last sync: it has
     * nothing to sync (most dir syncs of a run; the scans below visit every name) */
    bool done = !e && !root && d->ino->synced_names == v->names_gen;
    for (size_t i = 0; !e && !done && i < v->ndents; i++)
        if (child_of(&v->dents[i], dir, dlen, root) && dset(v, v->dents[i].path, v->dents[i].ino) != 0)
            e = errno;
    for (size_t i = v->nddents; !e && !done && i-- > 0;)
        if (child_of(&v->ddents[i], dir, dlen, root) && !venv_lookup(v, v->ddents[i].path))
            ddrop(v, &v->ddents[i]);
    if (!e && !root)
        d->ino->synced_names = v->names_gen;
    if (dir != buf)
        free(dir);
    return e ? venv_fail(e) : 0;
}

/* The host's boot id: the caller's function (a simulator with hosts) or
 * one host whose boot venv_reboot counts. */
static int v_boot_id(void *ctx, uint8_t id[16])
{
    venv *v = ctx;
    memset(id, 0, 16);
    if (v->boot_fn) {
        v->boot_fn(v->boot_user, v->owner, id);
        return 0;
    }
    memcpy(id, "venvboot", 8);
    memcpy(id + 12, &v->boots, sizeof v->boots);
    return 0;
}

void venv_reboot(venv *v) { v->boots++; }

void venv_set_boot_fn(venv *v, venv_boot_fn fn, void *user)
{
    v->boot_fn = fn;
    v->boot_user = user;
}

void venv_disk_install(tcpshm_env *env)
{
    env->boot_id = v_boot_id;
    env->map_sync = v_map_sync;
    env->file_sync = v_file_sync;
    env->dir_sync = v_dir_sync;
}

void venv_disk_destroy(venv *v)
{
    while (v->nddents)
        ddrop(v, &v->ddents[v->nddents - 1]);
    free(v->ddents);
}

/* --------------------------------------------------------- power loss */

typedef struct power {
    venv *v;
    venv_on_host_fn on_host;
    venv_below_fn below;
    void *user;
    venv_power_stats *st;
} power;

static bool is_segment(const char *norm)
{
    size_t n = strlen(VENV_SHM_DIR);
    return strncmp(norm, VENV_SHM_DIR, n) == 0 && norm[n] == '/';
}

static bool hosted(const power *pw, const char *norm) { return pw->on_host(pw->user, norm); }

/* The names of the host: each one changed since its directory's last sync
 * keeps its new state or goes back to the disk's, by a coin; segments go. */
static void names_back(power *pw)
{
    venv *v = pw->v;
    for (size_t i = 0; i < v->ndents;) {
        dentry *d = &v->dents[i];
        if (!hosted(pw, d->path)) {
            i++;
            continue;
        }
        dentry *dd = dlookup(v, d->path);
        if (is_segment(d->path)) {
            pw->st->segments++;
            venv_drop_dentry(v, d);
        } else if (dd && dd->ino == d->ino) {
            i++;
        } else if (pw->below(pw->user, 2)) {
            pw->st->names_kept++;
            i++;
        } else if (dd) {
            pw->st->names_reverted++;
            inode *old = d->ino;
            venv_stamp_leaves(v, old);
            d->ino = dd->ino;
            venv_names_changed(v);
            d->ino->links++;
            old->links--;
            venv_inode_maybe_free(old);
            i++;
        } else {
            pw->st->names_reverted++;
            venv_drop_dentry(v, d);
        }
    }
    /* names on the disk that are gone now (removed or renamed away) */
    for (size_t i = 0; i < v->nddents; i++) {
        dentry *dd = &v->ddents[i];
        if (!hosted(pw, dd->path) || is_segment(dd->path) || venv_lookup(v, dd->path))
            continue;
        if (pw->below(pw->user, 2)) {
            pw->st->names_kept++;
            continue;
        }
        pw->st->names_reverted++;
        char *p = strdup(dd->path);
        if (!p || !venv_add_dentry(v, p, dd->ino))
            abort(); /* test code: out of memory here cannot be undone */
    }
    /* a name whose directory did not come back is gone with it */
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < v->ndents; i++) {
            if (venv_parent_ok(v, v->dents[i].path) != 0) {
                pw->st->names_reverted++;
                venv_drop_dentry(v, &v->dents[i]);
                again = true;
                break;
            }
        }
    }
}

/* Page [at, at + n) of the live bytes (zeros past the live size) or of the
 * disk's (zeros past the durable size), in tmp when it crosses a size. */
static const uint8_t *page_of(const uint8_t *b, size_t have, size_t at, size_t n, uint8_t *tmp)
{
    if (at + n <= have)
        return b + at;
    memset(tmp, 0, n);
    if (at < have)
        memcpy(tmp, b + at, have - at);
    return tmp;
}

/* A file's bytes: each page written since its last sync is the new or the
 * disk's (zeros past a size), by a coin; the size too when it changed.
 * Queue files are large (1 MiB by default) and mostly unchanged since their
 * last sync, so pages are compared in place and only a changed page is
 * copied (a reverted one into the live bytes, a kept one to the disk's);
 * the coins are drawn, one per changed page in file order, exactly as when
 * every page was copied. */
static void bytes_back(power *pw, inode *ino)
{
    /* one whose disk copy is its live bytes has nothing to take back and
     * draws no coin: said by one compare (most files of a host are synced) */
    if (ino->dur_size == ino->size && (ino->size == 0 || memcmp(ino->data, ino->dur, ino->size) == 0))
        return;
    venv_restamp(pw->v, ino); /* some of its bytes or its size may go back */
    size_t size = ino->size;
    if (ino->dur_size != ino->size && ino->maps == 0 && !pw->below(pw->user, 2)) {
        size = ino->dur_size;
        pw->st->sizes_reverted++;
    }
    /* the bytes after the power loss: the live buffer itself when the size
     * stays (a mapping's address stays), else a new one */
    uint8_t *out = ino->data;
    /* sizes that stay: the disk's copy differs from out after the loop only
     * in the pages kept, copied to it there; else dcopy makes it whole */
    bool in_place = size == ino->size && ino->dur_size == size;
    if (size != ino->size) {
        out = NULL;
        if (size && posix_memalign((void **)&out, 64, size) != 0)
            abort();
    }
    for (size_t at = 0; at < size; at += VENV_PAGE_SIZE) {
        size_t n = size - at < VENV_PAGE_SIZE ? size - at : VENV_PAGE_SIZE;
        uint8_t live_tmp[VENV_PAGE_SIZE], disk_tmp[VENV_PAGE_SIZE];
        const uint8_t *live = page_of(ino->data, ino->size, at, n, live_tmp);
        const uint8_t *disk = page_of(ino->dur, ino->dur_size, at, n, disk_tmp);
        bool same = memcmp(live, disk, n) == 0;
        bool keep = same || (!pw->v->pages_back && pw->below(pw->user, 2));
        if (!same && keep)
            pw->st->pages_new++;
        else if (!same)
            pw->st->pages_old++;
        const uint8_t *chosen = keep ? live : disk;
        if (chosen != out + at)
            memcpy(out + at, chosen, n);
        if (in_place && !same && keep)
            memcpy(ino->dur + at, live, n);
    }
    if (out != ino->data) {
        free(ino->data);
        ino->data = out;
        ino->size = size;
    }
    if (!in_place)
        (void)dcopy(ino, 0, ino->size); /* after the reboot the disk is what is there */
}

void venv_set_pages_back(venv *v, bool all) { v->pages_back = all; }

void venv_power_loss(venv *v, venv_on_host_fn on_host, venv_below_fn below, void *user, venv_power_stats *st)
{
    venv_power_stats local;
    power pw = {v, on_host, below, user, st ? st : &local};
    memset(pw.st, 0, sizeof *pw.st);
    names_back(&pw);
    /* each file of the host once (a name order: deterministic) */
    for (size_t i = 0; i < v->ndents; i++) {
        inode *ino = v->dents[i].ino;
        bool seen = false; /* by an earlier name: only an inode with more than one can be */
        for (size_t k = 0; ino->links > 1 && k < i && !seen; k++)
            seen = v->dents[k].ino == ino;
        if (!seen && !ino->is_dir && hosted(&pw, v->dents[i].path))
            bytes_back(&pw, ino);
    }
    /* the disk's names of the host are the names now */
    for (size_t i = v->nddents; i-- > 0;)
        if (hosted(&pw, v->ddents[i].path) && !venv_lookup(v, v->ddents[i].path))
            ddrop(v, &v->ddents[i]);
    for (size_t i = 0; i < v->ndents; i++)
        if (hosted(&pw, v->dents[i].path) && dset(v, v->dents[i].path, v->dents[i].ino) != 0)
            abort();
}
