/* The socket rule (check_sockets.h). */
#include <stdio.h>

#include "check_sockets.h"
#include "tcpshm/server.h"

bool sockets_settled(sim *s, char *why, size_t why_size)
{
    node *sv = &s->nodes[0];
    if (!sv->alive)
        return false;
    uint32_t live = 0;
    for (uint32_t i = 0; i < sv->npeers; i++) {
        tcpshm_conn *c = tcpshm_server_find_conn(sv->srv, sv->peers[i].name);
        live += c && tcpshm_conn_is_connected(c);
    }
    uint32_t held = venv_socket_count(s->v, sv->owner);
    if (held == live)
        return true;
    if (why)
        snprintf(why, why_size, "server %s holds %u sockets but has %u connected connections", sv->name, held, live);
    return false;
}
