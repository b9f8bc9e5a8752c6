/* Peer names become parts of file names, so they are checked before use. */
#ifndef TCPSHM_NAMES_H
#define TCPSHM_NAMES_H

#include <stddef.h>

#include "tcpshm/config.h" /* TCPSHM_NAME_MAX */
#include "tcpshm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 0 if `name` is a usable peer name for a name field of name_size bytes
 * (NUL included): non-empty, shorter than name_size, printable ASCII, no '/',
 * no "..". Otherwise TCPSHM_E_NAME with the reason in err. `what` names the
 * field in the message ("client name", ...). Reads at most name_size bytes. */
int tcpshm_name_check(const char *name, size_t name_size, const char *what, tcpshm_error *err);

#ifdef __cplusplus
}
#endif
#endif
