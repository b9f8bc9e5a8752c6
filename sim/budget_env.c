/* The counting env: one forwarder per tcpshm_env member, made by one of two
 * macros (the file members also take a user world's fault hooks). */
#include <errno.h>

#include "budget_env.h"

static void count(budget_env *b, const char *call)
{
    if (!b->armed || ++b->calls <= b->limit)
        return;
    b->armed = false; /* once: the report and the unwinding make calls too */
    b->on_exceed(b->user, call);
}

#define FWD(ret, name, params, args)                                                                                   \
    static ret fwd_##name params                                                                                       \
    {                                                                                                                  \
        budget_env *b = ctx;                                                                                           \
        count(b, #name);                                                                                               \
        return b->inner->name args;                                                                                    \
    }

/* A file member: may fail with the hook's errno (returning failed), and
 * when it changes files and succeeded, the crash hook after it. */
#define FWD_FILE(ret, name, params, args, failed, changes)                                                            \
    static ret fwd_##name params                                                                                       \
    {                                                                                                                  \
        budget_env *b = ctx;                                                                                           \
        count(b, #name);                                                                                               \
        int e = b->fail ? b->fail(b->user, #name) : 0;                                                                 \
        if (e) {                                                                                                       \
            errno = e;                                                                                                 \
            return failed;                                                                                             \
        }                                                                                                              \
        ret r = b->inner->name args;                                                                                   \
        if ((changes) && b->changed && r != (failed))                                                                  \
            b->changed(b->user, #name);                                                                                \
        return r;                                                                                                      \
    }

FWD_FILE(int, file_open, (void *ctx, const char *path, int create, unsigned mode), (b->inner->ctx, path, create, mode), -1, create)
FWD_FILE(int, file_size, (void *ctx, int fd, uint64_t *size), (b->inner->ctx, fd, size), -1, false)
FWD_FILE(int, file_resize, (void *ctx, int fd, uint64_t size), (b->inner->ctx, fd, size), -1, true)
FWD(int, file_close, (void *ctx, int fd), (b->inner->ctx, fd))
FWD_FILE(int, rename, (void *ctx, const char *from, const char *to), (b->inner->ctx, from, to), -1, true)
FWD_FILE(int, remove, (void *ctx, const char *path), (b->inner->ctx, path), -1, true)
FWD_FILE(int, mkdir, (void *ctx, const char *path, unsigned mode), (b->inner->ctx, path, mode), -1, true)
FWD(int, shm_open, (void *ctx, const char *name, int create, unsigned mode), (b->inner->ctx, name, create, mode))
FWD(int, shm_unlink, (void *ctx, const char *name), (b->inner->ctx, name))
FWD_FILE(void *, map, (void *ctx, int fd, size_t size), (b->inner->ctx, fd, size), NULL, false)
FWD(int, unmap, (void *ctx, void *addr, size_t size), (b->inner->ctx, addr, size))
FWD(int, listen, (void *ctx, const char *addr, uint16_t port, int backlog), (b->inner->ctx, addr, port, backlog))
FWD(int, local_port, (void *ctx, int fd), (b->inner->ctx, fd))
FWD(int, accept, (void *ctx, int listen_fd), (b->inner->ctx, listen_fd))
FWD(int, connect, (void *ctx, const char *addr, uint16_t port), (b->inner->ctx, addr, port))
FWD(int, connect_result, (void *ctx, int fd), (b->inner->ctx, fd))
FWD(ssize_t, send, (void *ctx, int fd, const void *buf, size_t len), (b->inner->ctx, fd, buf, len))
FWD(ssize_t, recv, (void *ctx, int fd, void *buf, size_t len), (b->inner->ctx, fd, buf, len))
FWD(int, set_nodelay, (void *ctx, int fd, int on), (b->inner->ctx, fd, on))
FWD(int, sock_reset, (void *ctx, int fd), (b->inner->ctx, fd))
static int fwd_sock_close(void *ctx, int fd)
{
    budget_env *b = ctx;
    count(b, "sock_close");
    if (b->closing)
        b->closing(b->user, fd);
    return b->inner->sock_close(b->inner->ctx, fd);
}
FWD(int, wait_io, (void *ctx, int fd, int want_write, int timeout_ms), (b->inner->ctx, fd, want_write, timeout_ms))
FWD(int, sock_addrs, (void *ctx, int fd, char *local, char *peer, size_t size), (b->inner->ctx, fd, local, peer, size))
FWD(int, file_lock, (void *ctx, int fd, int *holder_pid), (b->inner->ctx, fd, holder_pid))
FWD_FILE(int, map_sync, (void *ctx, void *addr, size_t len), (b->inner->ctx, addr, len), -1, true)
FWD_FILE(int, file_sync, (void *ctx, int fd), (b->inner->ctx, fd), -1, true)
FWD_FILE(int, dir_sync, (void *ctx, const char *path), (b->inner->ctx, path), -1, true)
FWD(int, boot_id, (void *ctx, uint8_t id[16]), (b->inner->ctx, id))
FWD(int, epoll_create, (void *ctx), (b->inner->ctx))
static int fwd_epoll_ctl(void *ctx, int set, int op, int fd, uint64_t tag)
{
    budget_env *b = ctx;
    count(b, "epoll_ctl");
    int e = op == TCPSHM_EPOLL_ADD && b->epoll_add_fails ? b->epoll_add_fails(b->user) : 0;
    if (e) {
        errno = e;
        return -1;
    }
    return b->inner->epoll_ctl(b->inner->ctx, set, op, fd, tag);
}
FWD(int, epoll_wait, (void *ctx, int set, uint64_t *tags, uint32_t max), (b->inner->ctx, set, tags, max))

/* version, ctx and one forwarder per member: a new member needs one here. */
_Static_assert(sizeof(tcpshm_env) == offsetof(tcpshm_env, ctx) + 32 * sizeof(void *),
               "every tcpshm_env member needs a forwarder");

void budget_env_init(budget_env *b, const tcpshm_env *inner, uint64_t limit,
                     void (*on_exceed)(void *user, const char *call), void *user)
{
    *b = (budget_env){
        .env = {.version = TCPSHM_ENV_VERSION,
                .ctx = b,
                .file_open = fwd_file_open,
                .file_size = fwd_file_size,
                .file_resize = fwd_file_resize,
                .file_close = fwd_file_close,
                .rename = fwd_rename,
                .remove = fwd_remove,
                .mkdir = fwd_mkdir,
                .shm_open = fwd_shm_open,
                .shm_unlink = fwd_shm_unlink,
                .map = fwd_map,
                .unmap = fwd_unmap,
                .listen = fwd_listen,
                .local_port = fwd_local_port,
                .accept = fwd_accept,
                .connect = fwd_connect,
                .connect_result = fwd_connect_result,
                .send = fwd_send,
                .recv = fwd_recv,
                .set_nodelay = fwd_set_nodelay,
                .sock_reset = fwd_sock_reset,
                .sock_close = fwd_sock_close,
                .wait_io = fwd_wait_io,
                .sock_addrs = fwd_sock_addrs,
                .file_lock = fwd_file_lock,
                .map_sync = fwd_map_sync,
                .file_sync = fwd_file_sync,
                .dir_sync = fwd_dir_sync,
                .boot_id = fwd_boot_id,
                .epoll_create = fwd_epoll_create,
                .epoll_ctl = fwd_epoll_ctl,
                .epoll_wait = fwd_epoll_wait,
        },
        .inner = inner,
        .limit = limit,
        .on_exceed = on_exceed,
        .user = user,
    };
}

void budget_env_set_faults(budget_env *b, int (*fail)(void *user, const char *call),
                           void (*changed)(void *user, const char *call))
{
    b->fail = fail;
    b->changed = changed;
}

void budget_env_begin(budget_env *b)
{
    b->calls = 0;
    b->armed = true;
}

void budget_env_end(budget_env *b)
{
    b->armed = false;
    if (b->calls > b->max_calls)
        b->max_calls = b->calls;
}
