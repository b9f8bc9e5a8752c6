/* Crash sites: TCPSHM_CRASH_SITE("tcpshm/crash/<where>") marks a point where a
 * kill leaves persisted state half-updated. In the fault build an enabled
 * libfiu point of that name calls the crash hook (see tcpshm/crash_hook.h); in the
 * release build the macro is empty. Every name must be in faults/catalogue.c
 * (a test checks). */
#ifndef TCPSHM_CRASH_H
#define TCPSHM_CRASH_H

#include "fiu_local.h"

void tcpshm_crash(const char *site);

/* Behind the crash family's gate (tcpshm/fault_gate.h) in the fault build. */
#define TCPSHM_CRASH_SITE(name)                                                                    \
    do {                                                                                           \
        if (TCPSHM_FIU_GATED(TCPSHM_GATE_CRASH, 1)) {                                              \
            fiu_do_on(name, tcpshm_crash(name));                                                   \
        }                                                                                          \
    } while (0)

#endif
