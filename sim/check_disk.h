/* The disk rule: at every login, each side's TCP queue file of the pair is
 * judged (the server's when it accepts, the client's when it is told) on
 * what its disk holds (venv_disk_data), not on what a power loss happened
 * to take back:
 *  - host durability: its name is on the disk (every directory above it
 *    too), and so are its record's
 *    seq_end and my_ack (as in memory). The login told the peer these
 *    numbers; a power cut that took the name or the record back would make
 *    the pair new on one side only, or lose pushes and pops that returned
 *    (known bug 46: an open that finds a file whose creation could not sync
 *    the directory, and trusts it; mutation 36: a found file not synced);
 *  - host durability, at the client's login: its .lastserver is on the
 *    disk under its name and its bytes there name the server (known bug
 *    55: the record's bytes never synced);
 *  - process durability: a file claimed in this boot (header `written` 1)
 *    says so on its disk too, so that a power cut refuses it instead of
 *    bringing back a header that says "clean" over changes it took back
 *    (known bug 45: a claim whose sync failed, taken for made later).
 * A power loss finds either only by a coin at the right moment; this rule
 * sees it at the login. Defined in check_disk.c. */
#ifndef TCPSHM_SIM_CHECK_DISK_H
#define TCPSHM_SIM_CHECK_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "sim_state.h"

/* The server accepted client's login (first thing in its on_logon, before
 * the application's own file calls can sync anything) / client node cn's
 * login to server completed (its on_login). */
void check_disk_at_logon(sim *s, const char *server, const char *client);
void check_disk_at_login(sim *s, node *cn, const char *server);

/* A queue file's boot claim from its bytes (the core's inspector reads the
 * header): false if the bytes are too short for a header. */
bool disk_claim(const uint8_t *bytes, size_t len, uint32_t *written, uint8_t boot[16]);

#endif
