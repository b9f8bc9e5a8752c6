/* Calm windows: in half the seeds the faults pause now and then, so that
 * logins complete and messages flow between faults. Defined in calm.c. */
#ifndef TCPSHM_SIM_CALM_H
#define TCPSHM_SIM_CALM_H

#include <stdbool.h>

#include "sim_state.h"

/* Draws whether the seed has calm windows, and the first one's start. */
void calm_init(sim *s);
/* At each step of the fault phase: true while a window is open (the plan
 * is paused: no kind fires, no point draws). Opens and closes windows. */
bool calm_step(sim *s);

#endif
