/* A user's world (tcpshm/sim.h) in the simulator's run: the hooks the
 * scheduler and the nodes call instead of the built-in application's when
 * sim_params.world is set, and the checked push and pop the link-time
 * wrappers (world_wrap.c) call. Defined in world.c. */
#ifndef TCPSHM_SIM_WORLD_H
#define TCPSHM_SIM_WORLD_H

#include <stdbool.h>

#include "sim_state.h"
#include "stream_io.h"
#include "tcpshm/sim.h"

/* The fault kinds a user's world runs: those that need no knowledge of the
 * application. A clock step moves the `now` the node's core and the
 * user's code get alike. The liar's connections are the wrappers'
 * (world.c), never the user's callbacks'. */
#define WORLD_KINDS                                                                                             \
    ((1u << FP_DISCONNECT) | (1u << FP_KILL) | (1u << FP_CRASH) | (1u << FP_SHORT_WRITE) |                       \
     (1u << FP_SHORT_READ) | (1u << FP_IO_ERROR) | (1u << FP_EAGAIN) | (1u << FP_PARTITION) | (1u << FP_FILE) |  \
     (1u << FP_STALL) | (1u << FP_MISCONFIG) | (1u << FP_TWIN) | (1u << FP_MISUSE) | (1u << FP_IMPOSTOR) |     \
     (1u << FP_POWER) | (1u << FP_CLOCK) | (1u << FP_LIAR))
/* With the user's pair_reset hook (resets: world_reset.h), also the kinds
 * whose detected losses end a pair, which the operator then resets:
 * rollback, power loss in process durability, and damage (a pair file
 * refused at its reopen). */
#define WORLD_RESET_KINDS ((1u << FP_ROLLBACK) | (1u << FP_POWER) | (1u << FP_DAMAGE))
/* With a node that lists identities (tcpshm_sim_node.identities), also
 * the kinds that change a node's name: rename and return. */
#define WORLD_NAME_KINDS ((1u << FP_RENAME) | (1u << FP_RETURN))
/* Of those, the ones a seed of durability dur runs: without resets, power
 * loss only in host durability, whose rule (nothing whose push or pop
 * returned is lost) ends no pair. */
#define WORLD_KINDS_OF(dur, resets, names)                                                                       \
    (((resets) ? WORLD_KINDS | WORLD_RESET_KINDS                                                                 \
               : WORLD_KINDS & ((dur) == SIM_DUR_HOST ? ~0u : ~(1u << FP_POWER))) |                             \
     ((names) ? WORLD_NAME_KINDS : 0u))

/* The run begins (s is the run the public accessors see) / ends. */
void world_begin(sim *s);
void world_end(sim *s);
/* After the seed's shape: the user's config (the seed's SHM settings kept
 * for SHM runs), the user's number of clients, no wrap run. */
void world_shape(sim *s);
/* Node n's name and directory from the world: its identity n->cur. */
void world_name(sim *s, node *n);
/* Identity k of node n (0: its first name and dir), and how many it has;
 * whether any node of the world lists more than one. */
tcpshm_sim_identity world_identity(const sim *s, const node *n, uint32_t k);
uint32_t world_names(const sim *s, const node *n);
bool world_lists_identities(const tcpshm_sim_world *w);
/* The callbacks the core gets for node n's process that starts: wrappers
 * of the user's (the node's, or its process hook's choice), NULL where
 * the user's optional callback or on_msg is NULL. */
void world_server_callbacks(sim *s, node *n, tcpshm_server_callbacks *cb);
void world_client_callbacks(sim *s, node *n, tcpshm_client_callbacks *cb);
/* Whether the server's process sets on_client_file_error (file_errors) or
 * on_system_error: the liar expects reports only then. */
bool world_server_reports(bool file_errors);
/* After client n's polls of a step (node.c; before and logins as in
 * quiet_client.h): the ends its NULL optional callbacks did not hear. */
void world_client_after_poll(sim *s, node *n, tcpshm_client_state before, uint32_t logins);
/* The user data of client n's next login (its login_user_data hook). */
const uint8_t *world_login_user_data(sim *s, node *n);
/* Node n's process started (its start hook) / died (its connections gone). */
void world_started(sim *s, node *n);
void world_died(sim *s, node *n);
/* The user's step of node n (after its polls, inside its node step). */
void world_step(sim *s, node *n);
/* The user's invariant after a world step, or at the end (final). */
void world_check(sim *s, bool final);

/* The wrappers: the run in progress (NULL: none, pass through), and a
 * push of the message h allocated on c, and a pop of c's front, checked. */
sim *world_running(void);
/* The wrappers' own (world_wrap.c), weak: a program linked without them
 * has none (tcpshm_sim_main then refuses to run).
 * Whether the application holds an allocation on c not pushed yet. A
 * misuse "push with nothing allocated" would push it. */
bool world_wrap_holds(const tcpshm_conn *c) __attribute__((weak));
/* Marks the allocation the calling process holds on c: its push is a
 * request or an answer (kind WL_REQUEST / WL_ECHO, answers the request's
 * seq). false: no allocation of this process on c. */
bool world_wrap_mark(const tcpshm_conn *c, uint32_t kind, uint32_t answers) __attribute__((weak));
/* Forgets every allocation (a run begins: connections of an earlier run
 * may have the addresses of this one's: seed 104 --faults all
 * --check-determinism). */
void world_wrap_forget(void) __attribute__((weak));
/* kind, answers: the user's mark of the message (0: none). */
int world_push(sim *s, tcpshm_conn *c, tcpshm_msg_header *h, uint32_t kind, uint32_t answers, sio_push_fn push,
               bool batched);
void world_pop(sim *s, tcpshm_conn *c, sio_pop_fn pop);

#endif
