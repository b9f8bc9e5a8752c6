/* The CPU-time alarm of one run: the fallback for a hang that makes no env
 * call (a pure CPU loop, which the env-call budget of budget_env.h cannot
 * see). Not deterministic (CPU time), so only a backstop. */
#ifndef TCPSHM_SIM_WATCHDOG_H
#define TCPSHM_SIM_WATCHDOG_H

#include <stdbool.h>
#include <stdio.h>

#include "sim.h"

/* The default of --seed-timeout: CPU seconds per run (a normal run takes
 * milliseconds; see sim/README.md "Hangs"). */
#define SIM_SEED_TIMEOUT_DEFAULT 30.0

/* sim_run under an ITIMER_PROF alarm of cpu_seconds (0: none). true if the
 * alarm fired: the signal handler siglongjmps back here, r holds a hang
 * violation and its report went to report (see sim_interrupted); the
 * interrupted run's state is abandoned, so the caller must end the process
 * (exit status 1) once it has reported. */
bool watchdog_run(const sim_params *p, sim_result *r, FILE *report, double cpu_seconds);

#endif
