/* The twin fault kind: a second live client process with the name of a
 * live client (a misconfigured standby, with a fresh directory), for a
 * bounded time. Defined in fault_twin.c; hooks in scheduler.c (start, step,
 * end), node.c (pins) and world.c (refuse). */
#ifndef TCPSHM_SIM_FAULT_TWIN_H
#define TCPSHM_SIM_FAULT_TWIN_H

#include <stdbool.h>

#include "sim_state.h"
#include "tcpshm/login.h"

/* Between steps, with the twin kind's rate: a twin of a client that is
 * logged in while the server has its connection live (neither blocked). */
void fault_twin_maybe_start(sim *s);
/* The twin's step (one login call, then polls); it dies when the login
 * ends or at its time bound. A login accepted is a violation. */
void fault_twin_step(sim *s);
/* Kills the twin if there is one (settle phase, end of the run). */
void fault_twin_end(sim *s, const char *why);
/* While a twin tries, the server and the client it copies are pinned: no
 * fault of any kind touches them, so the first's connection stays live. */
bool fault_twin_pins(const sim *s, const node *n);
/* The server application's part (on_new_connection): the twin's login
 * (last server "") is refused by the application, with this text, unless
 * the server's connection of that name is live at that moment; NULL: go on. */
const char *fault_twin_refuse(sim *s, const tcpshm_login *lg);
#define FAULT_TWIN_REFUSAL "simulator: twin while the first is not live"
/* The login is the twin's (not its first's). */
bool fault_twin_login(const sim *s, const tcpshm_login *lg);

#endif
