/* --merge: the shards' JSON summaries read back and added up. The sweep
 * hash is a sum over seeds (sim_mix_seed_hash), so the sum of the shards'
 * hashes is the hash of one run over the whole range. */
#include "merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"
#include "summary.h"

static char *read_all(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static const char *str_of(const json_value *v) { return v && v->type == JSON_STRING ? v->text : NULL; }

/* One shard's document into m; NULL, or what is missing or malformed. */
static const char *load(const json_value *d, sim_summary *m)
{
    const json_value *o = json_get(d, "options"), *fired = json_get(d, "faults"), *sh = json_get(d, "shard");
    const json_value *fv = json_get(d, "first_violation"), *tl = json_get(o, "time");
    const json_value *det = json_get(o, "check_determinism"), *stop = json_get(o, "stop");
    const json_value *cpu = json_get(d, "cpu_seconds"), *fails = json_get(d, "failures");
    const char *hash = str_of(json_get(d, "hash"));
    if (!d || d->type != JSON_OBJECT)
        return "not a JSON object";
    if (json_u64(json_get(d, "seeds"), &m->done) || json_u64(json_get(d, "first_seed"), &m->set.seed_a) ||
        json_u64(json_get(d, "last_seed"), &m->set.seed_b) || json_u64(json_get(d, "violations"), &m->failed) ||
        json_u64(json_get(d, "nondeterministic"), &m->nondet) || json_u64(json_get(d, "pushed"), &m->pushes) ||
        json_u64(json_get(d, "popped"), &m->pops))
        return "a count is missing (seeds, first_seed, last_seed, violations, nondeterministic, pushed, popped)";
    if (!fv || (fv->type != JSON_NULL && json_u64(fv, &m->first_fail)))
        return "first_violation is missing";
    m->has_first_fail = fv->type != JSON_NULL;
    if (!hash || strlen(hash) != 16 || sscanf(hash, "%" SCNx64, &m->sweep_hash) != 1)
        return "hash is missing";
    if (!cpu || cpu->type != JSON_NUMBER)
        return "cpu_seconds is missing";
    m->cpu = strtod(cpu->text, NULL);
    for (int k = 0; k < FP_KINDS; k++)
        if (json_u64(json_get(fired, fp_kind_names[k]), &m->fired[k]))
            return "faults does not count every fault kind (another version of tcpshm-sim?)";
    if (json_u64(json_get(o, "steps"), &m->set.steps) || !tl || (tl->type != JSON_NULL && json_u64(tl, &m->set.time_limit)) ||
        !str_of(json_get(o, "faults")) || !str_of(json_get(o, "transport")) || !str_of(json_get(o, "durability")) || !det || det->type != JSON_BOOL ||
        !stop || stop->type != JSON_BOOL)
        return "options is incomplete (steps, time, faults, transport, durability, check_determinism, stop)";
    m->set.determinism = det->boolean;
    m->set.stop = stop->boolean;
    if (!str_of(json_get(d, "program")) || !str_of(json_get(d, "build")))
        return "program or build is missing";
    m->set.faults = strdup(str_of(json_get(o, "faults")));
    m->set.transport = strdup(str_of(json_get(o, "transport")));
    m->set.durability = strdup(str_of(json_get(o, "durability")));
    m->set.program = strdup(str_of(json_get(d, "program")));
    m->set.build = strdup(str_of(json_get(d, "build")));
    if (!m->set.faults || !m->set.transport || !m->set.durability || !m->set.program || !m->set.build)
        return "out of memory";
    m->set.shard = 0;
    m->set.shards = 1;
    if (!sh || (sh->type != JSON_NULL && (json_u64(json_get(sh, "index"), &m->set.shard) ||
                                          json_u64(json_get(sh, "count"), &m->set.shards) ||
                                          m->set.shards == 0 || m->set.shard >= m->set.shards)))
        return "shard is missing or malformed";
    if (!fails || fails->type != JSON_ARRAY)
        return "failures is missing";
    for (size_t i = 0; i < fails->n; i++) {
        const json_value *f = fails->items[i];
        uint64_t seed, th;
        const char *kind = str_of(json_get(f, "kind")), *what = str_of(json_get(f, "violation"));
        const char *h = str_of(json_get(f, "trace_hash")), *replay = str_of(json_get(f, "replay"));
        if (json_u64(json_get(f, "seed"), &seed) || !kind || !what || !h || !replay ||
            sscanf(h, "%" SCNx64, &th) != 1)
            return "a failure lacks seed, kind, violation, trace_hash or replay";
        sim_summary_add_failure(m, seed, kind, what, th, replay);
    }
    return NULL;
}

/* Why b cannot join a (NULL: it can). */
static const char *mismatch(const sim_summary *a, const sim_summary *b)
{
    const sim_settings *x = &a->set, *y = &b->set;
    if (x->seed_a != y->seed_a || x->seed_b != y->seed_b)
        return "another seed range";
    if (x->steps != y->steps || x->time_limit != y->time_limit || strcmp(x->faults, y->faults) ||
        strcmp(x->transport, y->transport) || strcmp(x->durability, y->durability) || x->determinism != y->determinism || x->stop != y->stop)
        return "other options (steps, time, faults, transport, durability, check-determinism or stop)";
    if (strcmp(x->build, y->build))
        return "another build (build differs: run the same binary on every host)";
    if (x->shards != y->shards)
        return "another shard count";
    return NULL;
}

int sim_merge(const char *prog, char *const *files, int nfiles, bool json)
{
    sim_summary total = {0}, one;
    uint8_t *seen = NULL;
    int rc = 2;
    for (int i = 0; i < nfiles; i++) {
        char why[200];
        char *text = read_all(files[i]);
        if (!text) {
            fprintf(stderr, "%s: --merge: cannot read %s\n", prog, files[i]);
            goto out;
        }
        json_value *d = json_parse(text, why, sizeof why);
        free(text);
        if (!d) {
            fprintf(stderr, "%s: --merge: %s is not JSON: %s\n", prog, files[i], why);
            goto out;
        }
        memset(&one, 0, sizeof one);
        const char *bad = load(d, &one);
        json_free(d);
        if (bad) {
            fprintf(stderr, "%s: --merge: %s is not a tcpshm-sim --json summary: %s\n", prog, files[i], bad);
            sim_summary_free(&one);
            goto out;
        }
        uint64_t idx = one.set.shard;
        if (i == 0) {
            total.set = one.set;
            memset(&one.set, 0, sizeof one.set);
            if (!(seen = calloc(total.set.shards, 1))) {
                fprintf(stderr, "%s: --merge: %" PRIu64 " shards: out of memory\n", prog, total.set.shards);
                sim_summary_free(&one);
                goto out;
            }
        } else if ((bad = mismatch(&total, &one))) {
            fprintf(stderr, "%s: --merge: %s is not a shard of the same campaign as %s: %s\n", prog, files[i],
                    files[0], bad);
            sim_summary_free(&one);
            goto out;
        }
        if (seen[idx]) {
            fprintf(stderr, "%s: --merge: %s is shard %" PRIu64 "/%" PRIu64 " again (shards overlap)\n", prog,
                    files[i], idx, total.set.shards);
            sim_summary_free(&one);
            goto out;
        }
        seen[idx] = 1;
        total.done += one.done;
        total.failed += one.failed;
        total.nondet += one.nondet;
        total.pushes += one.pushes;
        total.pops += one.pops;
        total.cpu += one.cpu;
        total.sweep_hash += one.sweep_hash;
        for (int k = 0; k < FP_KINDS; k++)
            total.fired[k] += one.fired[k];
        if (one.has_first_fail && (!total.has_first_fail || one.first_fail < total.first_fail)) {
            total.has_first_fail = true;
            total.first_fail = one.first_fail;
        }
        for (size_t f = 0; f < one.nfail; f++)
            sim_summary_add_failure(&total, one.fail[f].seed, one.fail[f].kind, one.fail[f].violation,
                                    one.fail[f].trace_hash, one.fail[f].replay);
        sim_summary_free(&one);
    }
    if (nfiles == 0) {
        fprintf(stderr, "%s: --merge needs the shards' JSON files\n", prog);
        goto out;
    }
    char missing[200] = "";
    size_t nmissing = 0;
    for (uint64_t k = 0; k < total.set.shards; k++)
        if (!seen[k] && nmissing++ < 10) {
            size_t len = strlen(missing);
            snprintf(missing + len, sizeof missing - len, "%s%" PRIu64, len ? ", " : "", k);
        }
    if (nmissing) {
        fprintf(stderr, "%s: --merge: %zu of %" PRIu64 " shards missing (%s%s): the merged summary would not be the "
                "whole range's\n", prog, nmissing, total.set.shards, missing, nmissing > 10 ? ", ..." : "");
        goto out;
    }
    total.set.shard = 0;
    total.set.shards = 1;
    sim_summary_sort_failures(&total);
    if (json)
        sim_summary_json(stdout, &total);
    else
        sim_summary_table(stdout, &total);
    rc = total.failed || total.nondet ? 1 : 0;
out:
    free(seen);
    sim_summary_free(&total);
    return rc;
}
