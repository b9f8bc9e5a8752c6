/* The return fault kind: a killed node restarts under a name it had
 * before. Defined in fault_return.c; called by node.c at a death. */
#ifndef TCPSHM_SIM_FAULT_RETURN_H
#define TCPSHM_SIM_FAULT_RETURN_H

#include "sim_state.h"

/* With the return kind's rate: the dead node n takes one of its earlier
 * names (the server: two or more identities alternating on one address;
 * a client: that name's directory, its old queue files and .lastserver), or
 * its first new name when it has had only one. */
void fault_return(sim *s, node *n);

#endif
