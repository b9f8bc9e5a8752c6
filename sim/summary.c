/* A sweep's summary: failures, the JSON document and the text table. */
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "shape_switch.h"

uint64_t sim_mix_seed_hash(uint64_t seed, uint64_t h)
{
    uint64_t z = h ^ (seed * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sim_replay_command(const sim_settings *s, uint64_t seed, char *out, size_t n)
{
    char tl[40] = "";
    if (s->time_limit)
        snprintf(tl, sizeof tl, " --time %" PRIu64, s->time_limit);
    bool tx = strcmp(s->transport, "swarm") != 0, dur = strcmp(s->durability, "swarm") != 0;
    /* the environment switches that shape a seed (scheduler.c) are part of the run */
    char env[96] = "";
    for (int w = 0; w < SIM_SW_COUNT; w++) {
        const char *v = sim_switch_value((sim_switch)w);
        if (v) {
            size_t len = strlen(env);
            snprintf(env + len, sizeof env - len, "%s=%s ", sim_switch_name((sim_switch)w), v);
        }
    }
    snprintf(out, n, "%s%s --seed %" PRIu64 " --steps %" PRIu64 "%s --faults %s%s%s%s%s", env, s->program, seed,
             s->steps, tl, s->faults, tx ? " --transport " : "", tx ? s->transport : "", dur ? " --durability " : "",
             dur ? s->durability : "");
}

static char *dup_or_die(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        perror("tcpshm-sim");
        exit(2);
    }
    return d;
}

void sim_summary_add_failure(sim_summary *m, uint64_t seed, const char *kind, const char *violation,
                             uint64_t trace_hash, const char *replay)
{
    if (m->nfail == m->capfail) {
        size_t cap = m->capfail ? 2 * m->capfail : 16;
        sim_failure *f = realloc(m->fail, cap * sizeof *f);
        if (!f) {
            perror("tcpshm-sim");
            exit(2);
        }
        m->fail = f;
        m->capfail = cap;
    }
    const char *kinds[] = {"safety", "liveness", "nondeterministic"};
    const char *k = kinds[0];
    for (int i = 0; i < 3; i++)
        if (strcmp(kind, kinds[i]) == 0)
            k = kinds[i];
    m->fail[m->nfail++] = (sim_failure){.seed = seed, .kind = k, .violation = dup_or_die(violation),
                                        .trace_hash = trace_hash, .replay = dup_or_die(replay)};
}

static int by_seed(const void *a, const void *b)
{
    const sim_failure *x = a, *y = b;
    if (x->seed != y->seed)
        return x->seed < y->seed ? -1 : 1;
    return strcmp(x->kind, y->kind);
}

void sim_summary_sort_failures(sim_summary *m)
{
    if (m->nfail)
        qsort(m->fail, m->nfail, sizeof *m->fail, by_seed);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void sim_summary_json(FILE *out, const sim_summary *m)
{
    const sim_settings *s = &m->set;
    fprintf(out, "{\"seeds\": %" PRIu64 ", \"first_seed\": %" PRIu64 ", \"last_seed\": %" PRIu64 ", \"violations\": %" PRIu64
            ", \"first_violation\": ",
            m->done, s->seed_a, s->seed_b, m->failed);
    if (m->has_first_fail)
        fprintf(out, "%" PRIu64, m->first_fail);
    else
        fputs("null", out);
    fprintf(out, ", \"nondeterministic\": %" PRIu64 ", \"pushed\": %" PRIu64 ", \"popped\": %" PRIu64
            ", \"cpu_seconds\": %.3f, \"hash\": \"%016" PRIx64 "\", \"faults\": {",
            m->nondet, m->pushes, m->pops, m->cpu, m->sweep_hash);
    for (int k = 0; k < FP_KINDS; k++)
        fprintf(out, "%s\"%s\": %" PRIu64, k ? ", " : "", fp_kind_names[k], m->fired[k]);
    fprintf(out, "}, \"options\": {\"steps\": %" PRIu64 ", \"time\": ", s->steps);
    if (s->time_limit)
        fprintf(out, "%" PRIu64, s->time_limit);
    else
        fputs("null", out);
    fputs(", \"faults\": ", out);
    json_str(out, s->faults);
    fputs(", \"transport\": ", out);
    json_str(out, s->transport);
    fputs(", \"durability\": ", out);
    json_str(out, s->durability);
    fprintf(out, ", \"check_determinism\": %s, \"stop\": %s}, \"program\": ", s->determinism ? "true" : "false",
            s->stop ? "true" : "false");
    json_str(out, s->program);
    fputs(", \"build\": ", out);
    json_str(out, s->build);
    if (s->shards > 1)
        fprintf(out, ", \"shard\": {\"index\": %" PRIu64 ", \"count\": %" PRIu64 "}", s->shard, s->shards);
    else
        fputs(", \"shard\": null", out);
    fputs(", \"failures\": [", out);
    for (size_t i = 0; i < m->nfail; i++) {
        const sim_failure *f = &m->fail[i];
        fprintf(out, "%s{\"seed\": %" PRIu64 ", \"kind\": \"%s\", \"violation\": ", i ? ", " : "", f->seed, f->kind);
        json_str(out, f->violation);
        fprintf(out, ", \"trace_hash\": \"%016" PRIx64 "\", \"replay\": ", f->trace_hash);
        json_str(out, f->replay);
        fputc('}', out);
    }
    fputs("]}\n", out);
}

void sim_summary_table(FILE *out, const sim_summary *m)
{
    const sim_settings *s = &m->set;
    fprintf(out, "\n%-22s\n", "seeds");
    fprintf(out, "  %-20s %" PRIu64 " (%" PRIu64 "-%" PRIu64 ")\n", "run", m->done, s->seed_a, s->seed_b);
    if (s->shards > 1)
        fprintf(out, "  %-20s %" PRIu64 "/%" PRIu64 " (seeds s with (s - %" PRIu64 ") %% %" PRIu64 " = %" PRIu64 ")\n",
                "shard", s->shard, s->shards, s->seed_a, s->shards, s->shard);
    fprintf(out, "  %-20s %" PRIu64 "%s\n", "violations", m->failed, m->failed ? "  <-- FAIL" : "");
    if (m->has_first_fail)
        fprintf(out, "  %-20s %" PRIu64 "\n", "first failing seed", m->first_fail);
    if (s->determinism)
        fprintf(out, "  %-20s %" PRIu64 "\n", "nondeterministic", m->nondet);
    fprintf(out, "  %-20s %016" PRIx64 "\n", "sweep hash", m->sweep_hash);
    fprintf(out, "%-22s\n", "messages");
    fprintf(out, "  %-20s %" PRIu64 "\n  %-20s %" PRIu64 "\n", "pushed", m->pushes, "popped", m->pops);
    fprintf(out, "%-22s\n", "faults fired");
    for (int k = 0; k < FP_KINDS; k++)
        fprintf(out, "  %-20s %" PRIu64 "\n", fp_kind_names[k], m->fired[k]);
    double runs = (double)m->done * (s->determinism ? 2 : 1);
    fprintf(out, "%-22s\n", "speed");
    fprintf(out, "  %-20s %.2f\n", "cpu seconds", m->cpu);
    fprintf(out, "  %-20s %.1f\n", "seeds / cpu-s", m->cpu > 0 ? runs / m->cpu : 0.0);
    fprintf(out, "  %-20s %.0f\n", "msgs / cpu-s", m->cpu > 0 ? (double)m->pops * (s->determinism ? 2 : 1) / m->cpu : 0.0);
}

void sim_summary_free(sim_summary *m)
{
    for (size_t i = 0; i < m->nfail; i++) {
        free(m->fail[i].violation);
        free(m->fail[i].replay);
    }
    free(m->fail);
    free(m->set.program);
    free(m->set.build);
    free(m->set.faults);
    free(m->set.transport);
    free(m->set.durability);
    memset(m, 0, sizeof *m);
}

uint64_t sim_shard_size(uint64_t seed_a, uint64_t seed_b, uint64_t k, uint64_t n)
{
    uint64_t span = seed_b - seed_a; /* seeds a .. b: span + 1 of them */
    if (k > span)
        return 0;
    return (span - k) / n + 1;
}
