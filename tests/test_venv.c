/* testenv/: the in-memory env. Files and directories with POSIX-like
 * semantics, mappings at fixed addresses, sockets with bounded streams (short
 * writes, EAGAIN, EOF, resets), owners and process kills, determinism; then
 * the real core (queue, server, client) running on it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tcpshm/client.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/server.h"
#include "venv.h"

static venv *v;
static const tcpshm_env *E;

static void setup(void)
{
    venv_options o = {.stream_capacity = 64, .first_ephemeral_port = 5000};
    v = venv_create(&o);
    cr_assert_not_null(v);
    E = venv_env(v);
    cr_assert_eq(E->ctx, v);
}
static void teardown(void) { venv_destroy(v); }

TestSuite(venv, .init = setup, .fini = teardown, .timeout = 60);

#define CALL(fn, ...) E->fn(E->ctx, __VA_ARGS__)

/* ----------------------------------------------------------------- files */

Test(venv, every_member_is_set)
{
#define SET(m) cr_assert(E->m != NULL, #m)
    SET(file_open); SET(file_size); SET(file_resize); SET(file_close); SET(rename);
    SET(remove); SET(mkdir); SET(map); SET(unmap); SET(listen); SET(local_port); SET(accept);
    SET(connect); SET(connect_result); SET(send); SET(recv); SET(set_nodelay); SET(sock_reset);
    SET(sock_close); SET(wait_io); SET(shm_open); SET(shm_unlink); SET(sock_addrs);
#undef SET
}

Test(venv, open_create_semantics)
{
    cr_assert_eq(CALL(file_open, "f", 0, 0), -1);
    cr_assert_eq(errno, ENOENT);
    int fd = CALL(file_open, "f", 1, 0640);
    cr_assert_geq(fd, 0);
    cr_assert_eq(venv_file_mode(v, "f"), 0640);
    cr_assert_eq(CALL(file_open, "f", 1, 0600), -1);
    cr_assert_eq(errno, EEXIST);
    int fd2 = CALL(file_open, "f", 0, 0);
    cr_assert_geq(fd2, 0);
    cr_assert_neq(fd, fd2);
    uint64_t size = 99;
    cr_assert_eq(CALL(file_size, fd, &size), 0);
    cr_assert_eq(size, 0);
    /* a missing parent, a parent that is a file */
    cr_assert_eq(CALL(file_open, "nodir/x", 1, 0600), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(CALL(file_open, "f/x", 1, 0600), -1);
    cr_assert_eq(errno, ENOTDIR);
    cr_assert_eq(CALL(file_close, fd), 0);
    cr_assert_eq(CALL(file_close, fd), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(CALL(file_close, fd2), 0);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

Test(venv, directories)
{
    cr_assert_eq(CALL(mkdir, "d", 0700), 0);
    cr_assert_eq(CALL(mkdir, "d", 0700), -1);
    cr_assert_eq(errno, EEXIST);
    cr_assert_eq(CALL(mkdir, "d//", 0700), -1, "trailing and repeated slashes name the same dir");
    cr_assert_eq(errno, EEXIST);
    cr_assert_eq(CALL(mkdir, "x/y", 0700), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(CALL(mkdir, "/abs", 0755), 0);
    cr_assert_eq(venv_file_mode(v, "/abs"), 0755);
    cr_assert_eq(CALL(mkdir, "/", 0755), -1);
    cr_assert_eq(errno, EEXIST);
    cr_assert_eq(CALL(file_open, "d", 0, 0), -1);
    cr_assert_eq(errno, EISDIR);
    cr_assert_eq(CALL(remove, "d"), -1);
    cr_assert_eq(errno, EISDIR);
    int fd = CALL(file_open, "d//f", 1, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(CALL(file_close, fd), 0);
    cr_assert_not_null(venv_file_data(v, "d/f", NULL));
}

/* "." components name the directory they are in (a directory configured
 * as "./dir" or ".//dir//" is "dir"); ".." is not interpreted. */
Test(venv, dot_components)
{
    cr_assert_eq(CALL(mkdir, "./d", 0700), 0);
    cr_assert_eq(CALL(mkdir, "d", 0700), -1);
    cr_assert_eq(errno, EEXIST, "./d and d are one directory");
    int fd = CALL(file_open, ".//d//./f", 1, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(CALL(file_close, fd), 0);
    cr_assert_not_null(venv_file_data(v, "d/f", NULL));
    cr_assert_null(venv_file_data(v, "/d/f", NULL), "a leading ./ does not make the path absolute");
    cr_assert_eq(CALL(mkdir, "/./abs", 0700), 0);
    cr_assert_eq(CALL(mkdir, "/abs", 0700), -1);
    cr_assert_eq(errno, EEXIST);
    cr_assert_eq(CALL(file_open, ".hidden", 1, 0600) >= 0, true, "a name that begins with a dot is a name");
    cr_assert_not_null(venv_file_data(v, ".hidden", NULL));
    cr_assert_null(venv_file_data(v, "hidden", NULL));
}

Test(venv, resize_zero_fills_and_keeps_bytes)
{
    int fd = CALL(file_open, "f", 1, 0600);
    cr_assert_eq(CALL(file_resize, fd, 100), 0);
    uint8_t *m = CALL(map, fd, 100);
    cr_assert_not_null(m);
    cr_assert_eq((uintptr_t)m % 64, 0, "mappings are aligned");
    for (int i = 0; i < 100; i++)
        cr_assert_eq(m[i], 0);
    memset(m, 0xAB, 100);
    cr_assert_eq(CALL(file_resize, fd, 200), -1, "a mapped file keeps its size");
    cr_assert_eq(errno, EBUSY);
    cr_assert_eq(CALL(unmap, m, 100), 0);
    cr_assert_eq(CALL(file_resize, fd, 200), 0);
    size_t len = 0;
    const uint8_t *d = venv_file_data(v, "f", &len);
    cr_assert_eq(len, 200);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(d[i], i < 100 ? 0xAB : 0, "byte %d", i);
    cr_assert_eq(CALL(file_resize, fd, 10), 0);
    d = venv_file_data(v, "f", &len);
    cr_assert_eq(len, 10);
    cr_assert_eq(d[9], 0xAB);
    cr_assert_eq(CALL(file_close, fd), 0);
}

Test(venv, mappings_are_fixed_and_shared)
{
    int fd = CALL(file_open, "f", 1, 0600);
    cr_assert_eq(CALL(file_resize, fd, 64), 0);
    uint8_t *a = CALL(map, fd, 64);
    uint8_t *b = CALL(map, fd, 32);
    cr_assert_not_null(a);
    cr_assert_eq(a, b, "one buffer per file");
    cr_assert_null(CALL(map, fd, 65));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(CALL(map, fd, 0));
    cr_assert_eq(CALL(file_close, fd), 0, "the mapping outlives the descriptor");
    a[3] = 7;
    cr_assert_eq(venv_file_data(v, "f", NULL)[3], 7);
    cr_assert_eq(venv_mapping_count(v, 0), 2);
    cr_assert_eq(CALL(unmap, a, 48), -1, "unmap needs the mapped size");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(CALL(unmap, b, 32), 0);
    cr_assert_eq(CALL(unmap, a, 64), 0);
    cr_assert_eq(CALL(unmap, a, 64), -1);
    cr_assert_eq(venv_mapping_count(v, 0), 0);
}

static uint64_t stamp_of(const char *path)
{
    size_t len;
    uint64_t st = 99;
    (void)venv_file_stamped(v, path, &len, &st);
    return st;
}

Test(venv, stamps_change_with_the_bytes_and_are_0_while_mapped)
{
    cr_assert_eq(stamp_of("f"), 0, "no file");
    int fd = CALL(file_open, "f", 1, 0600);
    uint64_t a = stamp_of("f");
    cr_assert_neq(a, 0);
    cr_assert_eq(stamp_of("f"), a, "unchanged: the same stamp");
    cr_assert_eq(CALL(file_resize, fd, 64), 0);
    uint64_t b = stamp_of("f");
    cr_assert(b != 0 && b != a, "a resize");
    uint8_t *m = CALL(map, fd, 64);
    cr_assert_eq(stamp_of("f"), 0, "mapped: the bytes may change at any time");
    m[1] = 5;
    cr_assert_eq(CALL(unmap, m, 64), 0);
    uint64_t c = stamp_of("f");
    cr_assert(c != 0 && c != a && c != b, "unmapped after writes");
    cr_assert_eq(venv_file_write(v, "g", "xy", 2), 0);
    uint64_t g = stamp_of("g");
    cr_assert(g != 0 && g != c, "another file: another stamp");
    cr_assert_eq(venv_file_write(v, "f", "xy", 2), 0);
    cr_assert(stamp_of("f") != c && stamp_of("f") != g, "replaced");
    cr_assert_eq(CALL(file_close, fd), 0);
}

typedef struct hook_log {
    uint32_t calls;
    uint64_t stamp;
    uint8_t first; /* the first byte it was given (0 when empty) */
    size_t size;
} hook_log;

static void log_stamp(void *user, uint64_t stamp, const uint8_t *data, size_t size)
{
    hook_log *l = user;
    l->calls++;
    l->stamp = stamp;
    l->size = size;
    l->first = size ? data[0] : 0;
}

Test(venv, stamp_hook_gets_the_bytes_before_they_change_or_leave_their_name)
{
    hook_log l = {0};
    venv_set_stamp_hook(v, log_stamp, &l);
    cr_assert_eq(venv_file_write(v, "f", "ab", 2), 0);
    cr_assert_eq(l.calls, 0, "a new file: nothing left");
    uint64_t a = stamp_of("f");
    int fd = CALL(file_open, "f", 0, 0);
    cr_assert_eq(CALL(file_resize, fd, 4), 0);
    cr_assert(l.calls == 1 && l.stamp == a && l.size == 2 && l.first == 'a', "a resize: the bytes before it");
    uint64_t b = stamp_of("f");
    uint8_t *m = CALL(map, fd, 4);
    cr_assert(l.calls == 2 && l.stamp == b, "a first map: the bytes before any write through it");
    m[0] = 'z';
    cr_assert_eq(CALL(unmap, m, 4), 0);
    cr_assert_eq(CALL(file_close, fd), 0);
    uint64_t c = stamp_of("f");
    uint32_t before = l.calls;
    cr_assert_eq(venv_file_write(v, "g", "xy", 2), 0);
    cr_assert_eq(CALL(rename, "g", "f"), 0);
    cr_assert(l.calls > before && l.stamp != c, "renamed away: g's bytes");
    cr_assert_eq(venv_file_write(v, "h", "q", 1), 0);
    before = l.calls;
    cr_assert_eq(venv_file_write(v, "h", "r", 1), 0);
    cr_assert(l.calls == before + 1 && l.first == 'q', "replaced by a write: the bytes it had");
    cr_assert_eq(CALL(remove, "h"), 0);
    cr_assert(l.calls == before + 2 && l.first == 'r', "removed");
    venv_set_stamp_hook(v, NULL, NULL);
    cr_assert_eq(CALL(remove, "f"), 0);
    cr_assert_eq(l.calls, before + 2, "no hook: no call");
}

Test(venv, removed_file_lives_while_mapped)
{
    int fd = CALL(file_open, "f", 1, 0600);
    cr_assert_eq(CALL(file_resize, fd, 16), 0);
    uint8_t *m = CALL(map, fd, 16);
    cr_assert_eq(CALL(file_close, fd), 0);
    cr_assert_eq(CALL(remove, "f"), 0);
    cr_assert_null(venv_file_data(v, "f", NULL));
    cr_assert_eq(CALL(remove, "f"), -1);
    cr_assert_eq(errno, ENOENT);
    m[15] = 1; /* still valid memory (ASan would complain otherwise) */
    cr_assert_eq(CALL(unmap, m, 16), 0);
}

Test(venv, shm_segments_are_files_that_survive_kills)
{
    venv_set_owner(v, 1);
    int fd = CALL(shm_open, "/tcpshm_a_b", 1, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(CALL(file_resize, fd, 64), 0);
    uint8_t *m = CALL(map, fd, 64);
    cr_assert_not_null(m);
    m[7] = 42;
    venv_kill(v, 1);
    size_t len = 0;
    const uint8_t *d = venv_file_data(v, VENV_SHM_DIR "/tcpshm_a_b", &len);
    cr_assert_not_null(d);
    cr_assert_eq(len, 64);
    cr_assert_eq(d[7], 42, "the segment keeps what the dead process wrote");
    cr_assert_eq(venv_file_mode(v, VENV_SHM_DIR "/tcpshm_a_b"), 0600);
    venv_set_owner(v, 2);
    int fd2 = CALL(shm_open, "/tcpshm_a_b", 0, 0);
    cr_assert_geq(fd2, 0);
    cr_assert_eq(CALL(shm_open, "/tcpshm_a_b", 1, 0600), -1, "create needs an absent name");
    cr_assert_eq(errno, EEXIST);
    cr_assert_eq(CALL(file_close, fd2), 0);
    cr_assert_eq(CALL(shm_unlink, "/tcpshm_a_b"), 0);
    cr_assert_eq(CALL(shm_open, "/tcpshm_a_b", 0, 0), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(CALL(shm_open, "no_slash", 1, 0600), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(CALL(shm_open, "/a/b", 1, 0600), -1);
    cr_assert_eq(errno, EINVAL);
}

Test(venv, rename_replaces_atomically)
{
    cr_assert_eq(venv_file_write(v, "a", "new", 3), 0);
    cr_assert_eq(venv_file_write(v, "b", "old!", 4), 0);
    int fd = CALL(file_open, "b", 0, 0);
    uint8_t *old = CALL(map, fd, 4);
    cr_assert_eq(CALL(rename, "a", "b"), 0);
    size_t len;
    const uint8_t *d = venv_file_data(v, "b", &len);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(d, "new", 3), 0);
    cr_assert_null(venv_file_data(v, "a", NULL));
    cr_assert_eq(memcmp(old, "old!", 4), 0, "the replaced inode stays for its mapping");
    cr_assert_eq(CALL(unmap, old, 4), 0);
    cr_assert_eq(CALL(file_close, fd), 0);
    cr_assert_eq(CALL(rename, "missing", "c"), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(CALL(rename, "b", "nodir/c"), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(CALL(mkdir, "d", 0700), 0);
    cr_assert_eq(CALL(rename, "b", "d"), -1);
    cr_assert_eq(errno, EISDIR);
    cr_assert_eq(CALL(rename, "b", "b"), 0);
}

Test(venv, rename_directory_moves_its_entries)
{
    cr_assert_eq(CALL(mkdir, "d", 0700), 0);
    cr_assert_eq(CALL(mkdir, "d/s", 0700), 0);
    cr_assert_eq(venv_file_write(v, "d/s/f", "x", 1), 0);
    cr_assert_eq(CALL(mkdir, "e", 0700), 0);
    cr_assert_eq(CALL(rename, "d", "d/s/t"), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(CALL(rename, "d", "e"), 0, "onto an empty directory");
    cr_assert_not_null(venv_file_data(v, "e/s/f", NULL));
    cr_assert_null(venv_file_data(v, "d/s/f", NULL));
    cr_assert_eq(CALL(mkdir, "g", 0700), 0);
    cr_assert_eq(CALL(rename, "g", "e"), -1);
    cr_assert_eq(errno, ENOTEMPTY);
}

typedef struct listing {
    char names[16][32];
    int n;
} listing;

static void collect(void *user, const char *path, bool is_dir, size_t size)
{
    listing *l = user;
    (void)size;
    snprintf(l->names[l->n++], 32, "%s%s", path, is_dir ? "/" : "");
}

Test(venv, list_in_creation_order)
{
    cr_assert_eq(CALL(mkdir, "d", 0700), 0);
    cr_assert_eq(venv_file_write(v, "d/b", "", 0), 0);
    cr_assert_eq(venv_file_write(v, "d/a", "1", 1), 0);
    listing l = {.n = 0};
    venv_list(v, collect, &l);
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.names[0], "d/");
    cr_assert_str_eq(l.names[1], "d/b");
    cr_assert_str_eq(l.names[2], "d/a");
    size_t len = 9;
    cr_assert_not_null(venv_file_data(v, "d/b", &len), "an empty file has data");
    cr_assert_eq(len, 0);
}

/* --------------------------------------------------------------- sockets */

/* A connected pair: listener of owner 1 on "10.0.0.1":port, client of owner 2. */
typedef struct pair {
    int lfd, cfd, sfd;
} pair;

static pair make_pair(uint16_t port)
{
    pair p;
    venv_set_owner(v, 1);
    p.lfd = CALL(listen, "10.0.0.1", port, 4);
    cr_assert_geq(p.lfd, 0);
    venv_set_owner(v, 2);
    p.cfd = CALL(connect, "10.0.0.1", (uint16_t)(port ? port : 5000));
    cr_assert_geq(p.cfd, 0);
    cr_assert_eq(CALL(connect_result, p.cfd), 0);
    venv_set_owner(v, 1);
    p.sfd = CALL(accept, p.lfd);
    cr_assert_geq(p.sfd, 0);
    return p;
}

Test(venv, listen_ports)
{
    int a = CALL(listen, "0.0.0.0", 0, 1);
    int b = CALL(listen, "::", 0, 1);
    cr_assert_eq(CALL(local_port, a), 5000);
    cr_assert_eq(CALL(local_port, b), 5001);
    cr_assert_eq(CALL(listen, "127.0.0.1", 5001, 1), -1);
    cr_assert_eq(errno, EADDRINUSE);
    cr_assert_eq(CALL(listen, "localhost", 7000, 1), -1, "numeric addresses only");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(CALL(accept, a), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(CALL(wait_io, a, 0, 1000), 0);
    cr_assert_eq(CALL(sock_close, a), 0);
    cr_assert_eq(CALL(listen, "127.0.0.1", 0, 1), a, "lowest free handle, lowest free port");
    cr_assert_eq(CALL(local_port, a), 5000);
}

Test(venv, connect_accept_and_streams)
{
    pair p = make_pair(7000);
    cr_assert_eq(CALL(set_nodelay, p.sfd, 1), 0);
    /* capacity 64: a 100-byte send is short, then EAGAIN */
    uint8_t out[100], in[100];
    for (int i = 0; i < 100; i++)
        out[i] = (uint8_t)i;
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(wait_io, p.cfd, 1, 0), 1);
    cr_assert_eq(CALL(send, p.cfd, out, 100), 64);
    cr_assert_eq(CALL(send, p.cfd, out + 64, 36), -1);
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(CALL(wait_io, p.cfd, 1, 0), 0);
    cr_assert_eq(venv_sock_pending(v, p.sfd), 64);
    venv_set_owner(v, 1);
    cr_assert_eq(CALL(wait_io, p.sfd, 0, 0), 1);
    cr_assert_eq(CALL(recv, p.sfd, in, 10), 10);
    cr_assert_eq(CALL(recv, p.sfd, in + 10, 100), 54);
    cr_assert_eq(CALL(recv, p.sfd, in, 100), -1);
    cr_assert_eq(errno, EAGAIN);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(send, p.cfd, out + 64, 36), 36, "the ring wraps around");
    venv_set_owner(v, 1);
    cr_assert_eq(CALL(recv, p.sfd, in + 64, 100), 36);
    cr_assert_eq(memcmp(in, out, 100), 0);
    /* the other direction, then a normal close: data first, then EOF */
    cr_assert_eq(CALL(send, p.sfd, "hi", 2), 2);
    cr_assert_eq(CALL(sock_close, p.sfd), 0);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(recv, p.cfd, in, 100), 2);
    cr_assert_eq(CALL(recv, p.cfd, in, 100), 0, "EOF");
    cr_assert_eq(CALL(send, p.cfd, "x", 1), -1);
    cr_assert_eq(errno, EPIPE);
    cr_assert_eq(CALL(sock_close, p.cfd), 0);
}

Test(venv, reset_then_close_gives_econnreset)
{
    pair p = make_pair(7000);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(send, p.cfd, "abc", 3), 3);
    venv_set_owner(v, 1);
    cr_assert_eq(CALL(send, p.sfd, "unread", 6), 6);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(sock_reset, p.cfd), 0);
    cr_assert_eq(CALL(sock_close, p.cfd), 0);
    venv_set_owner(v, 1);
    uint8_t b[8];
    cr_assert_eq(CALL(recv, p.sfd, b, 8), -1, "a reset discards what was not read");
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_eq(CALL(send, p.sfd, "x", 1), -1);
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_eq(CALL(wait_io, p.sfd, 0, 0), 1);
    cr_assert_eq(CALL(sock_close, p.sfd), 0);
}

Test(venv, refused_and_backlog)
{
    venv_set_owner(v, 2);
    int c = CALL(connect, "10.0.0.1", 7000);
    cr_assert_geq(c, 0);
    cr_assert_eq(CALL(connect_result, c), ECONNREFUSED, "nobody listens");
    cr_assert_eq(CALL(send, c, "x", 1), -1);
    cr_assert_eq(errno, ENOTCONN);
    cr_assert_eq(CALL(sock_close, c), 0);
    venv_set_owner(v, 1);
    int l = CALL(listen, "10.0.0.1", 7000, 2);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(connect_result, CALL(connect, "10.0.0.2", 7000)), ECONNREFUSED, "other host");
    int a = CALL(connect, "10.0.0.1", 7000), b = CALL(connect, "10.0.0.1", 7000);
    int d = CALL(connect, "10.0.0.1", 7000);
    cr_assert_eq(CALL(connect_result, a), 0);
    cr_assert_eq(CALL(connect_result, b), 0);
    cr_assert_eq(CALL(connect_result, d), ECONNREFUSED, "backlog of 2 is full");
    cr_assert_eq(CALL(send, a, "early", 5), 5, "data may come before accept");
    cr_assert_eq(CALL(sock_close, a), 0);
    venv_set_owner(v, 1);
    int s = CALL(accept, l);
    cr_assert_geq(s, 0);
    uint8_t buf[8];
    cr_assert_eq(CALL(recv, s, buf, 8), 5);
    cr_assert_eq(CALL(recv, s, buf, 8), 0);
    /* closing the listener resets what it never accepted */
    cr_assert_eq(CALL(sock_close, l), 0);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(recv, b, buf, 8), -1);
    cr_assert_eq(errno, ECONNRESET);
}

Test(venv, held_connects)
{
    venv_set_owner(v, 1);
    int l = CALL(listen, "10.0.0.1", 7000, 4);
    venv_hold_connects(v, true);
    venv_set_owner(v, 2);
    int a = CALL(connect, "10.0.0.1", 7000);
    int b = CALL(connect, "10.0.0.1", 7001);
    cr_assert_eq(CALL(connect_result, a), EINPROGRESS);
    cr_assert_eq(CALL(wait_io, a, 1, 0), 0);
    uint8_t x;
    cr_assert_eq(CALL(recv, a, &x, 1), -1);
    cr_assert_eq(errno, EAGAIN);
    venv_set_owner(v, 1);
    cr_assert_eq(CALL(accept, l), -1);
    cr_assert_eq(venv_release_connects(v), 2);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(connect_result, a), 0);
    cr_assert_eq(CALL(connect_result, b), ECONNREFUSED);
    venv_set_owner(v, 1);
    cr_assert_geq(CALL(accept, l), 0);
}

Test(venv, owners_are_isolated)
{
    pair p = make_pair(7000);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(send, p.sfd, "x", 1), -1, "owner 2 may not use owner 1's socket");
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(CALL(sock_close, p.lfd), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(venv_handle_count(v, 1), 2);
    cr_assert_eq(venv_handle_count(v, 2), 1);
}

Test(venv, kill_resets_sockets_and_keeps_files)
{
    venv_set_owner(v, 1);
    cr_assert_eq(CALL(mkdir, "srv", 0700), 0);
    int fd = CALL(file_open, "srv/q", 1, 0600);
    cr_assert_eq(CALL(file_resize, fd, 32), 0);
    uint8_t *m = CALL(map, fd, 32);
    m[0] = 42;
    pair p = make_pair(7000);
    venv_kill(v, 1);
    cr_assert_eq(venv_handle_count(v, 1), 0);
    cr_assert_eq(venv_mapping_count(v, 1), 1, "mappings stay");
    cr_assert_eq(venv_file_data(v, "srv/q", NULL)[0], 42, "files stay");
    venv_set_owner(v, 2);
    uint8_t b[4];
    cr_assert_eq(CALL(recv, p.cfd, b, 4), -1);
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_eq(CALL(connect_result, CALL(connect, "10.0.0.1", 7000)), ECONNREFUSED,
                 "the listener died too");
    /* the dead process's leftovers fail harmlessly */
    venv_set_owner(v, 1);
    cr_assert_eq(CALL(sock_close, p.sfd), -1);
    cr_assert_eq(errno, EBADF);
    cr_assert_eq(CALL(unmap, m, 32), 0);
    /* a restart under a new owner listens again */
    venv_set_owner(v, 3);
    cr_assert_geq(CALL(listen, "10.0.0.1", 7000, 4), 0);
}

Test(venv, break_resets_both_ends)
{
    pair p = make_pair(7000);
    venv_set_owner(v, 2);
    cr_assert_eq(CALL(send, p.cfd, "abc", 3), 3);
    venv_break(v, 2);
    uint8_t b[4];
    cr_assert_eq(CALL(recv, p.cfd, b, 4), -1);
    cr_assert_eq(errno, ECONNRESET);
    venv_set_owner(v, 1);
    cr_assert_eq(CALL(recv, p.sfd, b, 4), -1);
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_eq(venv_handle_count(v, 1), 2, "handles stay open until closed");
}

/* The same calls give the same handles, ports and bytes. */
static uint64_t script(void)
{
    venv_options o = {.stream_capacity = 10};
    venv *w = venv_create(&o);
    const tcpshm_env *e = venv_env(w);
    uint64_t h = 1469598103934665603ull;
    int l = e->listen(w, "127.0.0.1", 0, 3);
    for (int i = 0; i < 3; i++) {
        int c = e->connect(w, "127.0.0.1", (uint16_t)e->local_port(w, l));
        int s = e->accept(w, l);
        ssize_t n = e->send(w, c, "0123456789abcdef", 16);
        uint32_t x = (uint32_t)(c * 131 + s * 7 + (int)n + e->local_port(w, c));
        h = (h ^ x) * 1099511628211u;
        if (i == 1)
            e->sock_close(w, s);
    }
    venv_destroy(w);
    return h;
}

Test(venv, deterministic) { cr_assert_eq(script(), script()); }

/* -------------------------------------------------------- the real core */

Test(venv, persistent_queue_survives_a_kill)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    venv_set_owner(v, 1);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, E, "dir", "a", "b", &qc, &err), 0, "%s", err.text);
    for (int i = 0; i < 5; i++) {
        tcpshm_msg_header *m = tcpshm_ptcp_queue_alloc(&q, 10);
        cr_assert_not_null(m);
        m->msg_type = 9;
        cr_assert_eq(tcpshm_ptcp_queue_push(&q, NULL), 0);
    }
    tcpshm_ptcp_queue_popped(&q);
    venv_kill(v, 1); /* no close: the process is gone */
    cr_assert_eq(venv_file_mode(v, "dir/a_b.ptcp"), 0600);
    cr_assert_null(venv_file_data(v, "dir/a_b.ptcp.tmp", NULL), "the temporary was renamed");
    venv_set_owner(v, 2);
    tcpshm_ptcp_queue r;
    cr_assert_eq(tcpshm_ptcp_queue_open(&r, E, "dir", "a", "b", &qc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&r), 5);
    cr_assert_eq(tcpshm_ptcp_queue_my_ack(&r), 1);
    tcpshm_ptcp_queue_close(&r);
    cr_assert_eq(venv_mapping_count(v, 2), 0);
    venv_set_owner(v, 1);
    tcpshm_ptcp_queue_close(&q); /* the dead incarnation's mapping */
    cr_assert_eq(venv_mapping_count(v, 1), 0);
}

typedef struct app {
    int logons, msgs, disconnects;
    uint32_t last_body;
} app;

static void srv_logon(void *u, tcpshm_conn *c, uint32_t grp)
{
    (void)c, (void)grp;
    ((app *)u)->logons++;
}
static void srv_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    app *a = u;
    memcpy(&a->last_body, m + 1, 4);
    a->msgs++;
    tcpshm_conn_pop(c);
}
static void srv_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    (void)c, (void)reason, (void)e;
    ((app *)u)->disconnects++;
}
static void cl_ok(void *u, tcpshm_conn *c, const tcpshm_login_rsp *r)
{
    (void)c, (void)r;
    ((app *)u)->logons++;
}

static void poll_all(tcpshm_server *s, tcpshm_client *cl, int64_t now)
{
    venv_set_owner(v, 1);
    tcpshm_server_poll_ctl(s, now);
    tcpshm_server_poll_tcp(s, now, 0);
    venv_set_owner(v, 2);
    tcpshm_client_poll_tcp(cl, now);
}

Test(venv, server_and_client_log_in_and_recover_from_a_kill)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.queue_size = 4096;
    cfg.recv_buf_size = 1024;
    cfg.max_msg_size = 256;
    cfg.tcp_conns_per_group = 2;
    cfg.ctl_interval = 0; /* now moves by 1 us a round: accept at every poll_ctl */
    app sa = {0}, ca = {0};
    tcpshm_server_callbacks scb = {.user = &sa, .on_logon = srv_logon, .on_msg = srv_msg,
                                   .on_disconnect = srv_disc};
    tcpshm_client_callbacks ccb = {.user = &ca, .on_login_success = cl_ok};
    tcpshm_error err = {0};
    tcpshm_server *s;
    tcpshm_client *cl;
    venv_set_owner(v, 1);
    cr_assert_eq(tcpshm_server_create(&s, &cfg, E, "server", "srv", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    venv_set_owner(v, 2);
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, E, "client", "cli", &ccb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, 0, &err), 0, "%s", err.text);
    int64_t now = 0;
    for (int i = 0; i < 10 && tcpshm_client_get_state(cl) != TCPSHM_CLIENT_LOGGED_IN; i++)
        poll_all(s, cl, now += 1000);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGED_IN);
    cr_assert_eq(sa.logons, 1);
    cr_assert_str_eq(tcpshm_client_last_server(cl), "server");
    /* 20 messages of 100 bytes through 64-byte streams: short sends throughout */
    tcpshm_conn *c = tcpshm_client_conn(cl);
    for (uint32_t i = 0; i < 20; i++) {
        tcpshm_msg_header *m = tcpshm_conn_alloc(c, 92);
        cr_assert_not_null(m);
        m->msg_type = 5;
        memcpy(m + 1, &i, 4);
        cr_assert_eq(tcpshm_conn_push(c), 0);
        poll_all(s, cl, now += 1000);
    }
    for (int i = 0; i < 40 && sa.msgs < 20; i++)
        poll_all(s, cl, now += 1000);
    cr_assert_eq(sa.msgs, 20);
    cr_assert_eq(sa.last_body, 19);
    /* kill the client (no destroy), restart it over the same files */
    venv_kill(v, 2);
    for (int i = 0; i < 3; i++)
        poll_all(s, cl, now += 1000);
    cr_assert_eq(sa.disconnects, 1);
    venv_set_owner(v, 2);
    tcpshm_client_destroy(cl); /* only frees memory: its handles are gone */
    venv_set_owner(v, 3);
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, E, "client", "cli", &ccb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, now, &err), 0, "%s", err.text);
    cr_assert_str_eq(tcpshm_client_last_server(cl), "server");
    for (int i = 0; i < 10 && tcpshm_client_get_state(cl) != TCPSHM_CLIENT_LOGGED_IN; i++) {
        venv_set_owner(v, 1);
        tcpshm_server_poll_ctl(s, now);
        tcpshm_server_poll_tcp(s, now, 0);
        venv_set_owner(v, 3);
        tcpshm_client_poll_tcp(cl, now += 1000);
    }
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGED_IN);
    cr_assert_eq(sa.logons, 2);
    cr_assert_eq(tcpshm_conn_my_ack(tcpshm_server_find_conn(s, "client")), 20);
    cr_assert_eq(tcpshm_conn_seq_end(tcpshm_client_conn(cl)), 20, "the client's stream goes on");
    tcpshm_client_destroy(cl);
    venv_set_owner(v, 1);
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 1) + venv_handle_count(v, 3), 0);
    cr_assert_eq(venv_mapping_count(v, 1) + venv_mapping_count(v, 3), 0);
}

/* ------------------------------------------- hosts and SHM for local peers */

Test(venv, connections_carry_their_hosts)
{
    char l[TCPSHM_ADDR_STR_SIZE], r[TCPSHM_ADDR_STR_SIZE];
    venv_set_owner(v, 1);
    int lfd = CALL(listen, "0.0.0.0", 9100, 4);
    cr_assert_geq(lfd, 0);
    venv_set_owner(v, 2);
    cr_assert_geq(CALL(connect, "127.0.0.1", 9100), 0); /* the default: from 127.0.0.1 */
    cr_assert_eq(venv_set_connect_host(v, "10.0.0.2"), 0);
    int c2 = CALL(connect, "10.0.0.1", 9100);
    cr_assert_eq(venv_set_connect_host(v, "not an address"), -1);
    cr_assert_eq(CALL(sock_addrs, c2, l, r, sizeof l), 0);
    cr_assert_str_eq(l, "10.0.0.2");
    cr_assert_str_eq(r, "10.0.0.1");
    venv_set_owner(v, 1);
    int s1 = CALL(accept, lfd), s2 = CALL(accept, lfd);
    cr_assert(s1 >= 0 && s2 >= 0);
    cr_assert_eq(CALL(sock_addrs, s1, l, r, sizeof l), 0);
    cr_assert_str_eq(l, "127.0.0.1");
    cr_assert_str_eq(r, "127.0.0.1");
    cr_assert_eq(CALL(sock_addrs, s2, l, r, sizeof l), 0);
    cr_assert_str_eq(l, "10.0.0.1"); /* the address the client dialed */
    cr_assert_str_eq(r, "10.0.0.2");
    cr_assert_eq(CALL(sock_addrs, s2, l, r, 5), -1); /* does not fit */
    cr_assert_eq(CALL(sock_addrs, lfd, l, r, sizeof l), -1);
}

typedef struct shm_app {
    int logons, rejects, errors;
    char reject_text[64];
} shm_app;

static void shm_cl_ok(void *u, tcpshm_conn *c, const tcpshm_login_rsp *r)
{
    (void)c, (void)r;
    ((shm_app *)u)->logons++;
}
static void shm_cl_error(void *u, const char *reason, int e)
{
    shm_app *a = u;
    (void)e;
    a->errors++;
    snprintf(a->reject_text, sizeof a->reject_text, "%s", reason);
}
static void shm_cl_reject(void *u, const tcpshm_login_rsp *r)
{
    shm_app *a = u;
    a->rejects++;
    snprintf(a->reject_text, sizeof a->reject_text, "%s", r->error_msg);
}

/* One SHM login of a client `name` connecting from host `from` to `to`
 * (the server listens on 0.0.0.0): true if it logged in. */
static bool shm_login_from(tcpshm_server *s, const tcpshm_config *cfg, const char *name, const char *from,
                           const char *to, uint32_t owner, shm_app *ca)
{
    tcpshm_client_callbacks ccb = {.user = ca, .on_login_success = shm_cl_ok, .on_login_reject = shm_cl_reject,
                                   .on_system_error = shm_cl_error};
    tcpshm_error err = {0};
    tcpshm_client *cl;
    venv_set_owner(v, owner);
    cr_assert_eq(venv_set_connect_host(v, from), 0);
    cr_assert_eq(tcpshm_client_create(&cl, cfg, E, name, "cli", &ccb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, to, 9200, true, NULL, 0, &err), 0, "%s", err.text);
    int64_t now = 0;
    for (int i = 0; i < 20 && tcpshm_client_get_state(cl) != TCPSHM_CLIENT_LOGGED_IN && ca->rejects + ca->errors == 0;
         i++) {
        venv_set_owner(v, 1);
        tcpshm_server_poll_ctl(s, now);
        tcpshm_server_poll_shm(s, now, 0);
        venv_set_owner(v, owner);
        tcpshm_client_poll_tcp(cl, now += 1000);
    }
    bool in = tcpshm_client_get_state(cl) == TCPSHM_CLIENT_LOGGED_IN;
    venv_set_owner(v, owner);
    tcpshm_client_destroy(cl);
    return in;
}

static char srv_reject_reason[128];
static void shm_srv_rejected(void *u, const char *client, const char *reason)
{
    (void)u, (void)client;
    snprintf(srv_reject_reason, sizeof srv_reject_reason, "%s", reason);
}

/* Issue 13: a peer on another host cannot make the server create segments. */
Test(venv, shm_login_only_from_a_local_peer)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.queue_size = 4096;
    cfg.recv_buf_size = 1024;
    cfg.max_msg_size = 256;
    cfg.shm_queue_size = 4096;
    cfg.ctl_interval = 0; /* each login is polled at one now: accept at every poll_ctl */
    cfg.shm_groups = 1;
    cfg.shm_conns_per_group = 4;
    tcpshm_error err = {0};
    tcpshm_server *s;
    /* the suite's 64-byte streams would cut the 72-byte refusal (sent once, best effort) */
    venv_set_stream_capacity(v, 4096);
    venv_set_owner(v, 1);
    tcpshm_server_callbacks scb = {.on_login_rejected = shm_srv_rejected};
    cr_assert_eq(tcpshm_server_create(&s, &cfg, E, "server", "srv", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "0.0.0.0", 9200, &err), 0, "%s", err.text);

    shm_app remote = {0};
    cr_assert_not(shm_login_from(s, &cfg, "remote", "10.0.0.2", "10.0.0.1", 2, &remote));
    cr_assert_str_eq(srv_reject_reason, "Shared memory needs local peer");
    cr_assert_eq(remote.rejects, 1, "rejects %d, errors %d \"%s\"", remote.rejects, remote.errors,
                 remote.reject_text);
    cr_assert_str_eq(remote.reject_text, "Shared memory needs local peer");
    cr_assert_null(venv_file_data(v, VENV_SHM_DIR "/tcpshm_server_remote", NULL), "a segment was created");
    cr_assert_null(venv_file_data(v, VENV_SHM_DIR "/tcpshm_remote_server", NULL));
    cr_assert_null(tcpshm_server_find_conn(s, "remote"), "the remote client got a slot");

    shm_app same = {0}, loop = {0};
    srv_reject_reason[0] = '\0';
    cr_assert(shm_login_from(s, &cfg, "same", "10.0.0.1", "10.0.0.1", 3, &same), "%s / %s", same.reject_text,
              srv_reject_reason);
    cr_assert(shm_login_from(s, &cfg, "loop", "127.0.0.1", "127.0.0.1", 4, &loop), "%s / %s", loop.reject_text,
              srv_reject_reason);
    cr_assert_not_null(venv_file_data(v, VENV_SHM_DIR "/tcpshm_server_same", NULL));
    venv_set_owner(v, 1);
    tcpshm_server_destroy(s);
}

/* ------------------------------------------------- stable storage, power loss */

static bool whole_room(void *user, const char *path)
{
    (void)user, (void)path;
    return true;
}
static uint32_t coin_back(void *user, uint32_t n) { (void)user, (void)n; return 0; } /* everything goes back */
static uint32_t coin_kept(void *user, uint32_t n) { (void)user, (void)n; return 1; } /* everything was written back */

/* A file "d/f" of two pages, bytes 'a', created and (when synced) made
 * durable with its name; then its second page is changed to 'b'. */
static uint8_t *two_pages(bool synced, int *fd_out)
{
    cr_assert_eq(CALL(mkdir, "d", 0700), 0);
    int fd = CALL(file_open, "d/f", 1, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(CALL(file_resize, fd, 2 * VENV_PAGE_SIZE), 0);
    uint8_t *m = CALL(map, fd, 2 * VENV_PAGE_SIZE);
    cr_assert_not_null(m);
    memset(m, 'a', 2 * VENV_PAGE_SIZE);
    if (synced) {
        cr_assert_eq(CALL(file_sync, fd), 0);
        cr_assert_eq(CALL(dir_sync, "d"), 0);
        cr_assert_eq(CALL(dir_sync, ""), 0);
    }
    memset(m + VENV_PAGE_SIZE, 'b', VENV_PAGE_SIZE);
    *fd_out = fd;
    return m;
}

static void power_off(venv_below_fn coin, venv_power_stats *st)
{
    venv_set_owner(v, 1);
    venv_kill(v, 1);
    venv_power_loss(v, whole_room, coin, NULL, st);
}

Test(venv, power_loss_takes_back_what_was_not_synced)
{
    venv_set_owner(v, 1);
    int fd;
    uint8_t *m = two_pages(true, &fd);
    CALL(unmap, m, 2 * VENV_PAGE_SIZE);
    uint64_t before = stamp_of("d/f");
    venv_power_stats st;
    power_off(coin_back, &st);
    size_t len;
    const uint8_t *d = venv_file_data(v, "d/f", &len);
    cr_assert_not_null(d);
    cr_assert(stamp_of("d/f") != before, "its bytes changed: a new stamp");
    cr_assert_eq(len, 2 * VENV_PAGE_SIZE);
    cr_assert_eq(d[VENV_PAGE_SIZE], 'a', "the unsynced page went back");
    cr_assert_eq(st.pages_old, 1);
    cr_assert_eq(st.pages_new, 0);
}

Test(venv, power_loss_keeps_a_page_map_sync_wrote)
{
    venv_set_owner(v, 1);
    int fd;
    uint8_t *m = two_pages(true, &fd);
    cr_assert_eq(CALL(map_sync, m + VENV_PAGE_SIZE + 8, 8), 0);
    m[0] = 'z'; /* the first page, not synced since */
    CALL(unmap, m, 2 * VENV_PAGE_SIZE);
    power_off(coin_back, NULL);
    const uint8_t *d = venv_file_data(v, "d/f", NULL);
    cr_assert_eq(d[VENV_PAGE_SIZE], 'b', "map_sync made its page durable");
    cr_assert_eq(d[0], 'a', "the other page went back");
}

/* The disk's bytes of d/f after a map_sync of 8 bytes at offset 600 of
 * two written pages, in a venv whose sync unit is `unit` (0: the page). */
static void sync_600(uint32_t unit, uint8_t *at_0, uint8_t *at_1000)
{
    venv_options o = {.sync_unit = unit};
    venv *w = venv_create(&o);
    cr_assert_not_null(w);
    const tcpshm_env *e = venv_env(w);
    venv_set_owner(w, 1);
    cr_assert_eq(e->mkdir(w, "d", 0700), 0);
    int fd = e->file_open(w, "d/f", 1, 0600);
    cr_assert_eq(e->file_resize(w, fd, 2 * VENV_PAGE_SIZE), 0);
    cr_assert_eq(e->file_sync(w, fd), 0); /* the disk: zeros */
    uint8_t *m = e->map(w, fd, 2 * VENV_PAGE_SIZE);
    cr_assert_not_null(m);
    memset(m, 'a', 2 * VENV_PAGE_SIZE);
    cr_assert_eq(e->map_sync(w, m + 600, 8), 0);
    size_t len;
    bool named;
    const uint8_t *d = venv_disk_data(w, "d/f", &len, &named);
    cr_assert_not_null(d);
    *at_0 = d[0];
    *at_1000 = d[1000];
    venv_destroy(w);
}

Test(venv, map_sync_copies_whole_pages_or_sectors)
{
    uint8_t a0, a1000;
    sync_600(0, &a0, &a1000);
    cr_assert(a0 == 'a' && a1000 == 'a', "a page: the whole first page reached the disk");
    sync_600(512, &a0, &a1000);
    cr_assert(a0 == 0 && a1000 == 'a', "512-byte sectors: only [512, 1024) did (%d, %d)", a0, a1000);
}

Test(venv, power_loss_may_keep_unsynced_pages)
{
    venv_set_owner(v, 1);
    int fd;
    uint8_t *m = two_pages(true, &fd);
    CALL(unmap, m, 2 * VENV_PAGE_SIZE);
    power_off(coin_kept, NULL);
    cr_assert_eq(venv_file_data(v, "d/f", NULL)[VENV_PAGE_SIZE], 'b');
}

Test(venv, power_loss_undoes_names_without_dir_sync)
{
    venv_set_owner(v, 1);
    int fd;
    uint8_t *m = two_pages(false, &fd); /* neither the file nor its name synced */
    CALL(unmap, m, 2 * VENV_PAGE_SIZE);
    power_off(coin_back, NULL);
    cr_assert_null(venv_file_data(v, "d/f", NULL), "an unsynced name is gone");
    cr_assert_eq(venv_file_mode(v, "d"), -1, "so is an unsynced directory");
}

Test(venv, power_loss_undoes_a_rename_not_synced)
{
    venv_set_owner(v, 1);
    int fd;
    uint8_t *m = two_pages(true, &fd);
    CALL(unmap, m, 2 * VENV_PAGE_SIZE);
    int t = CALL(file_open, "d/t", 1, 0600);
    cr_assert_geq(t, 0);
    cr_assert_eq(CALL(file_resize, t, 3), 0);
    cr_assert_eq(CALL(file_sync, t), 0);
    cr_assert_eq(CALL(rename, "d/t", "d/f"), 0); /* no dir_sync: may be undone */
    power_off(coin_back, NULL);
    size_t len;
    cr_assert_not_null(venv_file_data(v, "d/f", &len));
    cr_assert_eq(len, 2 * VENV_PAGE_SIZE, "the old file is back under its name");
    cr_assert_null(venv_file_data(v, "d/t", NULL), "t was never durable");
}

Test(venv, power_loss_after_dir_sync_keeps_the_rename)
{
    venv_set_owner(v, 1);
    int fd;
    uint8_t *m = two_pages(true, &fd);
    CALL(unmap, m, 2 * VENV_PAGE_SIZE);
    int t = CALL(file_open, "d/t", 1, 0600);
    cr_assert_eq(CALL(file_resize, t, 3), 0);
    cr_assert_eq(CALL(file_sync, t), 0);
    cr_assert_eq(CALL(rename, "d/t", "d/f"), 0);
    cr_assert_eq(CALL(dir_sync, "d"), 0);
    power_off(coin_back, NULL);
    size_t len;
    cr_assert_not_null(venv_file_data(v, "d/f", &len));
    cr_assert_eq(len, 3);
}

/* venv_disk_data: what a power loss that takes back every unsynced page
 * and name would leave, without one (the simulator's disk rule). */
Test(venv, disk_data_shows_the_disk_side_of_a_live_file)
{
    venv_set_owner(v, 1);
    int fd;
    size_t len;
    bool named = true;
    uint8_t *m = two_pages(false, &fd);
    const uint8_t *d = venv_disk_data(v, "d/f", &len, &named);
    cr_assert_not_null(d);
    cr_assert_not(named, "a name never synced is not on the disk");
    cr_assert_eq(len, 0, "nor are its bytes");
    cr_assert_eq(CALL(file_sync, fd), 0);
    cr_assert_eq(CALL(dir_sync, "d"), 0);
    venv_disk_data(v, "d/f", &len, &named);
    cr_assert_not(named, "d itself is not on the disk yet: a power loss takes it with f");
    cr_assert_eq(CALL(dir_sync, ""), 0);
    m[VENV_PAGE_SIZE] = 'c'; /* in the page cache only */
    d = venv_disk_data(v, "d/f", &len, &named);
    cr_assert(named, "dir_sync of d and of its parent made the name durable");
    cr_assert_eq(len, 2 * VENV_PAGE_SIZE);
    cr_assert_eq(d[VENV_PAGE_SIZE], 'b', "the disk has the synced byte, not the live one");
    int t = CALL(file_open, "d/t", 1, 0600);
    cr_assert_geq(t, 0);
    cr_assert_eq(CALL(rename, "d/t", "d/f"), 0);
    d = venv_disk_data(v, "d/f", &len, &named);
    cr_assert_not_null(d);
    cr_assert_not(named, "the durable name still points at the old file");
    cr_assert_null(venv_disk_data(v, "d/none", &len, &named), "no live file, no answer");
    CALL(unmap, m, 2 * VENV_PAGE_SIZE);
}

Test(venv, power_loss_clears_shm_segments)
{
    venv_set_owner(v, 1);
    int fd = CALL(shm_open, "/seg", 1, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(CALL(file_resize, fd, 64), 0);
    cr_assert_eq(CALL(file_sync, fd), 0);
    venv_power_stats st;
    power_off(coin_kept, &st);
    cr_assert_null(venv_file_data(v, VENV_SHM_DIR "/seg", NULL), "RAM is gone");
    cr_assert_eq(st.segments, 1);
}
