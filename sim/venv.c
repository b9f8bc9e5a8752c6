/* venv: the in-memory env of venv.h. Plain data structures (arrays searched
 * linearly: a simulated node has a handful of files and sockets), no I/O, no
 * clock, no randomness. */
#include "venv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STREAM_CAPACITY 65536u
#define DEFAULT_EPHEMERAL_PORT 40000u
/* Largest file: what a simulated node may need, small enough to allocate. */
#define MAX_FILE_SIZE ((uint64_t)1 << 30)

/* ---------------------------------------------------------------- files */

typedef struct inode {
    bool is_dir;
    unsigned mode;
    uint8_t *data; /* size bytes (NULL when 0); fixed while mapped */
    size_t size;
    uint32_t links; /* names pointing at it: 0 or 1 */
    uint32_t opens; /* file handles */
    uint32_t maps;  /* live mappings */
} inode;

typedef struct dentry {
    char *path; /* normalized */
    inode *ino;
} dentry;

typedef struct mapping {
    void *addr;
    size_t size;
    uint32_t owner;
    inode *ino;
} mapping;

/* -------------------------------------------------------------- sockets */

/* Bytes travelling to one end of a connection: a ring buffer. */
typedef struct stream {
    uint8_t *buf;
    uint32_t cap, head, len;
} stream;

/* A connection. End 0 connected, end 1 was (or will be) accepted. */
typedef struct vconn {
    stream s[2];      /* s[i]: bytes travelling to end i */
    int fd[2];        /* handle of end i, -1 when none (closed, or not accepted yet) */
    bool closed[2];   /* end i is gone */
    bool reset_in[2]; /* end i sees ECONNRESET */
    bool eof_in[2];   /* end i's peer closed normally: EOF once drained */
    bool queued;      /* end 1 waits in a listener's backlog */
} vconn;

enum hkind { H_FREE, H_FILE, H_LISTEN, H_SOCK };
enum sstate { S_CONNECTING, S_REFUSED, S_CONNECTED };

typedef struct handle {
    int kind;
    uint32_t owner;
    /* H_FILE */
    inode *ino;
    /* H_LISTEN */
    char host[64];
    uint16_t port;
    uint32_t backlog;
    vconn **queue; /* FIFO of connections waiting for accept */
    uint32_t qlen;
    size_t qcap;
    /* H_SOCK */
    int state;
    int err; /* S_REFUSED: why */
    vconn *c;
    int end;
    bool reset_on_close;
    bool nodelay;
    uint16_t local_port;
    char peer_host[64];
    uint16_t peer_port;
} handle;

struct venv {
    tcpshm_env env;
    uint32_t owner;
    uint32_t stream_capacity;
    uint16_t first_port;
    uint16_t next_local_port;
    bool hold;

    dentry *dents;
    size_t ndents, cap_dents;
    mapping *maps;
    size_t nmaps, cap_maps;
    handle *h;
    size_t nh;
    int *held; /* handles of held connects, oldest first */
    size_t nheld, cap_held;
};

/* ------------------------------------------------------------- helpers */

static int fail(int e)
{
    errno = e;
    return -1;
}

/* Grows *arr (of *cap elements of size sz) to hold n; false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc < n)
        nc *= 2;
    void *p = realloc(*arr, nc * sz);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

/* Collapses repeated slashes and drops a trailing one ("/" stays). */
static char *normalize(const char *path)
{
    size_t n = strlen(path);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (path[i] == '/' && k > 0 && out[k - 1] == '/')
            continue;
        out[k++] = path[i];
    }
    if (k > 1 && out[k - 1] == '/')
        k--;
    out[k] = '\0';
    return out;
}

static bool is_root(const char *p) { return p[0] == '\0' || strcmp(p, "/") == 0; }

/* The parent of a normalized path, in buf (at least strlen(p) + 2 bytes). */
static void parent_of(const char *p, char *buf)
{
    const char *slash = strrchr(p, '/');
    if (!slash) {
        buf[0] = '\0';
    } else if (slash == p) {
        strcpy(buf, "/");
    } else {
        memcpy(buf, p, (size_t)(slash - p));
        buf[slash - p] = '\0';
    }
}

static dentry *lookup(const venv *v, const char *norm)
{
    for (size_t i = 0; i < v->ndents; i++)
        if (strcmp(v->dents[i].path, norm) == 0)
            return &v->dents[i];
    return NULL;
}

/* 0 if the parent of norm is an existing directory, else the errno. */
static int parent_ok(const venv *v, const char *norm)
{
    char *par = malloc(strlen(norm) + 2);
    if (!par)
        return ENOMEM;
    parent_of(norm, par);
    int e = 0;
    if (!is_root(par)) {
        dentry *d = lookup(v, par);
        if (!d)
            e = ENOENT;
        else if (!d->ino->is_dir)
            e = ENOTDIR;
    }
    free(par);
    return e;
}

static void inode_maybe_free(inode *ino)
{
    if (ino->links == 0 && ino->opens == 0 && ino->maps == 0) {
        free(ino->data);
        free(ino);
    }
}

/* Adds a name; takes ownership of norm. */
static dentry *add_dentry(venv *v, char *norm, inode *ino)
{
    if (!grow((void **)&v->dents, &v->cap_dents, v->ndents + 1, sizeof *v->dents))
        return NULL;
    dentry *d = &v->dents[v->ndents++];
    d->path = norm;
    d->ino = ino;
    ino->links++;
    return d;
}

static void drop_dentry(venv *v, dentry *d)
{
    inode *ino = d->ino;
    free(d->path);
    size_t i = (size_t)(d - v->dents);
    memmove(&v->dents[i], &v->dents[i + 1], (v->ndents - i - 1) * sizeof *v->dents);
    v->ndents--;
    ino->links--;
    inode_maybe_free(ino);
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

/* A buffer of size bytes, 64-byte aligned (as the start of a mapping is). */
static uint8_t *alloc_data(size_t size)
{
    void *p = NULL;
    if (size == 0)
        return NULL;
    if (posix_memalign(&p, 64, size) != 0)
        return NULL;
    memset(p, 0, size);
    return p;
}

/* ------------------------------------------------------------- handles */

static int new_handle(venv *v, int kind)
{
    size_t i = 0;
    while (i < v->nh && v->h[i].kind != H_FREE)
        i++;
    if (i == v->nh) {
        if (v->nh >= 1u << 20)
            return fail(EMFILE);
        handle *nh = realloc(v->h, (v->nh + 1) * sizeof *nh);
        if (!nh)
            return fail(ENOMEM);
        v->h = nh;
        v->nh++;
    }
    handle *hd = &v->h[i];
    memset(hd, 0, sizeof *hd);
    hd->kind = kind;
    hd->owner = v->owner;
    return (int)i;
}

/* The handle fd of the current owner, of a wanted kind (H_FREE: any); NULL
 * with errno EBADF, or ENOTSOCK / EINVAL for the wrong kind. */
static handle *get(venv *v, int fd, int kind)
{
    if (fd < 0 || (size_t)fd >= v->nh || v->h[fd].kind == H_FREE || v->h[fd].owner != v->owner) {
        errno = EBADF;
        return NULL;
    }
    handle *hd = &v->h[fd];
    if (kind == H_SOCK && hd->kind != H_SOCK) {
        errno = hd->kind == H_FILE ? ENOTSOCK : EINVAL;
        return NULL;
    }
    if (kind == H_FILE && hd->kind != H_FILE) {
        errno = EINVAL;
        return NULL;
    }
    return hd;
}

static void free_handle(handle *hd)
{
    free(hd->queue);
    memset(hd, 0, sizeof *hd);
    hd->kind = H_FREE;
}

/* ------------------------------------------------------------- streams */

static uint32_t stream_put(stream *s, const uint8_t *p, uint32_t n)
{
    uint32_t room = s->cap - s->len;
    if (n > room)
        n = room;
    for (uint32_t done = 0; done < n;) {
        uint32_t at = (s->head + s->len) % s->cap;
        uint32_t chunk = s->cap - at;
        if (chunk > n - done)
            chunk = n - done;
        memcpy(s->buf + at, p + done, chunk);
        s->len += chunk;
        done += chunk;
    }
    return n;
}

static uint32_t stream_get(stream *s, uint8_t *p, uint32_t n)
{
    if (n > s->len)
        n = s->len;
    for (uint32_t done = 0; done < n;) {
        uint32_t chunk = s->cap - s->head;
        if (chunk > n - done)
            chunk = n - done;
        memcpy(p + done, s->buf + s->head, chunk);
        s->head = (s->head + chunk) % s->cap;
        s->len -= chunk;
        done += chunk;
    }
    return n;
}

static void stream_clear(stream *s)
{
    s->head = 0;
    s->len = 0;
}

static vconn *new_conn(uint32_t cap)
{
    vconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s[0].buf = malloc(cap);
    c->s[1].buf = malloc(cap);
    if (!c->s[0].buf || !c->s[1].buf) {
        free(c->s[0].buf);
        free(c->s[1].buf);
        free(c);
        return NULL;
    }
    c->s[0].cap = c->s[1].cap = cap;
    c->fd[0] = c->fd[1] = -1;
    return c;
}

static void conn_maybe_free(vconn *c)
{
    if (c->closed[0] && c->closed[1] && !c->queued) {
        free(c->s[0].buf);
        free(c->s[1].buf);
        free(c);
    }
}

/* Both ends see ECONNRESET; whatever was in flight is lost. */
static void conn_reset_both(vconn *c)
{
    for (int e = 0; e < 2; e++) {
        c->reset_in[e] = true;
        stream_clear(&c->s[e]);
    }
}

/* End e goes away: the peer sees a reset (abort) or EOF. */
static void conn_close_end(vconn *c, int e, bool abort)
{
    int p = 1 - e;
    if (abort) {
        c->reset_in[p] = true;
        stream_clear(&c->s[p]);
    } else {
        c->eof_in[p] = true;
    }
    stream_clear(&c->s[e]);
    c->closed[e] = true;
    c->fd[e] = -1;
}

/* ---------------------------------------------------------- file calls */

static int v_file_open(void *ctx, const char *path, int create, unsigned mode)
{
    venv *v = ctx;
    if (!path)
        return fail(EFAULT);
    char *norm = normalize(path);
    if (!norm)
        return fail(ENOMEM);
    dentry *d = lookup(v, norm);
    int e = 0;
    if (create)
        e = d || is_root(norm) ? EEXIST : parent_ok(v, norm);
    else if (!d)
        e = ENOENT;
    else if (d->ino->is_dir)
        e = EISDIR;
    int fd = e ? -1 : new_handle(v, H_FILE);
    if (fd < 0) {
        e = e ? e : errno;
        free(norm);
        return fail(e);
    }
    inode *ino;
    if (create) {
        ino = new_inode(false, mode);
        if (!ino || !add_dentry(v, norm, ino)) {
            free(ino);
            free(norm);
            free_handle(&v->h[fd]);
            return fail(ENOMEM);
        }
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
    handle *hd = get(ctx, fd, H_FILE);
    if (!hd)
        return -1;
    *size = hd->ino->size;
    return 0;
}

static int v_file_resize(void *ctx, int fd, uint64_t size)
{
    handle *hd = get(ctx, fd, H_FILE);
    if (!hd)
        return -1;
    inode *ino = hd->ino;
    if (size == ino->size)
        return 0;
    if (size > MAX_FILE_SIZE)
        return fail(EFBIG);
    if (ino->maps > 0)
        return fail(EBUSY);
    uint8_t *nd = alloc_data((size_t)size);
    if (size > 0 && !nd)
        return fail(ENOMEM);
    size_t keep = ino->size < size ? ino->size : (size_t)size;
    if (keep)
        memcpy(nd, ino->data, keep);
    free(ino->data);
    ino->data = nd;
    ino->size = (size_t)size;
    return 0;
}

static int v_file_close(void *ctx, int fd)
{
    venv *v = ctx;
    handle *hd = get(v, fd, H_FILE);
    if (!hd)
        return -1;
    inode *ino = hd->ino;
    free_handle(hd);
    ino->opens--;
    inode_maybe_free(ino);
    return 0;
}

static int v_rename(void *ctx, const char *from, const char *to)
{
    venv *v = ctx;
    if (!from || !to)
        return fail(EFAULT);
    char *nf = normalize(from), *nt = normalize(to);
    int e = 0;
    if (!nf || !nt) {
        e = ENOMEM;
        goto out;
    }
    dentry *src = lookup(v, nf);
    if (!src) {
        e = is_root(nf) ? EBUSY : ENOENT;
        goto out;
    }
    if (strcmp(nf, nt) == 0)
        goto out;
    if (is_root(nt)) {
        e = EBUSY;
        goto out;
    }
    if ((e = parent_ok(v, nt)) != 0)
        goto out;
    dentry *dst = lookup(v, nt);
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
        drop_dentry(v, dst); /* may move the array: find src again */
        src = lookup(v, nf);
    }
    if (src->ino->is_dir) {
        /* move everything under it */
        size_t lt = strlen(nt);
        for (size_t i = 0; i < v->ndents; i++) {
            char *p = v->dents[i].path;
            if (strncmp(p, nf, lf) == 0 && p[lf] == '/') {
                char *np = malloc(lt + strlen(p + lf) + 1);
                if (!np) {
                    e = ENOMEM; /* cannot happen atomically; leave what moved */
                    goto out;
                }
                memcpy(np, nt, lt);
                strcpy(np + lt, p + lf);
                free(p);
                v->dents[i].path = np;
            }
        }
    }
    free(src->path);
    src->path = nt;
    nt = NULL;
out:
    free(nf);
    free(nt);
    return e ? fail(e) : 0;
}

static int v_remove(void *ctx, const char *path)
{
    venv *v = ctx;
    if (!path)
        return fail(EFAULT);
    char *norm = normalize(path);
    if (!norm)
        return fail(ENOMEM);
    dentry *d = lookup(v, norm);
    bool root = is_root(norm);
    free(norm);
    if (root)
        return fail(EISDIR);
    if (!d)
        return fail(ENOENT);
    if (d->ino->is_dir)
        return fail(EISDIR);
    drop_dentry(v, d);
    return 0;
}

static int v_mkdir(void *ctx, const char *path, unsigned mode)
{
    venv *v = ctx;
    if (!path)
        return fail(EFAULT);
    char *norm = normalize(path);
    if (!norm)
        return fail(ENOMEM);
    if (norm[0] == '\0') {
        free(norm);
        return fail(ENOENT);
    }
    int e = lookup(v, norm) || is_root(norm) ? EEXIST : parent_ok(v, norm);
    if (e) {
        free(norm);
        return fail(e);
    }
    inode *ino = new_inode(true, mode);
    if (!ino || !add_dentry(v, norm, ino)) {
        free(ino);
        free(norm);
        return fail(ENOMEM);
    }
    return 0;
}

static void *v_map(void *ctx, int fd, size_t size)
{
    venv *v = ctx;
    handle *hd = get(v, fd, H_FILE);
    if (!hd)
        return NULL;
    inode *ino = hd->ino;
    if (size == 0 || size > ino->size) {
        errno = EINVAL;
        return NULL;
    }
    if (!grow((void **)&v->maps, &v->cap_maps, v->nmaps + 1, sizeof *v->maps)) {
        errno = ENOMEM;
        return NULL;
    }
    mapping *m = &v->maps[v->nmaps++];
    m->addr = ino->data;
    m->size = size;
    m->owner = v->owner;
    m->ino = ino;
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
            inode_maybe_free(ino);
            return 0;
        }
    }
    return fail(EINVAL);
}

/* -------------------------------------------------------- socket calls */

static bool numeric_host(const char *addr)
{
    unsigned char buf[16];
    if (!addr)
        return false;
    if (strchr(addr, ':'))
        return inet_pton(AF_INET6, addr, buf) == 1;
    return inet_pton(AF_INET, addr, buf) == 1;
}

static bool wildcard(const char *host) { return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0; }

static bool port_taken(const venv *v, uint16_t port)
{
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind == H_LISTEN && v->h[i].port == port)
            return true;
    return false;
}

static int v_listen(void *ctx, const char *addr, uint16_t port, int backlog)
{
    venv *v = ctx;
    if (!numeric_host(addr) || strlen(addr) >= sizeof v->h[0].host)
        return fail(EINVAL);
    if (port == 0) {
        uint32_t p = v->first_port;
        while (p <= 65535u && port_taken(v, (uint16_t)p))
            p++;
        if (p > 65535u)
            return fail(EADDRINUSE);
        port = (uint16_t)p;
    } else if (port_taken(v, port)) {
        return fail(EADDRINUSE);
    }
    int fd = new_handle(v, H_LISTEN);
    if (fd < 0)
        return -1;
    handle *hd = &v->h[fd];
    strcpy(hd->host, addr);
    hd->port = port;
    hd->backlog = backlog > 0 ? (uint32_t)backlog : 1u;
    return fd;
}

static int v_local_port(void *ctx, int fd)
{
    handle *hd = get(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_LISTEN)
        return hd->port;
    if (hd->kind == H_SOCK)
        return hd->local_port;
    return fail(ENOTSOCK);
}

static int v_accept(void *ctx, int listen_fd)
{
    venv *v = ctx;
    handle *lh = get(v, listen_fd, H_FREE);
    if (!lh)
        return -1;
    if (lh->kind != H_LISTEN)
        return fail(EINVAL);
    if (lh->qlen == 0)
        return fail(EAGAIN);
    int fd = new_handle(v, H_SOCK);
    if (fd < 0)
        return -1;
    lh = &v->h[listen_fd]; /* new_handle may have moved the table */
    vconn *c = lh->queue[0];
    memmove(lh->queue, lh->queue + 1, (lh->qlen - 1) * sizeof *lh->queue);
    lh->qlen--;
    c->queued = false;
    handle *hd = &v->h[fd];
    hd->state = S_CONNECTED;
    hd->c = c;
    hd->end = 1;
    hd->local_port = lh->port;
    c->fd[1] = fd;
    return fd;
}

/* Makes the connection of the connecting socket fd: to a listener with
 * room, or refused. */
static void resolve_connect(venv *v, int fd)
{
    handle *hd = &v->h[fd];
    handle *lh = NULL;
    for (size_t i = 0; i < v->nh && !lh; i++) {
        handle *x = &v->h[i];
        if (x->kind == H_LISTEN && x->port == hd->peer_port &&
            (strcmp(x->host, hd->peer_host) == 0 || wildcard(x->host)))
            lh = x;
    }
    if (!lh || lh->qlen >= lh->backlog) {
        hd->state = S_REFUSED;
        hd->err = ECONNREFUSED;
        return;
    }
    vconn *c = NULL;
    if (!grow((void **)&lh->queue, &lh->qcap, lh->qlen + 1u, sizeof *lh->queue) ||
        !(c = new_conn(v->stream_capacity))) {
        hd->state = S_REFUSED;
        hd->err = ENOMEM;
        return;
    }
    c->fd[0] = fd;
    c->queued = true;
    lh->queue[lh->qlen++] = c;
    hd->state = S_CONNECTED;
    hd->c = c;
}

static int v_connect(void *ctx, const char *addr, uint16_t port)
{
    venv *v = ctx;
    if (!numeric_host(addr) || strlen(addr) >= sizeof v->h[0].peer_host)
        return fail(EINVAL);
    if (port == 0)
        return fail(ECONNREFUSED);
    if (v->hold && !grow((void **)&v->held, &v->cap_held, v->nheld + 1, sizeof *v->held))
        return fail(ENOMEM);
    int fd = new_handle(v, H_SOCK);
    if (fd < 0)
        return -1;
    handle *hd = &v->h[fd];
    hd->state = S_CONNECTING;
    hd->end = 0;
    strcpy(hd->peer_host, addr);
    hd->peer_port = port;
    hd->local_port = v->next_local_port;
    v->next_local_port = (uint16_t)(v->next_local_port == 65535u ? v->first_port : v->next_local_port + 1u);
    if (v->hold)
        v->held[v->nheld++] = fd;
    else
        resolve_connect(v, fd);
    return fd;
}

static int v_connect_result(void *ctx, int fd)
{
    handle *hd = get(ctx, fd, H_SOCK);
    if (!hd)
        return errno;
    switch (hd->state) {
    case S_CONNECTING:
        return EINPROGRESS;
    case S_REFUSED:
        return hd->err;
    default:
        return hd->c->reset_in[hd->end] ? ECONNRESET : 0;
    }
}

static ssize_t v_send(void *ctx, int fd, const void *buf, size_t len)
{
    handle *hd = get(ctx, fd, H_SOCK);
    if (!hd)
        return -1;
    if (hd->state == S_CONNECTING)
        return fail(EAGAIN);
    if (hd->state == S_REFUSED)
        return fail(ENOTCONN);
    vconn *c = hd->c;
    int e = hd->end, p = 1 - e;
    if (c->reset_in[e])
        return fail(ECONNRESET);
    if (c->closed[p])
        return fail(EPIPE);
    if (len == 0)
        return 0;
    uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint32_t n = stream_put(&c->s[p], buf, want);
    if (n == 0)
        return fail(EAGAIN);
    return (ssize_t)n;
}

static ssize_t v_recv(void *ctx, int fd, void *buf, size_t len)
{
    handle *hd = get(ctx, fd, H_SOCK);
    if (!hd)
        return -1;
    if (hd->state == S_CONNECTING)
        return fail(EAGAIN);
    if (hd->state == S_REFUSED)
        return fail(ENOTCONN);
    vconn *c = hd->c;
    int e = hd->end;
    if (c->reset_in[e])
        return fail(ECONNRESET);
    if (len == 0)
        return 0;
    if (c->s[e].len > 0) {
        uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        return (ssize_t)stream_get(&c->s[e], buf, want);
    }
    if (c->eof_in[e])
        return 0;
    return fail(EAGAIN);
}

static int v_set_nodelay(void *ctx, int fd, int on)
{
    handle *hd = get(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return fail(ENOTSOCK);
    hd->nodelay = on != 0;
    return 0;
}

static int v_sock_reset(void *ctx, int fd)
{
    handle *hd = get(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return fail(ENOTSOCK);
    hd->reset_on_close = true;
    return 0;
}

static void remove_held(venv *v, int fd)
{
    for (size_t i = 0; i < v->nheld; i++)
        if (v->held[i] == fd) {
            memmove(&v->held[i], &v->held[i + 1], (v->nheld - i - 1) * sizeof *v->held);
            v->nheld--;
            return;
        }
}

/* Closes a socket or listener handle (already checked). */
static void close_sock(venv *v, int fd)
{
    handle *hd = &v->h[fd];
    if (hd->kind == H_LISTEN) {
        /* connections never accepted are reset */
        for (uint32_t i = 0; i < hd->qlen; i++) {
            vconn *c = hd->queue[i];
            c->queued = false;
            conn_close_end(c, 1, true);
            conn_maybe_free(c);
        }
    } else if (hd->state == S_CONNECTING) {
        remove_held(v, fd);
    } else if (hd->state == S_CONNECTED) {
        vconn *c = hd->c;
        conn_close_end(c, hd->end, hd->reset_on_close);
        conn_maybe_free(c);
    }
    free_handle(hd);
}

static int v_sock_close(void *ctx, int fd)
{
    venv *v = ctx;
    handle *hd = get(v, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return fail(ENOTSOCK);
    close_sock(v, fd);
    return 0;
}

static int v_wait_io(void *ctx, int fd, int want_write, int timeout_ms)
{
    (void)timeout_ms; /* never waits: there is no time here */
    handle *hd = get(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return 1;
    if (hd->kind == H_LISTEN)
        return !want_write && hd->qlen > 0;
    if (hd->state == S_CONNECTING)
        return 0;
    if (hd->state == S_REFUSED)
        return 1;
    vconn *c = hd->c;
    int e = hd->end, p = 1 - e;
    if (c->reset_in[e])
        return 1;
    if (want_write)
        return c->closed[p] || c->s[p].len < c->s[p].cap;
    return c->s[e].len > 0 || c->eof_in[e];
}

/* ------------------------------------------------------------- public */

/* ---- shared-memory segments: files under VENV_SHM_DIR, as on Linux ---- */

static int shm_path(char *out, size_t n, const char *name)
{
    if (name[0] != '/' || name[1] == '\0' || strchr(name + 1, '/')) {
        errno = EINVAL;
        return -1;
    }
    snprintf(out, n, "%s%s", VENV_SHM_DIR, name);
    return 0;
}

static int v_shm_open(void *ctx, const char *name, int create, unsigned mode)
{
    char path[512];
    if (shm_path(path, sizeof path, name) != 0)
        return -1;
    if (create) { /* the directory is there on a real host */
        (void)v_mkdir(ctx, "/dev", 0755);
        (void)v_mkdir(ctx, VENV_SHM_DIR, 0755);
    }
    return v_file_open(ctx, path, create, mode);
}

static int v_shm_unlink(void *ctx, const char *name)
{
    char path[512];
    if (shm_path(path, sizeof path, name) != 0)
        return -1;
    return v_remove(ctx, path);
}

venv *venv_create(const venv_options *opt)
{
    venv *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->stream_capacity = opt && opt->stream_capacity ? opt->stream_capacity : DEFAULT_STREAM_CAPACITY;
    v->first_port = opt && opt->first_ephemeral_port ? opt->first_ephemeral_port
                                                     : (uint16_t)DEFAULT_EPHEMERAL_PORT;
    v->next_local_port = v->first_port;
    v->env = (tcpshm_env){
        .ctx = v,
        .file_open = v_file_open,
        .file_size = v_file_size,
        .file_resize = v_file_resize,
        .file_close = v_file_close,
        .rename = v_rename,
        .remove = v_remove,
        .mkdir = v_mkdir,
        .shm_open = v_shm_open,
        .shm_unlink = v_shm_unlink,
        .map = v_map,
        .unmap = v_unmap,
        .listen = v_listen,
        .local_port = v_local_port,
        .accept = v_accept,
        .connect = v_connect,
        .connect_result = v_connect_result,
        .send = v_send,
        .recv = v_recv,
        .set_nodelay = v_set_nodelay,
        .sock_reset = v_sock_reset,
        .sock_close = v_sock_close,
        .wait_io = v_wait_io,
    };
    return v;
}

void venv_destroy(venv *v)
{
    if (!v)
        return;
    /* sockets first (connections are shared by two handles), then files */
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind == H_SOCK || v->h[i].kind == H_LISTEN)
            close_sock(v, (int)i);
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind == H_FILE) {
            inode *ino = v->h[i].ino;
            free_handle(&v->h[i]);
            ino->opens--;
            inode_maybe_free(ino);
        }
    for (size_t i = v->nmaps; i-- > 0;) {
        inode *ino = v->maps[i].ino;
        ino->maps--;
        inode_maybe_free(ino);
    }
    while (v->ndents)
        drop_dentry(v, &v->dents[v->ndents - 1]);
    free(v->dents);
    free(v->maps);
    free(v->h);
    free(v->held);
    free(v);
}

const tcpshm_env *venv_env(venv *v) { return &v->env; }

void venv_set_owner(venv *v, uint32_t owner) { v->owner = owner; }
uint32_t venv_owner(const venv *v) { return v->owner; }

void venv_kill(venv *v, uint32_t owner)
{
    for (size_t i = 0; i < v->nh; i++) {
        handle *hd = &v->h[i];
        if (hd->kind == H_FREE || hd->owner != owner)
            continue;
        if (hd->kind == H_FILE) {
            inode *ino = hd->ino;
            free_handle(hd);
            ino->opens--;
            inode_maybe_free(ino);
        } else {
            hd->reset_on_close = true;
            close_sock(v, (int)i);
        }
    }
}

void venv_break(venv *v, uint32_t owner)
{
    for (size_t i = 0; i < v->nh; i++) {
        handle *hd = &v->h[i];
        if (hd->owner != owner)
            continue;
        if (hd->kind == H_SOCK && hd->state == S_CONNECTED)
            conn_reset_both(hd->c);
        else if (hd->kind == H_LISTEN)
            for (uint32_t k = 0; k < hd->qlen; k++)
                conn_reset_both(hd->queue[k]);
    }
}

void venv_set_stream_capacity(venv *v, uint32_t capacity) { v->stream_capacity = capacity ? capacity : 1u; }

void venv_hold_connects(venv *v, bool hold) { v->hold = hold; }

uint32_t venv_release_connects(venv *v)
{
    uint32_t n = 0;
    while (v->nheld > 0) {
        int fd = v->held[0];
        memmove(&v->held[0], &v->held[1], (v->nheld - 1) * sizeof *v->held);
        v->nheld--;
        resolve_connect(v, fd);
        n++;
    }
    return n;
}

int venv_file_write(venv *v, const char *path, const void *data, size_t len)
{
    if (!path)
        return fail(EFAULT);
    if (len > MAX_FILE_SIZE)
        return fail(EFBIG);
    char *norm = normalize(path);
    if (!norm)
        return fail(ENOMEM);
    dentry *d = lookup(v, norm);
    int e = is_root(norm) || (d && d->ino->is_dir) ? EISDIR : parent_ok(v, norm);
    if (e) {
        free(norm);
        return fail(e);
    }
    inode *ino = new_inode(false, 0600);
    uint8_t *buf = alloc_data(len);
    if (!ino || (len && !buf)) {
        free(ino);
        free(buf);
        free(norm);
        return fail(ENOMEM);
    }
    if (len)
        memcpy(buf, data, len);
    ino->data = buf;
    ino->size = len;
    if (d) {
        free(norm);
        inode *old = d->ino;
        d->ino = ino;
        ino->links++;
        old->links--;
        inode_maybe_free(old);
        return 0;
    }
    if (!add_dentry(v, norm, ino)) {
        free(buf);
        free(ino);
        free(norm);
        return fail(ENOMEM);
    }
    return 0;
}

const uint8_t *venv_file_data(const venv *v, const char *path, size_t *len)
{
    static const uint8_t empty[1];
    char *norm = normalize(path);
    if (!norm)
        return NULL;
    dentry *d = lookup(v, norm);
    free(norm);
    if (!d || d->ino->is_dir)
        return NULL;
    if (len)
        *len = d->ino->size;
    return d->ino->size ? d->ino->data : empty;
}

int venv_file_mode(const venv *v, const char *path)
{
    char *norm = normalize(path);
    if (!norm)
        return -1;
    dentry *d = lookup(v, norm);
    free(norm);
    return d ? (int)d->ino->mode : -1;
}

void venv_list(const venv *v, void (*fn)(void *user, const char *path, bool is_dir, size_t size),
               void *user)
{
    for (size_t i = 0; i < v->ndents; i++)
        fn(user, v->dents[i].path, v->dents[i].ino->is_dir, v->dents[i].ino->size);
}

uint32_t venv_handle_count(const venv *v, uint32_t owner)
{
    uint32_t n = 0;
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind != H_FREE && v->h[i].owner == owner)
            n++;
    return n;
}

uint32_t venv_mapping_count(const venv *v, uint32_t owner)
{
    uint32_t n = 0;
    for (size_t i = 0; i < v->nmaps; i++)
        if (v->maps[i].owner == owner)
            n++;
    return n;
}

long venv_sock_pending(const venv *v, int fd)
{
    if (fd < 0 || (size_t)fd >= v->nh || v->h[fd].kind != H_SOCK || v->h[fd].state != S_CONNECTED)
        return -1;
    return (long)v->h[fd].c->s[v->h[fd].end].len;
}
