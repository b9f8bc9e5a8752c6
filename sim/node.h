/* The nodes' lives: start, step, kill. Defined in node.c; used by
 * scheduler.c. */
#ifndef TCPSHM_SIM_NODE_H
#define TCPSHM_SIM_NODE_H

#include <stdbool.h>

#include "sim_state.h"

void node_start(sim *s, node *n);
void node_kill(sim *s, node *n, bool crashed);
void node_step(sim *s, node *n);
bool node_client_ready(sim *s, node *n); /* logged in, its queues fully acknowledged */

#endif
