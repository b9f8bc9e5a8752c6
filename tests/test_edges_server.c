/* Edges of the server's login (server.c) that the other suites leave
 * untaken (ci/coverage lists what is left), on venv: logins from a raw
 * client whose numbers make a first login a new connection (acks claimed,
 * another server named), and a host-durable server with no callbacks whose
 * pair cannot be synced at login (libfiu's tcpshm/file/sync). */
#include <criterion/criterion.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <string.h>

#include "edges_bed.h"
#include "tcpshm/client.h"
#include "tcpshm/conn.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"
#include "tcpshm/server.h"

static venv *v;
static tcpshm_env E;
static tcpshm_config cfg;
static int64_t now;

static void setup(void)
{
    cr_assert_eq(fiu_init(0), 0);
    v = edges_venv(&E);
    edges_config(&cfg);
    cfg.queue_size = 4096;
    cfg.ctl_interval = 0; /* accept at every poll_ctl: the clock moves in small steps */
    now = 0;
}
static void teardown(void) { venv_destroy(v); }
TestSuite(edges_server, .init = setup, .fini = teardown, .timeout = 60);

static void poll_server(tcpshm_server *s)
{
    now += 1000;
    tcpshm_server_poll_ctl(s, now);
    tcpshm_server_poll_tcp(s, now, 0);
}

/* A raw client sends lg and reads the server's response; returns its
 * socket, still open. */
static int raw_login(tcpshm_server *s, const tcpshm_login *lg, tcpshm_login_rsp *rsp)
{
    uint8_t out[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t n = tcpshm_login_encode(&cfg, lg, out);
    int fd = E.connect(E.ctx, "127.0.0.1", 9000);
    cr_assert_geq(fd, 0);
    cr_assert_eq(E.send(E.ctx, fd, out, n), (ssize_t)n);
    uint32_t want = tcpshm_padded_size(tcpshm_login_rsp_size(&cfg)), got = 0;
    uint8_t in[TCPSHM_LOGIN_MAX_BYTES];
    for (int i = 0; i < 20 && got < want; i++) {
        poll_server(s);
        ssize_t r = E.recv(E.ctx, fd, in + got, want - got);
        if (r > 0)
            got += (uint32_t)r;
    }
    cr_assert_eq(got, want, "no whole response");
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_login_rsp_decode(&cfg, in, want, rsp, &err), 0, "%s", err.text);
    return fd;
}

static void raw_close(tcpshm_server *s, int fd)
{
    cr_assert_eq(E.sock_close(E.ctx, fd), 0);
    for (int i = 0; i < 3; i++)
        poll_server(s); /* sees the close */
}

/* One frame from the raw client: a message (type 7) or a heartbeat with an ack. */
static void raw_frame(tcpshm_server *s, int fd, uint16_t type, uint32_t ack)
{
    uint8_t b[16] = {0};
    tcpshm_msg_header h = {.size = 16, .msg_type = type, .ack_seq = ack};
    tcpshm_header_encode(&h, b, cfg.little_endian);
    cr_assert_eq(E.send(E.ctx, fd, b, sizeof b), (ssize_t)sizeof b);
    for (int i = 0; i < 3; i++)
        poll_server(s);
}

static void server_push(tcpshm_conn *c)
{
    tcpshm_msg_header *m = tcpshm_conn_alloc(c, 8);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_conn_push(c), 0);
}

/* A client logs in, then its link drops after one of: the server pushed a
 * message it never read; the server consumed a message of it; it
 * acknowledged the server's message. It logs in again naming no server:
 * resumed only when it claims nothing and the server kept nothing of it
 * (a client that forgot the server's name before consuming anything);
 * else, or when it names another server, a new connection (the server's
 * state for it reset: no message, no ack). */
enum between { UNREAD, SERVER_POPPED, CLIENT_ACKED };

Test(edges_server, which_first_logins_are_resumed)
{
    tcpshm_error err = {0};
    tcpshm_server *s = NULL;
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &E, "srv", "s", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    static const struct {
        enum between between;
        const char *last;
        uint32_t ack, start, end;
        bool resumed;
    } cases[] = {
        {UNREAD, "", 0, 0, 0, true},         /* forgot the name, consumed nothing: resumed */
        {UNREAD, "", 1, 0, 0, false},        /* no name, but acknowledges a message */
        {UNREAD, "", 0, 1, 1, false},        /* no name, but a stream that starts at 1 */
        {UNREAD, "", 0, 0, 1, false},        /* no name, but one message of its own */
        {UNREAD, "old", 0, 0, 0, false},     /* last talked to another server */
        {SERVER_POPPED, "", 0, 0, 0, false}, /* the server consumed one of its messages */
        {CLIENT_ACKED, "", 0, 0, 0, false},  /* it acknowledged one of the server's */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%zu", i);
        tcpshm_login lg;
        memset(&lg, 0, sizeof lg);
        strcpy(lg.client_name, name);
        tcpshm_login_rsp rsp;
        int fd = raw_login(s, &lg, &rsp);
        cr_assert_eq(rsp.status, TCPSHM_LOGIN_OK, "case %zu: %s", i, rsp.error_msg);
        tcpshm_conn *c = tcpshm_server_find_conn(s, name);
        cr_assert_not_null(c, "case %zu", i);
        server_push(c);
        poll_server(s); /* sent */
        if (cases[i].between == SERVER_POPPED) {
            raw_frame(s, fd, 7, 0);
            cr_assert_not_null(tcpshm_conn_front(c), "case %zu", i);
            tcpshm_conn_pop(c);
            cr_assert_eq(tcpshm_conn_my_ack(c), 1);
        } else if (cases[i].between == CLIENT_ACKED) {
            raw_frame(s, fd, TCPSHM_MSG_HEARTBEAT, 1);
            cr_assert_eq(tcpshm_conn_seq_start(c), 1, "case %zu: acknowledged", i);
        }
        raw_close(s, fd);
        strcpy(lg.last_server_name, cases[i].last);
        lg.ack_seq = cases[i].ack;
        lg.client_seq_start = cases[i].start;
        lg.client_seq_end = cases[i].end;
        fd = raw_login(s, &lg, &rsp);
        raw_close(s, fd);
        cr_assert_eq(rsp.status, TCPSHM_LOGIN_OK, "case %zu: %s", i, rsp.error_msg);
        if (cases[i].resumed) {
            cr_assert_eq(rsp.server_seq_end, 1, "case %zu: the server's message stays", i);
        } else {
            cr_assert_eq(rsp.server_seq_start, 0, "case %zu", i);
            cr_assert_eq(rsp.server_seq_end, 0, "case %zu: the server's message is dropped", i);
            cr_assert_eq(rsp.ack_seq, 0, "case %zu: and its ack", i);
        }
    }
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

/* Host durability: the server popped a message and the link dropped before
 * any send synced the pop; at the client's next login the sync fails. The
 * login is refused ("System error"; on_system_error and on_login_rejected
 * say so, and nothing breaks without them), and the next login, with syncs
 * working again, goes through. */
static bool login_ends(tcpshm_server *s, tcpshm_client *cl)
{
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, now, &err), 0, "%s", err.text);
    for (int i = 0; i < 20; i++) {
        poll_server(s);
        tcpshm_client_poll_tcp(cl, now);
        if (tcpshm_client_get_state(cl) == TCPSHM_CLIENT_LOGGED_IN)
            return true;
        if (tcpshm_client_get_state(cl) == TCPSHM_CLIENT_IDLE)
            return false;
    }
    cr_assert_fail("the login neither ended nor succeeded");
    return false;
}

static const char *sys_error_reason, *rejected_reason;
static void on_system_error(void *user, const char *reason, int sys_errno)
{
    (void)user, (void)sys_errno;
    sys_error_reason = reason;
}
static void on_login_rejected(void *user, const char *client, const char *reason)
{
    (void)user;
    cr_assert_str_eq(client, "cli");
    rejected_reason = reason;
}

static void host_login_sync_failure(const tcpshm_server_callbacks *scb)
{
    tcpshm_config host = cfg;
    host.durability = TCPSHM_DURABILITY_HOST;
    tcpshm_error err = {0};
    tcpshm_server *s = NULL;
    tcpshm_client *cl = NULL;
    cr_assert_eq(tcpshm_server_create(&s, &host, &E, "srv", "s", scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, &E, "cli", "c", NULL, &err), 0, "%s", err.text);
    cr_assert(login_ends(s, cl));
    tcpshm_conn *cc = tcpshm_client_conn(cl);
    tcpshm_msg_header *m = tcpshm_conn_alloc(cc, 8);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_conn_push(cc), 0);
    tcpshm_conn *sc = tcpshm_server_find_conn(s, "cli");
    cr_assert_not_null(sc);
    for (int i = 0; i < 10 && !tcpshm_conn_front(sc); i++) {
        tcpshm_client_poll_tcp(cl, now);
        poll_server(s);
    }
    cr_assert_not_null(tcpshm_conn_front(sc), "the message arrived");
    tcpshm_conn_pop(sc); /* synced before the ack that covers it is sent: not yet */
    tcpshm_conn_close(cc);
    tcpshm_client_poll_tcp(cl, now);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_IDLE);
    for (int i = 0; i < 3; i++)
        poll_server(s);
    sys_error_reason = rejected_reason = NULL;
    cr_assert_eq(fiu_enable("tcpshm/file/sync", 1, NULL, 0), 0);
    bool in = login_ends(s, cl);
    fiu_disable("tcpshm/file/sync");
    cr_assert(!in, "refused: the pop could not be synced");
    cr_assert_str_eq(tcpshm_conn_close_reason(tcpshm_client_conn(cl), NULL), "Login rejected");
    if (scb) {
        cr_assert_not_null(sys_error_reason);
        cr_assert_str_eq(sys_error_reason, "cannot sync a pair's queue at login");
        cr_assert_not_null(rejected_reason);
        cr_assert_str_eq(rejected_reason, "System error");
    }
    cr_assert(login_ends(s, cl), "syncs work again");
    cr_assert_eq(tcpshm_conn_my_ack(tcpshm_server_find_conn(s, "cli")), 1, "the pop stands");
    tcpshm_client_destroy(cl);
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

Test(edges_server, host_login_sync_failure_without_callbacks) { host_login_sync_failure(NULL); }

Test(edges_server, host_login_sync_failure_reported)
{
    tcpshm_server_callbacks scb = {.on_system_error = on_system_error, .on_login_rejected = on_login_rejected};
    host_login_sync_failure(&scb);
}
