/* The lock of a (directory, name): see name_lock.h. */
#include <errno.h>
#include <stdio.h>

#include "error_set.h"
#include "io.h"
#include "name_lock.h"
#include "path_join.h"

/* Opens the lock file, creating it when absent (another process may create
 * it between our two tries: then it is opened). */
static int open_lock_file(const tcpshm_env *env, const char *path, unsigned mode)
{
    for (int tries = 0; tries < 3; tries++) {
        int fd = tcpshm_io_file_open(env, path, 0, 0);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        fd = tcpshm_io_file_open(env, path, 1, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int tcpshm_name_lock(const tcpshm_env *env, const char *dir, const char *name,
                     unsigned file_mode, int *fd, tcpshm_error *err)
{
    *fd = -1;
    char path[TCPSHM_PATH_SIZE];
    if (tcpshm_join(path, sizeof path, dir, "/", name, ".lock", NULL) != 0)
        /* the reason first: a long dir would cut it off the end of err->text */
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "lock path too long for %s in %s", name, dir);
    if (tcpshm_io_ensure_dir(env, dir) != 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot create directory %s", dir);
    int lfd = open_lock_file(env, path, file_mode ? file_mode : 0600);
    if (lfd < 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot open %s", path);
    int holder = -1;
    if (tcpshm_io_file_lock(env, lfd, &holder) != 0) {
        int e = errno;
        (void)tcpshm_io_file_close(env, lfd);
        if (e != EWOULDBLOCK && e != EAGAIN)
            return tcpshm_fail(err, TCPSHM_E_SYSTEM, e, "cannot lock %s", path);
        if (holder > 0)
            return tcpshm_fail(err, TCPSHM_E_IN_USE, e,
                               "%s: '%s' in %s is in use by another process (pid %d)", path, name,
                               dir, holder);
        return tcpshm_fail(err, TCPSHM_E_IN_USE, e,
                           "%s: '%s' in %s is in use by another process", path, name, dir);
    }
    *fd = lfd;
    return 0;
}

void tcpshm_name_unlock(const tcpshm_env *env, int fd)
{
    if (fd >= 0)
        (void)tcpshm_io_file_close(env, fd);
}
