/* tcpshm_dir_check (dir_check.h). */
#include <string.h>

#include "dir_check.h"
#include "error_set.h"

int tcpshm_dir_check(const char *dir, const char *local, size_t name_size, tcpshm_error *err)
{
    size_t queue = 1 + (name_size - 1) + strlen(".ptcp.tmp"); /* _<peer>.ptcp.tmp */
    size_t record = strlen(".lastserver.tmp");
    size_t longest = strlen(dir) + 1 + strlen(local) + (queue > record ? queue : record);
    if (longest >= TCPSHM_PATH_SIZE)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0,
                           "directory path too long: the library's paths in it for '%s' take up to %zu bytes, "
                           "more than %u", local, longest, TCPSHM_PATH_SIZE - 1u);
    return 0;
}
