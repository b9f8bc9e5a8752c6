/* The timeout rule: a connection between two honest nodes closed for
 * "Timeout" (nothing received for connection_timeout) is a violation unless
 * one side could not be heard in that window: its I/O blocked (a partition
 * or an EAGAIN storm of either node), or a server group poll stalled. Both
 * sides poll at every step and send a heartbeat after heartbeat_interval of
 * silence (at most a third of the timeout), so any other Timeout means a
 * side stopped sending its heartbeats or stopped reading what arrived: the
 * link breaks, both reconnect and nothing is lost, which no other rule sees
 * (mutations 32 and 33). Defined in check_timeout.c. */
#ifndef TCPSHM_SIM_CHECK_TIMEOUT_H
#define TCPSHM_SIM_CHECK_TIMEOUT_H

#include "sim_state.h"

/* The server accepted a login of the client named client (its on_logon) /
 * client node n's login succeeded (its on_login): heartbeats are owed on
 * the server's connection only once the client has taken it as logged in. */
void timeout_logon(sim *s, const char *client);
void timeout_login_ok(sim *s, node *n);

/* A node step closes socket fd (budget_env's hook; user: the sim): what
 * waited unread in it is kept for timeout_close. */
void timeout_closing(void *user, int fd);

/* Node closer (0: the server) closed its connection with the honest peer
 * named other for reason; sid: the checker stream to report with (-1 none). */
void timeout_close(sim *s, int sid, const node *closer, const char *other, const char *reason);

#endif
