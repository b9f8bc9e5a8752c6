/* Filling a tcpshm_error: one helper so every module words errors alike. */
#ifndef TCPSHM_ERROR_SET_H
#define TCPSHM_ERROR_SET_H

#include "tcpshm/error.h"

/* Sets err (if non-NULL) to code, sys_errno and the formatted text; returns
 * code so callers can `return tcpshm_fail(...)`. */
int tcpshm_fail(tcpshm_error *err, int code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
