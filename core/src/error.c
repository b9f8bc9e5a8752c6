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
#include <stdbool.h>
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

char *tcpshm_escape(char *out, size_t out_size, const char *in)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    if (out_size == 0)
        return out;
    for (; in && *in; in++) {
        unsigned char c = (unsigned char)*in;
        bool plain = c >= 0x20 && c <= 0x7e && c != '\\';
        size_t need = plain ? 1 : 4;
        if (n + need >= out_size)
            break;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return out;
}
