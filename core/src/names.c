#include <string.h>

#include "error_set.h"
#include "tcpshm/names.h"

int tcpshm_name_check(const char *name, size_t name_size, const char *what, tcpshm_error *err)
{
    if (!what)
        what = "name";
    if (name_size == 0)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "%s: the name field size is 0", what);
    if (!name || name[0] == '\0')
        return tcpshm_fail(err, TCPSHM_E_NAME, 0, "%s is empty", what);
    size_t len = strnlen(name, name_size);
    if (len >= name_size)
        return tcpshm_fail(err, TCPSHM_E_NAME, 0, "%s is longer than %zu characters", what,
                           name_size - 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x21 || c > 0x7e)
            return tcpshm_fail(err, TCPSHM_E_NAME, 0,
                               "%s has a non-printable or space character at position %zu", what, i);
        if (c == '/')
            return tcpshm_fail(err, TCPSHM_E_NAME, 0, "%s contains '/'", what);
    }
    if (strstr(name, ".."))
        return tcpshm_fail(err, TCPSHM_E_NAME, 0, "%s contains \"..\"", what);
    return 0;
}
