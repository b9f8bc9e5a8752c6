/* Echo round trips through the library: the caller's thread (pinned to
 * cpu_a) sends a size-byte message carrying a sequence number and busy-polls
 * until the echo is back; the server side runs on cpu_b. n samples in ns
 * after warmup round trips; *allocs gets the allocation calls made in the
 * process while the n samples ran (steady state). 0, or -1 after printing
 * why. */
#ifndef TCPSHM_BENCH_ECHO_H
#define TCPSHM_BENCH_ECHO_H

#include <stdint.h>

#include "bench.h"

/* ctl_every: the server thread calls poll_ctl every this many rounds
 * (ECHO_CTL_EVERY: the README's recommended loop, the control plane out of
 * the data loop's way; 1 for the diagnostic row). */
#define ECHO_CTL_EVERY 64u
int echo_tcp_run(const bench_opts *o, const char *dir, uint32_t size, uint32_t ctl_every,
                 int64_t *samples, uint32_t n, uint32_t warmup, uint64_t *allocs);

/* Over SHM (login with use_shm): the server thread polls poll_ctl (every
 * ctl_every-th round) and poll_shm; the client poll_tcp (every ctl_every-th
 * round) and poll_shm. ECHO_CTL_EVERY is the README's loop. */
int echo_shm_run(const bench_opts *o, const char *dir, uint32_t size, uint32_t ctl_every,
                 int64_t *samples, uint32_t n, uint32_t warmup, uint64_t *allocs);

/* Diagnostic: the same echo through two tcpshm/shm_queue.h queues alone
 * (no connection layer, no TCP side), both sides spinning on front(). */
int echo_shmq_run(const bench_opts *o, uint32_t size, int64_t *samples, uint32_t n,
                  uint32_t warmup, uint64_t *allocs);

/* The echo of a server: push the echo, then pop (as tools/echo_server). */
#include "tcpshm/conn.h"
void echo_server_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m);

#endif
