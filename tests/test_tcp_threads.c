/* Two groups polled from two threads at once, poll_ctl and the clients from
 * a third: both groups carry echo traffic concurrently, each connection
 * stays in its own group's thread. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tcpshm/client.h"
#include "tcpshm/server.h"

#define GROUPS 2
#define MSGS 5000u

static int64_t clock_ns(void *unused)
{
    (void)unused;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- server side: every field of group g is touched only by thread g ---- */
typedef struct group_stats {
    uint32_t logons, echoed, foreign;
    int64_t first_echo, last_echo; /* when this group's thread echoed */
    pthread_t owner;
    char pad[64];
} group_stats;

static group_stats gstats[GROUPS];
static volatile int stop_groups;
static tcpshm_server *srv;

static int route(void *user, const tcpshm_login *login, uint8_t *rsp, const char **reject)
{
    (void)user, (void)rsp, (void)reject;
    return login->client_name[0] == 'g' ? login->client_name[1] - '0' : -1;
}

static uint32_t group_of(tcpshm_conn *c) { return (uint32_t)(tcpshm_conn_remote_name(c)[1] - '0'); }

static void on_logon(void *user, tcpshm_conn *c, uint32_t grp)
{
    (void)user;
    gstats[grp].logons++;
    if (group_of(c) != grp)
        gstats[grp].foreign++;
}

static void on_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user;
    uint32_t g = group_of(c);
    if (!pthread_equal(pthread_self(), gstats[g].owner))
        gstats[g].foreign++; /* a connection served by the wrong thread */
    tcpshm_msg_header *out = tcpshm_conn_alloc(c, (uint16_t)(m->size - 8u));
    if (!out)
        return;
    memcpy(out + 1, m + 1, m->size - 8u);
    out->msg_type = m->msg_type;
    tcpshm_conn_push(c);
    tcpshm_conn_pop(c);
    if (gstats[g].echoed++ == 0)
        gstats[g].first_echo = clock_ns(NULL);
    gstats[g].last_echo = clock_ns(NULL);
}

static void *group_thread(void *arg)
{
    uint32_t g = (uint32_t)(uintptr_t)arg;
    gstats[g].owner = pthread_self();
    while (!__atomic_load_n(&stop_groups, __ATOMIC_ACQUIRE)) {
        tcpshm_server_poll_tcp(srv, clock_ns(NULL), g);
        sched_yield(); /* three busy threads share two cores */
    }
    return NULL;
}

/* ---- clients, all in the main thread ---- */
typedef struct cstate {
    uint32_t next, bad;
} cstate;

static void cl_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    cstate *s = user;
    uint32_t v;
    memcpy(&v, m + 1, 4);
    if (v != s->next)
        s->bad++;
    s->next = v + 1;
    tcpshm_conn_pop(c);
}

Test(tcp_threads, two_groups_in_two_threads_carry_traffic_at_once, .timeout = 120)
{
    char dir[] = "/tmp/tcpshm-threads-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sdir[64], cdir[GROUPS][64];
    snprintf(sdir, sizeof sdir, "%s/server", dir);
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.tcp_groups = GROUPS;
    cfg.tcp_conns_per_group = 2;
    cfg.queue_size = 1 << 20;
    tcpshm_server_callbacks scb = {.on_new_connection = route, .on_logon = on_logon, .on_msg = on_msg};
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_server_create(&srv, &cfg, NULL, "server", sdir, &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(srv, "127.0.0.1", 0, &err), 0, "%s", err.text);
    uint16_t port = tcpshm_server_port(srv);

    pthread_t th[GROUPS];
    for (uint32_t g = 0; g < GROUPS; g++)
        cr_assert_eq(pthread_create(&th[g], NULL, group_thread, (void *)(uintptr_t)g), 0);

    tcpshm_client *cl[GROUPS];
    cstate cs[GROUPS];
    memset(cs, 0, sizeof cs);
    for (uint32_t g = 0; g < GROUPS; g++) {
        char name[8];
        snprintf(name, sizeof name, "g%u", g);
        snprintf(cdir[g], sizeof cdir[g], "%s/%s", dir, name);
        tcpshm_client_callbacks ccb = {.user = &cs[g], .on_msg = cl_msg};
        cr_assert_eq(tcpshm_client_create(&cl[g], &cfg, NULL, name, cdir[g], &ccb, &err), 0, "%s", err.text);
        /* poll_ctl runs here while the client waits: a helper thread is not
         * needed because login() is non-blocking */
        cr_assert_eq(tcpshm_client_login(cl[g], "127.0.0.1", port, false, NULL, clock_ns(NULL), &err), 0);
        for (int r = 0; r < 200000 && tcpshm_client_get_state(cl[g]) != TCPSHM_CLIENT_LOGGED_IN; r++) {
            tcpshm_server_poll_ctl(srv, clock_ns(NULL));
            tcpshm_client_poll_tcp(cl[g], clock_ns(NULL));
        }
        cr_assert_eq(tcpshm_client_get_state(cl[g]), TCPSHM_CLIENT_LOGGED_IN, "client g%u", g);
    }
    uint32_t sent[GROUPS] = {0};
    int64_t deadline = clock_ns(NULL) + 60000000000LL;
    while ((cs[0].next < MSGS || cs[1].next < MSGS) && clock_ns(NULL) < deadline) {
        tcpshm_server_poll_ctl(srv, clock_ns(NULL));
        for (uint32_t g = 0; g < GROUPS; g++) {
            tcpshm_conn *c = tcpshm_client_conn(cl[g]);
            while (sent[g] < MSGS && sent[g] - cs[g].next < 32) {
                tcpshm_msg_header *m = tcpshm_conn_alloc(c, 60);
                if (!m)
                    break;
                m->msg_type = 9;
                memcpy(m + 1, &sent[g], 4);
                tcpshm_conn_push(c);
                sent[g]++;
            }
            tcpshm_client_poll_tcp(cl[g], clock_ns(NULL));
        }
    }
    __atomic_store_n(&stop_groups, 1, __ATOMIC_RELEASE);
    for (uint32_t g = 0; g < GROUPS; g++)
        pthread_join(th[g], NULL);
    for (uint32_t g = 0; g < GROUPS; g++) {
        cr_assert_eq(cs[g].bad, 0, "group %u: out-of-order echoes", g);
        cr_assert_eq(cs[g].next, MSGS, "group %u: %u echoes", g, cs[g].next);
        cr_assert_eq(gstats[g].logons, 1, "group %u logons", g);
        cr_assert_eq(gstats[g].echoed, MSGS);
        cr_assert_eq(gstats[g].foreign, 0, "group %u saw a connection of another group", g);
        tcpshm_client_destroy(cl[g]);
    }
    /* both threads were echoing during a common stretch of time */
    int64_t from = gstats[0].first_echo > gstats[1].first_echo ? gstats[0].first_echo : gstats[1].first_echo;
    int64_t to = gstats[0].last_echo < gstats[1].last_echo ? gstats[0].last_echo : gstats[1].last_echo;
    cr_assert_lt(from, to, "the two groups' echo periods did not overlap");
    tcpshm_server_destroy(srv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
