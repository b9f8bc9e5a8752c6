/* Server scaling (scaling.h): all-active and idle-connection rows. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"
#include "echo.h"
#include "fleet.h"
#include "lib_tcp.h"
#include "scaling.h"
#include "stats.h"

/* Small queues and buffers: 10,000 pairs stay a few hundred MB. */
static void scaling_config(tcpshm_config *cfg, uint32_t slots)
{
    tcpshm_config_default(cfg);
    cfg->queue_size = 4096;
    cfg->max_msg_size = 128;
    cfg->recv_buf_size = 1024;
    cfg->tcp_conns_per_group = slots; /* more than 64: the server polls with readiness */
    cfg->max_new_conns = 64;
    cfg->accepts_per_poll = 64;
}

/* Sends the next echo of client k. */
static int send_echo(fclient *k, uint64_t seq)
{
    tcpshm_msg_header *m = tcpshm_conn_alloc(k->conn, 8);
    if (!m)
        return -1;
    m->msg_type = 1;
    memcpy(m + 1, &seq, sizeof seq);
    k->got = 0;
    k->sent_at = bench_now();
    return tcpshm_conn_push(k->conn);
}

/* The server of a scaling row, polled by its own thread (poll_ctl every
 * round: these rows measure how poll_tcp scales, not the loop). */
typedef struct scaling_server {
    lib_server_loop loop;
    pthread_t thread;
    tcpshm_server *srv;
    int running;
} scaling_server;

static int server_create(scaling_server *S, const tcpshm_config *cfg, const char *sdir)
{
    memset(S, 0, sizeof *S);
    tcpshm_error err = {0};
    tcpshm_server_callbacks scb = {.on_system_error = lib_report_system_error,
                                   .on_disconnect = lib_report_disconnect,
                                   .on_msg = echo_server_msg};
    if (tcpshm_server_create(&S->srv, cfg, NULL, "server", sdir, &scb, &err) != 0 ||
        tcpshm_server_start(S->srv, "127.0.0.1", 0, &err) != 0) {
        fprintf(stderr, "tcpshm-bench: scaling server: %s\n", err.text);
        return -1;
    }
    return 0;
}

static int server_run(scaling_server *S, const bench_opts *o)
{
    S->loop.srv = S->srv;
    S->loop.groups = 1;
    S->loop.loop = lib_loop_ctl_every_round;
    if (bench_spawn(&S->thread, o->cpu_b, lib_server_thread, &S->loop) != 0)
        return -1;
    S->running = 1;
    return 0;
}

static void server_end(scaling_server *S)
{
    if (S->running) {
        __atomic_store_n(&S->loop.stop, 1, __ATOMIC_RELEASE);
        pthread_join(S->thread, NULL);
    }
    if (S->srv)
        tcpshm_server_destroy(S->srv);
    S->srv = NULL;
    S->running = 0;
}

/* A row: its config, directories, server and clients, and the round
 * being measured. */
typedef struct scaling_row {
    tcpshm_config cfg;
    char sdir[600], cdir[600];
    scaling_server S;
    fleet f;
    int64_t *samples;
    uint32_t max_samples, ns; /* ns: samples taken this round */
    uint64_t seq, echoes;     /* the next echo's number; echoes this round */
    uint32_t turn, active;    /* one echo at a time: whose turn, of the first `active` clients */
} scaling_row;

/* The config for `slots` clients and the directories; no server, no
 * clients yet. 0, or -1 (nothing to close). */
static int row_open(scaling_row *R, const char *dir, uint32_t slots, int64_t *samples, uint32_t max_samples)
{
    memset(R, 0, sizeof *R);
    scaling_config(&R->cfg, slots);
    R->f.set = -1;
    R->samples = samples;
    R->max_samples = max_samples;
    snprintf(R->sdir, sizeof R->sdir, "%s/server", dir);
    snprintf(R->cdir, sizeof R->cdir, "%s/clients", dir);
    return bench_mkdir(dir) || bench_mkdir(R->sdir) || bench_mkdir(R->cdir) ? -1 : 0;
}

static void row_close(scaling_row *R, const char *dir)
{
    server_end(&R->S);
    fleet_destroy(&R->f);
    bench_rmtree(dir);
}

/* Checked now and then, not every round (it looks at every client). */
static int fleet_check(const fleet *f, int64_t now, int64_t *next)
{
    if (now < *next)
        return 0;
    *next = now + 10000000;
    int64_t down = fleet_first_down(f);
    if (down >= 0) {
        fprintf(stderr, "tcpshm-bench: scaling: client %lld lost its connection\n", (long long)down);
        return -1;
    }
    return 0;
}

/* All active: each client whose echo came back sends the next. */
static int step_all_active(scaling_row *R, int64_t now)
{
    uint32_t polled = fleet_poll_ready(&R->f, now, 0);
    for (uint32_t k = 0; k < polled; k++) {
        fclient *c = &R->f.c[fleet_ready_index(&R->f, k)];
        if (!c->got)
            continue;
        int64_t t1 = bench_now();
        if (R->ns < R->max_samples)
            R->samples[R->ns++] = t1 - c->sent_at;
        R->echoes++;
        if (send_echo(c, R->seq++) != 0) {
            fprintf(stderr, "tcpshm-bench: scaling: a client cannot push\n");
            return -1;
        }
    }
    return 0;
}

/* One echo in flight: the client whose turn it is sends and waits for it. */
static int step_one_echo(scaling_row *R, int64_t now)
{
    fclient *c = &R->f.c[R->turn];
    if (send_echo(c, R->seq++) != 0) {
        fprintf(stderr, "tcpshm-bench: idle scaling: a client cannot push\n");
        return -1;
    }
    while (!c->got) {
        now = bench_now();
        (void)fleet_poll_ready(&R->f, now, 0);
        if (now - c->sent_at > 5000000000LL) {
            fprintf(stderr, "tcpshm-bench: idle scaling: no echo in 5 s\n");
            return -1;
        }
    }
    if (R->ns < R->max_samples)
        R->samples[R->ns++] = bench_now() - c->sent_at;
    R->echoes++;
    R->turn = (R->turn + 1) % R->active;
    return 0;
}

/* A warm-up of scaling_secs / 4, then `rounds` rounds of scaling_secs,
 * each step after step until its time is up, the fleet checked now and
 * then: out[r] per round; *allocs: allocation calls while measuring. 0, or
 * -1 after printing why. */
static int run_rounds(const bench_opts *o, scaling_row *R, int (*step)(scaling_row *, int64_t), uint32_t rounds,
                      scaling_round *out, uint64_t *allocs)
{
    int64_t warm_ns = (int64_t)(o->scaling_secs * 1e9 / 4);
    int64_t round_ns = (int64_t)(o->scaling_secs * 1e9);
    uint64_t allocs_sum = 0;
    /* round -1 is the warm-up */
    for (int r = -1; r < (int)rounds; r++) {
        R->ns = 0;
        R->echoes = 0;
        int64_t t_start = bench_now(), t_end = t_start + (r < 0 ? warm_ns : round_ns), next_check = 0;
        uint64_t a0 = alloc_count();
        int64_t now = t_start;
        while (now < t_end) {
            if (step(R, now) != 0)
                return -1;
            now = bench_now();
            if (fleet_check(&R->f, now, &next_check))
                return -1;
        }
        if (r < 0)
            continue;
        allocs_sum += alloc_count() - a0; /* before sorting: qsort may allocate */
        lat_summary sum;
        stats_summarize(R->samples, R->ns, &sum);
        out[r].echoes_per_s = (double)R->echoes * 1e9 / (double)(now - t_start);
        out[r].p50_ns = sum.ns[STATS_P50];
        out[r].p99_ns = sum.ns[STATS_P99];
    }
    *allocs = allocs_sum;
    return 0;
}

int scaling_run(const bench_opts *o, const char *dir, uint32_t n, uint32_t rounds,
                int64_t *samples, uint32_t max_samples, scaling_round *out, uint64_t *allocs)
{
    /* a socket each side and the client's lock file, per client */
    if (fleet_raise_fds((uint64_t)n * 3 + 64, "scaling (all clients in this process)"))
        return 1;
    scaling_row R;
    if (row_open(&R, dir, n, samples, max_samples))
        return -1;
    int rc = -1;
    if (server_create(&R.S, &R.cfg, R.sdir) != 0 || fleet_create(&R.f, &R.cfg, R.cdir, "c", n) != 0 ||
        server_run(&R.S, o) != 0 || fleet_login(&R.f, tcpshm_server_port(R.S.srv)) != 0)
        goto out;

    for (uint32_t i = 0; i < n; i++)
        if (send_echo(&R.f.c[i], R.seq++) != 0)
            goto out;
    rc = run_rounds(o, &R, step_all_active, rounds, out, allocs);
out:
    row_close(&R, dir);
    return rc;
}

int idle_scaling_run(const bench_opts *o, const char *dir, uint32_t connected, uint32_t active,
                     uint32_t rounds, int64_t *samples, uint32_t max_samples, double *p50_ns,
                     uint64_t *allocs)
{
    if (active > connected)
        active = connected;
    uint32_t idle = connected - active;
    /* here: the server's sockets and the active clients' two each */
    if (fleet_raise_fds((uint64_t)connected + (uint64_t)active * 2 + 256, "idle scaling (the server)"))
        return 1;
    scaling_row R;
    if (row_open(&R, dir, connected, samples, max_samples))
        return -1;
    int rc = -1;
    idle_procs P;
    memset(&P, 0, sizeof P);
    /* fork before any thread of this process runs */
    if (server_create(&R.S, &R.cfg, R.sdir) != 0 ||
        (idle && idle_procs_start(&P, &R.cfg, R.cdir, tcpshm_server_port(R.S.srv), idle) != 0) ||
        server_run(&R.S, o) != 0 || (idle && idle_procs_wait(&P) != 0) ||
        fleet_create(&R.f, &R.cfg, R.cdir, "a", active) != 0 || fleet_login(&R.f, tcpshm_server_port(R.S.srv)) != 0)
        goto out;

    /* one echo in flight at a time, the active clients in turn: each sample
     * is a lone round trip, as with one client, among `connected` live links */
    R.active = active;
    scaling_round per[SCALING_MAX_ROUNDS];
    rc = run_rounds(o, &R, step_one_echo, rounds, per, allocs);
    if (rc == 0) {
        double p50[SCALING_MAX_ROUNDS];
        for (uint32_t r = 0; r < rounds; r++)
            p50[r] = per[r].p50_ns;
        *p50_ns = stats_median(p50, rounds);
    }
out:
    idle_procs_stop(&P);
    row_close(&R, dir);
    return rc;
}
