/* A read-only copy of the POSIX env for tcpshm-inspect: files and segments
 * open read-only and map privately (copy-on-write), so the core's own open
 * and recovery code can run on them without changing a byte; creating,
 * resizing, renaming, removing, unlinking and locking fail with EROFS (so
 * inspection never takes, or waits for, a running process's lock). */
#ifndef TCPSHM_TOOLS_READONLY_ENV_H
#define TCPSHM_TOOLS_READONLY_ENV_H

#include "tcpshm/env.h"

const tcpshm_env *readonly_env(void);

#endif
