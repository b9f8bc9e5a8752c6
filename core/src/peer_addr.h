/* Whether a TCP peer is on this host: the condition for a shared-memory
 * login, whose segments only a local process can use (and a remote one must
 * not make the server create). */
#ifndef TCPSHM_PEER_ADDR_H
#define TCPSHM_PEER_ADDR_H

#include <stdbool.h>

/* true when peer (a numeric address as the env's sock_addrs gives it) is a
 * loopback address (127.0.0.0/8, ::1, or 127/8 mapped into IPv6) or the
 * socket's own address local (not the unspecified 0.0.0.0 / ::). */
bool tcpshm_peer_is_local(const char *local, const char *peer);

#endif
