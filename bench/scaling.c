/* Server scaling (scaling.h): all-active and idle-connection rows. */
#include <pthread.h>
#include <sched.h>
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

/* A share of a row's clients, driven by one thread, and what it measured
 * this round. */
typedef struct fleet_part {
    fleet f;
    int64_t *samples;
    uint32_t max_samples, ns; /* ns: samples taken this round */
    uint64_t seq, echoes;     /* the next echo's number; echoes this round */
    uint32_t turn, active;    /* one echo at a time: whose turn, of the first `active` clients */
    int wait_ms;              /* its epoll wait: 0 (spins) on cpu_a; on the server's CPU it
                                 sleeps until a socket is readable (up to 1 ms), so that the
                                 kernel's wake-up hands it the CPU, not a spin */
    int64_t next_check;
} fleet_part;

/* A row: its config, directories, server and fleet parts (part 0 driven by
 * the caller's thread on cpu_a; part 1, if any, by a thread on cpu_b, beside
 * the spinning server thread: it sleeps in epoll_wait), and the round being
 * run. */
typedef struct scaling_row {
    tcpshm_config cfg;
    char sdir[600], cdir[600];
    scaling_server S;
    fleet_part part[SCALING_PARTS_MAX];
    uint32_t nparts;
    int (*step)(fleet_part *, int64_t);
    pthread_t worker;
    int worker_running;
    _Alignas(64) int go;  /* atomic: the worker runs round `go` (> 0) until t_end; -1: it ends */
    int64_t t_end;
    _Alignas(64) int done; /* atomic: the last round the worker finished */
    int worker_rc;
} scaling_row;

/* The config for `slots` clients and the directories; no server, no
 * clients yet; samples shared out among nparts parts. 0, or -1 (nothing to
 * close). */
static int row_open(scaling_row *R, const char *dir, uint32_t slots, uint32_t nparts, int64_t *samples,
                    uint32_t max_samples)
{
    memset(R, 0, sizeof *R);
    scaling_config(&R->cfg, slots);
    R->nparts = nparts;
    for (uint32_t k = 0; k < SCALING_PARTS_MAX; k++) {
        fleet_part *P = &R->part[k];
        P->f.set = -1;
        P->max_samples = max_samples / nparts;
        P->samples = samples + (size_t)k * P->max_samples;
        P->wait_ms = k > 0;
    }
    snprintf(R->sdir, sizeof R->sdir, "%s/server", dir);
    snprintf(R->cdir, sizeof R->cdir, "%s/clients", dir);
    return bench_mkdir(dir) || bench_mkdir(R->sdir) || bench_mkdir(R->cdir) ? -1 : 0;
}

static void row_close(scaling_row *R, const char *dir)
{
    if (R->worker_running) {
        __atomic_store_n(&R->go, -1, __ATOMIC_RELEASE);
        pthread_join(R->worker, NULL);
    }
    server_end(&R->S);
    for (uint32_t k = 0; k < SCALING_PARTS_MAX; k++)
        fleet_destroy(&R->part[k].f);
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
static int step_all_active(fleet_part *P, int64_t now)
{
    uint32_t polled = fleet_poll_ready(&P->f, now, P->wait_ms);
    for (uint32_t k = 0; k < polled; k++) {
        fclient *c = &P->f.c[fleet_ready_index(&P->f, k)];
        if (!c->got)
            continue;
        int64_t t1 = bench_now();
        if (P->ns < P->max_samples)
            P->samples[P->ns++] = t1 - c->sent_at;
        P->echoes++;
        if (send_echo(c, P->seq++) != 0) {
            fprintf(stderr, "tcpshm-bench: scaling: a client cannot push\n");
            return -1;
        }
    }
    return 0;
}

/* One echo in flight: the client whose turn it is sends and waits for it. */
static int step_one_echo(fleet_part *P, int64_t now)
{
    fclient *c = &P->f.c[P->turn];
    if (send_echo(c, P->seq++) != 0) {
        fprintf(stderr, "tcpshm-bench: idle scaling: a client cannot push\n");
        return -1;
    }
    while (!c->got) {
        now = bench_now();
        (void)fleet_poll_ready(&P->f, now, 0);
        if (now - c->sent_at > 5000000000LL) {
            fprintf(stderr, "tcpshm-bench: idle scaling: no echo in 5 s\n");
            return -1;
        }
    }
    if (P->ns < P->max_samples)
        P->samples[P->ns++] = bench_now() - c->sent_at;
    P->echoes++;
    P->turn = (P->turn + 1) % P->active;
    return 0;
}

/* One part's round: step after step until t_end, the part checked now and
 * then. 0, or -1 after printing why. */
static int part_round(fleet_part *P, int (*step)(fleet_part *, int64_t), int64_t t_end)
{
    P->ns = 0;
    P->echoes = 0;
    for (int64_t now = bench_now(); now < t_end; now = bench_now())
        if (step(P, now) != 0 || fleet_check(&P->f, now, &P->next_check) != 0)
            return -1;
    return 0;
}

/* The thread of part 1: each round the caller starts (go), until told to end. */
static void *part_thread(void *arg)
{
    scaling_row *R = arg;
    int seen = 0, go;
    for (;;) {
        while ((go = __atomic_load_n(&R->go, __ATOMIC_ACQUIRE)) == seen)
            sched_yield(); /* between rounds: the server thread's CPU */
        if (go < 0)
            return NULL;
        R->worker_rc = part_round(&R->part[1], R->step, R->t_end);
        seen = go;
        __atomic_store_n(&R->done, go, __ATOMIC_RELEASE);
    }
}

/* Starts the other parts' thread (after their clients are logged in and
 * sent their first echo). 0, or -1. */
static int row_start_worker(scaling_row *R, const bench_opts *o)
{
    if (R->nparts < 2)
        return 0;
    if (bench_spawn(&R->worker, o->cpu_b, part_thread, R) != 0)
        return -1;
    R->worker_running = 1;
    return 0;
}

/* A warm-up of scaling_secs / 4, then `rounds` rounds of scaling_secs, all
 * parts at once: out[r] per round (the parts' samples together); *allocs:
 * allocation calls while measuring. 0, or -1 after printing why. */
static int run_rounds(const bench_opts *o, scaling_row *R, uint32_t rounds, scaling_round *out, uint64_t *allocs)
{
    int64_t warm_ns = (int64_t)(o->scaling_secs * 1e9 / 4);
    int64_t round_ns = (int64_t)(o->scaling_secs * 1e9);
    uint64_t allocs_sum = 0;
    /* round -1 is the warm-up */
    for (int r = -1; r < (int)rounds; r++) {
        int64_t t_start = bench_now(), t_end = t_start + (r < 0 ? warm_ns : round_ns);
        uint64_t a0 = alloc_count();
        int go = r + 2;
        if (R->nparts > 1) {
            R->t_end = t_end;
            __atomic_store_n(&R->go, go, __ATOMIC_RELEASE);
        }
        int rc = part_round(&R->part[0], R->step, t_end);
        if (R->nparts > 1) {
            while (__atomic_load_n(&R->done, __ATOMIC_ACQUIRE) != go)
                bench_relax();
            rc |= R->worker_rc;
        }
        int64_t now = bench_now();
        if (rc != 0)
            return -1;
        if (r < 0)
            continue;
        allocs_sum += alloc_count() - a0; /* before sorting: qsort may allocate */
        uint32_t ns = 0;
        uint64_t echoes = 0;
        for (uint32_t k = 0; k < R->nparts; k++) { /* the parts' samples, one after the other */
            fleet_part *P = &R->part[k];
            memmove(R->part[0].samples + ns, P->samples, (size_t)P->ns * sizeof *P->samples);
            ns += P->ns;
            echoes += P->echoes;
        }
        lat_summary sum;
        stats_summarize(R->part[0].samples, ns, &sum);
        out[r].echoes_per_s = (double)echoes * 1e9 / (double)(now - t_start);
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
    uint32_t nparts = o->fleet_threads < n ? o->fleet_threads : n;
    scaling_row R;
    if (row_open(&R, dir, n, nparts, samples, max_samples))
        return -1;
    int rc = -1;
    static const char *prefix[SCALING_PARTS_MAX] = {"c", "d"};
    if (server_create(&R.S, &R.cfg, R.sdir) != 0)
        goto out;
    for (uint32_t k = 0; k < nparts; k++) {
        uint32_t share = n / nparts + (k < n % nparts);
        if (fleet_create(&R.part[k].f, &R.cfg, R.cdir, prefix[k], share) != 0)
            goto out;
    }
    if (server_run(&R.S, o) != 0)
        goto out;
    for (uint32_t k = 0; k < nparts; k++) {
        fleet_part *P = &R.part[k];
        if (fleet_login(&P->f, tcpshm_server_port(R.S.srv)) != 0)
            goto out;
    }
    for (uint32_t k = 0; k < nparts; k++) {
        fleet_part *P = &R.part[k];
        for (uint32_t i = 0; i < P->f.n; i++)
            if (send_echo(&P->f.c[i], P->seq++) != 0)
                goto out;
    }
    R.step = step_all_active;
    if (row_start_worker(&R, o) != 0)
        goto out;
    rc = run_rounds(o, &R, rounds, out, allocs);
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
    if (row_open(&R, dir, connected, 1, samples, max_samples))
        return -1;
    int rc = -1;
    idle_procs P;
    memset(&P, 0, sizeof P);
    fleet_part *A = &R.part[0];
    /* fork before any thread of this process runs */
    if (server_create(&R.S, &R.cfg, R.sdir) != 0 ||
        (idle && idle_procs_start(&P, &R.cfg, R.cdir, tcpshm_server_port(R.S.srv), idle) != 0) ||
        server_run(&R.S, o) != 0 || (idle && idle_procs_wait(&P) != 0) ||
        fleet_create(&A->f, &R.cfg, R.cdir, "a", active) != 0 || fleet_login(&A->f, tcpshm_server_port(R.S.srv)) != 0)
        goto out;

    /* one echo in flight at a time, the active clients in turn: each sample
     * is a lone round trip, as with one client, among `connected` live links */
    A->active = active;
    R.step = step_one_echo;
    scaling_round per[SCALING_MAX_ROUNDS];
    rc = run_rounds(o, &R, rounds, per, allocs);
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
