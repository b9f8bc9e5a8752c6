/* tcpshm_join(out, n, "a", "b", ..., NULL): the strings joined into out (n
 * bytes), cut and terminated as snprintf(out, n, "%s%s...") would leave
 * them; 0 when all of them fit, -1 when cut. n > 0 (every caller's out is
 * an array). The paths of queue files,
 * segments, records and locks are made at every open and login, where
 * snprintf's format parsing showed in the simulator's profiles. */
#ifndef TCPSHM_PATH_JOIN_H
#define TCPSHM_PATH_JOIN_H

#include <stdarg.h>
#include <stddef.h>

static inline int tcpshm_join(char *out, size_t n, ...)
{
    va_list ap;
    size_t k = 0;
    int fit = 1;
    va_start(ap, n);
    for (const char *part = va_arg(ap, const char *); part; part = va_arg(ap, const char *))
        for (; *part; part++) {
            if (k + 1 < n)
                out[k++] = *part;
            else
                fit = 0;
        }
    va_end(ap);
    out[k] = '\0';
    return fit ? 0 : -1;
}

#endif
