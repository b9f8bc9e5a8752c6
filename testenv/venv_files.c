/* venv's files: paths, directories, inodes, file handles, mappings, and the
 * direct file access of venv.h (venv_file_write, venv_file_data, ...). */
#include "venv_internal.h"

#include <string.h>

/* Collapses repeated slashes, drops "." components ("./a/./b" is "a/b";
 * "." alone stays) and a trailing slash ("/" stays). */
/* path normalized into out (at least strlen(path) + 1 bytes) */
static char *normalize_to(char *out, const char *path, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '/' && k > 0 && out[k - 1] == '/')
            continue;
        /* a "." component names the directory it is in, as the OS resolves it */
        bool at_start = k == 0 || out[k - 1] == '/';
        if (path[i] == '.' && at_start && (path[i + 1] == '/' || path[i + 1] == '\0') && n > 1) {
            while (path[i + 1] == '/')
                i++;
            continue;
        }
        out[k++] = path[i];
    }
    if (k > 1 && out[k - 1] == '/')
        k--;
    out[k] = '\0';
    return out;
}

char *venv_normalize(const char *path)
{
    size_t n = strlen(path);
    char *out = malloc(n + 1);
    return out ? normalize_to(out, path, n) : NULL;
}

char *venv_normalize_in(const char *path, char *buf, size_t size)
{
    size_t n = strlen(path);
    return n < size ? normalize_to(buf, path, n) : venv_normalize(path);
}

bool venv_is_root(const char *p) { return p[0] == '\0' || strcmp(p, "/") == 0 || strcmp(p, ".") == 0; }

size_t venv_parent_len(const char *p)
{
    const char *slash = strrchr(p, '/');
    return !slash ? 0 : slash == p ? 1 : (size_t)(slash - p);
}

bool venv_parent_is_root(const char *p, size_t plen)
{
    return plen == 0 || (plen == 1 && (p[0] == '/' || p[0] == '.')); /* "", "/" or "." */
}

/* A hash of the first len bytes, eight at a time (only the index and a
 * lookup's first compare use it; byte-serial FNV-1a showed in profiles). */
static uint32_t hash_len(const char *s, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    for (unsigned k = 0; i < len; i++, k += 8) /* the last 0-7 bytes (a memcpy call cost more) */
        w |= (uint64_t)(unsigned char)s[i] << k;
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return (uint32_t)h;
}

uint32_t venv_path_hash(const char *norm) { return hash_len(norm, strlen(norm)); }

void venv_dentry_name(dentry *d, char *norm)
{
    d->path = norm;
    d->len = strlen(norm);
    d->hash = hash_len(norm, d->len);
    d->plen = venv_parent_len(norm);
}

/* The entry named by the first len bytes of norm. */
static dentry *find_len(dentry *arr, size_t n, venv_index *ix, const char *norm, size_t len)
{
    return venv_index_find(ix, arr, n, norm, len, hash_len(norm, len));
}

dentry *venv_find(dentry *arr, size_t n, venv_index *ix, const char *norm)
{
    return find_len(arr, n, ix, norm, strlen(norm));
}

dentry *venv_lookup(const venv *v, const char *norm) { return venv_find(v->dents, v->ndents, v->dix, norm); }

int venv_parent_ok(const venv *v, const char *norm)
{
    size_t plen = venv_parent_len(norm);
    if (venv_parent_is_root(norm, plen))
        return 0;
    dentry *d = find_len(v->dents, v->ndents, v->dix, norm, plen);
    return !d ? ENOENT : !d->ino->is_dir ? ENOTDIR : 0;
}

void venv_inode_maybe_free(inode *ino)
{
    if (ino->links == 0 && ino->dlinks == 0 && ino->opens == 0 && ino->maps == 0) {
        free(ino->data);
        free(ino->dur);
        free(ino);
    }
}

/* Adds a name; takes ownership of norm. */
dentry *venv_add_dentry(venv *v, char *norm, inode *ino)
{
    if (!venv_grow((void **)&v->dents, &v->cap_dents, v->ndents + 1, sizeof *v->dents))
        return NULL;
    dentry *d = &v->dents[v->ndents++];
    venv_dentry_name(d, norm);
    d->ino = ino;
    ino->links++;
    venv_index_added(v->dix, v->dents, v->ndents);
    venv_names_changed(v);
    return d;
}

void venv_drop_dentry(venv *v, dentry *d)
{
    inode *ino = d->ino;
    venv_stamp_leaves(v, ino);
    free(d->path);
    size_t i = (size_t)(d - v->dents);
    memmove(&v->dents[i], &v->dents[i + 1], (v->ndents - i - 1) * sizeof *v->dents);
    v->ndents--;
    venv_index_stale(v->dix);
    venv_names_changed(v);
    ino->links--;
    venv_inode_maybe_free(ino);
}

static inode *new_inode(bool is_dir, unsigned mode)
{
    inode *ino = calloc(1, sizeof *ino);
    if (ino) {
        ino->is_dir = is_dir;
        ino->mode = mode & 07777u;
    }
    return ino;
}

/* A buffer of size bytes, 64-byte aligned (as the start of a mapping is),
 * not zeroed: its callers write every byte (zeroing it first too showed in
 * profiles: queue files are created and resized at every login). */
static uint8_t *alloc_data(size_t size)
{
    void *p = NULL;
    if (size == 0)
        return NULL;
    if (posix_memalign(&p, 64, size) != 0)
        return NULL;
    return p;
}

/* ---------------------------------------------------------- file calls */

static int v_file_open(void *ctx, const char *path, int create, unsigned mode)
{
    venv *v = ctx;
    if (!path)
        return venv_fail(EFAULT);
    char *norm = venv_normalize(path);
    if (!norm)
        return venv_fail(ENOMEM);
    dentry *d = venv_lookup(v, norm);
    int e = 0;
    if (create)
        e = d || venv_is_root(norm) ? EEXIST : venv_parent_ok(v, norm);
    else if (!d)
        e = ENOENT;
    else if (d->ino->is_dir)
        e = EISDIR;
    int fd = e ? -1 : venv_new_handle(v, H_FILE);
    if (fd < 0) {
        e = e ? e : errno;
        free(norm);
        return venv_fail(e);
    }
    inode *ino;
    if (create) {
        ino = new_inode(false, mode);
        if (!ino || !venv_add_dentry(v, norm, ino)) {
            free(ino);
            free(norm);
            venv_free_handle(&v->h[fd]);
            return venv_fail(ENOMEM);
        }
        venv_restamp(v, ino);
    } else {
        free(norm);
        ino = d->ino;
    }
    v->h[fd].ino = ino;
    ino->opens++;
    return fd;
}

static int v_file_size(void *ctx, int fd, uint64_t *size)
{
    handle *hd = venv_get_handle(ctx, fd, H_FILE);
    if (!hd)
        return -1;
    *size = hd->ino->size;
    return 0;
}

static int v_file_resize(void *ctx, int fd, uint64_t size)
{
    venv *v = ctx;
    handle *hd = venv_get_handle(v, fd, H_FILE);
    if (!hd)
        return -1;
    inode *ino = hd->ino;
    if (size == ino->size)
        return 0;
    if (size > MAX_FILE_SIZE)
        return venv_fail(EFBIG);
    if (ino->maps > 0)
        return venv_fail(EBUSY);
    uint8_t *nd = alloc_data((size_t)size);
    if (size > 0 && !nd)
        return venv_fail(ENOMEM);
    size_t keep = ino->size < size ? ino->size : (size_t)size;
    if (keep)
        memcpy(nd, ino->data, keep);
    if (size > keep)
        memset(nd + keep, 0, (size_t)size - keep);
    venv_restamp(v, ino);
    free(ino->data);
    ino->data = nd;
    ino->size = (size_t)size;
    return 0;
}

static int v_file_close(void *ctx, int fd)
{
    handle *hd = venv_get_handle(ctx, fd, H_FILE);
    if (!hd)
        return -1;
    venv_close_file(hd);
    return 0;
}

static int v_rename(void *ctx, const char *from, const char *to)
{
    venv *v = ctx;
    if (!from || !to)
        return venv_fail(EFAULT);
    char *nf = venv_normalize(from), *nt = venv_normalize(to);
    int e = 0;
    if (!nf || !nt) {
        e = ENOMEM;
        goto out;
    }
    dentry *src = venv_lookup(v, nf);
    if (!src) {
        e = venv_is_root(nf) ? EBUSY : ENOENT;
        goto out;
    }
    if (strcmp(nf, nt) == 0)
        goto out;
    if (venv_is_root(nt)) {
        e = EBUSY;
        goto out;
    }
    if ((e = venv_parent_ok(v, nt)) != 0)
        goto out;
    dentry *dst = venv_lookup(v, nt);
    size_t lf = strlen(nf);
    if (!src->ino->is_dir) {
        if (dst && dst->ino->is_dir) {
            e = EISDIR;
            goto out;
        }
    } else {
        if (strncmp(nt, nf, lf) == 0 && nt[lf] == '/') {
            e = EINVAL; /* into itself */
            goto out;
        }
        if (dst && !dst->ino->is_dir) {
            e = ENOTDIR;
            goto out;
        }
        if (dst) {
            size_t lt = strlen(nt);
            for (size_t i = 0; i < v->ndents; i++)
                if (strncmp(v->dents[i].path, nt, lt) == 0 && v->dents[i].path[lt] == '/') {
                    e = ENOTEMPTY;
                    goto out;
                }
        }
    }
    if (dst) {
        venv_drop_dentry(v, dst); /* may move the array: find src again */
        src = venv_lookup(v, nf);
    }
    if (src->ino->is_dir) {
        /* move everything under it */
        size_t lt = strlen(nt);
        for (size_t i = 0; i < v->ndents; i++) {
            char *p = v->dents[i].path;
            if (strncmp(p, nf, lf) == 0 && p[lf] == '/') {
                venv_stamp_leaves(v, v->dents[i].ino);
                char *np = malloc(lt + strlen(p + lf) + 1);
                if (!np) {
                    e = ENOMEM; /* cannot happen atomically; leave what moved */
                    goto out;
                }
                memcpy(np, nt, lt);
                strcpy(np + lt, p + lf);
                free(p);
                venv_dentry_name(&v->dents[i], np);
            }
        }
    }
    venv_stamp_leaves(v, src->ino);
    free(src->path);
    venv_dentry_name(src, nt);
    nt = NULL;
out:
    venv_index_stale(v->dix); /* names may have changed */
    venv_names_changed(v);
    free(nf);
    free(nt);
    return e ? venv_fail(e) : 0;
}

static int v_remove(void *ctx, const char *path)
{
    venv *v = ctx;
    if (!path)
        return venv_fail(EFAULT);
    char *norm = venv_normalize(path);
    if (!norm)
        return venv_fail(ENOMEM);
    dentry *d = venv_lookup(v, norm);
    bool root = venv_is_root(norm);
    free(norm);
    if (root)
        return venv_fail(EISDIR);
    if (!d)
        return venv_fail(ENOENT);
    if (d->ino->is_dir)
        return venv_fail(EISDIR);
    venv_drop_dentry(v, d);
    return 0;
}

static int v_mkdir(void *ctx, const char *path, unsigned mode)
{
    venv *v = ctx;
    if (!path)
        return venv_fail(EFAULT);
    char *norm = venv_normalize(path);
    if (!norm)
        return venv_fail(ENOMEM);
    if (norm[0] == '\0') {
        free(norm);
        return venv_fail(ENOENT);
    }
    int e = venv_lookup(v, norm) || venv_is_root(norm) ? EEXIST : venv_parent_ok(v, norm);
    if (e) {
        free(norm);
        return venv_fail(e);
    }
    inode *ino = new_inode(true, mode);
    if (!ino || !venv_add_dentry(v, norm, ino)) {
        free(ino);
        free(norm);
        return venv_fail(ENOMEM);
    }
    return 0;
}

static void *v_map(void *ctx, int fd, size_t size)
{
    venv *v = ctx;
    handle *hd = venv_get_handle(v, fd, H_FILE);
    if (!hd)
        return NULL;
    inode *ino = hd->ino;
    if (size == 0 || size > ino->size) {
        errno = EINVAL;
        return NULL;
    }
    if (!venv_grow((void **)&v->maps, &v->cap_maps, v->nmaps + 1, sizeof *v->maps)) {
        errno = ENOMEM;
        return NULL;
    }
    mapping *m = &v->maps[v->nmaps++];
    m->addr = ino->data;
    m->size = size;
    m->owner = v->owner;
    m->dead = false;
    m->ino = ino;
    venv_restamp(v, ino); /* and again at unmap: writes may come between */
    ino->maps++;
    return ino->data;
}

static int v_unmap(void *ctx, void *addr, size_t size)
{
    venv *v = ctx;
    for (size_t i = 0; i < v->nmaps; i++) {
        mapping *m = &v->maps[i];
        if (m->addr == addr && m->size == size && m->owner == v->owner) {
            inode *ino = m->ino;
            memmove(m, m + 1, (v->nmaps - i - 1) * sizeof *m);
            v->nmaps--;
            ino->maps--;
            venv_restamp(v, ino);
            venv_inode_maybe_free(ino);
            return 0;
        }
    }
    return venv_fail(EINVAL);
}

/* As an OFD lock: the lock belongs to the handle that took it (another
 * handle of the file, of the same owner or not, gets EWOULDBLOCK and the
 * holder's owner as the pid) and goes when that handle closes, which
 * venv_kill does for a dead owner. Nothing is written to the file. */
static int v_file_lock(void *ctx, int fd, int *holder_pid)
{
    *holder_pid = -1;
    handle *hd = venv_get_handle(ctx, fd, H_FILE);
    if (!hd)
        return -1;
    inode *ino = hd->ino;
    if (hd->holds_lock)
        return 0;
    if (ino->locked) {
        *holder_pid = (int)ino->lock_owner;
        return venv_fail(EWOULDBLOCK);
    }
    ino->locked = true;
    ino->lock_owner = hd->owner;
    hd->holds_lock = true;
    return 0;
}

void venv_close_file(handle *hd)
{
    inode *ino = hd->ino;
    if (hd->holds_lock)
        ino->locked = false;
    venv_free_handle(hd);
    ino->opens--;
    venv_inode_maybe_free(ino);
}

void venv_files_destroy(venv *v)
{
    for (size_t i = v->nmaps; i-- > 0;) {
        inode *ino = v->maps[i].ino;
        ino->maps--;
        venv_inode_maybe_free(ino);
    }
    while (v->ndents)
        venv_drop_dentry(v, &v->dents[v->ndents - 1]);
    venv_disk_destroy(v);
    venv_index_free(v->dix);
    venv_index_free(v->ddix);
    free(v->dents);
    free(v->maps);
}

void venv_files_install(tcpshm_env *env)
{
    env->file_open = v_file_open;
    env->file_size = v_file_size;
    env->file_resize = v_file_resize;
    env->file_close = v_file_close;
    env->rename = v_rename;
    env->remove = v_remove;
    env->mkdir = v_mkdir;
    env->map = v_map;
    env->unmap = v_unmap;
    env->file_lock = v_file_lock;
}

/* ------------------------------------------------- direct file access */

int venv_file_write(venv *v, const char *path, const void *data, size_t len)
{
    if (!path)
        return venv_fail(EFAULT);
    if (len > MAX_FILE_SIZE)
        return venv_fail(EFBIG);
    char *norm = venv_normalize(path);
    if (!norm)
        return venv_fail(ENOMEM);
    dentry *d = venv_lookup(v, norm);
    int e = venv_is_root(norm) || (d && d->ino->is_dir) ? EISDIR : venv_parent_ok(v, norm);
    if (e) {
        free(norm);
        return venv_fail(e);
    }
    inode *ino = new_inode(false, 0600);
    uint8_t *buf = alloc_data(len);
    if (!ino || (len && !buf)) {
        free(ino);
        free(buf);
        free(norm);
        return venv_fail(ENOMEM);
    }
    if (len)
        memcpy(buf, data, len);
    ino->data = buf;
    ino->size = len;
    venv_restamp(v, ino);
    if (d) {
        free(norm);
        inode *old = d->ino;
        venv_stamp_leaves(v, old);
        d->ino = ino;
        venv_names_changed(v);
        ino->links++;
        old->links--;
        venv_inode_maybe_free(old);
        return venv_disk_settle(v, d->path);
    }
    if (!venv_add_dentry(v, norm, ino)) {
        free(buf);
        free(ino);
        free(norm);
        return venv_fail(ENOMEM);
    }
    return venv_disk_settle(v, v->dents[v->ndents - 1].path);
}

const uint8_t *venv_file_stamped(const venv *v, const char *path, size_t *len, uint64_t *stamp)
{
    static const uint8_t empty[1];
    *stamp = 0;
    char buf[VENV_NORM_BUF];
    char *norm = venv_normalize_in(path, buf, sizeof buf);
    if (!norm)
        return NULL;
    dentry *d = venv_lookup(v, norm);
    if (norm != buf)
        free(norm);
    if (!d || d->ino->is_dir)
        return NULL;
    if (len)
        *len = d->ino->size;
    if (d->ino->maps == 0)
        *stamp = d->ino->stamp;
    return d->ino->size ? d->ino->data : empty;
}

void venv_set_stamp_hook(venv *v, venv_stamp_fn fn, void *user)
{
    v->stamp_fn = fn;
    v->stamp_user = user;
}

const uint8_t *venv_file_data(const venv *v, const char *path, size_t *len)
{
    uint64_t stamp;
    return venv_file_stamped(v, path, len, &stamp);
}

int venv_file_mode(const venv *v, const char *path)
{
    char *norm = venv_normalize(path);
    if (!norm)
        return -1;
    dentry *d = venv_lookup(v, norm);
    free(norm);
    return d ? (int)d->ino->mode : -1;
}

void venv_list(const venv *v, void (*fn)(void *user, const char *path, bool is_dir, size_t size),
               void *user)
{
    for (size_t i = 0; i < v->ndents; i++)
        fn(user, v->dents[i].path, v->dents[i].ino->is_dir, v->dents[i].ino->size);
}

uint32_t venv_mapping_count(const venv *v, uint32_t owner)
{
    uint32_t n = 0;
    for (size_t i = 0; i < v->nmaps; i++)
        if (v->maps[i].owner == owner)
            n++;
    return n;
}
