/* The physical floors, measured between the same two pinned threads as the
 * library: what the hardware and the kernel allow with no library at all. */
#ifndef TCPSHM_BENCH_FLOORS_H
#define TCPSHM_BENCH_FLOORS_H

#include <stdint.h>

#include "bench.h"

/* Echo round trips of size-byte messages (size <= 64): thread A writes the
 * message into one cache line (sequence word last, release), thread B spins
 * on it and copies it into a second line, A spins on that. n samples in ns
 * after warmup round trips. 0 or -1. */
int floor_cacheline_echo(const bench_opts *o, uint32_t size, int64_t *samples, uint32_t n,
                         uint32_t warmup);

/* The same over a loopback TCP connection: non-blocking sockets, TCP_NODELAY,
 * both sides busy-polling recv (a pause after EAGAIN per o's discipline). */
int floor_tcp_echo(const bench_opts *o, uint32_t size, int64_t *samples, uint32_t n,
                   uint32_t warmup);

/* One thread copying msgs messages of size bytes into a ring of ring_cap
 * bytes, wrapping like the SHM queue: a reference (memory bandwidth alone,
 * no second core). */
int floor_ring_memcpy(const bench_opts *o, uint32_t size, uint64_t msgs, uint32_t ring_cap,
                      double *msgs_per_s);

/* The same messages through a plain ring between the two pinned threads:
 * the producer (caller, cpu_a) writes each message and publishes its count,
 * the consumer (cpu_b) reads each one's sequence number (as the library's
 * receiver does) and publishes its count; timed at
 * the consumer from message msgs/10 to the last (like the library's
 * stream). The two-thread streaming floor of SHM; spins per o's discipline. */
int floor_ring_2thread(const bench_opts *o, uint32_t size, uint64_t msgs, uint32_t ring_cap,
                       double *msgs_per_s);

/* A one-way byte stream of msgs * size bytes over loopback TCP in 64 KiB
 * sends, timed at the receiver: the streaming floor of TCP. */
int floor_tcp_stream(const bench_opts *o, uint32_t size, uint64_t msgs, double *msgs_per_s);

/* A connected loopback TCP pair, both ends non-blocking with TCP_NODELAY. */
int floor_tcp_pair(int *a, int *b);

#endif
