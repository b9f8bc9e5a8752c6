/* The misuse fault kind: now and then the application calls the core's API
 * the wrong way: a login while one is under way or done, a shared-memory
 * login with durability host, a push with nothing allocated, a message too
 * large for max_msg_size, a push of type 0 (the heartbeat's), a second
 * server start. Defined in fault_misuse.c; called by node.c at the start
 * of a node's step. */
#ifndef TCPSHM_SIM_FAULT_MISUSE_H
#define TCPSHM_SIM_FAULT_MISUSE_H

#include "sim_state.h"

/* With the misuse kind's rate: one wrong call by n's application, drawn
 * from the kind's stream. The rule (sim/README.md, "API misuse"): the call
 * fails with the documented code (TCPSHM_E_ARG, or NULL from alloc), with
 * a message that says why when it has one, and changes nothing: the
 * client's state, the connection's seq range and ack stay as they were. */
void fault_misuse(sim *s, node *n);

#endif
