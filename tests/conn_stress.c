/* conn_stress: echoes through the real server and client with every poll
 * in the thread the API allows. SHM (default): the main thread runs
 * poll_ctl, the client's poll_tcp and the pushes; one thread runs the
 * server's poll_shm (an echo: push, then pop); one runs the client's
 * poll_shm (checks every echo: order and bytes). TCP (--tcp): one thread
 * runs the server's poll_tcp(0) (the echo), the main thread poll_ctl and the
 * whole client. The client drops its link every --reconnect-every echoes,
 * so logins, the poll_ctl -> group handoff and (SHM) the poll_tcp /
 * poll_shm handshake run under load. A plain program so that
 * ThreadSanitizer can run it (ci/tsan). Exit 0 when every echo came back
 * once, in order and intact. */
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"

#define MSG_TYPE 7u
#define WINDOW 64u

static uint32_t g_stop;            /* atomic: threads end */
static uint32_t g_echoes_ok;       /* atomic: echoes verified by the client's poll_shm thread */
static uint32_t g_failed;          /* atomic: a wrong echo was seen */
static char g_why[200];
static int64_t g_now;              /* atomic: the main thread's clock for the server thread */

static uint8_t body_byte(uint32_t k, uint32_t i) { return (uint8_t)(k * 31u + i * 7u + 1u); }
static uint16_t body_size(uint32_t k) { return (uint16_t)(4 + (k * 2654435761u >> 7) % 120); }

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- server: echo k as message k of its stream (push, then pop) ---- */
static void srv_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user;
    if ((int32_t)(tcpshm_conn_seq_end(c) - tcpshm_conn_my_ack(c)) > 0) {
        tcpshm_conn_pop(c); /* its echo is queued already */
        return;
    }
    tcpshm_msg_header *out = tcpshm_conn_alloc(c, (uint16_t)(m->size - 8u));
    if (!out)
        return; /* full: it comes again */
    memcpy(out + 1, m + 1, m->size - 8u);
    out->msg_type = m->msg_type;
    tcpshm_conn_push(c);
    tcpshm_conn_pop(c);
}

static bool g_tcp; /* set before the threads start */

static void *server_group_thread(void *arg)
{
    tcpshm_server *s = arg;
    while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
        int64_t now = __atomic_load_n(&g_now, __ATOMIC_RELAXED);
        if (g_tcp)
            tcpshm_server_poll_tcp(s, now, 0);
        else
            tcpshm_server_poll_shm(s, now, 0);
        sched_yield(); /* three busy threads may share two cores */
    }
    return NULL;
}

/* ---- client: echo j must be message j ---- */
static void cl_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user;
    uint32_t j = __atomic_load_n(&g_echoes_ok, __ATOMIC_RELAXED);
    uint32_t size = body_size(j), k = 0;
    const uint8_t *b = (const uint8_t *)(m + 1);
    if (m->size >= 12)
        memcpy(&k, b, 4);
    bool ok = m->msg_type == MSG_TYPE && m->size == 8u + size && k == j;
    for (uint32_t i = 4; ok && i < size; i++)
        ok = b[i] == body_byte(j, i);
    if (!ok) {
        snprintf(g_why, sizeof g_why, "echo %u: type %u size %u carries %u", j, m->msg_type, m->size, k);
        __atomic_store_n(&g_failed, 1, __ATOMIC_RELEASE);
        return;
    }
    tcpshm_conn_pop(c);
    __atomic_store_n(&g_echoes_ok, j + 1, __ATOMIC_RELEASE);
}

static void *client_shm_thread(void *arg)
{
    tcpshm_client *cl = arg;
    while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
        tcpshm_client_poll_shm(cl);
        sched_yield();
    }
    return NULL;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [--tcp] [--messages N] [--reconnect-every N] [--seconds S]\n"
            "Echoes N messages over the SHM transport, or TCP with --tcp (server and client in\n"
            "this process, the polls in their own threads) and checks each echo; the client\n"
            "drops its link every --reconnect-every echoes (0: never).\n"
            "  --tcp                 TCP instead of shared memory\n"
            "  --messages N          default 200000\n"
            "  --reconnect-every N   default 20000\n"
            "  --seconds S           give up after S seconds (default 300)\n"
            "  -h, --help            this text\n"
            "  --version             the program's version\n"
            "Exit 0 all echoes verified, 1 a wrong echo or no progress in time, 2 bad usage.\n",
            prog);
}

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    uint32_t n = 200000, reconnect_every = 20000, seconds = 300;
    static const struct option opts[] = {{"tcp", no_argument, 0, 't'},
                                         {"messages", required_argument, 0, 'n'},
                                         {"reconnect-every", required_argument, 0, 'r'},
                                         {"seconds", required_argument, 0, 's'},
                                         CLI_STD_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
        int rc = 0;
        switch (c) {
        case 't': g_tcp = true; break;
        case 'n': rc = cli_u32(prog, "messages", optarg, 1, 1u << 30, &n); break;
        case 'r': rc = cli_u32(prog, "reconnect-every", optarg, 0, 1u << 30, &reconnect_every); break;
        case 's': rc = cli_u32(prog, "seconds", optarg, 1, 86400, &seconds); break;
        default: return cli_std_option(c, prog, usage);
        }
        if (rc)
            return 2;
    }
    if (cli_no_operands(prog, argc, argv, optind) != 0)
        return 2;

    char dir[64], srv_dir[96], cl_dir[96], srv_name[16], cl_name[16];
    snprintf(dir, sizeof dir, "/tmp/tcpshm-connstress-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("conn_stress: mkdtemp");
        return 1;
    }
    snprintf(srv_dir, sizeof srv_dir, "%s/server", dir);
    snprintf(cl_dir, sizeof cl_dir, "%s/client", dir);
    snprintf(srv_name, sizeof srv_name, "S%d", (int)getpid());
    snprintf(cl_name, sizeof cl_name, "C%d", (int)getpid());

    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.shm_queue_size = 8192; /* small: full-queue paths and wrap-around */
    cfg.queue_size = 64 * 1024;
    cfg.max_msg_size = 256;
    tcpshm_error err = {0};
    tcpshm_server_callbacks scb = {.on_msg = srv_msg};
    tcpshm_client_callbacks ccb = {.on_msg = cl_msg};
    tcpshm_server *s = NULL;
    tcpshm_client *cl = NULL;
    if (tcpshm_server_create(&s, &cfg, NULL, srv_name, srv_dir, &scb, &err) != 0 ||
        tcpshm_server_start(s, "127.0.0.1", 0, &err) != 0 ||
        tcpshm_client_create(&cl, &cfg, NULL, cl_name, cl_dir, &ccb, &err) != 0) {
        fprintf(stderr, "conn_stress: %s\n", err.text);
        return 1;
    }
    uint16_t port = tcpshm_server_port(s);
    pthread_t ts, tc;
    if (pthread_create(&ts, NULL, server_group_thread, s) != 0 ||
        (!g_tcp && pthread_create(&tc, NULL, client_shm_thread, cl) != 0)) {
        fprintf(stderr, "conn_stress: cannot create threads\n");
        return 1;
    }

    int64_t start = mono_ns(), deadline = start + (int64_t)seconds * 1000000000;
    uint32_t logins = 0, next_drop = reconnect_every ? reconnect_every : UINT32_MAX;
    int rc = 0;
    for (;;) {
        int64_t now = mono_ns();
        __atomic_store_n(&g_now, now, __ATOMIC_RELAXED);
        uint32_t ok = __atomic_load_n(&g_echoes_ok, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&g_failed, __ATOMIC_ACQUIRE)) {
            fprintf(stderr, "conn_stress: FAIL: %s\n", g_why);
            rc = 1;
            break;
        }
        if (ok == n)
            break;
        if (now > deadline) {
            fprintf(stderr, "conn_stress: FAIL: %u of %u echoes after %u s\n", ok, n, seconds);
            rc = 1;
            break;
        }
        tcpshm_server_poll_ctl(s, now);
        if (tcpshm_client_get_state(cl) == TCPSHM_CLIENT_IDLE) {
            if (tcpshm_client_login(cl, "127.0.0.1", port, !g_tcp, NULL, now, &err) == 0)
                logins++;
        } else {
            tcpshm_client_poll_tcp(cl, now);
        }
        tcpshm_conn *c = tcpshm_client_conn(cl);
        if (c && tcpshm_client_get_state(cl) == TCPSHM_CLIENT_LOGGED_IN) {
            if (ok >= next_drop) {
                tcpshm_conn_close(c); /* the next poll_tcp drops the link; login again */
                next_drop += reconnect_every;
            }
            for (uint32_t k = tcpshm_conn_seq_end(c); k < n && k - ok < WINDOW; k++) {
                uint16_t size = body_size(k);
                tcpshm_msg_header *m = tcpshm_conn_alloc(c, size);
                if (!m)
                    break;
                m->msg_type = MSG_TYPE;
                uint8_t *b = (uint8_t *)(m + 1);
                memcpy(b, &k, 4);
                for (uint32_t i = 4; i < size; i++)
                    b[i] = body_byte(k, i);
                tcpshm_conn_push(c);
            }
        }
        sched_yield();
    }
    __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
    pthread_join(ts, NULL);
    if (!g_tcp)
        pthread_join(tc, NULL);
    tcpshm_client_destroy(cl);
    tcpshm_server_destroy(s);
    char seg[64];
    snprintf(seg, sizeof seg, "/tcpshm_%s_%s", cl_name, srv_name);
    shm_unlink(seg);
    snprintf(seg, sizeof seg, "/tcpshm_%s_%s", srv_name, cl_name);
    shm_unlink(seg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "conn_stress: could not remove %s\n", dir);
    if (rc == 0)
        printf("conn_stress: %u echoes verified over %u logins in %.1f s\n", n, logins,
               (double)(mono_ns() - start) / 1e9);
    return rc;
}
