/* sim_same_name: strcmp(a, b) == 0, inline. The checker and the rollback
 * rule search their streams and pairs by name for every message; names are
 * a few bytes, and the calls into strcmp showed in profiles. */
#ifndef TCPSHM_SIM_SAME_NAME_H
#define TCPSHM_SIM_SAME_NAME_H

#include <stdbool.h>

static inline bool sim_same_name(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

#endif
