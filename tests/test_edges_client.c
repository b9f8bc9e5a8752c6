/* Edges of the client's login (client.c) that the loopback suites leave
 * untaken (ci/coverage lists what is left), against a fake server on venv
 * that answers with bytes the test writes: a response already waiting when
 * the connect completes, one that comes in pieces, a mismatch to a client
 * with no callbacks, a frame larger than any response; and a login over
 * TCP asked from inside poll_shm's callback (the segments are in use). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "edges_bed.h"
#include "tcpshm/client.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"
#include "tcpshm/server.h"

static venv *v;
static tcpshm_env E;
static tcpshm_config cfg;
static int lfd; /* the fake server's listening socket on port 9000 */

static void setup(void)
{
    v = edges_venv(&E);
    edges_config(&cfg);
    cfg.queue_size = 4096;
    lfd = E.listen(E.ctx, "127.0.0.1", 9000, 4);
    cr_assert_geq(lfd, 0);
}
static void teardown(void)
{
    if (lfd >= 0)
        E.sock_close(E.ctx, lfd);
    venv_destroy(v);
}
TestSuite(edges_client, .init = setup, .fini = teardown, .timeout = 60);

/* A client of cfg that started its login to the fake server, and the
 * server's end of the link. */
static tcpshm_client *start_login(const tcpshm_config *c, int *sfd)
{
    tcpshm_error err = {0};
    tcpshm_client *cl = NULL;
    cr_assert_eq(tcpshm_client_create(&cl, c, &E, "cli", "c", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, 0, &err), 0, "%s", err.text);
    *sfd = E.accept(E.ctx, lfd);
    cr_assert_geq(*sfd, 0);
    return cl;
}

static uint32_t response(uint8_t status, uint8_t *out)
{
    tcpshm_login_rsp rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.status = status;
    strcpy(rsp.server_name, "srv");
    uint32_t n = tcpshm_login_rsp_encode(&cfg, &rsp, out);
    cr_assert_gt(n, 8);
    return n;
}

static void send_bytes(int fd, const uint8_t *p, uint32_t n)
{
    cr_assert_eq(E.send(E.ctx, fd, p, n), (ssize_t)n);
}

/* The server answered before the client's first poll: the poll that sees
 * the connect done sends the login, reads the answer and is logged in. */
Test(edges_client, a_response_waiting_when_the_connect_completes)
{
    int sfd;
    tcpshm_client *cl = start_login(&cfg, &sfd);
    uint8_t b[TCPSHM_LOGIN_MAX_BYTES];
    send_bytes(sfd, b, response(TCPSHM_LOGIN_OK, b));
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_CONNECTING);
    tcpshm_client_poll_tcp(cl, 1000);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGED_IN, "in one poll");
    cr_assert_str_eq(tcpshm_client_last_server(cl), "srv");
    tcpshm_client_destroy(cl);
    E.sock_close(E.ctx, sfd);
}

/* A response in two pieces, one poll apart: the client waits for the rest. */
Test(edges_client, a_response_in_pieces)
{
    int sfd;
    tcpshm_client *cl = start_login(&cfg, &sfd);
    tcpshm_client_poll_tcp(cl, 1000); /* connected, login sent, nothing back */
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGING_IN);
    uint8_t b[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t n = response(TCPSHM_LOGIN_OK, b);
    send_bytes(sfd, b, 12);
    tcpshm_client_poll_tcp(cl, 2000);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGING_IN, "half a response");
    send_bytes(sfd, b + 12, n - 12);
    tcpshm_client_poll_tcp(cl, 3000);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGED_IN);
    tcpshm_client_destroy(cl);
    E.sock_close(E.ctx, sfd);
}

/* Status 1 to a client that set no on_seq_mismatch: idle, the link closed
 * with the reason, no queue touched. */
Test(edges_client, a_mismatch_without_a_callback)
{
    int sfd;
    tcpshm_client *cl = start_login(&cfg, &sfd);
    uint8_t b[TCPSHM_LOGIN_MAX_BYTES];
    send_bytes(sfd, b, response(TCPSHM_LOGIN_SEQ_MISMATCH, b));
    tcpshm_client_poll_tcp(cl, 1000);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_IDLE);
    cr_assert_null(tcpshm_client_conn(cl), "no pair state was opened");
    cr_assert_str_eq(tcpshm_client_last_server(cl), "", "nothing recorded");
    tcpshm_client_destroy(cl);
    E.sock_close(E.ctx, sfd);
}

/* With max_msg_size above TCPSHM_LOGIN_MAX_BYTES the parser takes a frame
 * no login response can be: refused by its size before it is copied. */
static const char *failed_reason;
static void on_system_error(void *user, const char *reason, int sys_errno)
{
    (void)user, (void)sys_errno;
    failed_reason = reason;
}

Test(edges_client, a_frame_larger_than_any_response)
{
    tcpshm_config big = cfg;
    big.max_msg_size = 1024;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_config_check(&big, &err), 0, "%s", err.text);
    tcpshm_client_callbacks cb = {.on_system_error = on_system_error};
    tcpshm_client *cl = NULL;
    cr_assert_eq(tcpshm_client_create(&cl, &big, &E, "cli", "c", &cb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, 0, &err), 0, "%s", err.text);
    int sfd = E.accept(E.ctx, lfd);
    cr_assert_geq(sfd, 0);
    static uint8_t b[600];
    tcpshm_msg_header h = {.size = sizeof b, .msg_type = 2, .ack_seq = 0};
    tcpshm_header_encode(&h, b, big.little_endian);
    send_bytes(sfd, b, sizeof b);
    failed_reason = NULL;
    tcpshm_client_poll_tcp(cl, 1000);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_IDLE);
    cr_assert_not_null(failed_reason);
    cr_assert_str_eq(failed_reason, "Bad login response: too large");
    tcpshm_client_destroy(cl);
    E.sock_close(E.ctx, sfd);
}

/* A real server "srv" on port 9001 instead of the fake one (ctl_interval
 * 0), and the client "cli" with callbacks cb logged in to it (over SHM if
 * shm): the server's polls, then the client's, until it is. */
static tcpshm_server *logged_in(bool shm, const tcpshm_client_callbacks *cb, tcpshm_client **cl)
{
    E.sock_close(E.ctx, lfd);
    lfd = -1;
    tcpshm_error err = {0};
    tcpshm_server *s = NULL;
    tcpshm_config sc = cfg;
    sc.ctl_interval = 0;
    cr_assert_eq(tcpshm_server_create(&s, &sc, &E, "srv", "s", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9001, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_create(cl, &sc, &E, "cli", "c", cb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(*cl, "127.0.0.1", 9001, shm, NULL, 0, &err), 0, "%s", err.text);
    for (int i = 1; i < 20 && tcpshm_client_get_state(*cl) != TCPSHM_CLIENT_LOGGED_IN; i++) {
        tcpshm_server_poll_ctl(s, i * 1000);
        tcpshm_server_poll_tcp(s, i * 1000, 0);
        tcpshm_server_poll_shm(s, i * 1000, 0);
        tcpshm_client_poll_tcp(*cl, i * 1000);
    }
    cr_assert_eq(tcpshm_client_get_state(*cl), TCPSHM_CLIENT_LOGGED_IN);
    return s;
}

/* The server's push of one message of type 7 to "cli". */
static void push_to_cli(tcpshm_server *s)
{
    tcpshm_conn *sconn = tcpshm_server_find_conn(s, "cli");
    cr_assert_not_null(sconn);
    tcpshm_msg_header *m = tcpshm_conn_alloc(sconn, 8);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_conn_push(sconn), 0);
}

/* A real server: the client logged in over SHM; inside poll_shm's
 * callback the application sees the link close (poll_tcp) and asks for a
 * login over TCP at once: refused with EAGAIN, since poll_shm is still
 * reading the segments; after poll_shm returned the same login starts. */
static tcpshm_client *g_cl;
static int inner_rc, inner_errno, delivered;

static void on_msg_relogin(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user, (void)m;
    delivered++;
    tcpshm_conn_close(c);
    tcpshm_client_poll_tcp(g_cl, 100000);
    cr_assert_eq(tcpshm_client_get_state(g_cl), TCPSHM_CLIENT_IDLE, "the link closed");
    tcpshm_error err = {0};
    inner_rc = tcpshm_client_login(g_cl, "127.0.0.1", 9001, false, NULL, 100000, &err);
    inner_errno = err.sys_errno;
    tcpshm_conn_pop(c);
}

Test(edges_client, a_tcp_login_from_inside_poll_shm_waits)
{
    tcpshm_client_callbacks cb = {.on_msg = on_msg_relogin};
    tcpshm_server *s = logged_in(true, &cb, &g_cl);
    push_to_cli(s);
    inner_rc = -1;
    delivered = 0;
    tcpshm_client_poll_shm(g_cl);
    cr_assert_eq(delivered, 1);
    cr_assert_eq(inner_rc, TCPSHM_E_SYSTEM, "poll_shm is delivering");
    cr_assert_eq(inner_errno, EAGAIN);
    /* poll_shm returned: the transport may change, the login is under way */
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_client_login(g_cl, "127.0.0.1", 9001, false, NULL, 200000, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_get_state(g_cl), TCPSHM_CLIENT_CONNECTING);
    tcpshm_client_destroy(g_cl);
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

/* A real server, a client logged in over TCP whose application does not
 * pop the message it is shown: poll_tcp shows it, poll_shm must not
 * (client.h: poll_shm delivers over SHM, "nothing otherwise"; over TCP
 * every callback runs in poll_tcp's thread, and a poll_shm thread that
 * an application keeps running would read the receive buffer poll_tcp
 * fills). */
static void on_msg_keep(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user, (void)c, (void)m;
    delivered++;
}

Test(edges_client, poll_shm_of_a_tcp_login_delivers_nothing)
{
    tcpshm_client_callbacks cb = {.on_msg = on_msg_keep};
    tcpshm_client *cl = NULL;
    tcpshm_server *s = logged_in(false, &cb, &cl);
    push_to_cli(s);
    delivered = 0;
    for (int i = 0; i < 5 && delivered == 0; i++) {
        tcpshm_server_poll_tcp(s, 30000 + i, 0);
        tcpshm_client_poll_tcp(cl, 30000 + i);
    }
    cr_assert_eq(delivered, 1, "poll_tcp shows the message");
    cr_assert_not_null(tcpshm_conn_front(tcpshm_client_conn(cl)), "not popped: still there");
    tcpshm_client_poll_shm(cl);
    cr_assert_eq(delivered, 1, "poll_shm of a TCP login delivered the message again");
    tcpshm_client_destroy(cl);
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}
