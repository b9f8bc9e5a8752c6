/* tcpshm-sim --merge: joins the JSON summaries of the shards of one
 * campaign into the summary of one big run. */
#ifndef TCPSHM_SIM_MERGE_H
#define TCPSHM_SIM_MERGE_H

#include <stdbool.h>

/* Reads files ("-": stdin), checks that they are the n shards of the same
 * seed range, options and build, each once, and prints the merged summary
 * (JSON with json, else the table) on stdout. Returns the exit status: 0,
 * 1 (the merged run has a violation or a determinism mismatch) or 2 (a file
 * cannot be read or the shards do not fit together; the reason on stderr). */
int sim_merge(const char *prog, char *const *files, int nfiles, bool json);

#endif
