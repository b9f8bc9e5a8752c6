/* tcpshm-bench --durability: the cost of durability "host" (durability.c). */
#ifndef TCPSHM_BENCH_DURABILITY_H
#define TCPSHM_BENCH_DURABILITY_H

#include <stdbool.h>
#include <stdio.h>

#include "bench.h"
#include "stats.h"

#define DUR_NBATCH 3

typedef struct durability_result {
    const char *fs; /* the file system type of the directory */
    lat_summary push_process, push_host, floor_msync, floor_fdatasync;
    double stream_process;                 /* msgs/s */
    uint32_t batch[DUR_NBATCH];            /* messages per push (1: none batched) */
    double stream_host[DUR_NBATCH];        /* msgs/s */
    /* the same over a TCP connection (durability_tcp.c) */
    lat_summary tcp_push_process, tcp_push_host;
    double tcp_stream_process;
    double tcp_stream_host[DUR_NBATCH];
} durability_result;

/* Measures in base (a fresh directory under --dir) with n samples per row
 * and prints the table (or JSON) to out. 0, or -1 after printing why. */
int durability_run(const bench_opts *o, const char *base, uint32_t n, bool json, FILE *out);
/* The TCP rows: a library client and server on loopback, their queue files
 * in base/tcp; r->batch set. 0, or -1 after printing why. */
int durability_tcp_run(const bench_opts *o, const char *base, uint32_t n, int64_t *samples,
                       durability_result *r);
void durability_report(FILE *out, const bench_opts *o, const durability_result *r, uint32_t n, bool json);

#endif
