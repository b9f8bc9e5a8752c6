/* The damage fault kind: while a node is down, its disk damages one of the
 * queue files it had open (bit rot, a truncation, a file of another pair
 * copied over it by an operator, ...), or a dying client's .lastserver
 * record. Defined in fault_damage.c; called by node.c at a death, after the
 * death's own checks. */
#ifndef TCPSHM_SIM_FAULT_DAMAGE_H
#define TCPSHM_SIM_FAULT_DAMAGE_H

#include "sim_state.h"

/* With the damage kind's rate: one of the dead node n's TCP pair files
 * (its pairs with the nr names in remotes), or, for a client, its
 * .lastserver record, is damaged in one way, drawn from the kind's stream.
 * The rule (sim/README.md, "A damaged queue file"): the core refuses to
 * open (or read) it (TCPSHM_E_CORRUPT, its reason names the file and what
 * is wrong), and so does the read-only inspector a queue file, for the
 * same reason; never misread. The pair's state is then gone: the loss is
 * detected (rb_file_refused) and the operator renames the client. */
void fault_damage(sim *s, node *n, char remotes[][TCPSHM_NAME_MAX + 1], uint32_t nr);

#endif
