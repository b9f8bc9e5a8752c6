/* The shape switches (shape_switch.h). */
#include <stdlib.h>
#include <string.h>

#include "shape_switch.h"

static const char *const names[SIM_SW_COUNT] = {"TCPSHM_SIM_READINESS", "TCPSHM_SIM_DEEP", "TCPSHM_SIM_SECTOR"};

const char *sim_switch_name(sim_switch w) { return names[w]; }

const char *sim_switch_value(sim_switch w)
{
    const char *v = getenv(names[w]);
    return v && (strcmp(v, "1") == 0 || strcmp(v, "0") == 0) ? v : NULL;
}

bool sim_switch_apply(sim_switch w, bool drawn)
{
    const char *v = sim_switch_value(w);
    return v ? v[0] == '1' : drawn;
}
