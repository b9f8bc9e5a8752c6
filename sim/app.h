/* The applications on the nodes (callbacks and pushes). Defined in app.c;
 * used by node.c (callbacks, a step's pushes) and scheduler.c (teardown). */
#ifndef TCPSHM_SIM_APP_H
#define TCPSHM_SIM_APP_H

#include "sim_state.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"

void app_server_callbacks(sim *s, tcpshm_server_callbacks *cb);
/* Whether the server incarnation's application sets the optional callbacks
 * on_system_error and on_client_file_error (those of even owner: the core
 * runs without them too). */
bool app_server_reports(const sim *s);
void app_client_callbacks(sim *s, node *n, tcpshm_client_callbacks *cb);
/* Whether the client incarnation's application leaves the optional
 * callbacks NULL (on_system_error, on_login_reject, on_seq_mismatch,
 * on_disconnect: owner 2 mod 3; the core runs without them too). */
bool app_client_quiet(const node *n);
/* After the client's polls (and login call) of a step, in a quiet
 * incarnation: what the NULL callbacks would have said, from the client's
 * state (before: its state at the step's start, CONNECTING if the step's
 * login call started an attempt; logins: n->logins then) and its
 * connection's close reason, judged as the callbacks' handlers judge it. */
void app_client_after_poll(sim *s, node *n, tcpshm_client_state before, uint32_t logins);
/* The user data of n's login calls: NULL (none), or in incarnations of
 * owner 0 mod 5 "u:<name>|" repeated to its size (the server application
 * checks what it gets; the client checks the response's, of "r:"). */
const uint8_t *app_login_user_data(sim *s, node *n);
void app_server(sim *s, node *n); /* one-way pushes */
void app_client(sim *s, node *n); /* requests and one-way pushes */
void app_server_forget(sim *s, node *n); /* unmaps the echo records (process gone) */

#endif
