/* The `power-loss` fault kind: a host loses power. Every node on it dies at
 * once, and its files go back to what reached the disk (venv_power_loss:
 * per name, page and size, what was not synced keeps its new state or goes
 * back, by coins of this kind's stream); its SHM segments (RAM) are gone.
 *
 * Hosts. The server's host holds the server's directory, /dev/shm and the
 * directories of the client names that log in over SHM (SHM needs a local
 * peer); each TCP client name's directory is on its client's own host. A
 * power loss takes one host, or (host durability only) every host at once:
 * both ends of every pair.
 *
 * The rule (sim/README.md, "Durability and power loss"):
 *  - host durability: nothing whose push or pop returned is lost: right
 *    after the power loss every queue file of the host opens and holds
 *    exactly the checker's counts, every .lastserver names what it named,
 *    and the logins that follow must go on without a sequence mismatch;
 *  - process durability: anything may be lost, but a pair that lost a push
 *    or pop that had returned must be detected (a sequence mismatch, a file
 *    refused with a reason, or a new connection); a login that continues it
 *    is the violation "silent loss after power loss" (rollback_rule.c).
 *  - SHM pairs lose both segments in either mode (RAM): their epoch ends
 *    (retired, what it held is dropped) and a new one starts at seq 0.
 * Defined in fault_power.c; called from scheduler.c. */
#ifndef TCPSHM_SIM_FAULT_POWER_H
#define TCPSHM_SIM_FAULT_POWER_H

#include "sim_state.h"

/* The seed's durability mode (--durability, else a coin of its own
 * stream), into s->durability and the config. */
void power_pick_durability(sim *s);

/* Gives venv the boot id of each process's host (a power loss starts a new
 * boot of its host): the core refuses a file written unsynced in an
 * earlier boot (process durability). Once, after the venv is made. */
void power_init(sim *s);

/* Between steps: maybe a power loss (this kind's rate, per step). */
void power_step(sim *s);
/* Node n died at a crash site (the crash kind): 1 time in 4 it was its
 * host losing power there instead, between two of the core's OS calls
 * (between a write and its sync, a rename and the directory's sync), which
 * a power loss between steps never meets. The node is dead already and
 * made no call since, so a power loss now is one at that site. */
void power_at_crash_site(sim *s, node *n);

#endif
