/* The env seam: every socket, file, directory and mapping operation of the
 * library goes through this struct of function pointers (as SQLite's VFS and
 * LevelDB's Env), so a test or the simulator can supply its own OS.
 *
 * Conventions (as POSIX): handles are non-negative ints; a failing call
 * returns -1 (or NULL) and sets errno. Sockets are non-blocking. */
#ifndef TCPSHM_ENV_H
#define TCPSHM_ENV_H

#include "tcpshm/export.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The layout of tcpshm_env this header describes. A member added later
 * raises it; the library reads only the members of the version an env
 * declares, and refuses (TCPSHM_E_ARG) an env whose version it does not
 * know: 0 (never set) or newer than this library. */
#define TCPSHM_ENV_VERSION 3u

typedef struct tcpshm_env {
    uint32_t version; /* TCPSHM_ENV_VERSION: set it first */
    void *ctx;        /* passed to every call */

    /* ---- files and directories ---- */
    /* Opens path read-write; with create != 0 creates it (must not exist) with mode. */
    int (*file_open)(void *ctx, const char *path, int create, unsigned mode);
    int (*file_size)(void *ctx, int fd, uint64_t *size);
    int (*file_resize)(void *ctx, int fd, uint64_t size); /* new bytes read as zero */
    int (*file_close)(void *ctx, int fd);
    int (*rename)(void *ctx, const char *from, const char *to); /* atomic replace */
    int (*remove)(void *ctx, const char *path);
    int (*mkdir)(void *ctx, const char *path, unsigned mode); /* EEXIST if present */

    /* ---- shared-memory segments: host-wide names ("/tcpshm_a_b"); the
     * handle works with file_size, file_resize, map and file_close ---- */
    int (*shm_open)(void *ctx, const char *name, int create, unsigned mode);
    int (*shm_unlink)(void *ctx, const char *name);

    /* ---- shared mappings (of an open file) ---- */
    void *(*map)(void *ctx, int fd, size_t size); /* shared, read-write; NULL on failure */
    int (*unmap)(void *ctx, void *addr, size_t size);

    /* ---- TCP sockets ---- */
    /* A listening socket on a numeric IPv4 or IPv6 address (port 0: any free port). */
    int (*listen)(void *ctx, const char *addr, uint16_t port, int backlog);
    int (*local_port)(void *ctx, int fd); /* the bound port, or -1 */
    int (*accept)(void *ctx, int listen_fd); /* -1/EAGAIN when none is waiting */
    /* Starts a connection to a numeric address; the handle is usable at once,
     * connect_result tells when the connection is made. */
    int (*connect)(void *ctx, const char *addr, uint16_t port);
    /* 0 connected, EINPROGRESS still connecting, else the errno it failed with. */
    int (*connect_result)(void *ctx, int fd);
    ssize_t (*send)(void *ctx, int fd, const void *buf, size_t len); /* never raises SIGPIPE */
    ssize_t (*recv)(void *ctx, int fd, void *buf, size_t len); /* 0 = peer closed */
    int (*set_nodelay)(void *ctx, int fd, int on);
    /* Makes the next sock_close abort the connection (the peer sees a reset). */
    int (*sock_reset)(void *ctx, int fd);
    int (*sock_close)(void *ctx, int fd);
    /* Waits up to timeout_ms for fd to become readable (or writable when
     * want_write); 1 ready, 0 not yet. Only blocking convenience calls use it. */
    int (*wait_io)(void *ctx, int fd, int want_write, int timeout_ms);
    /* The numeric addresses ("127.0.0.1", "::1", ...) of a connected
     * socket's own end (local) and the other end (peer), each NUL-terminated
     * in size bytes (TCPSHM_ADDR_STR_SIZE is enough). The server asks before
     * it accepts a shared-memory login. */
    int (*sock_addrs)(void *ctx, int fd, char *local, char *peer, size_t size);

    /* ---- ownership of a state directory ---- */
    /* Takes an exclusive lock on the open file fd (from file_open), held until
     * fd is closed or the process dies (SIGKILL included); a second open of
     * the same file, in this process or another, cannot take it. 0, or -1
     * with errno: EWOULDBLOCK when another holder has it, and then
     * *holder_pid is the holder's process id, or -1 when it is not known.
     * The POSIX env (an OFD lock) replaces the file's contents with the
     * holder's pid: lock a file of its own, never a queue file. */
    int (*file_lock)(void *ctx, int fd, int *holder_pid);

    /* ---- stable storage (version 2; used by durability "host") ---- */
    /* Writes the modified bytes of [addr, addr+len) of a shared file mapping
     * to stable storage and waits for it (msync MS_SYNC). addr need not be
     * page-aligned: the pages that hold the range are synced. */
    int (*map_sync)(void *ctx, void *addr, size_t len);
    /* Makes an open file's data and size durable (fdatasync). */
    int (*file_sync)(void *ctx, int fd);
    /* Makes the entries of a directory durable, so a create, rename or
     * remove inside it survives a power cut (fsync of the directory). */
    int (*dir_sync)(void *ctx, const char *path);

    /* ---- the host's boot (version 3) ---- */
    /* 16 bytes that name the host's current boot: the same for every process
     * until the host restarts, different after (Linux:
     * /proc/sys/kernel/random/boot_id). A queue file remembers the boot that
     * last wrote it without syncing (durability "process"), so an open after a
     * power cut refuses what the cut may have taken back (docs/design.md,
     * "Durability"). An env without it (version < 3) turns that check off. */
    int (*boot_id)(void *ctx, uint8_t id[16]);

    /* ---- readiness (version 3, with boot_id; a server's TCP group of many connections,
     * docs/design.md "Readiness polling") ---- */
    /* A new, empty readiness set (epoll_create1): a handle closed with
     * sock_close. */
    int (*epoll_create)(void *ctx);
    /* op TCPSHM_EPOLL_ADD: the socket fd joins the set, reported with tag
     * while it is readable (bytes, EOF or an error pending: a recv would
     * not say EAGAIN); TCPSHM_EPOLL_DEL: it leaves. Closing a socket takes
     * it out of every set. */
    int (*epoll_ctl)(void *ctx, int set, int op, int fd, uint64_t tag);
    /* Never waits: stores the tags of sockets of the set that are readable
     * now, at most max, each once (an env may give fewer; the others are
     * reported by a later call), and returns how many (0: none), or -1 with
     * errno. tags has room for 2 * max tags: the env may use all of it as
     * scratch (the POSIX env receives its epoll events there). A socket that
     * stays readable is reported again by a later call. */
    int (*epoll_wait)(void *ctx, int set, uint64_t *tags, uint32_t max);
} tcpshm_env;

enum { TCPSHM_EPOLL_ADD = 1, TCPSHM_EPOLL_DEL = 2 };

#define TCPSHM_ADDR_STR_SIZE 64u

/* The real OS. */
TCPSHM_API const tcpshm_env *tcpshm_env_posix(void);

#ifdef __cplusplus
}
#endif
#endif
