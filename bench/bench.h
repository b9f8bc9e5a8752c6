/* What every part of tcpshm-bench shares: the options, the clock, the spin
 * hint and the two-thread helpers (pin.c). */
#ifndef TCPSHM_BENCH_H
#define TCPSHM_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef struct bench_opts {
    int cpu_a, cpu_b;       /* the two CPUs the two sides are pinned to (-1: no pinning) */
    uint32_t rounds;        /* floor, library, floor, library ... this many times */
    uint32_t samples;       /* echo round trips measured per round */
    uint32_t warmup;        /* echo round trips before measuring */
    uint32_t msg_size;      /* echo message size in bytes, 8-byte header included */
    uint64_t stream_msgs;   /* messages per streaming round (at least) */
    uint64_t stream_min_bytes; /* ... and at least this many bytes per round */
    double scaling_secs;    /* measuring time per scaling round */
    uint32_t scaling_max;   /* largest client count of the scaling rows (0: no scaling) */
    uint32_t idle_max;      /* largest connected count of the idle-scaling rows (0: none) */
    uint32_t fleet_threads; /* threads driving the all-active scaling rows' clients (1 or 2) */
    bool no_stream;
    bool spin_pause;        /* the spin discipline of this run: a pause in every spin (true)
                               or none; the runner measures both (copies of the options) */
    const char *dir;        /* scratch directory of the queue files (a fresh subdirectory) */
} bench_opts;

static inline int64_t bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int64_t bench_now_cb(void *unused)
{
    (void)unused;
    return bench_now();
}

static inline void bench_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* One turn of a spin that found nothing: a pause under the pause discipline,
 * nothing under the other. Every spin of every floor and library loop goes
 * through here, so both sides of a ratio spin the same way. */
static inline void bench_spin(const bench_opts *o)
{
    if (o->spin_pause)
        bench_relax();
}

/* pin.c: pins the calling thread (cpu < 0: leaves it), or starts a thread
 * pinned to cpu. 0, or -1 after printing why. */
int bench_pin_self(int cpu);
int bench_spawn(pthread_t *t, int cpu, void *(*fn)(void *), void *arg);

/* fsutil.c: mkdir -p of one level under an existing parent; rm -r. */
int bench_mkdir(const char *path);
void bench_rmtree(const char *path);

#endif
