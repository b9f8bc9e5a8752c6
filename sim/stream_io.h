/* A push and a pop the checker follows: the one place where a node's push
 * or pop is reported to the checker (begin, the call, done), marked as in
 * flight for a crash (node.c resolves it from the file) and traced. Used by
 * the world's wrappers (world.c), which pass the core's function to call
 * (the application reaches the core's through the link-time wrappers of
 * world_wrap.c). Defined in stream_io.c. */
#ifndef TCPSHM_SIM_STREAM_IO_H
#define TCPSHM_SIM_STREAM_IO_H

#include "sim_state.h"

typedef int (*sio_push_fn)(tcpshm_conn *c);
typedef void (*sio_pop_fn)(tcpshm_conn *c);

/* Pushes the message allocated on c (described by m: m->seq must be the
 * queue's seq_end) on stream sid with push (batched: push_more). Returns
 * push's result; a failure is a violation unless host durability took the
 * push back (its sync failed: seq_end did not move). A batched push in host
 * durability returned before its sync: a power loss may take it back, with
 * the rest of its batch, until a push returns (or the peer pops it: the
 * core syncs before it sends). */
int sio_push(sim *s, node *n, tcpshm_conn *c, int sid, const wl_msg *m, sio_push_fn push, bool batched);
/* Pops the front message of c (seq, size: for the trace) with pop; my_ack
 * must move by one. */
void sio_pop(sim *s, node *n, tcpshm_conn *c, int sid, uint32_t seq, uint32_t size, sio_pop_fn pop);

#endif
