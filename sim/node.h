/* The nodes' lives: start, step, kill. Defined in node.c; used by
 * scheduler.c. */
#ifndef TCPSHM_SIM_NODE_H
#define TCPSHM_SIM_NODE_H

#include <stdbool.h>

#include "sim_state.h"
#include "tcpshm/ptcp_queue.h"

/* The budget env's hook: a hang violation, then back to the node step. */
void node_hang(void *sim_, const char *call);
void node_start(sim *s, node *n);
void node_kill(sim *s, node *n, bool crashed);
/* The same by an operator (world_reset.c): the node keeps its name (no
 * rename or return draw), to start again under it. */
void node_stop(sim *s, node *n);
/* A dead node restarts under its next name (old streams closed); false
 * when it is alive or has no name left. */
bool node_rename(sim *s, node *n);
/* The persisted state of the queue file <dir>/<local>_<remote>.ptcp as a
 * restarted process would open it (faults off, its own owner): false with
 * why when it does not open. */
bool node_peek_queue(sim *s, const char *dir, const char *local, const char *remote, uint32_t *seq_start,
                     uint32_t *seq_end, uint32_t *my_ack, char *why, size_t why_size);
/* The same open, with fn given the open queue (then closed): false with why
 * when it does not open (fn not called). */
bool node_look_queue(sim *s, const char *dir, const char *local, const char *remote,
                     void (*fn)(void *user, const tcpshm_ptcp_queue *q), void *user, char *why, size_t why_size);
void node_step(sim *s, node *n);
/* The `now` node n gives the core: the run's virtual time as its host's
 * clock reads it (the clock kind steps that clock back or forward). */
int64_t node_now(const sim *s, const node *n);
/* The user data of a login the simulator makes in client n's name outside
 * its login step (misuse's calls, a twin): a login of the application's
 * name carries the application's data, so in a world the user's (its server
 * may check what comes); tcpshm-sim's application sends none there (its
 * server takes zeros as none). */
const uint8_t *node_side_login_data(sim *s, node *n);
bool node_client_ready(sim *s, node *n); /* logged in, its queues fully acknowledged */
/* The connects a cut-off client made (held by venv) go through once the
 * network is back (s->held_until) or the faults stop. */
void node_release_connects(sim *s);
#ifdef TCPSHM_SIM_HANG_TEST
/* hang_inject.c (the test variant only): makes a chosen step spin. */
void sim_test_hang(sim *s, node *n);
#endif

#endif
