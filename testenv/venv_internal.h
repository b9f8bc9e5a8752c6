/* venv's shared state: the data structures of files, sockets and handles,
 * and the calls one part of venv makes into another. Private to testenv/;
 * users include venv.h. Each group of declarations says which file defines it. */
#ifndef TCPSHM_TESTENV_VENV_INTERNAL_H
#define TCPSHM_TESTENV_VENV_INTERNAL_H

#include "venv.h"

#include <errno.h>
#include <stdlib.h>

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
    uint32_t dlinks; /* durable names pointing at it (venv_disk.c) */
    uint8_t *dur;    /* the bytes on stable storage: dur_size bytes (NULL when 0) */
    size_t dur_size;
    bool locked;         /* file_lock taken by a handle (its holds_lock) */
    uint32_t lock_owner; /* that handle's owner */
    uint64_t stamp;      /* venv_file_stamped's stamp of data (venv_restamp) */
    uint64_t synced_names; /* a directory: venv's names_gen right after its last dir_sync (0: none) */
} inode;

typedef struct dentry {
    char *path;    /* normalized */
    uint32_t hash; /* venv_path_hash(path): a lookup compares it before the string */
    size_t len;    /* strlen(path): and the length, so the bytes with memcmp */
    size_t plen;   /* venv_parent_len(path): dir_sync finds a directory's names by it */
    inode *ino;
} dentry;

typedef struct mapping {
    void *addr;
    size_t size;
    uint32_t owner;
    inode *ino;
    bool dead; /* its owner was killed: the mapping only waits for unmap (map_sync fails) */
} mapping;

/* -------------------------------------------------------------- sockets */

/* Bytes travelling to one end of a connection: a ring buffer. */
typedef struct stream {
    uint8_t *buf;
    uint32_t cap, head, len;
    int64_t waiting_since; /* while len > 0: the clock when the bytes began to wait unread (venv_set_clock) */
} stream;

/* A connection. End 0 connected, end 1 was (or will be) accepted. */
typedef struct vconn {
    stream s[2];      /* s[i]: bytes travelling to end i */
    int fd[2];        /* handle of end i, -1 when none (closed, or not accepted yet) */
    bool closed[2];   /* end i is gone */
    bool reset_in[2]; /* end i sees ECONNRESET */
    bool eof_in[2];   /* end i's peer closed normally: EOF once drained */
    bool queued;      /* end 1 waits in a listener's backlog */
    char host[2][64]; /* address of end i: 0 the connecting host, 1 the one it dialed */
} vconn;

/* -------------------------------------------------------------- handles */

enum hkind { H_FREE, H_FILE, H_LISTEN, H_SOCK, H_EPOLL };
enum sstate { S_CONNECTING, S_REFUSED, S_CONNECTED };

typedef struct handle {
    int kind;
    uint32_t owner;
    /* H_FILE */
    inode *ino;
    bool holds_lock; /* took ino's file_lock */
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
    /* H_EPOLL (venv_ready.c): the registered sockets in the order they
     * joined, and where the next wait starts looking */
    struct vreg *reg;
    size_t nreg, capreg;
    size_t next;
} handle;

typedef struct vreg {
    int fd;
    uint64_t tag;
} vreg;

struct venv {
    tcpshm_env env;
    uint32_t owner;
    uint32_t stream_capacity;
    int64_t clock; /* the user's time (venv_set_clock): when bytes began to wait in a stream */
    uint32_t sync_unit; /* venv_options.sync_unit */
    bool pages_back; /* venv_set_pages_back: a power loss takes every unsynced page back, no coin */
    uint16_t first_port;
    uint16_t next_local_port;
    bool hold;
    char connect_host[64]; /* the address connects come from */

    dentry *dents;
    size_t ndents, cap_dents;
    dentry *ddents; /* the names on stable storage (venv_disk.c): what a power loss comes back to */
    size_t nddents, cap_ddents;
    struct venv_index *dix, *ddix; /* indexes of dents and ddents (venv_index.c) */
    mapping *maps;
    size_t nmaps, cap_maps;
    handle *h;
    size_t nh;
    int *held; /* handles of held connects, oldest first */
    size_t nheld, cap_held;
    uint64_t stamps;        /* the last stamp given (venv_restamp) */
    venv_stamp_fn stamp_fn; /* venv_set_stamp_hook's */
    void *stamp_user;
    uint32_t boots;         /* venv_reboot's count: the boot id without boot_fn */
    /* counts changes of names, live or durable (an entry added, dropped,
     * renamed or pointed at another inode: venv_names_changed), from 1: a
     * directory synced since the last one has nothing more to sync */
    uint64_t names_gen;
    venv_boot_fn boot_fn;   /* the boot id of the current owner's host (venv_set_boot_fn) */
    void *boot_user;
};

/* -------------------------------------------------------------- helpers */

static inline void venv_names_changed(venv *v) { v->names_gen++; }

static inline int venv_fail(int e)
{
    errno = e;
    return -1;
}

/* Grows *arr (of *cap elements of size sz) to hold n; false when out of memory. */
static inline bool venv_grow(void **arr, size_t *cap, size_t n, size_t sz)
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

/* ino's bytes as they are, under the stamp venv_file_stamped shows (none
 * while mapped), go to the stamp hook: they are about to change or to
 * leave a name. */
static inline void venv_stamp_leaves(venv *v, const inode *ino)
{
    if (v->stamp_fn && !ino->is_dir && ino->maps == 0 && ino->stamp)
        v->stamp_fn(v->stamp_user, ino->stamp, ino->data, ino->size);
}

/* ino's bytes are about to change, or may change from now on (a first
 * mapping; again at the last unmap): the hook first, then a stamp no file
 * had before. */
static inline void venv_restamp(venv *v, inode *ino)
{
    venv_stamp_leaves(v, ino);
    ino->stamp = ++v->stamps;
}

/* ---- venv_owners.c: the handle table, each handle tagged with its owner ---- */

/* A free handle of kind for the current owner (the lowest free number), or -1
 * with errno (the table may move). */
int venv_new_handle(venv *v, int kind);
/* The handle fd of the current owner, of a wanted kind (H_FREE: any); NULL
 * with errno EBADF, or ENOTSOCK / EINVAL for the wrong kind. */
handle *venv_get_handle(venv *v, int fd, int kind);
void venv_free_handle(handle *hd);

/* ---- venv_files.c: files, directories, mappings ---- */

/* Paths and names, shared with venv_disk.c. */
char *venv_normalize(const char *path); /* malloc'd; NULL when out of memory */
/* The same in buf (size bytes) when it fits, else malloc'd (free it when
 * it is not buf): a lookup's, without a malloc per call. */
#define VENV_NORM_BUF 256
char *venv_normalize_in(const char *path, char *buf, size_t size);
bool venv_is_root(const char *norm);
/* The parent of a normalized path is a prefix of it ("/" for "/x", "" for
 * "x"): its length, and whether it is the root ("", "/" or "."). */
size_t venv_parent_len(const char *norm);
bool venv_parent_is_root(const char *norm, size_t plen);
/* 0 if the parent of norm is an existing directory, else the errno. */
int venv_parent_ok(const venv *v, const char *norm);
dentry *venv_lookup(const venv *v, const char *norm);
/* The entry of arr[0..n) (indexed by ix) named norm, or NULL: venv_lookup's
 * search, shared with the durable names. */
dentry *venv_find(dentry *arr, size_t n, struct venv_index *ix, const char *norm);
uint32_t venv_path_hash(const char *norm);
/* d's name becomes norm (taken), with its hash. */
void venv_dentry_name(dentry *d, char *norm);
dentry *venv_add_dentry(venv *v, char *norm, inode *ino); /* takes norm */
void venv_drop_dentry(venv *v, dentry *d);
void venv_inode_maybe_free(inode *ino);

/* Fills in the file and mapping calls of env. */
void venv_files_install(tcpshm_env *env);
/* Closes a file handle (already checked), releasing its lock; its inode goes
 * when nothing uses it. */
void venv_close_file(handle *hd);
/* venv_destroy's part: every mapping and every name (file handles are closed). */
void venv_files_destroy(venv *v);

/* ---- venv_index.c: a hash index of a name array (dents or ddents) ---- */

typedef struct venv_index venv_index;
venv_index *venv_index_new(void); /* NULL when out of memory */
void venv_index_free(venv_index *ix);
/* Entries of the array were dropped or renamed: rebuilt at the next find. */
void venv_index_stale(venv_index *ix);
/* arr[n - 1] was appended. */
void venv_index_added(venv_index *ix, const dentry *arr, size_t n);
/* The entry of arr[0..n) whose path is the len bytes at s (hash: of
 * them), or NULL. */
dentry *venv_index_find(venv_index *ix, dentry *arr, size_t n, const char *s, size_t len, uint32_t hash);

/* ---- venv_disk.c: stable storage (durable copies, syncs, power loss) ---- */

/* Fills in map_sync, file_sync and dir_sync of env. */
void venv_disk_install(tcpshm_env *env);
/* The file at the normalized path and its name are durable as they are
 * (venv_file_write: a test's or checker's set-up). 0, or -1 with errno. */
int venv_disk_settle(venv *v, const char *norm);
/* venv_destroy's part: the durable names. */
void venv_disk_destroy(venv *v);

/* ---- venv_net.c: sockets, connections, byte streams ---- */

/* Fills in the socket calls of env. */
void venv_net_install(tcpshm_env *env);
/* Closes a socket or listener handle (already checked). */
void venv_close_sock(venv *v, int fd);

/* Whether a recv on the connected socket handle would not say EAGAIN:
 * bytes, EOF or a reset are waiting (wait_io's and the ready sets' test). */
bool venv_sock_readable(const handle *hd);

/* ---- venv_ready.c: readiness sets (epoll) ---- */

/* Fills in epoll_create, epoll_ctl and epoll_wait of env. */
void venv_ready_install(tcpshm_env *env);
/* The socket fd is closing: it leaves every set (as a closed fd leaves epoll). */
void venv_ready_forget(venv *v, int fd);

/* ---- venv_shm.c: shared-memory segments (files under VENV_SHM_DIR) ---- */

/* Fills in shm_open and shm_unlink of env (they use env's file calls). */
void venv_shm_install(tcpshm_env *env);

#endif
