/* Edges of one connection (conn.c, conn_shm.c) that the server and client
 * suites leave untaken (ci/coverage lists what is left): an SHM pair's
 * login checks with scribbled segment headers and producer words, the
 * server's range check without state or with an inverted snapshot, the
 * busy flag of poll_shm keeping a login off the segments, an application
 * frame on the socket of an SHM link, a second bad word reported while the
 * first is pending, and control bytes queued behind a short send. Two
 * connections on venv, driven through conn_internal.h as server.c and
 * client.c drive them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "conn_internal.h"
#include "conn_transport.h"
#include "edges_bed.h"
#include "tcpshm/frame.h"

static venv *v;
static tcpshm_env E;
static tcpshm_config cfg;
static uint8_t srv_rx[4096] __attribute__((aligned(8))), cli_rx[4096] __attribute__((aligned(8)));

static void setup(void)
{
    v = edges_venv(&E);
    edges_config(&cfg);
}
static void teardown(void) { venv_destroy(v); }
TestSuite(edges_conn, .init = setup, .fini = teardown, .timeout = 60);

/* The server's and the client's SHM halves of the pair (srv, cli): the
 * server's outgoing segment is the client's incoming one and back. */
static void open_pair(tcpshm_conn *s, tcpshm_conn *c)
{
    tcpshm_error err = {0};
    tcpshm_conn_init(s, &cfg, &E, TCPSHM_CONN_SERVER, "srv", srv_rx);
    tcpshm_conn_init(c, &cfg, &E, TCPSHM_CONN_CLIENT, "cli", cli_rx);
    cr_assert_eq(tcpshm_conn_set_transport(s, true, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_conn_set_transport(c, true, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_conn_open_state(s, "d", "cli", &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_conn_open_state(c, "d", "srv", &err), 0, "%s", err.text);
}

static void close_pair(tcpshm_conn *s, tcpshm_conn *c)
{
    tcpshm_conn_close_state(s);
    tcpshm_conn_close_state(c);
}

static void push(tcpshm_conn *c, int n)
{
    for (int i = 0; i < n; i++) {
        tcpshm_msg_header *m = tcpshm_conn_alloc(c, 8);
        cr_assert_not_null(m);
        m->msg_type = 7;
        cr_assert_eq(tcpshm_conn_push(c), 0);
    }
}

/* A relogin of the same pair checks both segments' headers again: a
 * scribbled version word in either refuses it, and the range check of a
 * login over a scribbled segment says no. */
Test(edges_conn, relogin_checks_both_segment_headers)
{
    tcpshm_conn s, c;
    open_pair(&s, &c);
    tcpshm_error err = {0};
    uint32_t bad = 99;
    uint8_t *segs[2] = {(uint8_t *)s.shm.out.seg, (uint8_t *)s.shm.in.seg};
    for (int i = 0; i < 2; i++) {
        uint32_t saved;
        memcpy(&saved, segs[i] + 8, 4);
        memcpy(segs[i] + 8, &bad, 4);
        cr_assert_eq(tcpshm_conn_open_state(&s, "d", "cli", &err), TCPSHM_E_CORRUPT, "segment %d", i);
        cr_assert_not_null(strstr(err.text, "version 99"), "segment %d: %s", i, err.text);
        tcpshm_seq_mismatch r = tcpshm_conn_seq_report(&s, 0, 0, 0);
        cr_assert(!tcpshm_conn_login_seq_ok(&s, &r), "segment %d: a scribbled header fails the range check", i);
        memcpy(segs[i] + 8, &saved, 4);
    }
    cr_assert_eq(tcpshm_conn_open_state(&s, "d", "cli", &err), 0, "%s", err.text);
    tcpshm_seq_mismatch r = tcpshm_conn_seq_report(&s, 0, 0, 0);
    cr_assert(tcpshm_conn_login_seq_ok(&s, &r));
    close_pair(&s, &c);
}

/* The server's range check over SHM: the segment's producer count replaces
 * the login's snapshot end only when the count is one the client can have
 * pushed and the snapshot is a range; without state nothing is read. */
Test(edges_conn, server_range_check_takes_only_a_trusted_producer_count)
{
    tcpshm_conn s, c;
    open_pair(&s, &c);
    push(&c, 3); /* the segment says 3 */
    /* a snapshot of 1 that the segment is ahead of: taken */
    tcpshm_seq_mismatch r = tcpshm_conn_seq_report(&s, 0, 1, 0);
    cr_assert(tcpshm_conn_login_seq_ok(&s, &r));
    cr_assert_eq(r.remote_seq_end, 3);
    /* an inverted snapshot (start 2, end 1): not a range, the segment is not taken */
    r = tcpshm_conn_seq_report(&s, 2, 1, 0);
    cr_assert(!tcpshm_conn_login_seq_ok(&s, &r));
    cr_assert_eq(r.remote_seq_end, 1);
    /* a producer word scribbled to a count the client cannot have pushed */
    uint64_t w, scribbled = (uint64_t)0x40000000u << 32;
    uint8_t *in = (uint8_t *)s.shm.in.seg;
    memcpy(&w, in + 64, 8);
    memcpy(in + 64, &scribbled, 8);
    r = tcpshm_conn_seq_report(&s, 0, 1, 0);
    (void)tcpshm_conn_login_seq_ok(&s, &r);
    cr_assert_eq(r.remote_seq_end, 1, "an untrusted count is not taken");
    memcpy(in + 64, &w, 8);
    close_pair(&s, &c);

    /* a server connection with no segments open: no header check, no count,
     * the snapshot alone judges; accepting and resetting touch nothing */
    tcpshm_conn bare;
    tcpshm_error err = {0};
    tcpshm_conn_init(&bare, &cfg, &E, TCPSHM_CONN_SERVER, "srv", srv_rx);
    cr_assert_eq(tcpshm_conn_set_transport(&bare, true, &err), 0, "%s", err.text);
    cr_assert(!tcpshm_conn_has_state(&bare));
    r = tcpshm_conn_seq_report(&bare, 0, 5, 0);
    cr_assert(tcpshm_conn_login_seq_ok(&bare, &r));
    cr_assert_eq(r.remote_seq_end, 5);
    r = tcpshm_conn_seq_report(&bare, 0, 0, 1); /* acks a message never sent */
    cr_assert(!tcpshm_conn_login_seq_ok(&bare, &r));
    tcpshm_conn_login_accept(&bare, &r);
    tcpshm_conn_reset_for_new_peer(&bare);
    cr_assert(!tcpshm_conn_has_state(&bare));
    cr_assert_eq(tcpshm_conn_seq_end(&bare), 0);
}

/* While the link is live, or the client's poll_shm is inside (busy), a login
 * may not change the transport or swap the segments, and releasing the
 * state keeps them mapped; once poll_shm left, all three go ahead. */
Test(edges_conn, busy_poll_shm_keeps_the_login_off_the_segments)
{
    tcpshm_conn s, c;
    open_pair(&s, &c);
    tcpshm_error err = {0};
    tcpshm_conn_set_live(&c); /* a live link is in use whatever poll_shm does */
    cr_assert(tcpshm_conn_shm_in_use(&c));
    cr_assert_eq(tcpshm_conn_set_transport(&c, false, &err), TCPSHM_E_SYSTEM);
    tcpshm_conn_clear_live(&c);
    cr_assert(!tcpshm_conn_shm_in_use(&c));
    cr_assert(!tcpshm_conn_begin_shm_poll(&c), "not live: nothing to deliver");
    cr_assert(tcpshm_conn_shm_in_use(&c), "busy while not live");
    cr_assert_eq(tcpshm_conn_set_transport(&c, false, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(err.sys_errno, EAGAIN);
    cr_assert(tcpshm_conn_is_shm(&c));
    cr_assert_eq(tcpshm_conn_open_state(&c, "d", "other", &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(err.sys_errno, EAGAIN);
    cr_assert_str_eq(tcpshm_conn_remote_name(&c), "srv", "the segments of srv stay");
    tcpshm_conn_release_state(&c);
    cr_assert(tcpshm_conn_has_state(&c), "poll_shm may be reading them: still mapped");
    tcpshm_conn_end_shm_poll(&c);
    cr_assert(!tcpshm_conn_shm_in_use(&c));
    tcpshm_conn_release_state(&c);
    cr_assert(!tcpshm_conn_has_state(&c));
    cr_assert_eq(tcpshm_conn_set_transport(&c, false, &err), 0, "%s", err.text);
    close_pair(&s, &c);
}

/* A socket pair on venv: fd of the connection, and the peer's end. */
static int link_conn(tcpshm_conn *c, int *peer, uint16_t port)
{
    int lfd = E.listen(E.ctx, "127.0.0.1", port, 4);
    cr_assert_geq(lfd, 0);
    int fd = E.connect(E.ctx, "127.0.0.1", port);
    cr_assert_geq(fd, 0);
    *peer = E.accept(E.ctx, lfd);
    cr_assert_geq(*peer, 0);
    cr_assert_eq(E.sock_close(E.ctx, lfd), 0);
    tcpshm_conn_attach(c, fd, 0);
    tcpshm_conn_link_up(c, 0);
    return fd;
}

static void send_frame(int fd, uint16_t type)
{
    uint8_t b[16] = {0};
    tcpshm_msg_header h = {.size = 16, .msg_type = type, .ack_seq = 0};
    tcpshm_header_encode(&h, b, cfg.little_endian);
    cr_assert_eq(E.send(E.ctx, fd, b, sizeof b), (ssize_t)sizeof b);
}

/* The socket of an SHM link carries heartbeats only: an application
 * message on it closes the link, naming why. */
Test(edges_conn, application_frame_on_the_socket_of_an_shm_link)
{
    tcpshm_conn s, c;
    open_pair(&s, &c);
    int peer;
    link_conn(&s, &peer, 9100);
    tcpshm_conn_set_established(&s);
    send_frame(peer, TCPSHM_MSG_HEARTBEAT);
    cr_assert(tcpshm_conn_poll_io(&s, 1), "a heartbeat is fine");
    send_frame(peer, 7);
    /* the socket of an established SHM link is looked at when due */
    cr_assert(!tcpshm_conn_poll_io(&s, s.next_check));
    cr_assert_not_null(strstr(tcpshm_conn_close_reason(&s, NULL), "application message over TCP in SHM mode"), "%s",
                       tcpshm_conn_close_reason(&s, NULL));
    cr_assert_eq(E.sock_close(E.ctx, peer), 0);
    close_pair(&s, &c);
}

/* The first bad word the peer wrote is the reason the link closes with: a
 * consumer that found a bad slot stops reading, and a bad consumer word
 * found by a push afterwards does not replace the reason. */
Test(edges_conn, the_first_bad_word_is_the_reason)
{
    tcpshm_conn s, c;
    open_pair(&s, &c);
    tcpshm_msg_header *m = tcpshm_conn_alloc(&c, 8);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_conn_push(&c), 0);
    m->size = 4; /* scribbled after the push: shorter than a header */
    cr_assert_null(tcpshm_conn_front(&s));
    char first[sizeof s.peer_fail_reason];
    memcpy(first, s.peer_fail_reason, sizeof first);
    cr_assert_neq(first[0], '\0');
    cr_assert_null(tcpshm_conn_front(&s), "failed: nothing more is read");
    /* fill the server's outgoing segment, then scribble its consumer word */
    while ((m = tcpshm_conn_alloc(&s, 8)) != NULL) {
        m->msg_type = 7;
        cr_assert_eq(tcpshm_conn_push(&s), 0);
    }
    uint64_t rs;
    uint8_t *out = (uint8_t *)s.shm.out.seg;
    memcpy(&rs, out + 128, 8);
    rs = (rs & ~(uint64_t)0xffffffffu) | 4096u; /* past the data area */
    memcpy(out + 128, &rs, 8);
    cr_assert_null(tcpshm_conn_alloc(&s, 8));
    cr_assert_not_null(tcpshm_shm_queue_fault(&s.shm.out), "the push found a bad word too");
    cr_assert_str_eq(s.peer_fail_reason, first, "the first report stays");
    /* the TCP side closes the link with it */
    int peer;
    link_conn(&s, &peer, 9101);
    cr_assert(!tcpshm_conn_poll_io(&s, 1));
    cr_assert_str_eq(tcpshm_conn_close_reason(&s, NULL), first);
    cr_assert_eq(E.sock_close(E.ctx, peer), 0);
    close_pair(&s, &c);
}

/* Control bytes behind a send that moved nothing are kept, later ones go
 * after them, and more than TCPSHM_CTRL_OUT_MAX waiting is refused whole. */
static ssize_t send_nothing(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx, (void)fd, (void)buf, (void)len;
    return 0;
}

Test(edges_conn, control_bytes_queue_behind_a_short_send)
{
    tcpshm_env e = E;
    e.send = send_nothing;
    tcpshm_conn c;
    tcpshm_conn_init(&c, &cfg, &e, TCPSHM_CONN_CLIENT, "cli", cli_rx);
    int peer;
    int lfd = E.listen(E.ctx, "127.0.0.1", 9102, 4);
    int fd = E.connect(E.ctx, "127.0.0.1", 9102);
    peer = E.accept(E.ctx, lfd);
    cr_assert(lfd >= 0 && fd >= 0 && peer >= 0);
    tcpshm_conn_attach(&c, fd, 0);
    uint8_t bytes[100];
    memset(bytes, 0xab, sizeof bytes);
    cr_assert(tcpshm_conn_send_ctrl(&c, bytes, 16));
    cr_assert(tcpshm_conn_flush(&c), "nothing moved, nothing failed");
    cr_assert_eq(c.ctrl_sent, 0);
    cr_assert(tcpshm_conn_send_ctrl(&c, bytes, 16));
    cr_assert_eq(c.ctrl_len, 32, "queued behind the unsent 16");
    uint32_t queued = c.ctrl_len;
    while (tcpshm_conn_send_ctrl(&c, bytes, sizeof bytes))
        queued += sizeof bytes;
    cr_assert_eq(c.ctrl_len, queued, "a refused piece adds nothing");
    cr_assert_gt(queued + sizeof bytes, TCPSHM_CTRL_OUT_MAX);
    tcpshm_conn_fail(&c, "done", 0);
    cr_assert_eq(E.sock_close(E.ctx, peer), 0);
    cr_assert_eq(E.sock_close(E.ctx, lfd), 0);
}
