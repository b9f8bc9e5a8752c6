/* The environment switches that force one of the seed's shape coins
 * (scheduler.c): NAME=1 puts every seed on that side, =0 none, anything
 * else leaves the seed's own coin. A replay command carries the ones set
 * (summary.c). Defined in shape_switch.c. */
#ifndef TCPSHM_SIM_SHAPE_SWITCH_H
#define TCPSHM_SIM_SHAPE_SWITCH_H

#include <stdbool.h>

typedef enum sim_switch {
    SIM_SW_READINESS, /* TCPSHM_SIM_READINESS: TCP groups polled with readiness */
    SIM_SW_DEEP,      /* TCPSHM_SIM_DEEP: windows of 24-200 */
    SIM_SW_SECTOR,    /* TCPSHM_SIM_SECTOR: 512-byte disk sectors */
    SIM_SW_COUNT
} sim_switch;

/* The variable's name. */
const char *sim_switch_name(sim_switch w);
/* "1" or "0" when the variable is set to one of them, else NULL. */
const char *sim_switch_value(sim_switch w);
/* The seed's coin, unless the switch forces it. */
bool sim_switch_apply(sim_switch w, bool drawn);

#endif
