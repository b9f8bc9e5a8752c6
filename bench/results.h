/* Everything one run measured, medians across rounds, for report.c. */
#ifndef TCPSHM_BENCH_RESULTS_H
#define TCPSHM_BENCH_RESULTS_H

#include <stdint.h>

#include "bench.h"
#include "stats.h"

#define RESULTS_NSIZES 4
#define RESULTS_NSCALING 4

typedef struct echo_result {
    int ok;
    lat_summary lib, floor; /* point-by-point medians across rounds */
} echo_result;

typedef struct stream_result {
    int ok;
    uint32_t size;
    double lib_mps, floor_mps; /* messages per second, medians across rounds */
} stream_result;

typedef struct scaling_result {
    int ok, skipped;
    uint32_t clients;
    double echoes_per_s, p50_ns, p99_ns; /* medians across rounds */
} scaling_result;

typedef struct results {
    bench_opts opts;
    const char *shm_layer;
    echo_result tcp_echo, shm_echo;
    echo_result tcp_echo_diag;  /* TCP echo with poll_ctl every round */
    echo_result shm_echo_diag;  /* SHM echo with the TCP side polled every round */
    echo_result shm_echo_queue; /* SHM echo through shm_queue alone */
    uint32_t nsizes;
    stream_result tcp_stream[RESULTS_NSIZES], shm_stream[RESULTS_NSIZES];
    uint32_t nscaling;
    scaling_result scaling[RESULTS_NSCALING];
    uint32_t scaling_rounds;
    uint64_t allocs;        /* allocation calls during every measured library phase */
    uint64_t allocs_setup;  /* before the first measurement */
    uint64_t allocs_other;  /* outside the measured phases: set-up, teardown (proves the
                               interposer counts) */
    int failures;
} results;

/* report.c */
#include <stdio.h>
void report_table(FILE *out, const results *r);
void report_json(FILE *out, const results *r);
int report_svg(const char *path, const results *r); /* 0, or -1 after printing why */

#endif
