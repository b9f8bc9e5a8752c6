/* The fault library's gate (tcpshm/fault_gate.h): 0, every point asks libfiu. */
#include "tcpshm/fault_gate.h"

uint32_t tcpshm_fault_skip[TCPSHM_GATE_FAMILIES];
