/* Which build is running: a hash of the program's own bytes. A seed's run
 * depends on (seed, options, build), so --merge joins only shards that ran
 * the same binary. */
#ifndef TCPSHM_SIM_BUILD_ID_H
#define TCPSHM_SIM_BUILD_ID_H

#include <stddef.h>

/* "fnv1a64:<16 hex digits>" of /proc/self/exe, or "unknown". */
void sim_build_id(char *out, size_t n);

#endif
