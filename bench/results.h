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
    int lib_pause, floor_pause; /* the spin discipline of each (1: pause in every spin) */
} echo_result;

/* One transport's echo rows. */
typedef struct echo_set {
    echo_result best;    /* the bench's loop in its better discipline (by p50) against
                            the lower floor (by p50): the headline */
    echo_result pause;   /* the bench's loop and the floor, both with a pause in every spin */
    echo_result nopause; /* both without */
    echo_result readme;  /* the loop from README against the lower floor */
    echo_result ctl_every_round; /* diagnostic: the control plane every round */
} echo_set;

typedef struct stream_result {
    int ok;
    uint32_t size;
    /* messages per second, medians across rounds */
    double lib_pause, lib_nopause, readme; /* the bench's loop by discipline; README's loop */
    double ctl_every_round;                /* diagnostic: the control plane every round */
    double floor_pause, floor_nopause;     /* TCP: raw socket; SHM: the two-thread ring */
    double memcpy_1thread;                 /* SHM: one thread memcpy-ing into a ring */
} stream_result;

/* The better of the two disciplines. */
static inline double stream_lib(const stream_result *s)
{
    return s->lib_pause > s->lib_nopause ? s->lib_pause : s->lib_nopause;
}
static inline double stream_floor(const stream_result *s)
{
    return s->floor_pause > s->floor_nopause ? s->floor_pause : s->floor_nopause;
}

typedef struct scaling_result {
    int ok, skipped;
    uint32_t clients;
    double echoes_per_s, p50_ns, p99_ns; /* medians across rounds */
    double floor_echoes_per_s;           /* the raw floor's median (fleet_floor.h); 0: not run */
} scaling_result;

/* Idle scaling: `connected` clients logged in, `active` of them echoing
 * one at a time; the p50 is the median of the rounds' p50s. */
#define RESULTS_NIDLE 2 /* 1000 and 10000 connected */
#define IDLE_ACTIVE 10u
typedef struct idle_result {
    int ok, skipped;
    uint32_t connected, active;
    double p50_ns;
} idle_result;

/* Where and when the numbers were taken. */
typedef struct run_context {
    char date[32];      /* UTC, ISO 8601 */
    char cpu_model[128];
    double load1_start, load1_end; /* load average over 1 minute, before and after */
} run_context;

typedef struct results {
    bench_opts opts;
    run_context ctx;
    const char *shm_layer;
    echo_set tcp_echo, shm_echo;
    echo_result shm_echo_queue; /* SHM echo through shm_queue alone */
    uint32_t nsizes;
    stream_result tcp_stream[RESULTS_NSIZES], shm_stream[RESULTS_NSIZES];
    uint32_t nscaling;
    scaling_result scaling[RESULTS_NSCALING];
    uint32_t scaling_rounds;
    idle_result idle_one; /* the baseline: 1 client connected and active */
    uint32_t nidle;
    idle_result idle[RESULTS_NIDLE];
    uint64_t allocs;        /* allocation calls during every measured library phase */
    uint64_t allocs_setup;  /* before the first measurement */
    uint64_t allocs_other;  /* outside the measured phases: set-up, teardown (proves the
                               interposer counts) */
    int failures;
} results;

/* context.c: fills date, CPU model and the load at the start; load1_end
 * is the caller's (context_load1() at the end). */
void context_fill(run_context *c);
double context_load1(void);
const char *context_version(void);
const char *context_commit(void);
const char *context_build_type(void);

/* report.c */
#include <stdio.h>
void report_table(FILE *out, const results *r);
void report_json(FILE *out, const results *r);
int report_svg(const char *path, const results *r); /* 0, or -1 after printing why */

#endif
