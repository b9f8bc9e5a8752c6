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

/* Over TCP, or over SHM (login with use_shm), the client and the server
 * thread both polling with loop (lib_tcp.h). */
#include "lib_tcp.h"
int echo_lib_run(const bench_opts *o, const char *dir, bool shm, const lib_loop *loop,
                 uint32_t size, int64_t *samples, uint32_t n, uint32_t warmup, uint64_t *allocs);

/* Diagnostic: the same echo through two tcpshm/shm_queue.h queues alone
 * (no connection layer, no TCP side), both sides spinning on front() (a pause per o's discipline). */
int echo_shmq_run(const bench_opts *o, uint32_t size, int64_t *samples, uint32_t n,
                  uint32_t warmup, uint64_t *allocs);

/* The echo of a server: push the echo, then pop (as tools/echo_server). */
#include "tcpshm/conn.h"
void echo_server_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m);

#endif
