/* tcpshm_env_posix(): the env seam over the real OS (POSIX plus the Linux
 * accept4/SOCK_NONBLOCK/SOCK_CLOEXEC/MSG_NOSIGNAL extensions).
 *
 * No output, no clock reads, no threads, no allocation: addresses are numeric
 * only (inet_pton, never getaddrinfo). Every descriptor is close-on-exec and
 * every socket is non-blocking. */
#define _GNU_SOURCE /* accept4 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h> /* rename, snprintf */
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "tcpshm/env.h"

/* ---- files and directories ---- */

/* Opens a file or an shm segment read-write (created exclusively when asked),
 * retrying on EINTR: the two differ only in the call. */
static int open_rdwr(const char *path, int create, unsigned mode, bool shm)
{
    int flags = O_RDWR | O_CLOEXEC;
    if (create)
        flags |= O_CREAT | O_EXCL;
    int fd;
    do
        fd = shm ? shm_open(path, flags, (mode_t)mode) : open(path, flags, (mode_t)mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

static int posix_file_open(void *ctx, const char *path, int create, unsigned mode)
{
    (void)ctx;
    return open_rdwr(path, create, mode, false);
}

static int posix_shm_open(void *ctx, const char *name, int create, unsigned mode)
{
    (void)ctx;
    return open_rdwr(name, create, mode, true);
}

static int posix_shm_unlink(void *ctx, const char *name)
{
    (void)ctx;
    return shm_unlink(name);
}

static int posix_file_size(void *ctx, int fd, uint64_t *size)
{
    (void)ctx;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (st.st_size < 0) {
        errno = EOVERFLOW;
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

static int posix_file_resize(void *ctx, int fd, uint64_t size)
{
    (void)ctx;
    if (size > (uint64_t)INT64_MAX) { /* off_t is 64-bit under glibc on LP64 */
        errno = EFBIG;
        return -1;
    }
    int rc;
    do
        rc = ftruncate(fd, (off_t)size);
    while (rc != 0 && errno == EINTR);
    return rc;
}

static int posix_file_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd); /* never retried on EINTR: the fd is gone on Linux */
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to);
}

static int posix_remove(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path);
}

static int posix_mkdir(void *ctx, const char *path, unsigned mode)
{
    (void)ctx;
    return mkdir(path, (mode_t)mode);
}

/* The pid a lock holder wrote into fd ("1234\n"), or -1 when there is none
 * (not written yet, or not a number). */
static int read_holder_pid(int fd)
{
    char text[24];
    ssize_t n;
    do
        n = pread(fd, text, sizeof text - 1, 0);
    while (n < 0 && errno == EINTR);
    long pid = 0;
    ssize_t i = 0;
    for (; i < n && text[i] >= '0' && text[i] <= '9' && pid < 100000000L; i++)
        pid = pid * 10 + (text[i] - '0');
    return i > 0 && pid > 0 ? (int)pid : -1;
}

/* An OFD lock (F_OFD_SETLK): it belongs to the open file description, so a
 * second open in the same process conflicts too (a classic fcntl lock would
 * not, and would drop with any close of the file); the kernel releases it
 * when the last descriptor closes, at process death included. F_OFD_GETLK
 * reports no pid (-1), so the holder writes its own into the file. */
static int posix_file_lock(void *ctx, int fd, int *holder_pid)
{
    (void)ctx;
    *holder_pid = -1;
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* l_start 0, l_len 0: the whole file */
    int rc;
    do
        rc = fcntl(fd, F_OFD_SETLK, &fl);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno != EAGAIN && errno != EACCES)
            return -1;
        *holder_pid = read_holder_pid(fd);
        errno = EWOULDBLOCK;
        return -1;
    }
    char text[24];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    ssize_t n = -1;
    if (ftruncate(fd, 0) == 0)
        do
            n = pwrite(fd, text, (size_t)len, 0);
        while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len) {
        int e = n < 0 ? errno : EIO;
        fl.l_type = F_UNLCK;
        (void)fcntl(fd, F_OFD_SETLK, &fl);
        errno = e;
        return -1;
    }
    return 0;
}

/* ---- shared mappings ---- */

/* Populated at once (Linux): a fresh 1 MiB SHM segment otherwise takes a
 * page fault every 4 KiB of its first lap, a few microseconds each, which
 * was the SHM echo's p99 (issue 15 §2). */
#ifdef MAP_POPULATE
#define TCPSHM_MAP_FLAGS (MAP_SHARED | MAP_POPULATE)
#else
#define TCPSHM_MAP_FLAGS MAP_SHARED
#endif

static void *posix_map(void *ctx, int fd, size_t size)
{
    (void)ctx;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, TCPSHM_MAP_FLAGS, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int posix_unmap(void *ctx, void *addr, size_t size)
{
    (void)ctx;
    return munmap(addr, size);
}

/* ---- stable storage ---- */

static int posix_map_sync(void *ctx, void *addr, size_t len)
{
    (void)ctx;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)addr & ~(page - 1);
    return msync((void *)start, len + ((uintptr_t)addr - start), MS_SYNC);
}

static int posix_file_sync(void *ctx, int fd)
{
    (void)ctx;
    int rc;
    do
        rc = fdatasync(fd);
    while (rc != 0 && errno == EINTR);
    return rc;
}

/* /proc/sys/kernel/random/boot_id: a UUID in text ("xxxxxxxx-xxxx-..."),
 * new at every boot; its 32 hex digits are the 16 bytes. */
static int posix_boot_id(void *ctx, uint8_t id[16])
{
    (void)ctx;
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char text[64];
    ssize_t n;
    do
        n = read(fd, text, sizeof text - 1);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return -1;
    }
    size_t got = 0;
    for (ssize_t i = 0; i < n && got < 32; i++) {
        char c = text[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0)
            continue; /* the dashes and the newline */
        if (got % 2 == 0)
            id[got / 2] = (uint8_t)(v << 4);
        else
            id[got / 2] = (uint8_t)(id[got / 2] | v);
        got++;
    }
    if (got != 32) {
        errno = EIO; /* not a UUID: no id rather than a wrong one */
        return -1;
    }
    return 0;
}

static int posix_dir_sync(void *ctx, const char *path)
{
    (void)ctx;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = fsync(fd);
    while (rc != 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* ---- TCP sockets ---- */

/* Fills ss from a numeric address ("1.2.3.4", or IPv6 when it contains ':').
 * Returns the address length, or 0 with errno EINVAL. */
static socklen_t make_addr(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
    memset(ss, 0, sizeof *ss);
    if (addr == NULL) {
        errno = EINVAL;
        return 0;
    }
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1) {
            errno = EINVAL;
            return 0;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        return (socklen_t)sizeof *a6;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) != 1) {
        errno = EINVAL;
        return 0;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    return (socklen_t)sizeof *a4;
}

/* Closes fd keeping the errno of the failure that led here; returns -1. */
static int close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static int posix_listen(void *ctx, const char *addr, uint16_t port, int backlog)
{
    (void)ctx;
    struct sockaddr_storage ss;
    socklen_t len = make_addr(&ss, addr, port);
    if (len == 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, (socklen_t)sizeof one) != 0)
        return close_keep_errno(fd);
    if (bind(fd, (const struct sockaddr *)&ss, len) != 0)
        return close_keep_errno(fd);
    if (listen(fd, backlog) != 0)
        return close_keep_errno(fd);
    return fd;
}

static int posix_local_port(void *ctx, int fd)
{
    (void)ctx;
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return (int)ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return (int)ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    errno = EAFNOSUPPORT;
    return -1;
}

/* One address as numeric text; an IPv4-mapped IPv6 address stays as the
 * kernel gives it ("::ffff:127.0.0.1"). */
static int addr_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
    const void *a = NULL;
    if (ss->ss_family == AF_INET)
        a = &((const struct sockaddr_in *)ss)->sin_addr;
    else if (ss->ss_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    else {
        errno = EAFNOSUPPORT;
        return -1;
    }
    if (size > (size_t)INT32_MAX || !inet_ntop(ss->ss_family, a, out, (socklen_t)size))
        return -1;
    return 0;
}

static int posix_sock_addrs(void *ctx, int fd, char *local, char *peer, size_t size)
{
    (void)ctx;
    struct sockaddr_storage l, p;
    socklen_t ll = (socklen_t)sizeof l, pl = (socklen_t)sizeof p;
    memset(&l, 0, sizeof l);
    memset(&p, 0, sizeof p);
    if (getsockname(fd, (struct sockaddr *)&l, &ll) != 0 || getpeername(fd, (struct sockaddr *)&p, &pl) != 0)
        return -1;
    return addr_text(&l, local, size) == 0 && addr_text(&p, peer, size) == 0 ? 0 : -1;
}

static int posix_accept(void *ctx, int listen_fd)
{
    (void)ctx;
    int fd;
    do
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd;
}

static int posix_connect(void *ctx, const char *addr, uint16_t port)
{
    (void)ctx;
    struct sockaddr_storage ss;
    socklen_t len = make_addr(&ss, addr, port);
    if (len == 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&ss, len) == 0)
        return fd;
    /* EINTR: the connection goes on asynchronously, as EINPROGRESS. */
    if (errno == EINPROGRESS || errno == EINTR)
        return fd;
    return close_keep_errno(fd);
}

static int posix_connect_result(void *ctx, int fd)
{
    (void)ctx;
    struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
    int n = poll(&p, 1, 0);
    if (n < 0)
        return errno == EINTR ? EINPROGRESS : errno;
    if (n == 0)
        return EINPROGRESS;
    int err = 0;
    socklen_t len = (socklen_t)sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return errno;
    if (err != 0)
        return err;
    /* SO_ERROR is cleared once read: a socket whose failure was already
     * reported has no peer, so a repeated call does not turn into 0. */
    struct sockaddr_storage peer;
    socklen_t plen = (socklen_t)sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0)
        return errno;
    return 0;
}

static ssize_t posix_send(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx;
    ssize_t n;
    do
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n;
}

static ssize_t posix_recv(void *ctx, int fd, void *buf, size_t len)
{
    (void)ctx;
    ssize_t n;
    do
        n = recv(fd, buf, len, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n;
}

static int posix_set_nodelay(void *ctx, int fd, int on)
{
    (void)ctx;
    int v = on ? 1 : 0;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, (socklen_t)sizeof v);
}

static int posix_sock_reset(void *ctx, int fd)
{
    (void)ctx;
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, (socklen_t)sizeof l);
}

static int posix_sock_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static int posix_wait_io(void *ctx, int fd, int want_write, int timeout_ms)
{
    (void)ctx;
    struct pollfd pfd = {.fd = fd, .events = (short)(want_write ? POLLOUT : POLLIN)};
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0)
        return errno == EINTR ? 0 : -1;
    return r > 0;
}

/* ---- readiness ---- */

static int posix_epoll_create(void *ctx)
{
    (void)ctx;
    return epoll_create1(EPOLL_CLOEXEC);
}

static int posix_epoll_ctl(void *ctx, int set, int op, int fd, uint64_t tag)
{
    (void)ctx;
    /* level-triggered: a socket left readable is reported again */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = tag};
    return epoll_ctl(set, op == TCPSHM_EPOLL_ADD ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

/* One call, into the caller's buffer: it has room for 2 * max tags
 * (env.h), enough for max struct epoll_event (12 or 16 bytes); the tags are
 * then packed to the front (tag k is written at or before event k). One
 * call reports each ready socket once (two calls in a row may report a
 * socket twice: a level-triggered socket goes back to the end of the ready
 * list once reported). */
static int posix_epoll_wait(void *ctx, int set, uint64_t *tags, uint32_t max)
{
    (void)ctx;
    _Static_assert(sizeof(struct epoll_event) <= 2 * sizeof(uint64_t), "the tags' room holds the events");
    struct epoll_event *ev = (struct epoll_event *)(void *)tags;
    int want = max < (uint32_t)INT32_MAX ? (int)max : INT32_MAX;
    int n;
    do
        n = epoll_wait(set, ev, want, 0);
    while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        uint64_t tag = ev[i].data.u64;
        tags[i] = tag;
    }
    return n;
}

static const tcpshm_env posix_env = {
    .version = TCPSHM_ENV_VERSION,
    .ctx = NULL,
    .file_open = posix_file_open,
    .file_size = posix_file_size,
    .file_resize = posix_file_resize,
    .file_close = posix_file_close,
    .rename = posix_rename,
    .remove = posix_remove,
    .mkdir = posix_mkdir,
    .shm_open = posix_shm_open,
    .shm_unlink = posix_shm_unlink,
    .map = posix_map,
    .unmap = posix_unmap,
    .listen = posix_listen,
    .local_port = posix_local_port,
    .accept = posix_accept,
    .connect = posix_connect,
    .connect_result = posix_connect_result,
    .send = posix_send,
    .recv = posix_recv,
    .set_nodelay = posix_set_nodelay,
    .sock_reset = posix_sock_reset,
    .sock_close = posix_sock_close,
    .wait_io = posix_wait_io,
    .sock_addrs = posix_sock_addrs,
    .file_lock = posix_file_lock,
    .map_sync = posix_map_sync,
    .file_sync = posix_file_sync,
    .dir_sync = posix_dir_sync,
    .boot_id = posix_boot_id,
    .epoll_create = posix_epoll_create,
    .epoll_ctl = posix_epoll_ctl,
    .epoll_wait = posix_epoll_wait,
};

const tcpshm_env *tcpshm_env_posix(void)
{
    return &posix_env;
}
