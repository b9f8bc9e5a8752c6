/* The queued-messages rule: after a death, the messages a TCP queue file
 * still holds for its peer (what the node's next process sends at its next
 * login) are the workload's, whole (each one's checksum holds) and numbered
 * from the file's seq_start to its seq_end without a gap, as a restarted
 * process would walk them (tcpshm_ptcp_queue_next). In a user's world, whose
 * bodies are opaque, each is the push the checker recorded for its seq on
 * the file's stream (same size and msg_sum: msg_sum.h). A torn, misplaced
 * or phantom message would otherwise show only when the peer pops it, if
 * it ever does. Defined in check_queued.c; called by node.c after a death. */
#ifndef TCPSHM_SIM_CHECK_QUEUED_H
#define TCPSHM_SIM_CHECK_QUEUED_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_state.h"

/* The file of the pair (local, remote) in dir: true when its messages are
 * as the rule says, or when it is not the rule's to judge (the liar's
 * pairs, a file that does not open: node.c reports that; in a world a pair
 * under the rollback rule, whose files the checker's records do not
 * follow); false with why otherwise. */
bool queued_intact(sim *s, const char *dir, const char *local, const char *remote, char *why, size_t why_size);

#endif
