/* The `rollback` fault kind: storage that goes back in time. Between steps
 * the simulator takes snapshots (copies of the bytes, through venv's direct
 * file access) of a node's persisted files, and, while a node is dead,
 * restores an older copy of all of its directory, or of its .lastserver
 * record, or wipes its directory (a replaced disk); in a world whose
 * application copes with the core's files going back alone
 * (core_files_alone), also one of its queue files, or one SHM segment of
 * its pairs (/dev/shm: the other side is stopped too).
 *
 * The checker's side (sim/README.md, "Storage that goes back in time"):
 * the streams of the pair are rewound to the snapshot (the dead node's pops
 * after it may be replayed, exactly; its pushes after it are retracted),
 * and the pair is "pending" until its next good login. A pending pair whose
 * peer popped a retracted push must end in a sequence mismatch (or a new
 * connection both sides see as new); a detected pair is dead for the
 * checker and the simulator, as an operator would, resets the pair
 * (world_reset.c). Defined in fault_rollback.c; hooks in scheduler.c and
 * node.c; the rule itself (its hooks in world.c) is rollback_rule.c. */
#ifndef TCPSHM_SIM_FAULT_ROLLBACK_H
#define TCPSHM_SIM_FAULT_ROLLBACK_H

#include <stdbool.h>

#include "sim_state.h"

void rb_init(sim *s);
void rb_fini(sim *s);

/* Between steps, on the node the scheduler picked (alive or dead): maybe a
 * snapshot of its files, or (dead) a rollback. Draws only from the rollback
 * kind's stream, and only when the kind is on. */
void rb_step(sim *s, node *n);

/* Between steps: the operator's answer to a detected rollback (kills and
 * renames the client of a dead pair). */
void rb_operator(sim *s);

/* Whether a push_more batch may stay a batch in this run: not in host
 * durability with the rollback kind on, whose snapshots would hold a batch
 * a death then drops (the model does not follow that yet). tcpshm-sim's
 * clients and a world's wrapper (world_wrap.c) push whole otherwise. */
bool rb_batches_followed(const sim *s);

#endif
