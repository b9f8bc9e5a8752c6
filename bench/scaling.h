/* Server scaling: n TCP clients logged in to one server (one group, polled
 * by one thread on cpu_b with the recommended loop), all driven by the
 * caller's thread (cpu_a): each client keeps one echo in flight. Per round
 * (secs long, after a warm-up) the aggregate echoes per second and the p99
 * round trip; *allocs: allocation calls while measuring. 0, -1 after
 * printing why, or 1 when the file-descriptor limit is too low (said). */
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

#endif
