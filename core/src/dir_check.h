/* A client's or server's state directory must hold every path the library
 * makes in it for its name. Checked at create, so that a directory that is
 * too long is refused there, not at every login after it. */
#ifndef TCPSHM_DIR_CHECK_H
#define TCPSHM_DIR_CHECK_H

#include <stddef.h>

#include "io.h" /* TCPSHM_PATH_SIZE */
#include "tcpshm/error.h"

/* 0, or TCPSHM_E_ARG when the longest path made in dir for local does not
 * fit TCPSHM_PATH_SIZE: a pair's queue file with a peer of the longest name
 * the config allows (name_size - 1), made under a temporary name
 * (<dir>/<local>_<peer>.ptcp.tmp), or a client's .lastserver record
 * (<dir>/<local>.lastserver.tmp). */
int tcpshm_dir_check(const char *dir, const char *local, size_t name_size, tcpshm_error *err);

#endif
