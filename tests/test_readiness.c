/* Readiness polling (docs/design.md "Readiness polling"): venv's ready sets,
 * then a server whose TCP group is large enough to poll with readiness,
 * carrying messages both ways for many clients, through failures of
 * epoll_create, epoll_ctl and epoll_wait, with heartbeats and timeouts kept,
 * and a version-2 env (no readiness calls) that keeps the direct path. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <string.h>

#include "tcpshm/client.h"
#include "tcpshm/server.h"
#include "venv.h"

#define SRV 1u
#define CLI 2u
#define NCLIENTS 80u /* more than the 64 slots a group needs for readiness */
#define PORT 9300u
#define STEP 1000000 /* ns of `now` per round: ctl_interval (10 ms) is 10 rounds */

static venv *v;
static const tcpshm_env *E;

static void setup(void)
{
    venv_options o = {.stream_capacity = 4096, .first_ephemeral_port = 5000};
    v = venv_create(&o);
    cr_assert_not_null(v);
    E = venv_env(v);
    cr_assert_eq(fiu_init(0), 0);
}
static void teardown(void) { venv_destroy(v); }

TestSuite(readiness, .init = setup, .fini = teardown, .timeout = 120);

#define CALL(fn, ...) E->fn(E->ctx, __VA_ARGS__)

/* ------------------------------------------------------- venv's ready sets */

Test(readiness, venv_sets_report_readable_sockets)
{
    venv_set_owner(v, SRV);
    int l = CALL(listen, "127.0.0.1", 7000, 8);
    cr_assert_geq(l, 0);
    int set = E->epoll_create(E->ctx);
    cr_assert_geq(set, 0);
    int c[3], a[3];
    for (int i = 0; i < 3; i++) {
        c[i] = CALL(connect, "127.0.0.1", 7000);
        a[i] = CALL(accept, l);
        cr_assert_geq(a[i], 0);
        cr_assert_eq(E->epoll_ctl(E->ctx, set, TCPSHM_EPOLL_ADD, a[i], 10u + (uint64_t)i), 0);
    }
    cr_assert_eq(E->epoll_ctl(E->ctx, set, TCPSHM_EPOLL_ADD, a[0], 99), -1);
    cr_assert_eq(errno, EEXIST);
    cr_assert_eq(E->epoll_ctl(E->ctx, set, TCPSHM_EPOLL_ADD, l, 99), -1, "a listener is not a socket of the set");
    uint64_t tags[16]; /* room for twice the max asked (env.h) */
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 8), 0, "nothing readable yet");
    cr_assert_eq(CALL(send, c[1], "x", 1), 1);
    cr_assert_eq(CALL(send, c[2], "y", 1), 1);
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 8), 2);
    cr_assert(tags[0] == 11 && tags[1] == 12);
    /* level-triggered, and round the registrations: max 1 alternates */
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 1), 1);
    cr_assert_eq(tags[0], 11);
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 1), 1);
    cr_assert_eq(tags[0], 12);
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 1), 1);
    cr_assert_eq(tags[0], 11);
    char b;
    cr_assert_eq(CALL(recv, a[1], &b, 1), 1);
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 8), 1);
    cr_assert_eq(tags[0], 12);
    /* EOF is readable; a removed socket is not reported; a closed one leaves */
    cr_assert_eq(CALL(sock_close, c[0]), 0);
    cr_assert_eq(E->epoll_ctl(E->ctx, set, TCPSHM_EPOLL_DEL, a[2], 0), 0);
    cr_assert_eq(E->epoll_ctl(E->ctx, set, TCPSHM_EPOLL_DEL, a[2], 0), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 8), 1);
    cr_assert_eq(tags[0], 10);
    cr_assert_eq(CALL(sock_close, a[0]), 0);
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 8), 0);
    /* another owner cannot use the set */
    venv_set_owner(v, CLI);
    cr_assert_eq(E->epoll_wait(E->ctx, set, tags, 8), -1);
    cr_assert_eq(errno, EBADF);
    venv_set_owner(v, SRV);
    cr_assert_eq(CALL(sock_close, set), 0);
    cr_assert_eq(venv_handle_count(v, SRV), 5u, "the listener, c[1], c[2], a[1], a[2]");
}

/* ----------------------------------------------- a server with readiness */

typedef struct srv_app {
    uint32_t msgs, logons, disconnects, errors;
    bool hold; /* on_msg does not pop while set */
    char last_error[128];
} srv_app;

typedef struct cli_app {
    uint32_t echoes, logged_in, disconnects;
} cli_app;

static srv_app sa;
static cli_app ca[NCLIENTS];
static tcpshm_server *srv;
static tcpshm_client *cl[NCLIENTS];
static int64_t now;

/* Echo: push the message back, then pop it (tools/echo_server's rule). */
static void srv_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    srv_app *a = u;
    if (a->hold)
        return;
    uint16_t body = (uint16_t)(m->size - 8u);
    tcpshm_msg_header *e = tcpshm_conn_alloc(c, body);
    if (!e)
        return;
    e->msg_type = m->msg_type;
    memcpy(e + 1, m + 1, body);
    cr_assert_eq(tcpshm_conn_push(c), 0);
    tcpshm_conn_pop(c);
    a->msgs++;
}
static void srv_logon(void *u, tcpshm_conn *c, uint32_t grp)
{
    (void)c, (void)grp;
    ((srv_app *)u)->logons++;
}
static void srv_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    (void)c, (void)reason, (void)e;
    ((srv_app *)u)->disconnects++;
}
static void srv_error(void *u, const char *what, int e)
{
    srv_app *a = u;
    a->errors++;
    snprintf(a->last_error, sizeof a->last_error, "%s (%d)", what, e);
}
static void cli_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)m;
    ((cli_app *)u)->echoes++;
    tcpshm_conn_pop(c);
}
static void cli_ok(void *u, tcpshm_conn *c, const tcpshm_login_rsp *r)
{
    (void)c, (void)r;
    ((cli_app *)u)->logged_in++;
}
static void cli_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    (void)c, (void)reason, (void)e;
    ((cli_app *)u)->disconnects++;
}

static tcpshm_config config(uint32_t slots)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.queue_size = 4096;
    cfg.recv_buf_size = 1024;
    cfg.max_msg_size = 256;
    cfg.tcp_conns_per_group = slots;
    cfg.max_new_conns = 64;
    cfg.accepts_per_poll = 64;
    return cfg;
}

static void start(const tcpshm_config *cfg, const tcpshm_env *env, uint32_t n)
{
    memset(&sa, 0, sizeof sa);
    memset(ca, 0, sizeof ca);
    now = 0;
    tcpshm_server_callbacks scb = {.user = &sa, .on_logon = srv_logon, .on_msg = srv_msg,
                                   .on_disconnect = srv_disc, .on_system_error = srv_error};
    tcpshm_error err = {0};
    venv_set_owner(v, SRV);
    cr_assert_eq(tcpshm_server_create(&srv, cfg, env, "server", "srv", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(srv, "127.0.0.1", PORT, &err), 0, "%s", err.text);
    venv_set_owner(v, CLI);
    for (uint32_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%u", i);
        tcpshm_client_callbacks ccb = {.user = &ca[i], .on_login_success = cli_ok, .on_msg = cli_msg,
                                       .on_disconnect = cli_disc};
        cr_assert_eq(tcpshm_client_create(&cl[i], cfg, env, name, "cli", &ccb, &err), 0, "%s", err.text);
        cr_assert_eq(tcpshm_client_login(cl[i], "127.0.0.1", PORT, false, NULL, now, &err), 0, "%s", err.text);
    }
}

/* One round: the server's polls, then every client's (the first n). */
static void round_of(uint32_t n)
{
    now += STEP;
    venv_set_owner(v, SRV);
    tcpshm_server_poll_ctl(srv, now);
    tcpshm_server_poll_tcp(srv, now, 0);
    venv_set_owner(v, CLI);
    for (uint32_t i = 0; i < n; i++)
        tcpshm_client_poll_tcp(cl[i], now);
}

static uint32_t logged_in(uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        k += tcpshm_client_get_state(cl[i]) == TCPSHM_CLIENT_LOGGED_IN;
    return k;
}

/* venv refuses a connect when the listener's backlog (64) is full, as the
 * bench's fleet would see: an idle client logs in again. */
static void log_all_in(uint32_t n)
{
    tcpshm_error err = {0};
    for (int r = 0; r < 400 && logged_in(n) < n; r++) {
        round_of(n);
        for (uint32_t i = 0; i < n; i++)
            if (tcpshm_client_get_state(cl[i]) == TCPSHM_CLIENT_IDLE)
                cr_assert_eq(tcpshm_client_login(cl[i], "127.0.0.1", PORT, false, NULL, now, &err), 0,
                             "%s", err.text);
    }
    cr_assert_eq(logged_in(n), n, "%u of %u logged in", logged_in(n), n);
    cr_assert_eq(sa.logons, n);
}

static void push_from(uint32_t i, uint32_t k)
{
    venv_set_owner(v, CLI);
    tcpshm_msg_header *m = tcpshm_conn_alloc(tcpshm_client_conn(cl[i]), 8);
    cr_assert_not_null(m, "client %u cannot alloc", i);
    m->msg_type = 7;
    memcpy(m + 1, &k, sizeof k);
    cr_assert_eq(tcpshm_conn_push(tcpshm_client_conn(cl[i])), 0);
}

static uint32_t echoes(uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        k += ca[i].echoes;
    return k;
}

/* Each client pushes `each` messages; every echo comes back. */
static void echo_round_trip(uint32_t n, uint32_t each)
{
    uint32_t before = echoes(n);
    for (uint32_t k = 0; k < each; k++)
        for (uint32_t i = 0; i < n; i++)
            push_from(i, k);
    for (int r = 0; r < 200 && echoes(n) < before + n * each; r++)
        round_of(n);
    cr_assert_eq(echoes(n), before + n * each, "echoes %u, want %u (server got %u)", echoes(n),
                 before + n * each, sa.msgs);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_geq(ca[i].echoes, each, "client %u got %u echoes", i, ca[i].echoes);
}

static void stop(uint32_t n)
{
    venv_set_owner(v, CLI);
    for (uint32_t i = 0; i < n; i++)
        tcpshm_client_destroy(cl[i]);
    venv_set_owner(v, SRV);
    tcpshm_server_destroy(srv);
}

Test(readiness, many_connections_echo_both_ways)
{
    tcpshm_config cfg = config(100);
    start(&cfg, E, NCLIENTS);
    log_all_in(NCLIENTS);
    echo_round_trip(NCLIENTS, 3);
    /* only some clients active: the others stay quiet and connected */
    for (int k = 0; k < 5; k++) {
        uint32_t before = echoes(NCLIENTS);
        push_from(7, 100u + (uint32_t)k);
        push_from(63, 100u + (uint32_t)k);
        for (int r = 0; r < 20 && echoes(NCLIENTS) < before + 2; r++)
            round_of(NCLIENTS);
        cr_assert_eq(echoes(NCLIENTS), before + 2);
    }
    cr_assert_eq(sa.errors, 0u, "%s", sa.last_error);
    cr_assert_eq(sa.disconnects, 0u);
    stop(NCLIENTS);
}

Test(readiness, idle_connections_keep_heartbeats_and_a_silent_peer_times_out)
{
    tcpshm_config cfg = config(100);
    start(&cfg, E, NCLIENTS);
    log_all_in(NCLIENTS);
    /* 3 s of `now` with no message: heartbeats (1 s) both ways keep every link */
    for (int r = 0; r < 3000; r++)
        round_of(NCLIENTS);
    cr_assert_eq(sa.disconnects, 0u);
    cr_assert_eq(logged_in(NCLIENTS), NCLIENTS);
    echo_round_trip(NCLIENTS, 1);
    /* the last 10 clients stop polling (their sockets stay open): the
     * server's sweeps time them out (connection_timeout 10 s) */
    for (int r = 0; r < 11000 && sa.disconnects < 10; r++)
        round_of(NCLIENTS - 10);
    cr_assert_eq(sa.disconnects, 10u);
    echo_round_trip(NCLIENTS - 10, 1);
    stop(NCLIENTS);
}

Test(readiness, a_message_not_popped_comes_again_without_new_bytes)
{
    tcpshm_config cfg = config(100);
    start(&cfg, E, 4);
    log_all_in(4);
    sa.hold = true;
    push_from(2, 1);
    for (int r = 0; r < 5; r++)
        round_of(4);
    cr_assert_eq(sa.msgs, 0u);
    sa.hold = false;
    /* nothing new arrives on the socket: the group's list brings it back */
    now += STEP;
    venv_set_owner(v, SRV);
    tcpshm_server_poll_tcp(srv, now, 0);
    cr_assert_eq(sa.msgs, 1u, "the held message was not delivered again");
    stop(4);
}

Test(readiness, epoll_wait_failures_read_every_connection)
{
    tcpshm_config cfg = config(100);
    start(&cfg, E, NCLIENTS);
    log_all_in(NCLIENTS);
    cr_assert_eq(fiu_enable("tcpshm/net/epoll_wait", 1, NULL, 0), 0);
    echo_round_trip(NCLIENTS, 2);
    cr_assert_eq(fiu_disable("tcpshm/net/epoll_wait"), 0);
    cr_assert_gt(sa.errors, 0u);
    cr_assert(strstr(sa.last_error, "epoll_wait") != NULL, "%s", sa.last_error);
    /* every other wait fails */
    cr_assert_eq(fiu_enable_random("tcpshm/net/epoll_wait", EBADF, NULL, 0, 0.5f), 0);
    echo_round_trip(NCLIENTS, 2);
    cr_assert_eq(fiu_disable("tcpshm/net/epoll_wait"), 0);
    echo_round_trip(NCLIENTS, 1);
    cr_assert_eq(sa.disconnects, 0u);
    stop(NCLIENTS);
}

Test(readiness, epoll_ctl_failures_poll_those_connections_directly)
{
    tcpshm_config cfg = config(100);
    cr_assert_eq(fiu_enable_random("tcpshm/net/epoll_ctl", 1, NULL, 0, 0.5f), 0);
    start(&cfg, E, NCLIENTS);
    log_all_in(NCLIENTS);
    cr_assert_gt(sa.errors, 0u, "no epoll_ctl failed");
    cr_assert(strstr(sa.last_error, "epoll_ctl") != NULL, "%s", sa.last_error);
    /* before a sweep adds them: polled directly */
    echo_round_trip(NCLIENTS, 2);
    cr_assert_eq(fiu_disable("tcpshm/net/epoll_ctl"), 0);
    for (int r = 0; r < 300; r++) /* a sweep (each slot once per 250 ms) adds them to the set */
        round_of(NCLIENTS);
    echo_round_trip(NCLIENTS, 2);
    cr_assert_eq(sa.disconnects, 0u);
    stop(NCLIENTS);
}

Test(readiness, epoll_create_failure_leaves_the_group_on_direct_polling)
{
    tcpshm_config cfg = config(100);
    cr_assert_eq(fiu_enable("tcpshm/net/epoll_create", 1, NULL, 0), 0);
    start(&cfg, E, NCLIENTS);
    cr_assert_eq(fiu_disable("tcpshm/net/epoll_create"), 0);
    cr_assert_eq(sa.errors, 1u);
    cr_assert(strstr(sa.last_error, "epoll_create") != NULL, "%s", sa.last_error);
    log_all_in(NCLIENTS);
    echo_round_trip(NCLIENTS, 2);
    stop(NCLIENTS);
}

/* The same without on_system_error: the failure is not reported (the
 * callback is optional) and the server is made all the same. */
Test(readiness, epoll_create_failure_without_a_callback_is_silent)
{
    tcpshm_config cfg = config(100);
    tcpshm_server_callbacks scb = {.user = &sa, .on_logon = srv_logon, .on_msg = srv_msg};
    tcpshm_error err = {0};
    tcpshm_server *s2 = NULL;
    venv_set_owner(v, SRV);
    cr_assert_eq(fiu_enable("tcpshm/net/epoll_create", 1, NULL, 0), 0);
    int rc = tcpshm_server_create(&s2, &cfg, E, "server", "srv", &scb, &err);
    cr_assert_eq(fiu_disable("tcpshm/net/epoll_create"), 0);
    cr_assert_eq(rc, 0, "%s", err.text);
    cr_assert_not_null(s2);
    tcpshm_server_destroy(s2);
}

/* A version-2 env: the same venv, without the readiness members. */
static int no_epoll_create(void *ctx)
{
    (void)ctx;
    cr_assert_fail("a version-2 env's epoll_create was called");
    return -1;
}

Test(readiness, a_version_2_env_keeps_the_direct_path)
{
    tcpshm_env old = *E;
    old.version = 2;
    old.epoll_create = no_epoll_create;
    tcpshm_config cfg = config(100);
    start(&cfg, &old, NCLIENTS);
    log_all_in(NCLIENTS);
    echo_round_trip(NCLIENTS, 2);
    cr_assert_eq(sa.errors, 0u, "%s", sa.last_error);
    stop(NCLIENTS);
}

/* A small group never makes a set. */
Test(readiness, a_group_of_64_polls_directly)
{
    tcpshm_env counted = *E;
    counted.epoll_create = no_epoll_create;
    tcpshm_config cfg = config(64);
    start(&cfg, &counted, 60);
    log_all_in(60);
    echo_round_trip(60, 2);
    stop(60);
}

/* The POSIX env's epoll calls over real loopback sockets: the events land
 * in the tags' room and come back as tags, each ready socket once. */
Test(readiness, posix_epoll_reports_each_ready_socket_once)
{
    const tcpshm_env *P = tcpshm_env_posix();
    int l = P->listen(P->ctx, "127.0.0.1", 0, 8);
    cr_assert_geq(l, 0);
    int port = P->local_port(P->ctx, l);
    int set = P->epoll_create(P->ctx);
    cr_assert_geq(set, 0);
    int c[3], a[3];
    for (int i = 0; i < 3; i++) {
        c[i] = P->connect(P->ctx, "127.0.0.1", (uint16_t)port);
        cr_assert_geq(c[i], 0);
        for (int t = 0; t < 1000 && (a[i] = P->accept(P->ctx, l)) < 0; t++)
            cr_assert_eq(P->wait_io(P->ctx, l, 0, 10) >= 0, 1);
        cr_assert_geq(a[i], 0);
        cr_assert_eq(P->epoll_ctl(P->ctx, set, TCPSHM_EPOLL_ADD, a[i], 100u + (uint64_t)i), 0);
    }
    uint64_t tags[6];
    cr_assert_eq(P->epoll_wait(P->ctx, set, tags, 3), 0);
    cr_assert_eq(P->send(P->ctx, c[0], "x", 1), 1);
    cr_assert_eq(P->send(P->ctx, c[2], "y", 1), 1);
    cr_assert_eq(P->wait_io(P->ctx, a[2], 0, 1000), 1);
    cr_assert_eq(P->wait_io(P->ctx, a[0], 0, 1000), 1);
    int n = P->epoll_wait(P->ctx, set, tags, 3);
    cr_assert_eq(n, 2);
    cr_assert((tags[0] == 100 && tags[1] == 102) || (tags[0] == 102 && tags[1] == 100), "%llu %llu",
              (unsigned long long)tags[0], (unsigned long long)tags[1]);
    cr_assert_eq(P->epoll_ctl(P->ctx, set, TCPSHM_EPOLL_DEL, a[0], 0), 0);
    n = P->epoll_wait(P->ctx, set, tags, 3);
    cr_assert_eq(n, 1);
    cr_assert_eq(tags[0], 102);
    for (int i = 0; i < 3; i++) {
        P->sock_close(P->ctx, c[i]);
        P->sock_close(P->ctx, a[i]);
    }
    P->sock_close(P->ctx, set);
    P->sock_close(P->ctx, l);
}
