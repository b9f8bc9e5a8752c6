/* Filling a tcpshm_error: one helper so every module words errors alike. */
#ifndef TCPSHM_ERROR_SET_H
#define TCPSHM_ERROR_SET_H

#include <stddef.h>

#include "tcpshm/error.h"

/* Sets err (if non-NULL) to code, sys_errno and the formatted text; returns
 * code so callers can `return tcpshm_fail(...)`. */
int tcpshm_fail(tcpshm_error *err, int code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Bytes from a peer or a file put into a reason go through this first, so a
 * reason never carries control or non-ASCII bytes (a log line or terminal
 * shows what the library wrote, nothing a peer forged): printable ASCII as
 * is, every other byte and the backslash as \xNN. Writes at most out_size
 * bytes, NUL included, cut at a whole escape; no allocation. Returns out. */
char *tcpshm_escape(char *out, size_t out_size, const char *in);

#endif
