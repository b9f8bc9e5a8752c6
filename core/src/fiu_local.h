/* libfiu's points when FIU_ENABLE is defined (the tcpshm_fi library), nothing
 * at all otherwise (the release library): the same idea as libfiu's own
 * fiu-local.h, kept here so the release build needs no libfiu headers.
 *
 * TCPSHM_FIU_GATED(family, fiu_fail("name")) is the point's libfiu answer,
 * or 0 without asking libfiu while the family's gate lets evaluations pass
 * (tcpshm/fault_gate.h). In the release build it is the constant 0. */
#ifndef TCPSHM_FIU_LOCAL_H
#define TCPSHM_FIU_LOCAL_H

#ifdef FIU_ENABLE
#include <fiu.h>

#include "tcpshm/fault_gate.h"

#define TCPSHM_FIU_GATED(family, failed)                                                           \
    (tcpshm_fault_skip[family] != 0 ? (tcpshm_fault_skip[family]--, 0) : (failed))
#else
#define fiu_fail(name) 0
#define fiu_failinfo() NULL
#define fiu_do_on(name, action)
#define TCPSHM_FIU_GATED(family, failed) 0
#endif

#endif
