/* Where and when a run was taken: date, CPU model, load average (the
 * machine is shared: every number is read next to the load), and the
 * build's version, commit and type (compile definitions from CMake). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "results.h"

#ifndef TCPSHM_BENCH_VERSION
#define TCPSHM_BENCH_VERSION "unknown"
#endif
#ifndef TCPSHM_BENCH_COMMIT
#define TCPSHM_BENCH_COMMIT "unknown"
#endif
#ifndef TCPSHM_BENCH_BUILD_TYPE
#define TCPSHM_BENCH_BUILD_TYPE "unknown"
#endif

const char *context_version(void) { return TCPSHM_BENCH_VERSION; }
const char *context_commit(void) { return TCPSHM_BENCH_COMMIT[0] ? TCPSHM_BENCH_COMMIT : "unknown"; }
const char *context_build_type(void)
{
    return TCPSHM_BENCH_BUILD_TYPE[0] ? TCPSHM_BENCH_BUILD_TYPE : "unknown";
}

/* The 1-minute load average from /proc/loadavg; -1 when unreadable. */
double context_load1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

void context_fill(run_context *c)
{
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(c->date, sizeof c->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(c->date, sizeof c->date, "unknown");
    snprintf(c->cpu_model, sizeof c->cpu_model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (strncmp(line, "model name", 10) != 0 || !colon)
                continue;
            colon += 1 + (colon[1] == ' ');
            colon[strcspn(colon, "\n")] = 0;
            snprintf(c->cpu_model, sizeof c->cpu_model, "%s", colon);
            break;
        }
        fclose(f);
    }
    c->load1_start = context_load1();
}
