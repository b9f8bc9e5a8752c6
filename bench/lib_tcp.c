#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib_tcp.h"

void lib_report_system_error(void *user, const char *what, int sys_errno)
{
    (void)user;
    fprintf(stderr, "tcpshm-bench: library: %s%s%s\n", what, sys_errno ? ": " : "",
            sys_errno ? strerror(sys_errno) : "");
}

void lib_report_disconnect(void *user, tcpshm_conn *c, const char *reason, int sys_errno)
{
    (void)user;
    fprintf(stderr, "tcpshm-bench: library: %s disconnected from %s: %s%s%s\n",
            tcpshm_conn_local_name(c), tcpshm_conn_remote_name(c), reason, sys_errno ? ": " : "",
            sys_errno ? strerror(sys_errno) : "");
}

static void report_login_rejected(void *user, const char *client, const char *reason)
{
    (void)user;
    fprintf(stderr, "tcpshm-bench: library: login of '%s' rejected: %s\n", client, reason);
}

void *lib_server_thread(void *arg)
{
    lib_server_loop *l = arg;
    const lib_loop *lp = &l->loop;
    uint32_t every = lp->ctl_every ? lp->ctl_every : 1, round = 0;
    int64_t now = bench_now();
    /* every round the data (each group); every `every`-th round the control
     * plane (accept, logins, the TCP side of SHM links) */
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        bool ctl = ++round >= every;
        if (ctl)
            round = 0;
        if (ctl || lp->clock_every_round)
            now = bench_now();
        if (ctl)
            tcpshm_server_poll_ctl(l->srv, now);
        uint64_t before = l->msgs;
        if (l->shm)
            tcpshm_server_poll_shm(l->srv, now, 0);
        else
            for (uint32_t g = 0; g < l->groups; g++)
                tcpshm_server_poll_tcp(l->srv, now, g);
        if (lp->pause && l->msgs == before)
            bench_relax();
    }
    return NULL;
}

/* The server's on_msg: counts, then hands over to the row's handler. */
static void count_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    lib_server_loop *l = user;
    l->msgs++;
    l->on_msg(l->user, c, m);
}

static lib_server_loop g_loop; /* one library pair at a time */

int lib_tcp_open(lib_tcp *L, const bench_opts *o, const char *dir, const tcpshm_config *cfg,
                 bool use_shm, const lib_loop *loop, lib_msg_fn server_msg, void *server_user,
                 lib_msg_fn client_msg, void *client_user)
{
    memset(L, 0, sizeof *L);
    char sdir[600], cdir[600];
    snprintf(L->dir, sizeof L->dir, "%s", dir);
    snprintf(sdir, sizeof sdir, "%s/server", dir);
    snprintf(cdir, sizeof cdir, "%s/client", dir);
    if (bench_mkdir(dir) || bench_mkdir(sdir) || bench_mkdir(cdir))
        return -1;
    snprintf(L->sname, sizeof L->sname, "bs%ld", (long)getpid());
    snprintf(L->cname, sizeof L->cname, "bc%ld", (long)getpid());
    tcpshm_error err = {0};
    memset(&g_loop, 0, sizeof g_loop);
    g_loop.on_msg = server_msg;
    g_loop.user = server_user;
    tcpshm_server_callbacks scb = {.user = &g_loop,
                                   .on_system_error = lib_report_system_error,
                                   .on_login_rejected = report_login_rejected,
                                   .on_disconnect = lib_report_disconnect,
                                   .on_msg = count_msg};
    if (tcpshm_server_create(&L->srv, cfg, NULL, L->sname, sdir, &scb, &err) != 0 ||
        tcpshm_server_start(L->srv, "127.0.0.1", 0, &err) != 0) {
        fprintf(stderr, "tcpshm-bench: server: %s%s%s\n", err.text, err.sys_errno ? ": " : "",
                err.sys_errno ? strerror(err.sys_errno) : "");
        lib_tcp_close(L);
        return -1;
    }
    tcpshm_client_callbacks ccb = {.user = client_user,
                                   .on_system_error = lib_report_system_error,
                                   .on_disconnect = lib_report_disconnect,
                                   .on_msg = client_msg};
    if (tcpshm_client_create(&L->cl, cfg, NULL, L->cname, cdir, &ccb, &err) != 0) {
        fprintf(stderr, "tcpshm-bench: client: %s\n", err.text);
        lib_tcp_close(L);
        return -1;
    }
    L->shm = use_shm;
    L->loop = *loop;
    if (!L->loop.ctl_every)
        L->loop.ctl_every = 1;
    L->now = bench_now();
    g_loop.srv = L->srv;
    g_loop.groups = cfg->tcp_groups;
    g_loop.shm = use_shm;
    g_loop.loop = L->loop;
    if (bench_spawn(&L->thread, o->cpu_b, lib_server_thread, &g_loop) != 0) {
        lib_tcp_close(L);
        return -1;
    }
    L->running = 1;
    if (tcpshm_client_connect(L->cl, "127.0.0.1", tcpshm_server_port(L->srv), use_shm, NULL,
                              5000000000LL, bench_now_cb, NULL, &err) != 0) {
        fprintf(stderr, "tcpshm-bench: client login: %s%s%s\n", err.text,
                err.sys_errno ? ": " : "", err.sys_errno ? strerror(err.sys_errno) : "");
        lib_tcp_close(L);
        return -1;
    }
    L->conn = tcpshm_client_conn(L->cl);
    return 0;
}

void lib_tcp_close(lib_tcp *L)
{
    if (L->running) {
        __atomic_store_n(&g_loop.stop, 1, __ATOMIC_RELEASE);
        pthread_join(L->thread, NULL);
        L->running = 0;
    }
    if (L->cl)
        tcpshm_client_destroy(L->cl);
    if (L->srv)
        tcpshm_server_destroy(L->srv);
    L->cl = NULL;
    L->srv = NULL;
    if (L->dir[0])
        bench_rmtree(L->dir);
    if (L->shm) {
        char seg[64];
        snprintf(seg, sizeof seg, "/tcpshm_%s_%s", L->sname, L->cname);
        (void)shm_unlink(seg);
        snprintf(seg, sizeof seg, "/tcpshm_%s_%s", L->cname, L->sname);
        (void)shm_unlink(seg);
    }
}
