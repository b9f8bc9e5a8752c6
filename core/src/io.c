/* The env wrappers of io.h: each forwards to env->fn(env->ctx, ...) and, in
 * the fault build (FIU_ENABLE), first consults its libfiu failure point.
 *
 * A point's failnum > 1 is the errno to fail with; failnum 1 means the
 * point's default errno. For the short variants the point's failinfo, when
 * non-NULL, is (uintptr_t) a byte count clamped to [1, len-1], else half the
 * length (at least 1); they only apply when len > 1.
 *
 * Each point but tcpshm/net/listen, tcpshm/env/boot_id and the epoll ones stands behind its family's gate
 * (TCPSHM_FIU_GATED, tcpshm/fault_gate.h): while the gate lets evaluations
 * pass, libfiu is not asked.
 *
 * Without FIU_ENABLE fiu_fail() and TCPSHM_FIU_GATED() are the constant 0 and
 * fiu_failinfo() NULL, so every fault branch and every point name compile
 * away. Each name is written as a full literal inside fiu_fail(...):
 * tests/test_fault_catalogue.c finds the points by that pattern. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fiu_local.h"
#include "io.h"

/* Sets errno from a point's failnum (or its default) and returns -1. */
static int fail_with(int failnum, int default_errno)
{
    errno = failnum > 1 ? failnum : default_errno;
    return -1;
}

/* The shortened length for a short point (send/short, recv/short), len > 1. */
static size_t short_len(size_t len, const void *failinfo)
{
    size_t n;
    if (failinfo != NULL) {
        n = (size_t)(uintptr_t)failinfo;
        if (n < 1)
            n = 1;
        if (n > len - 1)
            n = len - 1;
    } else {
        n = len / 2;
        if (n < 1)
            n = 1;
    }
    return n;
}

/* ---- files and directories ---- */

int tcpshm_io_file_open(const tcpshm_env *env, const char *path, int create, unsigned mode)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/open"));
    if (f)
        return fail_with(f, EACCES);
    return env->file_open(env->ctx, path, create, mode);
}

int tcpshm_io_file_size(const tcpshm_env *env, int fd, uint64_t *size)
{
    return env->file_size(env->ctx, fd, size);
}

int tcpshm_io_file_resize(const tcpshm_env *env, int fd, uint64_t size)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/resize"));
    if (f)
        return fail_with(f, ENOSPC);
    return env->file_resize(env->ctx, fd, size);
}

int tcpshm_io_file_close(const tcpshm_env *env, int fd)
{
    return env->file_close(env->ctx, fd);
}

int tcpshm_io_rename(const tcpshm_env *env, const char *from, const char *to)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/rename"));
    if (f)
        return fail_with(f, EIO);
    return env->rename(env->ctx, from, to);
}

int tcpshm_io_remove(const tcpshm_env *env, const char *path)
{
    return env->remove(env->ctx, path);
}

int tcpshm_io_mkdir(const tcpshm_env *env, const char *path, unsigned mode)
{
    return env->mkdir(env->ctx, path, mode);
}

int tcpshm_io_file_lock(const tcpshm_env *env, int fd, int *holder_pid)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/lock"));
    if (f) {
        *holder_pid = -1;
        return fail_with(f, ENOLCK);
    }
    return env->file_lock(env->ctx, fd, holder_pid);
}

int tcpshm_io_map_sync(const tcpshm_env *env, void *addr, size_t len)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/sync"));
    if (f)
        return fail_with(f, EIO);
    if (env->version < 2u || env->map_sync == NULL)
        return fail_with(0, ENOSYS);
    return env->map_sync(env->ctx, addr, len);
}

int tcpshm_io_boot_id(const tcpshm_env *env, uint8_t id[16])
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/env/boot_id"));
    if (f)
        return fail_with(f, EIO);
    if (env->version < 3u || env->boot_id == NULL)
        return fail_with(0, ENOSYS);
    return env->boot_id(env->ctx, id);
}

int tcpshm_io_file_sync(const tcpshm_env *env, int fd)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/fdatasync"));
    if (f)
        return fail_with(f, EIO);
    if (env->version < 2u || env->file_sync == NULL)
        return fail_with(0, ENOSYS);
    return env->file_sync(env->ctx, fd);
}

/* The parent directory of path ("." for a bare name), into out. A
 * trailing "." component names the directory before it ("x/." is x, whose
 * parent is "."), so it is not a level. */
static int parent_dir(const char *path, char *out, size_t n)
{
    size_t len = strlen(path);
    for (;;) {
        while (len > 1 && path[len - 1] == '/')
            len--;
        if (len >= 2 && path[len - 1] == '.' && path[len - 2] == '/')
            len--; /* "x/." -> "x/": then its slashes */
        else
            break;
    }
    while (len > 0 && path[len - 1] != '/')
        len--;
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len >= n)
        return fail_with(0, ENAMETOOLONG);
    if (len == 0)
        memcpy(out, ".", 2);
    else {
        memcpy(out, path, len);
        out[len] = '\0';
    }
    return 0;
}

/* The directory's entries reach the disk, and so does its own entry in its
 * parent: the library makes the directory (tcpshm_io_ensure_dir, perhaps in
 * an earlier process that died before any sync), and a file renamed into a
 * directory whose name is lost in a power cut is lost with it. */
int tcpshm_io_dir_sync(const tcpshm_env *env, const char *path)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/dirsync"));
    if (f)
        return fail_with(f, EIO);
    if (env->version < 2u || env->dir_sync == NULL)
        return fail_with(0, ENOSYS);
    char parent[TCPSHM_PATH_SIZE];
    if (env->dir_sync(env->ctx, path) != 0 || parent_dir(path, parent, sizeof parent) != 0)
        return -1;
    return env->dir_sync(env->ctx, parent);
}

int tcpshm_io_ensure_dir(const tcpshm_env *env, const char *path)
{
    return tcpshm_io_mkdir(env, path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

void *tcpshm_io_map(const tcpshm_env *env, int fd, size_t size)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/file/map"));
    if (f) {
        fail_with(f, ENOMEM);
        return NULL;
    }
    return env->map(env->ctx, fd, size);
}

int tcpshm_io_unmap(const tcpshm_env *env, void *addr, size_t size)
{
    return env->unmap(env->ctx, addr, size);
}

/* ---- TCP sockets ---- */

int tcpshm_io_listen(const tcpshm_env *env, const char *addr, uint16_t port, int backlog)
{
    int f = fiu_fail("tcpshm/net/listen");
    if (f)
        return fail_with(f, EADDRINUSE);
    return env->listen(env->ctx, addr, port, backlog);
}

int tcpshm_io_local_port(const tcpshm_env *env, int fd)
{
    return env->local_port(env->ctx, fd);
}

int tcpshm_io_sock_addrs(const tcpshm_env *env, int fd, char *local, char *peer, size_t size)
{
    if (!env->sock_addrs) {
        errno = ENOSYS;
        return -1;
    }
    return env->sock_addrs(env->ctx, fd, local, peer, size);
}

int tcpshm_io_accept(const tcpshm_env *env, int listen_fd)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_NET, fiu_fail("tcpshm/net/accept"));
    if (f)
        return fail_with(f, ECONNABORTED);
    return env->accept(env->ctx, listen_fd);
}

int tcpshm_io_connect(const tcpshm_env *env, const char *addr, uint16_t port)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_NET, fiu_fail("tcpshm/net/connect"));
    if (f)
        return fail_with(f, ECONNREFUSED);
    return env->connect(env->ctx, addr, port);
}

int tcpshm_io_connect_result(const tcpshm_env *env, int fd)
{
    return env->connect_result(env->ctx, fd);
}

ssize_t tcpshm_io_send(const tcpshm_env *env, int fd, const void *buf, size_t len)
{
    if (TCPSHM_FIU_GATED(TCPSHM_GATE_RESET, fiu_fail("tcpshm/net/reset"))) {
        /* Abort the connection: the caller closes it on ECONNRESET and the
         * close then sends a reset to the peer. */
        env->sock_reset(env->ctx, fd);
        errno = ECONNRESET;
        return -1;
    }
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_NET, fiu_fail("tcpshm/net/send"));
    if (f)
        return fail_with(f, EPIPE);
    if (len > 1 && TCPSHM_FIU_GATED(TCPSHM_GATE_SEND_SHORT, fiu_fail("tcpshm/net/send/short")))
        len = short_len(len, fiu_failinfo());
    return env->send(env->ctx, fd, buf, len);
}

ssize_t tcpshm_io_recv(const tcpshm_env *env, int fd, void *buf, size_t len)
{
    if (TCPSHM_FIU_GATED(TCPSHM_GATE_RESET, fiu_fail("tcpshm/net/reset"))) {
        env->sock_reset(env->ctx, fd);
        errno = ECONNRESET;
        return -1;
    }
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_NET, fiu_fail("tcpshm/net/recv"));
    if (f)
        return fail_with(f, ECONNRESET);
    if (len > 1 && TCPSHM_FIU_GATED(TCPSHM_GATE_RECV_SHORT, fiu_fail("tcpshm/net/recv/short")))
        len = short_len(len, fiu_failinfo());
    return env->recv(env->ctx, fd, buf, len);
}

int tcpshm_io_set_nodelay(const tcpshm_env *env, int fd, int on)
{
    return env->set_nodelay(env->ctx, fd, on);
}

int tcpshm_io_sock_close(const tcpshm_env *env, int fd)
{
    return env->sock_close(env->ctx, fd);
}

/* The readiness points ask libfiu at every evaluation (no gate family: the
 * simulator's gate streams count send, recv, accept and connect only). */
int tcpshm_io_epoll_create(const tcpshm_env *env)
{
    int f = fiu_fail("tcpshm/net/epoll_create");
    if (f)
        return fail_with(f, EMFILE);
    return env->epoll_create(env->ctx);
}

int tcpshm_io_epoll_ctl(const tcpshm_env *env, int set, int op, int fd, uint64_t tag)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_NET, fiu_fail("tcpshm/net/epoll_ctl"));
    if (f)
        return fail_with(f, ENOMEM);
    return env->epoll_ctl(env->ctx, set, op, fd, tag);
}

int tcpshm_io_epoll_wait(const tcpshm_env *env, int set, uint64_t *tags, uint32_t max)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_NET, fiu_fail("tcpshm/net/epoll_wait"));
    if (f)
        return fail_with(f, EINTR);
    return env->epoll_wait(env->ctx, set, tags, max);
}

int tcpshm_io_wait(const tcpshm_env *env, int fd, int want_write, int timeout_ms)
{
    return env->wait_io(env->ctx, fd, want_write, timeout_ms);
}

int tcpshm_io_shm_open(const tcpshm_env *env, const char *name, int create, unsigned mode)
{
    int f = TCPSHM_FIU_GATED(TCPSHM_GATE_FILE, fiu_fail("tcpshm/shm/open"));
    if (f)
        return fail_with(f, EACCES);
    return env->shm_open(env->ctx, name, create, mode);
}

int tcpshm_io_shm_unlink(const tcpshm_env *env, const char *name)
{
    return env->shm_unlink(env->ctx, name);
}
