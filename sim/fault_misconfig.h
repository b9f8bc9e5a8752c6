/* The misconfig fault kind: an operator (re)starts a node with one thing
 * wrong first (a configuration field out of range, a bad node name, a
 * directory that cannot be, a server address that is a host name, an env
 * the library does not know), or with everything right but one call of the
 * OS failing (the lock, the listen, the bound port, epoll_create), or a
 * client with another queue size or byte order than its pair's file was
 * made with (refused by its login call), then with its real configuration. Defined in fault_misconfig.c; called by
 * node.c at the start of node_start. */
#ifndef TCPSHM_SIM_FAULT_MISCONFIG_H
#define TCPSHM_SIM_FAULT_MISCONFIG_H

#include "sim_state.h"

/* With the misconfig kind's rate (only while faulting: the plan is
 * inactive at set-up and in the settle phase): one wrong start of n, drawn
 * from the kind's stream. The rule (sim/README.md, "A misconfigured
 * restart"): create (for a server's listening address: start; for a
 * restart case: the login call) refuses with
 * the documented code and a message that names what is wrong, and n's
 * directory is unchanged; an epoll_create that fails does not stop the
 * start (the group polls directly). */
void fault_misconfig(sim *s, node *n);

#endif
