#include "tcpshm/error.h"

const char *tcpshm_code_name(int code)
{
    switch (code) {
    case TCPSHM_OK: return "ok";
    case TCPSHM_E_CONFIG: return "bad configuration";
    case TCPSHM_E_SYSTEM: return "system error";
    case TCPSHM_E_NAME: return "bad name";
    case TCPSHM_E_CORRUPT: return "corrupt file";
    case TCPSHM_E_FULL: return "queue full";
    case TCPSHM_E_BAD_ACK: return "bad ack";
    case TCPSHM_E_FRAME_SMALL: return "frame too small";
    case TCPSHM_E_FRAME_LARGE: return "frame too large";
    case TCPSHM_E_TRUNCATED: return "truncated stream";
    case TCPSHM_E_ARG: return "bad argument";
    case TCPSHM_E_IN_USE: return "in use";
    default: return "unknown error";
    }
}

#include <stdarg.h>
#include <stdio.h>

#include "error_set.h"

int tcpshm_fail(tcpshm_error *err, int code, int sys_errno, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        err->sys_errno = sys_errno;
        /* vsnprintf formats into the caller's buffer; nothing is printed. */
        (void)vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
    }
    return code;
}
