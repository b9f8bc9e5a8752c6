#include <math.h>
#include <stdlib.h>

#include "stats.h"

const double stats_pcts[STATS_NPCT] = {0,  10,   25,   50,    75,    90,     95,
                                       99, 99.5, 99.9, 99.95, 99.99, 99.999, 100};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void stats_summarize(int64_t *samples, size_t n, lat_summary *out)
{
    out->count = n;
    if (n == 0) {
        for (int i = 0; i < STATS_NPCT; i++)
            out->ns[i] = 0;
        return;
    }
    qsort(samples, n, sizeof *samples, cmp_i64);
    for (int i = 0; i < STATS_NPCT; i++) {
        /* nearest rank: the smallest sample with at least p% at or below it */
        double rank = ceil(stats_pcts[i] / 100.0 * (double)n);
        size_t k = rank < 1 ? 0 : (size_t)rank - 1;
        if (k >= n)
            k = n - 1;
        out->ns[i] = (double)samples[k];
    }
}

double stats_median(double *xs, size_t n)
{
    qsort(xs, n, sizeof *xs, cmp_dbl);
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

void stats_median_summary(const lat_summary *rounds, size_t n, lat_summary *out)
{
    double xs[64];
    if (n > 64)
        n = 64;
    out->count = 0;
    for (size_t r = 0; r < n; r++)
        out->count += rounds[r].count;
    for (int i = 0; i < STATS_NPCT; i++) {
        for (size_t r = 0; r < n; r++)
            xs[r] = rounds[r].ns[i];
        out->ns[i] = n ? stats_median(xs, n) : 0;
    }
}
