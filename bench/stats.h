/* Latency percentiles of one round, and medians across rounds. */
#ifndef TCPSHM_BENCH_STATS_H
#define TCPSHM_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* The percentile points every latency summary holds (and the SVG draws). */
#define STATS_NPCT 14
extern const double stats_pcts[STATS_NPCT];
enum { STATS_MIN = 0, STATS_P50 = 4, STATS_P90 = 6, STATS_P99 = 8, STATS_P999 = 10, STATS_MAX = 13 };

typedef struct lat_summary {
    double ns[STATS_NPCT]; /* latency at each of stats_pcts, nanoseconds */
    uint64_t count;
} lat_summary;

/* Sorts samples in place and fills out (nearest-rank percentiles). */
void stats_summarize(int64_t *samples, size_t n, lat_summary *out);

/* The median of xs (n >= 1; reorders xs). */
double stats_median(double *xs, size_t n);

/* Point by point, the median across n rounds. */
void stats_median_summary(const lat_summary *rounds, size_t n, lat_summary *out);

#endif
