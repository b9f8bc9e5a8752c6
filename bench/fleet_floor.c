/* The all-active scaling rows' floor (fleet_floor.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fleet_floor.h"
#include "floors.h"
#include "scaling.h"

#define FLOOR_MSG 16

/* One side's share of the sockets: an epoll set over fd[lo, hi). */
typedef struct floor_side {
    const int *fd;
    uint32_t lo, hi;
    bool echo;  /* the server side: sends back what it got; else counts and sends the next */
    int wait_ms; /* the client part on cpu_b sleeps in epoll_wait (scaling.c's fleet_part) */
    int64_t t0, len, t_stop; /* rounds: [t0 + r * len, t0 + (r + 1) * len) until t_stop */
    uint64_t echoes[SCALING_MAX_ROUNDS];
    pthread_t thread;
    int failed; /* its epoll set could not be made (said) */
    _Alignas(64) int stop; /* atomic, the server side only: it ends */
} floor_side;

static bool side_done(floor_side *s, int64_t now)
{
    return s->echo ? __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) : now >= s->t_stop;
}

static void *side_run(void *arg)
{
    floor_side *s = arg;
    uint32_t n = s->hi - s->lo;
    int set = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event *ev = calloc(n, sizeof *ev);
    s->failed = 1;
    if (set < 0 || !ev)
        goto out;
    for (uint32_t i = s->lo; i < s->hi; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};
        if (epoll_ctl(set, EPOLL_CTL_ADD, s->fd[i], &e) != 0)
            goto out;
    }
    s->failed = 0;
    char buf[1024], msg[FLOOR_MSG] = {0};
    if (!s->echo)
        for (uint32_t i = s->lo; i < s->hi; i++)
            (void)send(s->fd[i], msg, sizeof msg, 0);
    for (int64_t now = bench_now(); !side_done(s, now); now = bench_now()) {
        int k = epoll_wait(set, ev, (int)n, s->wait_ms);
        for (int j = 0; j < k; j++) {
            int fd = s->fd[ev[j].data.u32];
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0)
                continue;
            if (s->echo) {
                (void)send(fd, buf, (size_t)r, 0);
                continue;
            }
            if (now >= s->t0) {
                int64_t round = (now - s->t0) / s->len;
                if (round < SCALING_MAX_ROUNDS)
                    s->echoes[round] += (uint64_t)r / FLOOR_MSG;
            }
            (void)send(fd, msg, sizeof msg, 0);
        }
    }
out:
    if (s->failed)
        fprintf(stderr, "tcpshm-bench: scaling floor: no epoll set: %s\n", strerror(errno));
    if (set >= 0)
        close(set);
    free(ev);
    return NULL;
}

int fleet_floor_run(const bench_opts *o, uint32_t n, uint32_t rounds, double *echoes_per_s)
{
    int rc = -1;
    uint32_t nparts = o->fleet_threads < n ? o->fleet_threads : n;
    int *cfd = malloc(n * sizeof *cfd), *sfd = malloc(n * sizeof *sfd);
    floor_side *side = calloc(1 + nparts, sizeof *side); /* [0] the server, then the client parts */
    uint32_t started = 0;
    if (!cfd || !sfd || !side) {
        fprintf(stderr, "tcpshm-bench: scaling floor: no memory for %u pairs\n", n);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        cfd[i] = sfd[i] = -1;
    for (uint32_t i = 0; i < n; i++)
        if (floor_tcp_pair(&cfd[i], &sfd[i]) != 0)
            goto out;
    int64_t len = (int64_t)(o->scaling_secs * 1e9);
    int64_t t0 = bench_now() + 100000000 + len / 4; /* the threads start, then a warm-up */
    side[0] = (floor_side){.fd = sfd, .lo = 0, .hi = n, .echo = true};
    for (uint32_t k = 0; k < nparts; k++)
        side[1 + k] = (floor_side){.fd = cfd, .lo = n * k / nparts, .hi = n * (k + 1) / nparts,
                                   .wait_ms = k > 0, .t0 = t0, .len = len, .t_stop = t0 + len * rounds};
    for (; started < 1 + nparts; started++)
        if (bench_spawn(&side[started].thread, started == 1 ? o->cpu_a : o->cpu_b, side_run, &side[started]) != 0)
            goto out;
    rc = 0;
out:
    for (uint32_t k = 1; k < started; k++)
        pthread_join(side[k].thread, NULL);
    if (started) {
        __atomic_store_n(&side[0].stop, 1, __ATOMIC_RELEASE);
        pthread_join(side[0].thread, NULL);
    }
    for (uint32_t k = 0; k < started; k++)
        if (side[k].failed)
            rc = -1;
    if (rc == 0)
        for (uint32_t r = 0; r < rounds; r++) {
            uint64_t e = 0;
            for (uint32_t k = 0; k < nparts; k++)
                e += side[1 + k].echoes[r];
            echoes_per_s[r] = (double)e * 1e9 / (double)len;
        }
    for (uint32_t i = 0; cfd && sfd && i < n; i++) {
        if (cfd[i] >= 0)
            close(cfd[i]);
        if (sfd[i] >= 0)
            close(sfd[i]);
    }
    free(cfd);
    free(sfd);
    free(side);
    return rc;
}
