/* The floor of the all-active scaling rows: the same load with no library.
 * n loopback TCP socket pairs (TCP_NODELAY, non-blocking), one 16-byte
 * message in flight per pair. A server thread on cpu_b: epoll_wait (timeout
 * 0) over its n sockets, then recv and send back what came, per ready
 * socket. The client side split and pinned as the library row's fleet
 * (o->fleet_threads threads: the first on cpu_a, the second on cpu_b), each
 * over an epoll set of its sockets: recv, count, send the next; the one on
 * cpu_b sleeps in epoll_wait (up to 1 ms), as in the library row.
 * echoes_per_s[r] for each of `rounds` rounds of o->scaling_secs after a
 * warm-up of a quarter of that. 0, or -1 after printing why. */
#ifndef TCPSHM_BENCH_FLEET_FLOOR_H
#define TCPSHM_BENCH_FLEET_FLOOR_H

#include <stdint.h>

#include "bench.h"

int fleet_floor_run(const bench_opts *o, uint32_t n, uint32_t rounds, double *echoes_per_s);

#endif
