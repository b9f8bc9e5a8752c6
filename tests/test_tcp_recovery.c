/* Recovery over loopback: disconnects (close, reset, short writes) in the
 * middle of a stream, restarts of either side under the same or a new name,
 * sequence mismatches, heartbeats and timeouts, groups and login refusals.
 * Every stream is checked for order, content, no gap and no duplicate. */
#include <criterion/criterion.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_internal.h"
#include "tcp_harness.h"

static th h;
static void setup(void)
{
    fiu_init(0);
    th_init(&h);
}
static void teardown(void)
{
    fiu_disable("tcpshm/net/reset");
    fiu_disable("tcpshm/net/send/short");
    fiu_disable("tcpshm/net/recv/short");
    th_fini(&h);
}
TestSuite(tcp_recovery, .init = setup, .fini = teardown, .timeout = 120);

#define ARG(i) ((void *)(uintptr_t)(i))

static void login_ok(uint32_t c)
{
    th_login(&h, c);
    cr_assert(th_pump_until(&h, th_client_logged_in, ARG(c), 3000), "client %u did not log in: %s", c,
              h.clients[c].side.last_reason);
}

static tcpshm_conn *client_conn(uint32_t c) { return tcpshm_client_conn(h.clients[c].cl); }

static bool server_has(th *t, void *arg) { return t->srv_side.received >= (uint32_t)(uintptr_t)arg; }
static bool client_has(th *t, void *arg) { return t->clients[0].side.received >= (uint32_t)(uintptr_t)arg; }

/* Client 0 streams messages [from, to) to the server, at most `window` in
 * flight; interrupt(k) runs after message k is pushed. */
static void stream_to_server(uint32_t from, uint32_t to, void (*interrupt)(uint32_t k))
{
    for (uint32_t k = from; k < to;) {
        tcpshm_conn *conn = client_conn(0);
        if (tcpshm_client_get_state(h.clients[0].cl) == TCPSHM_CLIENT_IDLE) {
            th_login(&h, 0); /* the application logs in again after a disconnect */
        }
        if (th_push(conn, k, (uint16_t)(4 + (k * 37) % 900), k % 3 == 0)) {
            if (interrupt)
                interrupt(k);
            k++;
        }
        th_poll(&h, 100000);
    }
    for (int r = 0; r < 20000 && h.srv_side.received < to; r++) {
        if (tcpshm_client_get_state(h.clients[0].cl) == TCPSHM_CLIENT_IDLE)
            th_login(&h, 0);
        th_poll(&h, 1000000);
    }
    cr_assert_eq(h.srv_side.bad, 0, "server saw a bad stream: %s", h.srv_side.bad_text);
    cr_assert_eq(h.srv_side.received, to, "server received %u of %u (last reason: %s)",
                 h.srv_side.received, to, h.srv_side.last_reason);
}

static void close_every_500(uint32_t k)
{
    if (k % 500 == 250)
        tcpshm_conn_close(client_conn(0));
}

Test(tcp_recovery, close_mid_stream_then_relogin_resumes_exactly_once)
{
    th_start_server(&h, "server");
    h.server_consume = true;
    th_add_client(&h, "alice");
    login_ok(0);
    stream_to_server(0, 3000, close_every_500);
    cr_assert_geq(h.srv_side.disconnects, 5, "closes happened: %u", h.srv_side.disconnects);
    cr_assert_str_eq(h.clients[0].side.last_reason, "Request close");
    cr_assert_eq(h.clients[0].side.logons, h.srv_side.logons);
}

static void server_closes_every_400(uint32_t k)
{
    if (k % 400 == 100) {
        tcpshm_conn *sc = tcpshm_server_find_conn(h.srv, "alice");
        cr_assert_not_null(sc);
        tcpshm_conn_close(sc);
    }
}

Test(tcp_recovery, server_side_close_mid_stream)
{
    th_start_server(&h, "server");
    h.server_consume = true;
    th_add_client(&h, "alice");
    login_ok(0);
    stream_to_server(0, 2000, server_closes_every_400);
    cr_assert_geq(h.clients[0].side.disconnects, 4);
    /* the client sees EOF or, with bytes unread at the server, a reset */
    cr_assert_str_eq(h.srv_side.last_reason, "Request close");
}

/* libfiu decisions from our own counter, never from libfiu's clock-seeded random. */
static unsigned fault_calls, fault_every;
static bool reset_armed; /* the next send or recv resets the connection */
static int reset_when_armed(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    bool fire = reset_armed;
    reset_armed = false;
    return fire;
}
static int every_nth(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    return ++fault_calls % fault_every == 0;
}

Test(tcp_recovery, resets_and_short_writes_both_ways)
{
    th_start_server(&h, "server");
    h.server_echo = true;
    th_add_client(&h, "alice");
    login_ok(0);
    fault_calls = 0;
    fault_every = 3;
    cr_assert_eq(fiu_enable_external("tcpshm/net/send/short", 1, NULL, 0, every_nth), 0);
    cr_assert_eq(fiu_enable_external("tcpshm/net/recv/short", 1, NULL, 0, every_nth), 0);
    cr_assert_eq(fiu_enable_external("tcpshm/net/reset", 1, NULL, 0, reset_when_armed), 0);
    const uint32_t n = 2000;
    uint32_t sent = 0;
    uint32_t resets = 0;
    for (int round = 0; round < 400000 && h.clients[0].side.received < n; round++) {
        if (h.clients[0].side.received / 300 > resets) {
            reset_armed = true;
            resets++;
        }
        if (tcpshm_client_get_state(h.clients[0].cl) == TCPSHM_CLIENT_IDLE)
            th_login(&h, 0);
        tcpshm_conn *conn = client_conn(0);
        while (sent < n && sent - h.clients[0].side.received < 16 &&
               th_push(conn, sent, (uint16_t)(4 + (sent * 53) % 1500), false))
            sent++;
        th_poll(&h, 100000);
    }
    cr_assert_eq(h.clients[0].side.bad, 0, "%s", h.clients[0].side.bad_text);
    cr_assert_eq(h.clients[0].side.received, n, "echoes %u of %u", h.clients[0].side.received, n);
    cr_assert_geq(h.clients[0].side.disconnects, 5, "resets happened: %u", h.clients[0].side.disconnects);
    cr_assert_gt(fault_calls, 1000, "short reads/writes were exercised: %u", fault_calls);
}

/* Server streams [from, to) to client 0 (one-way), client consumes. */
static void server_pushes(uint32_t from, uint32_t to)
{
    tcpshm_conn *sc = tcpshm_server_find_conn(h.srv, "alice");
    cr_assert_not_null(sc);
    for (uint32_t k = from; k < to; k++)
        cr_assert(th_push(sc, k, 40, true), "server push %u", k);
}

Test(tcp_recovery, server_restart_same_name_resumes)
{
    th_start_server(&h, "server");
    th_add_client(&h, "alice");
    login_ok(0);
    server_pushes(0, 50);
    cr_assert(th_pump_until(&h, client_has, ARG(50), 3000));
    /* 50 more queued but never sent, and the client holds the first of them
     * unpopped when the server goes away */
    h.client_consume = false;
    server_pushes(50, 75);
    cr_assert(tcpshm_conn_flush(tcpshm_server_find_conn(h.srv, "alice")));
    for (int r = 0; r < 20; r++)
        th_poll(&h, 1000000);
    server_pushes(75, 100); /* queued, never sent */
    uint32_t logons_before = h.srv_side.logons;
    th_stop_server(&h);
    th_start_server(&h, "server");
    h.client_consume = true;
    for (int r = 0; r < 5000 && (h.clients[0].side.received < 100 || h.srv_side.logons == logons_before); r++) {
        if (tcpshm_client_get_state(h.clients[0].cl) == TCPSHM_CLIENT_IDLE)
            th_login(&h, 0);
        th_poll(&h, 1000000);
    }
    cr_assert_eq(h.clients[0].side.bad, 0, "%s", h.clients[0].side.bad_text);
    cr_assert_eq(h.clients[0].side.received, 100, "got %u", h.clients[0].side.received);
    cr_assert_eq(h.srv_side.logons, logons_before + 1);
    /* and the server continues the same stream */
    server_pushes(100, 110);
    cr_assert(th_pump_until(&h, client_has, ARG(110), 3000));
    cr_assert_eq(h.clients[0].side.bad, 0, "%s", h.clients[0].side.bad_text);
}

Test(tcp_recovery, client_restart_resumes_unsent_and_unpopped)
{
    th_start_server(&h, "server");
    h.server_consume = true;
    th_add_client(&h, "alice");
    login_ok(0);
    for (uint32_t k = 0; k < 30; k++)
        cr_assert(th_push(client_conn(0), k, 100, true));
    /* destroyed before sending anything: the queue file keeps the 30 */
    th_destroy_client(&h, 0);
    th_recreate_client(&h, 0);
    login_ok(0);
    cr_assert_eq(tcpshm_conn_seq_end(client_conn(0)), 30);
    cr_assert(th_pump_until(&h, server_has, ARG(30), 3000), "server got %u", h.srv_side.received);
    cr_assert_eq(h.srv_side.bad, 0, "%s", h.srv_side.bad_text);
}

Test(tcp_recovery, server_restart_under_new_name_starts_fresh)
{
    th_start_server(&h, "day1");
    th_add_client(&h, "alice");
    login_ok(0);
    for (uint32_t k = 0; k < 20; k++)
        cr_assert(th_push(client_conn(0), k, 16, true)); /* never sent: the server does not poll */
    server_pushes(0, 10);
    th_stop_server(&h);
    th_start_server(&h, "day2");
    h.server_consume = true;
    for (int r = 0; r < 2000 && tcpshm_client_get_state(h.clients[0].cl) != TCPSHM_CLIENT_IDLE; r++)
        th_poll(&h, 1000000);
    login_ok(0);
    cr_assert_str_eq(tcpshm_client_last_server(h.clients[0].cl), "day2");
    tcpshm_conn *conn = client_conn(0);
    cr_assert_str_eq(tcpshm_conn_remote_name(conn), "day2");
    cr_assert_eq(tcpshm_conn_seq_start(conn), 0, "the old messages are dropped");
    cr_assert_eq(tcpshm_conn_seq_end(conn), 0);
    cr_assert_eq(tcpshm_conn_my_ack(conn), 0);
    for (int r = 0; r < 300; r++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.srv_side.received, 0, "nothing of yesterday arrives");
    cr_assert_eq(h.clients[0].side.received, 0, "nothing of yesterday arrives");
    /* a new stream from 0 */
    for (uint32_t k = 0; k < 5; k++)
        cr_assert(th_push(conn, k, 16, false));
    cr_assert(th_pump_until(&h, server_has, ARG(5), 3000));
    cr_assert_eq(h.srv_side.bad, 0, "%s", h.srv_side.bad_text);
    /* the old pair's file was left alone, the new pair has its own */
    char path[600];
    snprintf(path, sizeof path, "%s/alice_day1.ptcp", h.clients[0].dir);
    cr_assert_eq(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/alice_day2.ptcp", h.clients[0].dir);
    cr_assert_eq(access(path, F_OK), 0);
}

/* The first-login window: the client dies after the server accepted its
 * first login (and pushed) but before it recorded the server's name, so it
 * comes back with "" and no state. Nothing of the pair was consumed, so the
 * server resumes instead of resetting: what it pushed arrives. */
static void forget_server_name(uint32_t i)
{
    th_destroy_client(&h, i);
    char path[600];
    snprintf(path, sizeof path, "%s/%s.lastserver", h.clients[i].dir, h.clients[i].name);
    cr_assert_eq(unlink(path), 0, "%s", path);
    th_recreate_client(&h, i);
}

Test(tcp_recovery, first_login_window_keeps_what_the_server_pushed)
{
    th_start_server(&h, "server");
    th_add_client(&h, "alice");
    h.client_consume = false; /* it dies before it pops anything */
    login_ok(0);
    server_pushes(0, 3);
    for (int r = 0; r < 20; r++)
        th_poll(&h, 1000000);
    forget_server_name(0);
    for (int r = 0; r < 2000 && h.srv_side.disconnects == 0; r++)
        th_poll(&h, 1000000);
    h.client_consume = true;
    login_ok(0);
    cr_assert(th_pump_until(&h, client_has, ARG(3), 3000), "client got %u of the 3 pushed",
              h.clients[0].side.received);
    cr_assert_eq(h.clients[0].side.bad, 0, "%s", h.clients[0].side.bad_text);
    cr_assert_str_eq(tcpshm_client_last_server(h.clients[0].cl), "server");
}

Test(tcp_recovery, a_wiped_client_that_had_consumed_starts_fresh)
{
    th_start_server(&h, "server");
    th_add_client(&h, "alice");
    login_ok(0);
    server_pushes(0, 3);
    cr_assert(th_pump_until(&h, client_has, ARG(3), 3000));
    for (int r = 0; r < 300; r++) /* heartbeats carry the client's ack: the server frees them */
        th_poll(&h, 10 * 1000000LL);
    server_pushes(3, 5);
    forget_server_name(0);
    for (int r = 0; r < 2000 && h.srv_side.disconnects == 0; r++)
        th_poll(&h, 1000000);
    h.clients[0].side.received = 0;
    h.clients[0].side.next_expected = 0;
    login_ok(0);
    for (int r = 0; r < 300; r++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.clients[0].side.received, 0, "a client with no state gets a new connection");
    cr_assert_eq(tcpshm_conn_seq_end(tcpshm_server_find_conn(h.srv, "alice")), 0, "the server reset the pair");
}

static void copy_file(const char *from, const char *to)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0);
}

Test(tcp_recovery, older_copy_of_the_client_queue_is_a_seq_mismatch_on_both_sides)
{
    th_start_server(&h, "server");
    h.server_consume = true;
    th_add_client(&h, "alice");
    login_ok(0);
    char file[600], saved[620];
    snprintf(file, sizeof file, "%s/alice_server.ptcp", h.clients[0].dir);
    snprintf(saved, sizeof saved, "%s.old", file);
    for (uint32_t k = 0; k < 2; k++)
        cr_assert(th_push(client_conn(0), k, 16, true));
    copy_file(file, saved); /* seq range [0, 2) */
    for (uint32_t k = 2; k < 5; k++)
        cr_assert(th_push(client_conn(0), k, 16, false));
    cr_assert(th_pump_until(&h, server_has, ARG(5), 3000));
    for (int r = 0; r < 300; r++) /* let the acks come back */
        th_poll(&h, 1000000);
    th_destroy_client(&h, 0);
    copy_file(saved, file);
    th_recreate_client(&h, 0);
    th_login(&h, 0);
    for (int r = 0; r < 3000 && !h.clients[0].side.mismatches; r++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.srv_side.mismatches, 1);
    cr_assert_eq(h.clients[0].side.mismatches, 1);
    tcpshm_seq_mismatch s = h.srv_side.last_mismatch, c = h.clients[0].side.last_mismatch;
    /* server: its own queue [0,0) and ack 5; the client's [0,2) and ack 0 */
    cr_assert_eq(s.local_seq_start, 0);
    cr_assert_eq(s.local_seq_end, 0);
    cr_assert_eq(s.local_ack, 5);
    cr_assert_eq(s.remote_seq_start, 0);
    cr_assert_eq(s.remote_seq_end, 2);
    cr_assert_eq(s.remote_ack, 0);
    /* client: the mirror image */
    cr_assert_eq(c.local_seq_start, 0);
    cr_assert_eq(c.local_seq_end, 2);
    cr_assert_eq(c.local_ack, 0);
    cr_assert_eq(c.remote_seq_start, 0);
    cr_assert_eq(c.remote_seq_end, 0);
    cr_assert_eq(c.remote_ack, 5);
    cr_assert_eq(tcpshm_client_get_state(h.clients[0].cl), TCPSHM_CLIENT_IDLE);
    /* nothing discarded: the client's file still holds its two messages */
    cr_assert_eq(tcpshm_conn_seq_end(client_conn(0)), 2);
}

Test(tcp_recovery, heartbeats_keep_an_idle_link_and_a_silent_peer_times_out)
{
    th_start_server(&h, "server");
    th_add_client(&h, "alice");
    login_ok(0);
    for (int r = 0; r < 500; r++) /* 5 s of virtual time, 10 timeouts' worth */
        th_poll(&h, 10 * 1000000LL);
    cr_assert_eq(h.srv_side.disconnects, 0, "idle link dropped: %s", h.srv_side.last_reason);
    cr_assert_eq(h.clients[0].side.disconnects, 0, "idle link dropped: %s", h.clients[0].side.last_reason);
    h.clients[0].paused = true; /* the client stops talking (and listening) */
    for (int r = 0; r < 200 && !h.srv_side.disconnects; r++)
        th_poll(&h, 10 * 1000000LL);
    cr_assert_eq(h.srv_side.disconnects, 1);
    cr_assert_str_eq(h.srv_side.last_reason, "Timeout");
}

Test(tcp_recovery, login_refusals_reach_the_client)
{
    h.cfg.tcp_conns_per_group = 2;
    th_start_server(&h, "server");
    uint32_t a = th_add_client(&h, "a"), b = th_add_client(&h, "b"), c = th_add_client(&h, "c");
    login_ok(a);
    login_ok(b);
    th_login(&h, c);
    for (int r = 0; r < 2000 && !h.clients[c].side.rejects; r++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.clients[c].side.rejects, 1);
    cr_assert_str_eq(h.clients[c].side.last_reason, "Max client cnt exceeded");
    /* a second "a" from another directory while "a" is live */
    uint32_t a2 = th_add_client(&h, "a");
    th_login(&h, a2);
    for (int r = 0; r < 2000 && !h.clients[a2].side.rejects; r++)
        th_poll(&h, 1000000);
    cr_assert_str_eq(h.clients[a2].side.last_reason, "Already logged on");
    /* the application refuses */
    h.use_fixed_group = true;
    h.reject_group = -1;
    h.reject_text = "closed for the day";
    tcpshm_conn_close(client_conn(b));
    for (int r = 0; r < 200; r++)
        th_poll(&h, 1000000);
    th_login(&h, b);
    for (int r = 0; r < 2000 && !h.clients[b].side.rejects; r++)
        th_poll(&h, 1000000);
    cr_assert_str_eq(h.clients[b].side.last_reason, "closed for the day");
    cr_assert_eq(tcpshm_client_get_state(h.clients[a].cl), TCPSHM_CLIENT_LOGGED_IN, "a is untouched");
}

Test(tcp_recovery, groups_follow_the_applications_choice)
{
    h.cfg.tcp_groups = 3;
    h.route_by_len = true;
    th_start_server(&h, "server");
    uint32_t a = th_add_client(&h, "ab"), b = th_add_client(&h, "abcd");
    login_ok(a);
    cr_assert_eq(h.srv_side.last_grp, 2);
    login_ok(b);
    cr_assert_eq(h.srv_side.last_grp, 1);
}
