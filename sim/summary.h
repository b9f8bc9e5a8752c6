/* A sweep's summary: what a run of tcpshm-sim over a seed range (or one
 * shard of it) gave, its settings, and its failing seeds. A sweep fills
 * one seed by seed; --merge fills one from the shards' JSON. Both print it
 * the same way (the JSON document or the text table). */
#ifndef TCPSHM_SIM_SUMMARY_H
#define TCPSHM_SIM_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plan.h"

/* One failing seed: a violation, or a determinism mismatch. */
typedef struct sim_failure {
    uint64_t seed;
    const char *kind; /* "safety", "liveness" or "nondeterministic" */
    char *violation;  /* what the checker says */
    uint64_t trace_hash;
    char *replay;     /* the command line that replays it */
} sim_failure;

/* The settings a seed's run depends on (with the seed and the build): two
 * shards can be merged only when these are equal. */
typedef struct sim_settings {
    char *program;   /* argv[0], for the replay commands */
    char *build;     /* the binary's hash (sim_build_id) */
    uint64_t seed_a, seed_b;
    uint64_t steps, time_limit; /* time_limit 0: none */
    char *faults, *transport, *durability;
    bool determinism, stop;
    uint64_t shard, shards; /* this summary covers seeds s with (s - seed_a) % shards == shard */
} sim_settings;

typedef struct sim_summary {
    sim_settings set;
    uint64_t done, failed, nondet, pushes, pops;
    bool has_first_fail; /* a seed violated an invariant; first_fail is the smallest */
    uint64_t first_fail;
    uint64_t fired[FP_KINDS];
    uint64_t sweep_hash; /* the sum of sim_mix_seed_hash over the seeds run */
    double cpu;
    sim_failure *fail;
    size_t nfail, capfail;
} sim_summary;

/* A seed's contribution to the sweep hash: order-independent (a sum), so
 * --jobs, shards and --merge give the hash of one sequential run. */
uint64_t sim_mix_seed_hash(uint64_t seed, uint64_t trace_hash);

/* The command that replays seed under these settings (no --trace). */
void sim_replay_command(const sim_settings *s, uint64_t seed, char *out, size_t n);

/* Appends a failure (copies the strings); exits on out of memory. */
void sim_summary_add_failure(sim_summary *m, uint64_t seed, const char *kind, const char *violation,
                             uint64_t trace_hash, const char *replay);

/* Orders the failures by seed (shards and --jobs report them as they come). */
void sim_summary_sort_failures(sim_summary *m);

/* The summary as one JSON document (a line) / as the text table. */
void sim_summary_json(FILE *out, const sim_summary *m);
void sim_summary_table(FILE *out, const sim_summary *m);

void sim_summary_free(sim_summary *m);

/* The number of seeds of [seed_a, seed_b] in shard k of n. */
uint64_t sim_shard_size(uint64_t seed_a, uint64_t seed_b, uint64_t k, uint64_t n);

#endif
