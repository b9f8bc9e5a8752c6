/* tcpshm-sim's own application, the echo / one-way workload, written on
 * the public API of the simulator as a library (tcpshm/sim.h) like any
 * user's world: sim_main.c runs it with tcpshm_sim_main. Defined in
 * echo_app.c. */
#ifndef TCPSHM_SIM_ECHO_APP_H
#define TCPSHM_SIM_ECHO_APP_H

#include "tcpshm/sim.h"

const tcpshm_sim_world *echo_app_world(void);

#endif
