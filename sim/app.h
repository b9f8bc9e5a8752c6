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
void app_server(sim *s, node *n); /* one-way pushes */
void app_client(sim *s, node *n); /* requests and one-way pushes */
void app_server_forget(sim *s, node *n); /* unmaps the echo records (process gone) */

#endif
