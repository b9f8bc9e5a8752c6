#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "alloc_count.h"
#include "echo.h"
#include "lib_tcp.h"
#include "scaling.h"
#include "stats.h"

typedef struct sclient {
    tcpshm_client *cl;
    tcpshm_conn *conn;
    int logged_in;
    int64_t sent_at; /* the echo in flight was pushed at */
    int got;
} sclient;

static void client_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    sclient *k = user;
    (void)m;
    k->got = 1;
    tcpshm_conn_pop(c);
}

static void client_login_ok(void *user, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    sclient *k = user;
    (void)rsp;
    k->conn = c;
    k->logged_in = 1;
}

static void client_login_failed(void *user, const char *reason, int sys_errno)
{
    (void)user, (void)reason, (void)sys_errno; /* back to idle: retried */
}

/* Sends the next echo of client k. */
static int send_echo(sclient *k, uint64_t seq)
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

/* fds: two sockets per client in this process, plus slack. */
static int check_fds(uint32_t n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t need = (rlim_t)n * 2 + 64;
    if (rl.rlim_cur < need && rl.rlim_max >= need) {
        rl.rlim_cur = need;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < need) {
        fprintf(stderr, "tcpshm-bench: scaling with %u clients needs %llu file descriptors; the "
                        "limit is %llu (hard %llu): skipped\n",
                n, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
                (unsigned long long)rl.rlim_max);
        return 1;
    }
    return 0;
}

static int login_all(sclient *cls, uint32_t n, uint16_t port)
{
    tcpshm_error err;
    int64_t deadline = bench_now() + 60000000000LL;
    uint32_t done = 0;
    while (done < n) {
        int64_t now = bench_now();
        if (now > deadline) {
            fprintf(stderr, "tcpshm-bench: scaling: only %u of %u clients logged in after 60 s\n",
                    done, n);
            return -1;
        }
        uint32_t pending = 0;
        done = 0;
        for (uint32_t i = 0; i < n; i++) {
            sclient *k = &cls[i];
            if (k->logged_in) {
                done++;
                tcpshm_client_poll_tcp(k->cl, now); /* keep it alive */
                continue;
            }
            tcpshm_client_state st = tcpshm_client_get_state(k->cl);
            if (st == TCPSHM_CLIENT_IDLE) {
                if (pending >= 32) /* the listen backlog is 64 */
                    continue;
                if (tcpshm_client_login(k->cl, "127.0.0.1", port, false, NULL, now, &err) != 0) {
                    fprintf(stderr, "tcpshm-bench: scaling: login: %s\n", err.text);
                    return -1;
                }
            }
            pending++;
            tcpshm_client_poll_tcp(k->cl, now);
        }
    }
    return 0;
}

int scaling_run(const bench_opts *o, const char *dir, uint32_t n, uint32_t rounds,
                int64_t *samples, uint32_t max_samples, scaling_round *out, uint64_t *allocs)
{
    int fd_rc = check_fds(n);
    if (fd_rc)
        return fd_rc;
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.queue_size = 65536;
    cfg.recv_buf_size = 8192;
    cfg.tcp_conns_per_group = n;
    cfg.max_new_conns = 64;
    cfg.accepts_per_poll = 64;
    char sdir[600], cdir[600];
    snprintf(sdir, sizeof sdir, "%s/server", dir);
    snprintf(cdir, sizeof cdir, "%s/clients", dir);
    if (bench_mkdir(dir) || bench_mkdir(sdir) || bench_mkdir(cdir))
        return -1;

    int rc = -1, running = 0;
    /* the server loop as before these rows were kept: poll_ctl every round (they
       measure how poll_tcp scales, not the loop) */
    static lib_server_loop loop;
    memset(&loop, 0, sizeof loop);
    pthread_t thread;
    tcpshm_server *srv = NULL;
    sclient *cls = calloc(n, sizeof *cls);
    tcpshm_error err = {0};
    tcpshm_server_callbacks scb = {.on_system_error = lib_report_system_error,
                                   .on_disconnect = lib_report_disconnect,
                                   .on_msg = echo_server_msg};
    if (!cls)
        goto out;
    if (tcpshm_server_create(&srv, &cfg, NULL, "server", sdir, &scb, &err) != 0 ||
        tcpshm_server_start(srv, "127.0.0.1", 0, &err) != 0) {
        fprintf(stderr, "tcpshm-bench: scaling server: %s\n", err.text);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%u", i);
        tcpshm_client_callbacks ccb = {.user = &cls[i],
                                       .on_system_error = client_login_failed,
                                       .on_login_success = client_login_ok,
                                       .on_disconnect = lib_report_disconnect,
                                       .on_msg = client_msg};
        if (tcpshm_client_create(&cls[i].cl, &cfg, NULL, name, cdir, &ccb, &err) != 0) {
            fprintf(stderr, "tcpshm-bench: scaling client %u: %s\n", i, err.text);
            goto out;
        }
    }
    loop.srv = srv;
    loop.groups = 1;
    loop.loop = lib_loop_ctl_every_round;
    if (bench_spawn(&thread, o->cpu_b, lib_server_thread, &loop) != 0)
        goto out;
    running = 1;
    if (login_all(cls, n, tcpshm_server_port(srv)) != 0)
        goto out;

    uint64_t seq = 0;
    for (uint32_t i = 0; i < n; i++)
        if (send_echo(&cls[i], seq++) != 0)
            goto out;
    int64_t warm_ns = (int64_t)(o->scaling_secs * 1e9 / 4);
    int64_t round_ns = (int64_t)(o->scaling_secs * 1e9);
    uint64_t allocs_sum = 0;
    /* round -1 is the warm-up */
    for (int r = -1; r < (int)rounds; r++) {
        uint32_t ns = 0;
        uint64_t echoes = 0;
        int64_t t_start = bench_now(), t_end = t_start + (r < 0 ? warm_ns : round_ns);
        uint64_t a0 = alloc_count();
        int64_t now = t_start;
        while (now < t_end) {
            for (uint32_t i = 0; i < n; i++) {
                sclient *k = &cls[i];
                tcpshm_client_poll_tcp(k->cl, now);
                if (!k->got)
                    continue;
                int64_t t1 = bench_now();
                if (ns < max_samples)
                    samples[ns++] = t1 - k->sent_at;
                echoes++;
                if (send_echo(k, seq++) != 0) {
                    fprintf(stderr, "tcpshm-bench: scaling: client %u cannot push\n", i);
                    goto out;
                }
            }
            now = bench_now();
            for (uint32_t i = 0; i < n; i++)
                if (!tcpshm_conn_is_connected(cls[i].conn)) {
                    fprintf(stderr, "tcpshm-bench: scaling: client %u lost its connection\n", i);
                    goto out;
                }
        }
        if (r < 0)
            continue;
        allocs_sum += alloc_count() - a0; /* before sorting: qsort may allocate */
        lat_summary sum;
        stats_summarize(samples, ns, &sum);
        out[r].echoes_per_s = (double)echoes * 1e9 / (double)(now - t_start);
        out[r].p50_ns = sum.ns[STATS_P50];
        out[r].p99_ns = sum.ns[STATS_P99];
    }
    *allocs = allocs_sum;
    rc = 0;
out:
    if (running) {
        __atomic_store_n(&loop.stop, 1, __ATOMIC_RELEASE);
        pthread_join(thread, NULL);
    }
    if (cls)
        for (uint32_t i = 0; i < n; i++)
            if (cls[i].cl)
                tcpshm_client_destroy(cls[i].cl);
    free(cls);
    if (srv)
        tcpshm_server_destroy(srv);
    bench_rmtree(dir);
    return rc;
}
