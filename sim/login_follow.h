/* Following a pair through its logins (docs/protocol.md step 5; sim/README
 * "Names that come back"): at every login the protocol decides whether the
 * pair of the two names goes on or starts again at seq 0 (a new
 * connection), and the checker follows that decision per pair, from what
 * the login said, for the world's nodes (world.c). Defined in
 * login_follow.c.
 *
 * The server's side: each login the server application sees in
 * on_new_connection is noted (its last_server_name and whether its three
 * numbers are 0) until it is refused, fails the sequence check or is
 * accepted (lf_server_login at on_logon). The client's: its streams are
 * those of the pair (the server it logged in to, its name), of the epoch
 * the server's login started. */
#ifndef TCPSHM_SIM_LOGIN_FOLLOW_H
#define TCPSHM_SIM_LOGIN_FOLLOW_H

#include <stdbool.h>

#include "sim_state.h"
#include "tcpshm/conn.h"
#include "tcpshm/server.h"

/* ------------------------------------------------------------ the server's notes */

/* A login the server application accepted in on_new_connection. */
void lf_note_add(sim *s, const tcpshm_login *lg);
/* The login of client ended without an accepted logon (refused, a
 * sequence mismatch). */
void lf_note_drop(sim *s, const char *client);
/* The server died: the logins it was handling died with it. */
void lf_notes_forget(sim *s);

/* The server n accepted the login of peer p (its connection c, at
 * on_logon): the pair continues or starts anew as the protocol decided
 * from the login's note (p->c2s, p->s2c become the epoch's streams), and
 * the server's queue must be where that epoch says. false: no note (a
 * violation, or the liar's lie: fault_liar.c). */
bool lf_server_login(sim *s, node *n, peer *p, tcpshm_conn *c);
/* Host durability: a login of client refused at its end with "System
 * error" after step 5 had reset the pair (a new connection by its note):
 * the server's queue is in the new epoch though no login was accepted. The
 * caller then follows it as an accepted login (lf_server_login), which also
 * checks the queue. */
bool lf_refused_after_reset(sim *s, const char *server, const char *client, const char *reason);

/* ------------------------------------------------------------ the client's side */

/* Client n's streams (n->c2s, n->s2c) of the pair with server: the
 * current epoch's (made at the pair's base if absent), kept while n talks
 * to the same server name. */
void lf_client_streams(sim *s, node *n, const char *server);
/* The same before client n pushes on c: and a pair whose storage went back
 * (pending for the rollback rule) whose queue on the client is of an older
 * epoch than the checker's gets a stale epoch for those pushes, which are
 * never delivered (the next login must end it). */
void lf_client_push_streams(sim *s, node *n, tcpshm_conn *c);
/* Client n's login to server was accepted (on_login_success, its
 * connection c): its streams are the pair's epoch the server's login
 * started, and its queue must be where that epoch says. */
void lf_client_login(sim *s, node *n, tcpshm_conn *c, const char *server);
/* Client n got a sequence mismatch: never at a login that was a new
 * connection (it records a server name other than the one it said: both
 * sides reset, both start at 0). A violation if so. */
void lf_client_mismatch(sim *s, node *n, const tcpshm_seq_mismatch *m);
/* Client n's login failed (on_system_error, or its quiet derivation) /
 * was refused (on_login_reject): traced, and judged: an attempt with the
 * impostor ends there, and a failed login leaves the client's record as
 * it was. */
void lf_client_failed(sim *s, node *n, const char *reason, int e);
void lf_client_rejected(sim *s, node *n, const char *error_msg);

#endif
