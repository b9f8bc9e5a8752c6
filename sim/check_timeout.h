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

/* Node closer (0: the server) closed its connection with the honest peer
 * named other for reason; sid: the checker stream to report with (-1 none). */
void timeout_close(sim *s, int sid, const node *closer, const char *other, const char *reason);

#endif
