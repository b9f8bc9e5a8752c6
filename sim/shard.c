/* Which shard of a seed range this process runs: options, then the
 * environment of a Slurm array job or a Kubernetes Indexed Job. */
#include "shard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int parse_num(const char *s, const char *end_ok, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || (*end && (!end_ok || *end != *end_ok)))
        return -1;
    *out = v;
    return 0;
}

/* An index from the environment variable name (minus the one named by
 * min_name when that is set). 1: not set; 0: *k set; -1: malformed. */
static int env_index(const char *name, const char *min_name, uint64_t *k, char *why, size_t whylen)
{
    const char *v = getenv(name);
    if (!v)
        return 1;
    uint64_t min = 0;
    const char *m = min_name ? getenv(min_name) : NULL;
    if (parse_num(v, NULL, k) || (m && parse_num(m, NULL, &min)) || *k < min) {
        snprintf(why, whylen, "%s=%s%s%s is not a task index", name, v, m ? " with a minimum of " : "", m ? m : "");
        return -1;
    }
    *k -= min;
    return 0;
}

int sim_shard_resolve(const char *shard_arg, uint64_t shards_opt, uint64_t *k, uint64_t *n, char *why,
                      size_t whylen)
{
    *k = 0;
    *n = 1;
    if (shard_arg) {
        if (parse_num(shard_arg, "/", k)) {
            snprintf(why, whylen, "--shard needs K/N (0 <= K < N), not '%s'", shard_arg);
            return -1;
        }
        const char *slash = shard_arg;
        while (*slash != '/')
            slash++;
        if (parse_num(slash + 1, NULL, n) || *n == 0 || *k >= *n) {
            snprintf(why, whylen, "--shard needs K/N with 0 <= K < N (K is 0-based), not '%s'", shard_arg);
            return -1;
        }
        if (shards_opt && shards_opt != *n) {
            snprintf(why, whylen, "--shard %s and --shards %" PRIu64 " disagree", shard_arg, shards_opt);
            return -1;
        }
        return 0;
    }
    if (!shards_opt)
        return 0;
    *n = shards_opt;
    int got = env_index("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", k, why, whylen);
    if (got == 0) {
        const char *count = getenv("SLURM_ARRAY_TASK_COUNT");
        uint64_t c;
        if (count && (parse_num(count, NULL, &c) || c != shards_opt)) {
            snprintf(why, whylen, "--shards %" PRIu64 " but SLURM_ARRAY_TASK_COUNT=%s", shards_opt, count);
            return -1;
        }
    } else if (got == 1) {
        got = env_index("JOB_COMPLETION_INDEX", NULL, k, why, whylen);
        if (got == 1) {
            snprintf(why, whylen, "--shards %" PRIu64 " needs SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (or use "
                     "--shard K/N)", shards_opt);
            return -1;
        }
    }
    if (got < 0)
        return -1;
    if (*k >= *n) {
        snprintf(why, whylen, "shard index %" PRIu64 " from the environment is not below --shards %" PRIu64, *k, *n);
        return -1;
    }
    return 0;
}
