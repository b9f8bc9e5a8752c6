/* The scaling rows' client fleets (fleet.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "fleet.h"

static int fleet_connect(void *ctx, const char *addr, uint16_t port)
{
    fleet *f = ctx;
    f->last_fd = tcpshm_env_posix()->connect(NULL, addr, port);
    return f->last_fd;
}

static void on_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)m;
    ((fclient *)user)->got = 1;
    tcpshm_conn_pop(c);
}

static void on_login_ok(void *user, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    (void)rsp;
    fclient *k = user;
    k->conn = c;
    k->logged_in = 1;
}

static void on_error(void *user, const char *reason, int sys_errno)
{
    (void)user, (void)reason, (void)sys_errno; /* back to idle: fleet_login retries */
}

static void on_disconnect(void *user, tcpshm_conn *c, const char *reason, int sys_errno)
{
    (void)c;
    fclient *k = user;
    if (k->logged_in)
        fprintf(stderr, "tcpshm-bench: scaling: a client disconnected: %s (errno %d)\n", reason, sys_errno);
    k->logged_in = 0;
}

int fleet_create(fleet *f, const tcpshm_config *cfg, const char *dir, const char *prefix, uint32_t n)
{
    memset(f, 0, sizeof *f);
    f->env = *tcpshm_env_posix();
    f->env.ctx = f; /* the POSIX calls ignore it */
    f->env.connect = fleet_connect;
    f->set = epoll_create1(EPOLL_CLOEXEC);
    f->c = calloc(n, sizeof *f->c);
    f->events = calloc(n, sizeof(struct epoll_event));
    if (f->set < 0 || !f->c || !f->events) {
        fprintf(stderr, "tcpshm-bench: scaling: no memory or epoll for %u clients\n", n);
        return -1;
    }
    tcpshm_error err = {0};
    for (uint32_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "%s%u", prefix, i);
        tcpshm_client_callbacks cb = {.user = &f->c[i], .on_system_error = on_error,
                                      .on_login_success = on_login_ok, .on_disconnect = on_disconnect,
                                      .on_msg = on_msg};
        f->c[i].fd = -1;
        if (tcpshm_client_create(&f->c[i].cl, cfg, &f->env, name, dir, &cb, &err) != 0) {
            fprintf(stderr, "tcpshm-bench: scaling client %s: %s\n", name, err.text);
            return -1;
        }
        f->n = i + 1;
    }
    return 0;
}

int fleet_login(fleet *f, uint16_t port)
{
    tcpshm_error err;
    int64_t deadline = bench_now() + 120000000000LL;
    uint32_t done = 0;
    while (done < f->n) {
        int64_t now = bench_now();
        if (now > deadline) {
            fprintf(stderr, "tcpshm-bench: scaling: only %u of %u clients logged in after 120 s\n", done, f->n);
            return -1;
        }
        (void)fleet_poll_ready(f, now, 0); /* the ones in: heartbeats */
        uint32_t pending = 0;
        done = 0;
        for (uint32_t i = 0; i < f->n; i++) {
            fclient *k = &f->c[i];
            if (k->fd >= 0 && k->logged_in) {
                done++;
                continue;
            }
            tcpshm_client_state st = tcpshm_client_get_state(k->cl);
            if (st == TCPSHM_CLIENT_IDLE) {
                if (pending >= 32) /* the listen backlog is 64 */
                    continue;
                f->last_fd = -1;
                if (tcpshm_client_login(k->cl, "127.0.0.1", port, false, NULL, now, &err) != 0) {
                    fprintf(stderr, "tcpshm-bench: scaling: login: %s\n", err.text);
                    return -1;
                }
                k->fd = f->last_fd;
            }
            pending++;
            tcpshm_client_poll_tcp(k->cl, now);
            if (k->logged_in) {
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
                if (epoll_ctl(f->set, EPOLL_CTL_ADD, k->fd, &ev) != 0) {
                    fprintf(stderr, "tcpshm-bench: scaling: epoll_ctl: %s\n", strerror(errno));
                    return -1;
                }
            }
        }
    }
    return 0;
}

uint32_t fleet_ready_index(const fleet *f, uint32_t k) { return ((struct epoll_event *)f->events)[k].data.u32; }

uint32_t fleet_poll_ready(fleet *f, int64_t now, int timeout_ms)
{
    struct epoll_event *ev = f->events;
    int n = epoll_wait(f->set, ev, (int)f->n, timeout_ms);
    for (int i = 0; i < n; i++)
        tcpshm_client_poll_tcp(f->c[ev[i].data.u32].cl, now);
    return n > 0 ? (uint32_t)n : 0;
}

void fleet_poll_all(fleet *f, int64_t now)
{
    for (uint32_t i = 0; i < f->n; i++)
        tcpshm_client_poll_tcp(f->c[i].cl, now);
}

int64_t fleet_first_down(const fleet *f)
{
    for (uint32_t i = 0; i < f->n; i++)
        if (!f->c[i].conn || !tcpshm_conn_is_connected(f->c[i].conn))
            return i;
    return -1;
}

void fleet_destroy(fleet *f)
{
    for (uint32_t i = 0; i < f->n; i++)
        tcpshm_client_destroy(f->c[i].cl);
    if (f->set >= 0)
        close(f->set);
    free(f->c);
    free(f->events);
    memset(f, 0, sizeof *f);
}

int fleet_raise_fds(uint64_t need, const char *what)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < need && rl.rlim_max >= need) {
        rl.rlim_cur = (rlim_t)need;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= need)
        return 0;
    fprintf(stderr, "tcpshm-bench: %s needs %llu file descriptors in one process; the limit is %llu "
                    "(hard %llu, which this program cannot raise): skipped\n",
            what, (unsigned long long)need, (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
    return 1;
}

/* ---- idle clients in child processes ---- */

/* The child: log in, say so, then answer heartbeats until the stop pipe closes. */
static void idle_child(const tcpshm_config *cfg, const char *dir, uint16_t port, uint32_t n, uint32_t no,
                       int ready_fd, int stop_fd)
{
    char prefix[16];
    snprintf(prefix, sizeof prefix, "i%u_", no);
    fleet f;
    char ok = 'f';
    if (fleet_raise_fds((uint64_t)n * 2 + 64, "an idle-client process") == 0 &&
        fleet_create(&f, cfg, dir, prefix, n) == 0 && fleet_login(&f, port) == 0)
        ok = 'k';
    if (write(ready_fd, &ok, 1) != 1 || ok != 'k')
        _exit(1);
    int64_t next_all = bench_now();
    pid_t parent = getppid();
    for (;;) {
        struct pollfd p = {.fd = stop_fd, .events = POLLIN};
        if (poll(&p, 1, 0) != 0 || getppid() != parent)
            _exit(0); /* EOF: the parent is done; or it is gone */
        int64_t now = bench_now();
        (void)fleet_poll_ready(&f, now, 50);
        if (now >= next_all) { /* our own heartbeats, whatever the server sent */
            fleet_poll_all(&f, now);
            next_all = now + 250000000;
        }
    }
}

int idle_procs_start(idle_procs *p, const tcpshm_config *cfg, const char *dir, uint16_t port, uint32_t n)
{
    memset(p, 0, sizeof *p);
    uint32_t procs = (n + IDLE_PER_PROC - 1) / IDLE_PER_PROC;
    if (procs > IDLE_MAX_PROCS) {
        fprintf(stderr, "tcpshm-bench: at most %u idle clients\n", IDLE_PER_PROC * IDLE_MAX_PROCS);
        return -1;
    }
    for (uint32_t i = 0; i < procs; i++) {
        uint32_t share = n / procs + (i < n % procs);
        int ready[2], stop[2];
        if (pipe(ready) != 0 || pipe(stop) != 0) {
            fprintf(stderr, "tcpshm-bench: pipe: %s\n", strerror(errno));
            return -1;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "tcpshm-bench: fork: %s\n", strerror(errno));
            return -1;
        }
        if (pid == 0) {
            close(ready[0]);
            close(stop[1]);
            for (uint32_t k = 0; k < p->n; k++) { /* or an earlier child never sees its EOF */
                close(p->stop_fd[k]);
                close(p->ready_fd[k]);
            }
            idle_child(cfg, dir, port, share, i, ready[1], stop[0]);
            _exit(0);
        }
        close(ready[1]);
        close(stop[0]);
        p->pid[p->n] = pid;
        p->stop_fd[p->n] = stop[1];
        p->ready_fd[p->n] = ready[0];
        p->n++;
    }
    return 0;
}

int idle_procs_wait(idle_procs *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct pollfd q = {.fd = p->ready_fd[i], .events = POLLIN};
        char ok = 0;
        if (poll(&q, 1, 180000) != 1 || read(p->ready_fd[i], &ok, 1) != 1 || ok != 'k') {
            fprintf(stderr, "tcpshm-bench: idle-client process %u did not log its clients in\n", i);
            return -1;
        }
    }
    return 0;
}

void idle_procs_stop(idle_procs *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        close(p->stop_fd[i]);
        close(p->ready_fd[i]);
    }
    for (uint32_t i = 0; i < p->n; i++) {
        int st;
        while (waitpid(p->pid[i], &st, 0) < 0 && errno == EINTR) {
        }
    }
    p->n = 0;
}
