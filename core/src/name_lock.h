/* <dir>/<name>.lock: one process per (state directory, name). A client or a
 * server takes it at create and holds it until destroy or death, so a second
 * process with the same name and directory fails at create, before it opens,
 * creates or writes anything of the name's state (queue files, segments,
 * <name>.lastserver). The lock is the env's file_lock: the kernel (or venv)
 * drops it with the process. */
#ifndef TCPSHM_NAME_LOCK_H
#define TCPSHM_NAME_LOCK_H

#include "tcpshm/env.h"
#include "tcpshm/error.h"

/* Creates dir if needed, opens (or creates, with file_mode or 0600) the lock
 * file and locks it. 0 and *fd (close it with tcpshm_name_unlock), or
 * TCPSHM_E_IN_USE naming the holder's pid when another open holds it, or
 * TCPSHM_E_SYSTEM / TCPSHM_E_ARG; nothing is held on failure. */
int tcpshm_name_lock(const tcpshm_env *env, const char *dir, const char *name,
                     unsigned file_mode, int *fd, tcpshm_error *err);
/* Releases the lock (fd < 0: nothing). */
void tcpshm_name_unlock(const tcpshm_env *env, int fd);

#endif
