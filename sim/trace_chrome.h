/* --trace-format chrome: the trace of one run as Chrome / Perfetto
 * trace-event JSON (ui.perfetto.dev, chrome://tracing). One process per
 * node, one thread track per incarnation (tid = its venv owner id, named
 * "c1g0 #105"), spans for each life, login attempt and connection, instants
 * for faults, kills, crashes, partitions, pushes and pops, a flow arrow from
 * each push to its pop, and the violation as the last instant. ts is the
 * virtual time: 1 tick = 1 us. The writer is the trace's sink, so the trace
 * hash is the same as with the text format. Defined in trace_chrome.c. */
#ifndef TCPSHM_SIM_TRACE_CHROME_H
#define TCPSHM_SIM_TRACE_CHROME_H

#include "sim_state.h"

/* Opens the JSON on s->p->trace_file and becomes the sink of s->tr. */
void trace_chrome_begin(sim *s);
/* Ends the open spans, adds the violation (if r has one) and the run's
 * summary ("otherData"), closes the JSON and detaches from s->tr. */
void trace_chrome_end(sim *s, const sim_result *r);

#endif
