/* Login and messages both ways over loopback. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tcp_harness.h"

static th h;
static void setup(void) { th_init(&h); }
static void teardown(void) { th_fini(&h); }
TestSuite(tcp_basic, .init = setup, .fini = teardown, .timeout = 120);

static bool echoes_done(th *t, void *arg)
{
    return t->clients[0].side.received >= (uint32_t)(uintptr_t)arg;
}

Test(tcp_basic, login_and_echo_random_sizes)
{
    th_start_server(&h, "server");
    uint32_t c = th_add_client(&h, "alice");
    h.server_echo = true;
    th_login(&h, c);
    cr_assert(th_pump_until(&h, th_client_logged_in, (void *)(uintptr_t)c, 2000), "login: %s",
              h.clients[c].side.last_reason);
    cr_assert_eq(h.srv_side.logons, 1);
    tcpshm_conn *conn = tcpshm_client_conn(h.clients[c].cl);
    cr_assert_not_null(conn);
    cr_assert_str_eq(tcpshm_conn_remote_name(conn), "server");
    const uint32_t n = 3000;
    uint64_t rng = 99;
    uint32_t sent = 0;
    for (int round = 0; round < 200000 && h.clients[c].side.received < n; round++) {
        /* Keep a window in flight: acks travel inside the data, so an echo
         * server whose queue fills with unacknowledged echoes stalls. */
        while (sent < n && sent - h.clients[c].side.received < 16) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint16_t body = (uint16_t)(4 + (rng >> 33) % (h.cfg.max_msg_size - 12));
            if (!th_push(conn, sent, body, (rng >> 20) & 1))
                break;
            sent++;
        }
        th_poll(&h, 100000);
    }
    cr_assert_eq(h.clients[c].side.bad, 0, "%s", h.clients[c].side.bad_text);
    cr_assert_eq(h.clients[c].side.received, n, "client got %u, server %u, sent %u, cl disc %u (%s), srv disc %u (%s), seq_end %u",
                 h.clients[c].side.received, h.srv_side.received, sent, h.clients[c].side.disconnects,
                 h.clients[c].side.last_reason, h.srv_side.disconnects, h.srv_side.last_reason, tcpshm_conn_seq_end(conn));
    cr_assert_eq(h.srv_side.received, n);
    cr_assert_eq(h.srv_side.disconnects, 0, "%s", h.srv_side.last_reason);
    (void)echoes_done;
}

/* ---- the blocking connect wrapper, with the server polled by a thread ---- */
#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t real_clock(void *unused)
{
    (void)unused;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static volatile int stop_server_thread;

static void *serve(void *arg)
{
    tcpshm_server *s = arg;
    while (!__atomic_load_n(&stop_server_thread, __ATOMIC_ACQUIRE)) {
        tcpshm_server_poll_ctl(s, real_clock(NULL));
        tcpshm_server_poll_tcp(s, real_clock(NULL), 0);
        usleep(100);
    }
    return NULL;
}

Test(tcp_basic, blocking_connect_logs_in)
{
    th_start_server(&h, "server");
    uint32_t c = th_add_client(&h, "bob");
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, serve, h.srv), 0);
    tcpshm_error err = {0};
    int rc = tcpshm_client_connect(h.clients[c].cl, "127.0.0.1", h.port, false, NULL,
                                   5000000000LL, real_clock, NULL, &err);
    __atomic_store_n(&stop_server_thread, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    cr_assert_eq(rc, 0, "connect: %s", err.text);
    cr_assert_eq(tcpshm_client_get_state(h.clients[c].cl), TCPSHM_CLIENT_LOGGED_IN);
    cr_assert_str_eq(tcpshm_client_last_server(h.clients[c].cl), "server");
}

Test(tcp_basic, blocking_connect_refused_and_timed_out)
{
    uint32_t c = th_add_client(&h, "bob");
    /* a port nobody listens on: bind it, close it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    uint16_t dead_port = ntohs(a.sin_port);
    close(fd);
    tcpshm_error err = {0};
    cr_assert_neq(tcpshm_client_connect(h.clients[c].cl, "127.0.0.1", dead_port, false, NULL,
                                        2000000000LL, real_clock, NULL, &err), 0);
    cr_assert_eq(err.sys_errno, ECONNREFUSED, "%s (errno %d)", err.text, err.sys_errno);
    cr_assert_eq(tcpshm_client_get_state(h.clients[c].cl), TCPSHM_CLIENT_IDLE);
    /* a listener that accepts (in the backlog) but never answers */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_port = 0;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 4), 0);
    len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    int64_t t0 = real_clock(NULL);
    cr_assert_neq(tcpshm_client_connect(h.clients[c].cl, "127.0.0.1", ntohs(a.sin_port), false, NULL,
                                        300000000LL, real_clock, NULL, &err), 0);
    int64_t took = real_clock(NULL) - t0;
    close(fd);
    cr_assert(strstr(err.text, "timed out") || strstr(err.text, "Timeout"), "%s", err.text);
    cr_assert_geq(took, 300000000LL, "gave up after %lld ns", (long long)took);
    cr_assert_eq(tcpshm_client_get_state(h.clients[c].cl), TCPSHM_CLIENT_IDLE);
}
