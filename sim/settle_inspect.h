/* The inspection at the end of a settled run: every live TCP pair's two
 * queue files, read with the core's read-only inspector (the one
 * tcpshm-inspect uses, tcpshm/ptcp_inspect.h) from the bytes on venv, must
 * be accepted and must say what the live connections say. Defined in
 * settle_inspect.c; called by scheduler.c once a run has settled. */
#ifndef TCPSHM_SIM_SETTLE_INSPECT_H
#define TCPSHM_SIM_SETTLE_INSPECT_H

#include "sim_state.h"

/* The rule (sim/README.md, "Files inspected after settle"): a file the
 * inspector refuses, or whose header (names, capacity, durability, how it
 * is written) or active record (seq range, ack) disagrees with the
 * configuration and the live connection, or whose two record slots are
 * not one change apart, is a violation; so is a file the core made whose
 * mode is not the configured file_mode (0: 0600). */
void settle_inspect(sim *s);

#endif
