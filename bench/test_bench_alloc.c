/* Zero allocations after start: a short echo through the real server and
 * client API (over TCP, over TCP in a group large enough to poll with
 * readiness, then over SHM; both polled from this one thread) with the counting
 * malloc interposer of tcpshm-bench linked in. Asserts counts, never times. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc_count.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void server_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user;
    uint16_t body = (uint16_t)(m->size - TCPSHM_HEADER_SIZE);
    tcpshm_msg_header *out = tcpshm_conn_alloc(c, body);
    if (!out)
        return;
    out->msg_type = m->msg_type;
    memcpy(out + 1, m + 1, body);
    if (tcpshm_conn_push(c) == 0)
        tcpshm_conn_pop(c);
}

static uint64_t echoes;
static void client_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user, (void)m;
    echoes++;
    tcpshm_conn_pop(c);
}

static bool use_shm;

static void poll_both(tcpshm_server *s, tcpshm_client *cl)
{
    int64_t now = now_ns();
    tcpshm_server_poll_ctl(s, now);
    tcpshm_server_poll_tcp(s, now, 0);
    tcpshm_client_poll_tcp(cl, now);
    if (use_shm) {
        tcpshm_server_poll_shm(s, now, 0);
        tcpshm_client_poll_shm(cl);
    }
}

/* One echo of a 16-byte message; 0 when it came back within 5 s. */
static int echo_once(tcpshm_server *s, tcpshm_client *cl, uint64_t seq)
{
    tcpshm_conn *c = tcpshm_client_conn(cl);
    tcpshm_msg_header *m = tcpshm_conn_alloc(c, 8);
    if (!m)
        return -1;
    m->msg_type = 1;
    memcpy(m + 1, &seq, sizeof seq);
    if (tcpshm_conn_push(c) != 0)
        return -1;
    uint64_t want = echoes + 1;
    int64_t deadline = now_ns() + 5000000000LL;
    while (echoes < want && now_ns() < deadline)
        poll_both(s, cl);
    return echoes == want ? 0 : -1;
}

static void echo_allocates_nothing(bool shm, uint32_t tcp_slots)
{
    use_shm = shm;
    if (!alloc_count_enabled())
        cr_skip_test("the counting interposer is compiled out in this build (ThreadSanitizer)");
    char dir[] = "/tmp/tcpshm-alloc-XXXXXX", sdir[64], cdir[64], server[16], client[16];
    /* names of this process: the SHM segments are named after them */
    snprintf(server, sizeof server, "s%ld", (long)getpid());
    snprintf(client, sizeof client, "c%ld", (long)getpid());
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sdir, sizeof sdir, "%s/s", dir);
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    cr_assert_eq(mkdir(sdir, 0700), 0);
    cr_assert_eq(mkdir(cdir, 0700), 0);

    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.tcp_conns_per_group = tcp_slots;
    tcpshm_error err = {0};
    tcpshm_server_callbacks scb = {.on_msg = server_msg};
    tcpshm_client_callbacks ccb = {.on_msg = client_msg};
    tcpshm_server *s;
    tcpshm_client *cl;
    uint64_t before_create = alloc_count();
    cr_assert_eq(tcpshm_server_create(&s, &cfg, NULL, server, sdir, &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 0, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, NULL, client, cdir, &ccb, &err), 0, "%s", err.text);
    /* the interposer sees the library: create allocates (posix_memalign) */
    cr_assert_gt(alloc_count() - before_create, 0, "the counting interposer saw no allocation at all");

    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", tcpshm_server_port(s), shm, NULL, now_ns(), &err),
                 0, "%s", err.text);
    int64_t deadline = now_ns() + 5000000000LL;
    while (tcpshm_client_get_state(cl) != TCPSHM_CLIENT_LOGGED_IN && now_ns() < deadline)
        poll_both(s, cl);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGED_IN);

    int rc = 0;
    for (uint64_t k = 0; k < 200 && rc == 0; k++) /* warm-up */
        rc = echo_once(s, cl, k);
    uint64_t a0 = alloc_count();
    for (uint64_t k = 200; k < 5200 && rc == 0; k++)
        rc = echo_once(s, cl, k);
    uint64_t a1 = alloc_count();
    cr_assert_eq(rc, 0, "an echo did not come back");
    cr_expect_eq(a1 - a0, 0, "allocations in steady state: %llu (expected 0)",
                 (unsigned long long)(a1 - a0));

    tcpshm_client_destroy(cl);
    tcpshm_server_destroy(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' /dev/shm/tcpshm_%s_%s /dev/shm/tcpshm_%s_%s", dir, server,
             client, client, server);
    cr_expect_eq(system(cmd), 0);
}

Test(bench_alloc, tcp_echo_steady_state_allocates_nothing) { echo_allocates_nothing(false, 16); }
/* more than 64 slots: poll_tcp polls with readiness (epoll), sweeping the
 * group every ctl_interval (10 ms: several sweeps in the measured echoes) */
Test(bench_alloc, tcp_readiness_echo_steady_state_allocates_nothing) { echo_allocates_nothing(false, 100); }
Test(bench_alloc, shm_echo_steady_state_allocates_nothing) { echo_allocates_nothing(true, 16); }
