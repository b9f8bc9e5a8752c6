/* Sharding a seed range over machines: shard k of n (0-based) runs the
 * seeds s of [a, b] with (s - a) mod n == k. */
#ifndef TCPSHM_SIM_SHARD_H
#define TCPSHM_SIM_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* Which shard this process runs. shard_arg: --shard's "K/N" or NULL;
 * shards_opt: --shards N, or 0. Precedence: --shard K/N; else, with
 * --shards N, the index from the environment: SLURM_ARRAY_TASK_ID minus
 * SLURM_ARRAY_TASK_MIN (a Slurm array job; SLURM_ARRAY_TASK_COUNT, when set,
 * must equal N), else JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); else
 * 0 of 1 (no sharding: the environment is read only with --shards). Returns
 * 0, or -1 with the reason in why. */
int sim_shard_resolve(const char *shard_arg, uint64_t shards_opt, uint64_t *k, uint64_t *n, char *why,
                      size_t whylen);

#endif
