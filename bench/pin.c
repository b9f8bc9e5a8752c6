/* CPU pinning: the only file that needs _GNU_SOURCE (pthread affinity). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static int pin(pthread_t t, int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    int rc = pthread_setaffinity_np(t, sizeof set, &set);
    if (rc != 0) {
        fprintf(stderr, "tcpshm-bench: cannot pin a thread to CPU %d: %s\n", cpu, strerror(rc));
        return -1;
    }
    return 0;
}

int bench_pin_self(int cpu) { return pin(pthread_self(), cpu); }

int bench_spawn(pthread_t *t, int cpu, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc != 0) {
        fprintf(stderr, "tcpshm-bench: pthread_create: %s\n", strerror(rc));
        return -1;
    }
    (void)pin(*t, cpu); /* main checked both CPUs at start; a failure here was said */
    return 0;
}
