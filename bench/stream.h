/* One-way streaming throughput through the library: the caller's thread
 * (cpu_a) pushes msgs messages of size bytes (after a tenth as many to warm
 * up), the receiver (cpu_b) pops them; timed at the receiver from the first
 * measured message to the last. *allocs: allocation calls in the process
 * while the measured messages flowed. 0, or -1 after printing why. */
#ifndef TCPSHM_BENCH_STREAM_H
#define TCPSHM_BENCH_STREAM_H

#include <stdint.h>

#include "bench.h"
#include "lib_tcp.h"

/* Both poll with loop (lib_tcp.h): the server thread's loop, and the
 * client's loop rounds in between pushes.
 * TCP: push_more until STREAM_TCP_BATCH bytes are queued (or the queue is
 * full), then one round of the client's loop (poll_tcp) sends the batch. */
#define STREAM_TCP_BATCH 65536u
/* The one-way stream's acks come back in the receiver's heartbeats. */
#define STREAM_TCP_HEARTBEAT_NS 100000

int stream_tcp_run(const bench_opts *o, const char *dir, const lib_loop *loop, uint32_t size,
                   uint64_t msgs, double *msgs_per_s, uint64_t *allocs);
int stream_shm_run(const bench_opts *o, const char *dir, const lib_loop *loop, uint32_t size,
                   uint64_t msgs, double *msgs_per_s, uint64_t *allocs);

/* Messages per streaming round: o->stream_msgs, or more when they are
 * small so that a round moves at least o->stream_min_bytes (socket buffers
 * of a few MiB must not flatter a short round). */
uint64_t stream_msgs_for(const bench_opts *o, uint32_t size);

/* SHM: one push per message from the caller's thread (which runs a round
 * of the client's loop whenever alloc fails: the queue is full); the server
 * thread pops in on_msg. Bytes per direction of the SHM queue (and of the
 * ring floors): */
#define STREAM_SHM_QUEUE 1048576u

#endif
