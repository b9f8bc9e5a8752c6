/* The socket rule: once everything settled, the server holds one socket per
 * live connection and no other (beside its listener): a socket of a
 * connection it dropped, or of a login it replaced or refused, is a leak
 * (each costs a file descriptor for the life of the process). Counted from
 * venv (omniscient: the server's open stream sockets) against the server's
 * connections that are connected. A leak is judged only at settle, where
 * nothing is in flight: a close the server has not seen yet would otherwise
 * look like one. Defined in check_sockets.c. */
#ifndef TCPSHM_SIM_CHECK_SOCKETS_H
#define TCPSHM_SIM_CHECK_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_state.h"

/* Whether the live server's sockets are exactly its connected connections';
 * if not, what it holds in why (may be NULL). */
bool sockets_settled(sim *s, char *why, size_t why_size);

#endif
