/* <dir>/<client>.lastserver: the name of the server a client last logged in
 * to. Written under a temporary name and renamed into place, so a kill
 * leaves the old name or the new one; read back with every field checked. */
#ifndef TCPSHM_LASTSERVER_H
#define TCPSHM_LASTSERVER_H

#include <stdbool.h>

#include "tcpshm/env.h"
#include "tcpshm/error.h"
#include "tcpshm/names.h"

/* name[0] = '\0' and 0 when there is no file; TCPSHM_E_CORRUPT for a file
 * that is not a lastserver file or holds an unusable name. */
int tcpshm_lastserver_read(const tcpshm_env *env, const char *dir, const char *client,
                           char name[TCPSHM_NAME_MAX + 1], tcpshm_error *err);

/* host (durability "host"): the record is synced before its rename and the
 * directory after it, so it survives a power cut once this returns 0. */
int tcpshm_lastserver_write(const tcpshm_env *env, const char *dir, const char *client,
                            const char *name, unsigned file_mode, bool host, tcpshm_error *err);

/* Host durability: the record (<dir>/<client>.lastserver) and its name in
 * dir reach stable storage as they are (one an earlier process wrote and
 * died before syncing). 0, or an error code with err set. */
int tcpshm_lastserver_sync(const tcpshm_env *env, const char *dir, const char *client, tcpshm_error *err);

#endif
