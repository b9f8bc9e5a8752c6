/* tcpshm_env_posix() and the io wrappers of core/src/io.h, with their libfiu
 * points (the tests link tcpshm_fi, so FIU_ENABLE is on), and the crash hook.
 * Sockets are on the loopback with kernel-chosen ports; files live in a fresh
 * mkdtemp directory. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <poll.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash.h"
#include "io.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/env.h"

#define WAIT_MS 5000 /* bound on every wait for the loopback */

static const tcpshm_env *env;

static void setup(void)
{
    cr_assert_eq(fiu_init(0), 0, "fiu_init");
    env = tcpshm_env_posix();
    cr_assert_not_null(env);
}

TestSuite(env, .init = setup);

/* Enables a point, replacing any earlier setting. libfiu 1.1 leaks the name
 * of an entry that fiu_enable replaces (LeakSanitizer reports it), so an
 * enabled point is disabled first. */
static int point_on(const char *name, int failnum, void *failinfo)
{
    (void)fiu_disable(name); /* -1 when it was not enabled */
    return fiu_enable(name, failnum, failinfo, 0);
}

/* ------------------------------------------------------------------ */
/* helpers                                                            */

/* Waits (bounded) until fd has the events; returns the revents. */
static short wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int n = poll(&p, 1, WAIT_MS);
    cr_assert_eq(n, 1, "poll on fd %d timed out or failed (%s)", fd, strerror(errno));
    return p.revents;
}

typedef struct pair {
    int lfd; /* listening */
    int cfd; /* client end */
    int sfd; /* server (accepted) end */
    int port;
} pair;

/* A connected loopback pair through the io wrappers. */
static pair make_pair(const char *addr)
{
    pair p;
    p.lfd = tcpshm_io_listen(env, addr, 0, 8);
    cr_assert_geq(p.lfd, 0, "listen %s: %s", addr, strerror(errno));
    p.port = tcpshm_io_local_port(env, p.lfd);
    cr_assert_gt(p.port, 0, "local_port");
    cr_assert_leq(p.port, 65535);

    p.cfd = tcpshm_io_connect(env, addr, (uint16_t)p.port);
    cr_assert_geq(p.cfd, 0, "connect %s:%d: %s", addr, p.port, strerror(errno));

    /* Non-blocking accept: nothing may be waiting yet. */
    p.sfd = -1;
    for (int i = 0; i < 100 && p.sfd < 0; i++) {
        p.sfd = tcpshm_io_accept(env, p.lfd);
        if (p.sfd < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "accept: %s", strerror(errno));
            wait_fd(p.lfd, POLLIN);
        }
    }
    cr_assert_geq(p.sfd, 0, "no connection accepted");

    int r = EINPROGRESS;
    for (int i = 0; i < 100 && r == EINPROGRESS; i++) {
        r = tcpshm_io_connect_result(env, p.cfd);
        if (r == EINPROGRESS)
            wait_fd(p.cfd, POLLOUT);
    }
    cr_assert_eq(r, 0, "connect_result: %s", strerror(r));
    return p;
}

static void close_pair(pair *p)
{
    if (p->cfd >= 0)
        cr_assert_eq(tcpshm_io_sock_close(env, p->cfd), 0);
    if (p->sfd >= 0)
        cr_assert_eq(tcpshm_io_sock_close(env, p->sfd), 0);
    if (p->lfd >= 0)
        cr_assert_eq(tcpshm_io_sock_close(env, p->lfd), 0);
    p->cfd = p->sfd = p->lfd = -1;
}

/* Sends all len bytes (the loopback buffers are far larger than the tests). */
static void send_all(int fd, const void *buf, size_t len)
{
    const char *b = buf;
    size_t done = 0;
    for (int i = 0; i < 1000 && done < len; i++) {
        ssize_t n = tcpshm_io_send(env, fd, b + done, len - done);
        if (n < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s", strerror(errno));
            wait_fd(fd, POLLOUT);
            continue;
        }
        done += (size_t)n;
    }
    cr_assert_eq(done, len, "sent %zu of %zu", done, len);
}

/* Receives exactly len bytes. */
static void recv_all(int fd, void *buf, size_t len)
{
    char *b = buf;
    size_t done = 0;
    for (int i = 0; i < 1000 && done < len; i++) {
        ssize_t n = tcpshm_io_recv(env, fd, b + done, len - done);
        if (n < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
            wait_fd(fd, POLLIN);
            continue;
        }
        cr_assert_gt(n, 0, "unexpected EOF after %zu of %zu bytes", done, len);
        done += (size_t)n;
    }
    cr_assert_eq(done, len, "received %zu of %zu", done, len);
}

/* Waits until at least len bytes are readable on fd. */
static void wait_readable_bytes(int fd, int len)
{
    int avail = 0;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(ioctl(fd, FIONREAD, &avail), 0, "FIONREAD");
        if (avail >= len)
            return;
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        poll(&p, 1, 5);
    }
    cr_assert_fail("only %d of %d bytes arrived", avail, len);
}

/* The next recv result after the peer went away: 0 (EOF) or -1 with errno. */
static ssize_t recv_after_close(int fd, int *err)
{
    char c;
    for (int i = 0; i < 100; i++) {
        wait_fd(fd, POLLIN);
        ssize_t n = tcpshm_io_recv(env, fd, &c, 1);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        *err = n < 0 ? errno : 0;
        return n;
    }
    cr_assert_fail("recv never reported the close");
    return 1;
}

static void fill(char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)((i * 31u + seed) & 0xff);
}

/* ------------------------------------------------------------------ */
/* TCP                                                                */

Test(env, tcp_loopback_both_ways_then_eof)
{
    pair p = make_pair("127.0.0.1");
    cr_assert_eq(tcpshm_io_set_nodelay(env, p.cfd, 1), 0);
    cr_assert_eq(tcpshm_io_set_nodelay(env, p.sfd, 1), 0);

    /* Sockets are non-blocking and close-on-exec. */
    int fds[] = {p.lfd, p.cfd, p.sfd};
    for (size_t i = 0; i < 3; i++) {
        cr_assert(fcntl(fds[i], F_GETFL) & O_NONBLOCK, "fd %d blocking", fds[i]);
        cr_assert(fcntl(fds[i], F_GETFD) & FD_CLOEXEC, "fd %d not close-on-exec", fds[i]);
    }

    /* Nothing to read yet: EAGAIN, not a block. */
    char tmp[16];
    cr_assert_eq(tcpshm_io_recv(env, p.sfd, tmp, sizeof tmp), -1);
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);

    char out[3000], in[3000];
    fill(out, sizeof out, 1);
    send_all(p.cfd, out, sizeof out);
    recv_all(p.sfd, in, sizeof in);
    cr_assert_arr_eq(in, out, sizeof out, "client -> server bytes differ");

    fill(out, sizeof out, 7);
    send_all(p.sfd, out, sizeof out);
    recv_all(p.cfd, in, sizeof in);
    cr_assert_arr_eq(in, out, sizeof out, "server -> client bytes differ");

    /* A second accept finds nobody waiting. */
    cr_assert_eq(tcpshm_io_accept(env, p.lfd), -1);
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);

    cr_assert_eq(tcpshm_io_sock_close(env, p.cfd), 0);
    p.cfd = -1;
    int err = -1;
    cr_assert_eq(recv_after_close(p.sfd, &err), 0, "expected EOF, got errno %d", err);
    close_pair(&p);
}

/* sock_addrs gives both ends as numeric text; a listener has no peer. */
Test(env, sock_addrs_of_a_loopback_connection)
{
    pair p = make_pair("127.0.0.1");
    char l[TCPSHM_ADDR_STR_SIZE], r[TCPSHM_ADDR_STR_SIZE];
    cr_assert_eq(tcpshm_io_sock_addrs(env, p.sfd, l, r, sizeof l), 0, "%s", strerror(errno));
    cr_assert_str_eq(l, "127.0.0.1");
    cr_assert_str_eq(r, "127.0.0.1");
    cr_assert_eq(tcpshm_io_sock_addrs(env, p.cfd, l, r, sizeof l), 0);
    cr_assert_str_eq(l, "127.0.0.1");
    cr_assert_eq(tcpshm_io_sock_addrs(env, p.lfd, l, r, sizeof l), -1);
    cr_assert_eq(errno, ENOTCONN);
    cr_assert_eq(tcpshm_io_sock_addrs(env, p.sfd, l, r, 4), -1); /* does not fit */
    tcpshm_env none = *env;
    none.sock_addrs = NULL; /* an env written before the member existed */
    cr_assert_eq(tcpshm_io_sock_addrs(&none, p.sfd, l, r, sizeof l), -1);
    cr_assert_eq(errno, ENOSYS);
    close_pair(&p);
}

Test(env, connect_result_again_after_connected)
{
    pair p = make_pair("127.0.0.1");
    cr_assert_eq(tcpshm_io_connect_result(env, p.cfd), 0);
    close_pair(&p);
}

Test(env, send_to_closed_peer_fails_without_sigpipe)
{
    pair p = make_pair("127.0.0.1");
    cr_assert_eq(env->sock_reset(env->ctx, p.sfd), 0);
    cr_assert_eq(tcpshm_io_sock_close(env, p.sfd), 0);
    p.sfd = -1;
    /* The first sends may still go out; later ones fail with EPIPE or
     * ECONNRESET. A SIGPIPE would kill the test. */
    char buf[100] = {0};
    ssize_t n = 0;
    for (int i = 0; i < 100 && n >= 0; i++) {
        n = tcpshm_io_send(env, p.cfd, buf, sizeof buf);
        if (n >= 0)
            usleep(1000);
    }
    cr_assert_eq(n, -1);
    cr_assert(errno == EPIPE || errno == ECONNRESET, "errno %d", errno);
    close_pair(&p);
}

Test(env, sock_reset_then_close_resets_peer)
{
    pair p = make_pair("127.0.0.1");
    cr_assert_eq(env->sock_reset(env->ctx, p.cfd), 0);
    cr_assert_eq(tcpshm_io_sock_close(env, p.cfd), 0);
    p.cfd = -1;
    int err = 0;
    ssize_t n = recv_after_close(p.sfd, &err);
    cr_assert_eq(n, -1, "peer saw %zd instead of a reset", n);
    cr_assert_eq(err, ECONNRESET, "peer errno %d", err);
    close_pair(&p);
}

Test(env, connect_refused)
{
    /* A port that was free a moment ago: take one from the kernel, close it. */
    int lfd = tcpshm_io_listen(env, "127.0.0.1", 0, 1);
    cr_assert_geq(lfd, 0);
    int port = tcpshm_io_local_port(env, lfd);
    cr_assert_gt(port, 0);
    cr_assert_eq(tcpshm_io_sock_close(env, lfd), 0);

    int fd = tcpshm_io_connect(env, "127.0.0.1", (uint16_t)port);
    if (fd < 0) { /* a synchronous refusal is allowed too */
        cr_assert_eq(errno, ECONNREFUSED);
        return;
    }
    int r = EINPROGRESS;
    for (int i = 0; i < 100 && r == EINPROGRESS; i++) {
        r = tcpshm_io_connect_result(env, fd);
        if (r == EINPROGRESS)
            wait_fd(fd, POLLOUT);
    }
    cr_assert_eq(r, ECONNREFUSED, "connect_result %d", r);
    /* Asked again, it does not turn into success. */
    cr_assert_neq(tcpshm_io_connect_result(env, fd), 0);
    cr_assert_eq(tcpshm_io_sock_close(env, fd), 0);
}

Test(env, ipv6_loopback)
{
    int probe = tcpshm_io_listen(env, "::1", 0, 1);
    if (probe < 0) {
        /* Only a machine without IPv6 is a reason to skip (not EINVAL). */
        cr_assert(errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT, "listen ::1: %s",
                  strerror(errno));
        cr_skip("no IPv6 loopback here (%s)", strerror(errno));
    }
    cr_assert_eq(tcpshm_io_sock_close(env, probe), 0);

    pair p = make_pair("::1");
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    cr_assert_eq(getsockname(p.cfd, (struct sockaddr *)&ss, &len), 0);
    cr_assert_eq(ss.ss_family, AF_INET6);
    char out[64] = "over IPv6", in[64];
    send_all(p.cfd, out, sizeof out);
    recv_all(p.sfd, in, sizeof in);
    cr_assert_arr_eq(in, out, sizeof out);
    send_all(p.sfd, out, sizeof out);
    recv_all(p.cfd, in, sizeof in);
    cr_assert_arr_eq(in, out, sizeof out);
    close_pair(&p);
}

Test(env, non_numeric_addresses_are_einval)
{
    const char *bad[] = {"localhost", "", "1.2.3", "256.0.0.1", "::g", "1.2.3.4 ", "example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        cr_assert_eq(tcpshm_io_listen(env, bad[i], 0, 1), -1, "listen \"%s\"", bad[i]);
        cr_assert_eq(errno, EINVAL, "listen \"%s\": errno %d", bad[i], errno);
        errno = 0;
        cr_assert_eq(tcpshm_io_connect(env, bad[i], 1), -1, "connect \"%s\"", bad[i]);
        cr_assert_eq(errno, EINVAL, "connect \"%s\": errno %d", bad[i], errno);
    }
    errno = 0;
    cr_assert_eq(tcpshm_io_listen(env, NULL, 0, 1), -1);
    cr_assert_eq(errno, EINVAL);
}

/* ------------------------------------------------------------------ */
/* files, directories, mappings                                       */

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/tcpshm_test_env_XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void path_in(char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    cr_assert(n > 0 && (size_t)n < size);
}

Test(env, files_and_mappings)
{
    make_dir();
    char a[128], b[128], sub[128];
    path_in(a, sizeof a, "a.ptcp");
    path_in(b, sizeof b, "b.ptcp");
    path_in(sub, sizeof sub, "sub");

    /* Opening a missing file without create fails. */
    cr_assert_eq(tcpshm_io_file_open(env, a, 0, 0600), -1);
    cr_assert_eq(errno, ENOENT);

    umask(0);
    int fd = tcpshm_io_file_open(env, a, 1, 0600);
    cr_assert_geq(fd, 0, "create: %s", strerror(errno));
    cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600u, "mode %o", (unsigned)(st.st_mode & 0777));
    cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);

    /* Create is exclusive. */
    cr_assert_eq(tcpshm_io_file_open(env, a, 1, 0600), -1);
    cr_assert_eq(errno, EEXIST);

    uint64_t size = 1;
    cr_assert_eq(tcpshm_io_file_size(env, fd, &size), 0);
    cr_assert_eq(size, 0u);
    cr_assert_eq(tcpshm_io_file_resize(env, fd, 8192), 0);
    cr_assert_eq(tcpshm_io_file_size(env, fd, &size), 0);
    cr_assert_eq(size, 8192u);

    char *m = tcpshm_io_map(env, fd, 8192);
    cr_assert_not_null(m, "map: %s", strerror(errno));
    for (size_t i = 0; i < 8192; i++)
        cr_assert_eq(m[i], 0, "new byte %zu not zero", i);
    const char msg[] = "persisted through the mapping";
    memcpy(m + 4000, msg, sizeof msg);
    cr_assert_eq(tcpshm_io_unmap(env, m, 8192), 0);
    cr_assert_eq(tcpshm_io_file_close(env, fd), 0);

    /* Reopen (no create) and map again: the bytes are there. */
    fd = tcpshm_io_file_open(env, a, 0, 0);
    cr_assert_geq(fd, 0, "reopen: %s", strerror(errno));
    cr_assert_eq(tcpshm_io_file_size(env, fd, &size), 0);
    cr_assert_eq(size, 8192u);
    m = tcpshm_io_map(env, fd, 8192);
    cr_assert_not_null(m);
    cr_assert_arr_eq(m + 4000, msg, sizeof msg);
    cr_assert_eq(m[0], 0);

    /* Shrinking keeps the prefix. */
    cr_assert_eq(tcpshm_io_unmap(env, m, 8192), 0);
    cr_assert_eq(tcpshm_io_file_resize(env, fd, 4096), 0);
    cr_assert_eq(tcpshm_io_file_size(env, fd, &size), 0);
    cr_assert_eq(size, 4096u);
    cr_assert_eq(tcpshm_io_file_close(env, fd), 0);

    /* Mapping a closed fd fails with NULL. */
    cr_assert_null(tcpshm_io_map(env, fd, 4096));

    /* Rename replaces atomically; the old name is gone. */
    int fdb = tcpshm_io_file_open(env, b, 1, 0600);
    cr_assert_geq(fdb, 0);
    cr_assert_eq(tcpshm_io_file_close(env, fdb), 0);
    cr_assert_eq(tcpshm_io_rename(env, a, b), 0);
    cr_assert_eq(tcpshm_io_file_open(env, a, 0, 0), -1);
    cr_assert_eq(errno, ENOENT);
    fdb = tcpshm_io_file_open(env, b, 0, 0);
    cr_assert_geq(fdb, 0);
    cr_assert_eq(tcpshm_io_file_size(env, fdb, &size), 0);
    cr_assert_eq(size, 4096u, "rename did not replace b by a");
    cr_assert_eq(tcpshm_io_file_close(env, fdb), 0);

    cr_assert_eq(tcpshm_io_remove(env, b), 0);
    cr_assert_eq(tcpshm_io_file_open(env, b, 0, 0), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(tcpshm_io_remove(env, b), -1);
    cr_assert_eq(errno, ENOENT);

    cr_assert_eq(tcpshm_io_mkdir(env, sub, 0700), 0);
    cr_assert_eq(stat(sub, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0700u);
    cr_assert_eq(tcpshm_io_mkdir(env, sub, 0700), -1);
    cr_assert_eq(errno, EEXIST);

    cr_assert_eq(rmdir(sub), 0);
    cr_assert_eq(rmdir(dir), 0);
}

/* ------------------------------------------------------------------ */
/* failure points                                                     */

Test(env, fault_send_short)
{
    pair p = make_pair("127.0.0.1");
    char out[1000], in[3000];
    fill(out, sizeof out, 3);

    cr_assert_eq(point_on("tcpshm/net/send/short", 1, NULL), 0);
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, 1000), 500);
    /* Only when len > 1: one byte goes out whole. */
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out + 500, 1), 1);
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out + 501, 3), 1);

    cr_assert_eq(point_on("tcpshm/net/send/short", 1, (void *)(uintptr_t)10), 0);
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, 1000), 10);
    /* failinfo is clamped to len - 1. */
    cr_assert_eq(point_on("tcpshm/net/send/short", 1, (void *)(uintptr_t)5000), 0);
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, 1000), 999);

    cr_assert_eq(fiu_disable("tcpshm/net/send/short"), 0);
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, 1000), 1000);

    /* The peer got exactly those bytes, in order. */
    size_t total = 500 + 1 + 1 + 10 + 999 + 1000;
    recv_all(p.sfd, in, total);
    char want[3000];
    size_t at = 0;
    memcpy(want + at, out, 500), at += 500;
    memcpy(want + at, out + 500, 1), at += 1;
    memcpy(want + at, out + 501, 1), at += 1;
    memcpy(want + at, out, 10), at += 10;
    memcpy(want + at, out, 999), at += 999;
    memcpy(want + at, out, 1000), at += 1000;
    cr_assert_eq(at, total);
    cr_assert_arr_eq(in, want, total);
    close_pair(&p);
}

Test(env, fault_send_fails)
{
    pair p = make_pair("127.0.0.1");
    char out[100] = {0};
    cr_assert_eq(point_on("tcpshm/net/send", EAGAIN, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, sizeof out), -1);
    cr_assert_eq(errno, EAGAIN);

    cr_assert_eq(point_on("tcpshm/net/send", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, sizeof out), -1);
    cr_assert_eq(errno, EPIPE, "default errno %d", errno);

    cr_assert_eq(fiu_disable("tcpshm/net/send"), 0);
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, sizeof out), (ssize_t)sizeof out);
    char in[100];
    recv_all(p.sfd, in, sizeof in);
    close_pair(&p);
}

Test(env, fault_recv_short_and_fails)
{
    pair p = make_pair("127.0.0.1");
    char out[1000], in[1000];
    fill(out, sizeof out, 5);
    send_all(p.cfd, out, sizeof out);
    wait_readable_bytes(p.sfd, 1000);

    cr_assert_eq(point_on("tcpshm/net/recv/short", 1, NULL), 0);
    cr_assert_eq(tcpshm_io_recv(env, p.sfd, in, 1000), 500);
    cr_assert_eq(point_on("tcpshm/net/recv/short", 1, (void *)(uintptr_t)10), 0);
    cr_assert_eq(tcpshm_io_recv(env, p.sfd, in + 500, 500), 10);
    cr_assert_eq(fiu_disable("tcpshm/net/recv/short"), 0);

    cr_assert_eq(point_on("tcpshm/net/recv", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_recv(env, p.sfd, in + 510, 490), -1);
    cr_assert_eq(errno, ECONNRESET, "default errno %d", errno);
    cr_assert_eq(point_on("tcpshm/net/recv", EAGAIN, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_recv(env, p.sfd, in + 510, 490), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(fiu_disable("tcpshm/net/recv"), 0);

    cr_assert_eq(tcpshm_io_recv(env, p.sfd, in + 510, 490), 490);
    cr_assert_arr_eq(in, out, sizeof out);
    close_pair(&p);
}

Test(env, fault_reset_on_send)
{
    pair p = make_pair("127.0.0.1");
    char out[10] = "0123456789";
    cr_assert_eq(point_on("tcpshm/net/reset", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_send(env, p.cfd, out, sizeof out), -1);
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_eq(fiu_disable("tcpshm/net/reset"), 0);

    /* The socket is set to abort on close. */
    struct linger l = {0, 0};
    socklen_t len = sizeof l;
    cr_assert_eq(getsockopt(p.cfd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
    cr_assert_eq(l.l_onoff, 1);
    cr_assert_eq(l.l_linger, 0);

    cr_assert_eq(tcpshm_io_sock_close(env, p.cfd), 0);
    p.cfd = -1;
    int err = 0;
    ssize_t n = recv_after_close(p.sfd, &err);
    cr_assert(n == 0 || (n == -1 && err == ECONNRESET), "peer saw %zd errno %d", n, err);
    close_pair(&p);
}

Test(env, fault_reset_on_recv)
{
    pair p = make_pair("127.0.0.1");
    char in[10];
    cr_assert_eq(point_on("tcpshm/net/reset", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_recv(env, p.sfd, in, sizeof in), -1);
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_eq(fiu_disable("tcpshm/net/reset"), 0);

    cr_assert_eq(tcpshm_io_sock_close(env, p.sfd), 0);
    p.sfd = -1;
    int err = 0;
    ssize_t n = recv_after_close(p.cfd, &err);
    cr_assert_eq(n, -1, "peer saw %zd instead of a reset", n);
    cr_assert_eq(err, ECONNRESET);
    close_pair(&p);
}

Test(env, fault_file_points)
{
    make_dir();
    char a[128], b[128];
    path_in(a, sizeof a, "f");
    path_in(b, sizeof b, "g");

    cr_assert_eq(point_on("tcpshm/file/open", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_file_open(env, a, 1, 0600), -1);
    cr_assert_eq(errno, EACCES);
    cr_assert_eq(access(a, F_OK), -1, "the file was created anyway");
    cr_assert_eq(point_on("tcpshm/file/open", EROFS, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_file_open(env, a, 1, 0600), -1);
    cr_assert_eq(errno, EROFS);
    cr_assert_eq(fiu_disable("tcpshm/file/open"), 0);

    int fd = tcpshm_io_file_open(env, a, 1, 0600);
    cr_assert_geq(fd, 0);

    cr_assert_eq(point_on("tcpshm/file/resize", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_file_resize(env, fd, 4096), -1);
    cr_assert_eq(errno, ENOSPC);
    cr_assert_eq(fiu_disable("tcpshm/file/resize"), 0);
    cr_assert_eq(tcpshm_io_file_resize(env, fd, 4096), 0);

    cr_assert_eq(point_on("tcpshm/file/map", 1, NULL), 0);
    errno = 0;
    cr_assert_null(tcpshm_io_map(env, fd, 4096));
    cr_assert_eq(errno, ENOMEM);
    cr_assert_eq(fiu_disable("tcpshm/file/map"), 0);
    void *m = tcpshm_io_map(env, fd, 4096);
    cr_assert_not_null(m);
    cr_assert_eq(tcpshm_io_unmap(env, m, 4096), 0);
    cr_assert_eq(tcpshm_io_file_close(env, fd), 0);

    cr_assert_eq(point_on("tcpshm/file/rename", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_rename(env, a, b), -1);
    cr_assert_eq(errno, EIO);
    cr_assert_eq(access(a, F_OK), 0, "renamed anyway");
    cr_assert_eq(fiu_disable("tcpshm/file/rename"), 0);
    cr_assert_eq(tcpshm_io_rename(env, a, b), 0);

    cr_assert_eq(tcpshm_io_remove(env, b), 0);
    cr_assert_eq(rmdir(dir), 0);
}

Test(env, fault_net_points)
{
    cr_assert_eq(point_on("tcpshm/net/listen", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_listen(env, "127.0.0.1", 0, 1), -1);
    cr_assert_eq(errno, EADDRINUSE);
    cr_assert_eq(fiu_disable("tcpshm/net/listen"), 0);

    int lfd = tcpshm_io_listen(env, "127.0.0.1", 0, 4);
    cr_assert_geq(lfd, 0);
    int port = tcpshm_io_local_port(env, lfd);
    cr_assert_gt(port, 0);

    cr_assert_eq(point_on("tcpshm/net/connect", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_connect(env, "127.0.0.1", (uint16_t)port), -1);
    cr_assert_eq(errno, ECONNREFUSED);
    cr_assert_eq(point_on("tcpshm/net/connect", ENETUNREACH, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_connect(env, "127.0.0.1", (uint16_t)port), -1);
    cr_assert_eq(errno, ENETUNREACH);
    cr_assert_eq(fiu_disable("tcpshm/net/connect"), 0);

    /* A real connection is waiting, yet accept fails while the point is on. */
    int cfd = tcpshm_io_connect(env, "127.0.0.1", (uint16_t)port);
    cr_assert_geq(cfd, 0);
    wait_fd(lfd, POLLIN);
    cr_assert_eq(point_on("tcpshm/net/accept", 1, NULL), 0);
    errno = 0;
    cr_assert_eq(tcpshm_io_accept(env, lfd), -1);
    cr_assert_eq(errno, ECONNABORTED);
    cr_assert_eq(fiu_disable("tcpshm/net/accept"), 0);
    int sfd = tcpshm_io_accept(env, lfd);
    cr_assert_geq(sfd, 0, "accept after disable: %s", strerror(errno));

    cr_assert_eq(tcpshm_io_sock_close(env, sfd), 0);
    cr_assert_eq(tcpshm_io_sock_close(env, cfd), 0);
    cr_assert_eq(tcpshm_io_sock_close(env, lfd), 0);
}

/* ------------------------------------------------------------------ */
/* crash hook                                                         */

static int child_status(pid_t pid)
{
    cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child did not exit normally (status 0x%x)", status);
    return WEXITSTATUS(status);
}

Test(env, crash_default_exits_86)
{
    pid_t pid = fork();
    if (pid == 0) {
        tcpshm_crash("x");
        _exit(1); /* not reached */
    }
    cr_assert_eq(child_status(pid), TCPSHM_CRASH_EXIT_CODE);
    cr_assert_eq(TCPSHM_CRASH_EXIT_CODE, 86);
}

static jmp_buf crash_jmp;
static char crash_seen[64];
static void *crash_user_seen;
static int crash_calls;

static void longjmp_hook(const char *site, void *user)
{
    snprintf(crash_seen, sizeof crash_seen, "%s", site);
    crash_user_seen = user;
    crash_calls++;
    longjmp(crash_jmp, 1);
}

static void returning_hook(const char *site, void *user)
{
    (void)site;
    (void)user;
}

Test(env, crash_hook_sees_site_and_can_longjmp)
{
    static int token;
    crash_calls = 0;
    tcpshm_set_crash_hook(longjmp_hook, &token);
    if (setjmp(crash_jmp) == 0) {
        tcpshm_crash("x");
        cr_assert_fail("tcpshm_crash returned");
    }
    cr_assert_eq(crash_calls, 1);
    cr_assert_str_eq(crash_seen, "x");
    cr_assert_eq(crash_user_seen, &token);

    /* NULL restores the default. */
    tcpshm_set_crash_hook(NULL, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        tcpshm_crash("y");
        _exit(1);
    }
    cr_assert_eq(child_status(pid), TCPSHM_CRASH_EXIT_CODE);
}

Test(env, crash_hook_that_returns_still_dies)
{
    pid_t pid = fork();
    if (pid == 0) {
        tcpshm_set_crash_hook(returning_hook, NULL);
        tcpshm_crash("x");
        _exit(1);
    }
    cr_assert_eq(child_status(pid), TCPSHM_CRASH_EXIT_CODE);
}

/* The macro end to end: off, the site does nothing; on, it calls the hook
 * with its name. (A test-only name: core's sites are in the catalogue.) */
Test(env, crash_site_macro_follows_its_point)
{
    crash_calls = 0;
    tcpshm_set_crash_hook(longjmp_hook, NULL);
    if (setjmp(crash_jmp) == 0) {
        TCPSHM_CRASH_SITE("test/env/site");
    }
    cr_assert_eq(crash_calls, 0, "site fired while disabled");

    cr_assert_eq(point_on("test/env/site", 1, NULL), 0);
    if (setjmp(crash_jmp) == 0) {
        TCPSHM_CRASH_SITE("test/env/site");
        cr_assert_fail("enabled site did not crash");
    }
    cr_assert_eq(crash_calls, 1);
    cr_assert_str_eq(crash_seen, "test/env/site");
    cr_assert_eq(fiu_disable("test/env/site"), 0);
    tcpshm_set_crash_hook(NULL, NULL);
}
