/* A fingerprint of a node's directory on venv: every name and byte under
 * it, for the rules that say a refused start leaves the directory as it was
 * (fault_twin.c, fault_misconfig.c). Defined in dir_print.c. */
#ifndef TCPSHM_SIM_DIR_PRINT_H
#define TCPSHM_SIM_DIR_PRINT_H

#include <stdint.h>

#include "sim_state.h"

uint64_t sim_dir_fingerprint(sim *s, const char *dir);

#endif
