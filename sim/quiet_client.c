/* What a quiet client's NULL callbacks would have been told (quiet_client.h). */
#include <string.h>

#include "quiet_client.h"

quiet_event quiet_client_end(node *n, tcpshm_client_state before, uint32_t logins)
{
    quiet_event ev = {QUIET_NONE, NULL, "", 0, {0}};
    if (tcpshm_client_get_state(n->cl) != TCPSHM_CLIENT_IDLE || before == TCPSHM_CLIENT_IDLE)
        return ev;
    ev.conn = tcpshm_client_conn(n->cl); /* NULL: no pair state, no reason to read */
    if (ev.conn)
        ev.reason = tcpshm_conn_close_reason(ev.conn, &ev.sys_errno);
    if (before == TCPSHM_CLIENT_LOGGED_IN || n->logins != logins) {
        ev.end = QUIET_DISCONNECTED;
    } else if (strcmp(ev.reason, "Login rejected") == 0) {
        ev.end = QUIET_REJECTED;
    } else if (strcmp(ev.reason, "Seq number mismatch") == 0) {
        /* the numbers went to the callback only: the client's own side */
        ev.end = QUIET_MISMATCH;
        ev.m.local_seq_start = tcpshm_conn_seq_start(ev.conn);
        ev.m.local_seq_end = tcpshm_conn_seq_end(ev.conn);
        ev.m.local_ack = tcpshm_conn_my_ack(ev.conn);
    } else {
        ev.end = QUIET_FAILED;
    }
    return ev;
}
