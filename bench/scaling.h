/* Server scaling: n TCP clients logged in to one server (one group of n
 * slots: more than 64 poll with readiness; polled by one thread on cpu_b,
 * poll_ctl every round), driven with readiness (an epoll set over the
 * clients' sockets, fleet.h) by o->fleet_threads threads: the caller's
 * (cpu_a, spinning) and, with 2, a second one on cpu_b beside the server
 * thread, sleeping in epoll_wait until one of its sockets is readable.
 * Each client keeps one echo in flight. Per round (secs long, after a warm-up) the
 * aggregate echoes per second and the p50 and p99 round trip; *allocs:
 * allocation calls while measuring. 0, -1 after printing why, or 1 when the
 * file-descriptor limit is too low (said). */
#ifndef TCPSHM_BENCH_SCALING_H
#define TCPSHM_BENCH_SCALING_H

#include <stdint.h>

#include "bench.h"

typedef struct scaling_round {
    double echoes_per_s;
    double p50_ns, p99_ns;
} scaling_round;

int scaling_run(const bench_opts *o, const char *dir, uint32_t nclients, uint32_t rounds,
                int64_t *samples, uint32_t max_samples, scaling_round *out, uint64_t *allocs);

/* Idle scaling: `connected` TCP clients logged in to one server (a group
 * of that many slots), of which `active` are in this process and the rest
 * idle in child processes (fleet.h) answering heartbeats. One echo in
 * flight at a time, the active clients in turn; *p50_ns: the median across
 * rounds of each round's p50. Same return values as scaling_run. */
int idle_scaling_run(const bench_opts *o, const char *dir, uint32_t connected, uint32_t active,
                     uint32_t rounds, int64_t *samples, uint32_t max_samples, double *p50_ns,
                     uint64_t *allocs);

#define SCALING_MAX_ROUNDS 64u /* rounds a run may ask for (main.c's limit) */
/* --fleet-threads: the all-active rows' clients split among at most this
 * many threads (the second on cpu_b, beside the server thread). */
#define SCALING_PARTS_MAX 2u

#endif
