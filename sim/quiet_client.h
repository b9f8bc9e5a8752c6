/* A client process that leaves optional callbacks NULL (tcpshm-sim's quiet
 * incarnations, a user's process hook): what the core would have told
 * those callbacks at the end of a poll, derived from the client's state and
 * its connection's close reason, so that the simulator judges it as the
 * callbacks' wrappers do (world.c). Defined in quiet_client.c. */
#ifndef TCPSHM_SIM_QUIET_CLIENT_H
#define TCPSHM_SIM_QUIET_CLIENT_H

#include <stdint.h>

#include "sim_state.h"
#include "tcpshm/client.h"

typedef enum {
    QUIET_NONE,         /* nothing ended in this poll */
    QUIET_DISCONNECTED, /* on_disconnect: a logged-in connection closed */
    QUIET_REJECTED,     /* on_login_reject */
    QUIET_MISMATCH,     /* on_seq_mismatch: m holds the client's own side only */
    QUIET_FAILED        /* on_system_error: the login failed otherwise */
} quiet_end;

typedef struct quiet_event {
    quiet_end end;
    tcpshm_conn *conn; /* NULL when the login ended before a queue opened */
    const char *reason; /* the close reason ("" without a connection) */
    int sys_errno;
    tcpshm_seq_mismatch m;
} quiet_event;

/* The end of client n's poll: before is its state at the step's start
 * (CONNECTING if the step's login call started an attempt), logins
 * n->logins then (a login that succeeded and closed in one poll is a
 * disconnect). QUIET_NONE unless the client went idle in this poll. */
quiet_event quiet_client_end(node *n, tcpshm_client_state before, uint32_t logins);

#endif
