/* The .lastserver rule: once a client's login succeeded (its record of the
 * server name was written), the recorded name never disappears, tears or
 * goes back. After every death of a client the simulator reads
 * <dir>/<client>.lastserver directly from venv (omniscient, no process)
 * and compares it with the name of the client's last successful login,
 * allowing a server name of the run when a login was in flight (its record
 * may have been written, or not, when the death came); the name found is
 * then the client's record. At each login the server sees, the login's
 * last_server_name must be that record. Defined in check_lastserver.c. */
#ifndef TCPSHM_SIM_CHECK_LASTSERVER_H
#define TCPSHM_SIM_CHECK_LASTSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_state.h"
#include "tcpshm/login.h"

/* The client's login succeeded with that server name (on_login_success). */
void lastserver_login_ok(sim *s, node *n, const char *server);
/* After the death of client n (before a rename gives it a new name);
 * mid_login: it was logging in. */
void lastserver_after_death(sim *s, node *n, bool mid_login);
/* Client n's login failed (on_system_error): its record may name the new
 * server already (host durability: a write whose directory sync failed
 * after the rename), which is the record from then on. */
void lastserver_after_failed_login(sim *s, node *n);
/* Client n's storage was restored from a backup or wiped on purpose (the
 * rollback kind): its record is what the file says now. */
void lastserver_resync(sim *s, node *n);
/* A login of an honest client, as the server application sees it. */
void lastserver_at_login(sim *s, const tcpshm_login *lg);
/* The server name a record's bytes hold (core/src/lastserver.c's layout):
 * false with why if they hold no valid record. */
bool lastserver_parse(const uint8_t *bytes, size_t len, const char *client, char name[TCPSHM_NAME_MAX + 1],
                      char *why, size_t why_size);

#endif
