/* The deterministic simulator: one server and N clients of the real core
 * (tcpshm_fi) on venv, stepped in a seeded order under a virtual clock, with
 * the fault plan's faults, the workload and the checker. A run is a pure
 * function of (seed, parameters, build). sim_run and sim_tx_names are
 * defined in scheduler.c; the command line (tcpshm_sim.c) is the user. */
#ifndef TCPSHM_SIM_SIM_H
#define TCPSHM_SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plan.h"

typedef struct sim_params {
    uint64_t seed;
    uint32_t steps;     /* steps of the fault phase */
    int64_t time_limit; /* or until this virtual time (0: no limit) */
    uint32_t kinds;     /* fault kinds allowed */
    bool swarm;         /* each seed picks a subset of kinds */
    FILE *trace_file;   /* every event, or NULL */
    bool trace_chrome;  /* the trace as Chrome trace-event JSON (trace_chrome.c), not text */
    int transport;      /* -1: each seed picks (swarm); else SIM_TX_TCP, _MIXED or _SHM */
    int durability;     /* -1: each seed picks (swarm); else SIM_DUR_PROCESS or SIM_DUR_HOST */
    const struct tcpshm_sim_world *world; /* a user's world (world.c), or NULL: the built-in echo workload */
} sim_params;

enum { SIM_TX_TCP, SIM_TX_MIXED, SIM_TX_SHM };
extern const char *const sim_tx_names[3]; /* "tcp", "mixed", "shm" */
enum { SIM_DUR_PROCESS, SIM_DUR_HOST };
extern const char *const sim_dur_names[2]; /* "process", "host": the core's durability mode */

typedef struct sim_result {
    bool violated;
    bool liveness; /* the violation is a liveness one */
    bool hang;     /* the violation is a hang (a step over its env-call budget, or the CPU alarm) */
    char what[600];
    char stream[96];
    uint64_t hash;
    uint64_t pushes, pops, events;
    uint64_t fired[FP_KINDS];
    uint32_t kinds_on;
    uint32_t clients;
    uint32_t tx_mode; /* SIM_TX_*: the transports the seed picked */
    uint32_t durability; /* SIM_DUR_*: the durability mode the seed ran */
    uint32_t steps;
    int64_t vtime;
    uint64_t max_step_calls; /* env calls of the run's largest node step */
} sim_result;

/* Runs one seed. On a violation, writes the report (the invariant, the
 * stream, the last trace events) to report when not NULL. */
void sim_run(const sim_params *p, sim_result *r, FILE *report);

/* After the CPU alarm interrupted sim_run (watchdog.c): fills r with a hang
 * violation of the interrupted run and writes its report (as sim_run would)
 * to report when not NULL. The run's memory is not freed: the process must
 * end after reporting. */
void sim_interrupted(sim_result *r, FILE *report, double cpu_seconds);

/* The command line (tcpshm_sim.c) on a world (tcpshm_sim_main: a user's,
 * or tcpshm-sim's own, echo_app.c): the exit status. */
int sim_cli_main(int argc, char **argv, const struct tcpshm_sim_world *world);

#endif
