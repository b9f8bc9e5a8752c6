#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crash.h"
#include "error_set.h"
#include "io.h"
#include "lastserver.h"
#include "path_join.h"

#define LAST_MAGIC "TSHMLAST"
#define LAST_VERSION 1u

struct last_file {
    char magic[8];
    uint32_t version;
    uint32_t reserved;
    char name[TCPSHM_NAME_MAX + 1];
};

static int path_of(char *out, size_t n, const char *dir, const char *client, const char *suffix)
{
    return tcpshm_join(out, n, dir, "/", client, ".lastserver", suffix, NULL);
}

int tcpshm_lastserver_read(const tcpshm_env *env, const char *dir, const char *client,
                           char name[TCPSHM_NAME_MAX + 1], tcpshm_error *err)
{
    name[0] = '\0';
    char path[TCPSHM_PATH_SIZE];
    if (path_of(path, sizeof path, dir, client, ""))
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "lastserver path too long");
    int fd = tcpshm_io_file_open(env, path, 0, 0);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot open %s", path);
    }
    uint64_t size = 0;
    int rc = 0;
    if (tcpshm_io_file_size(env, fd, &size) != 0) {
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot stat %s", path);
    } else if (size != sizeof(struct last_file)) {
        rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: %llu bytes, expected %zu", path,
                         (unsigned long long)size, sizeof(struct last_file));
    } else {
        struct last_file *f = tcpshm_io_map(env, fd, sizeof *f);
        if (!f) {
            rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot map %s", path);
        } else {
            if (memcmp(f->magic, LAST_MAGIC, 8) != 0 || f->version != LAST_VERSION)
                rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: not a lastserver file", path);
            else if (!memchr(f->name, '\0', sizeof f->name) ||
                     tcpshm_name_check(f->name, sizeof f->name, "recorded server name", NULL) != 0)
                rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: the recorded name is not a valid name", path);
            else
                memcpy(name, f->name, sizeof f->name);
            (void)tcpshm_io_unmap(env, f, sizeof *f);
        }
    }
    (void)tcpshm_io_file_close(env, fd);
    return rc;
}

int tcpshm_lastserver_write(const tcpshm_env *env, const char *dir, const char *client,
                            const char *name, unsigned file_mode, bool host, tcpshm_error *err)
{
    char path[TCPSHM_PATH_SIZE], tmp[TCPSHM_PATH_SIZE];
    if (path_of(path, sizeof path, dir, client, "") || path_of(tmp, sizeof tmp, dir, client, ".tmp"))
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "lastserver path too long");
    if (tcpshm_io_ensure_dir(env, dir) != 0) /* SHM clients have no queue file to make it */
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot create directory %s", dir);
    TCPSHM_CRASH_SITE("tcpshm/crash/login/client_lastserver_after_mkdir");
    (void)tcpshm_io_remove(env, tmp);
    TCPSHM_CRASH_SITE("tcpshm/crash/login/client_lastserver_after_remove_tmp");
    int fd = tcpshm_io_file_open(env, tmp, 1, file_mode ? file_mode : 0600);
    if (fd < 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot create %s", tmp);
    TCPSHM_CRASH_SITE("tcpshm/crash/login/client_lastserver_after_open");
    int rc = 0;
    struct last_file *f = NULL;
    if (tcpshm_io_file_resize(env, fd, sizeof *f) != 0)
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot size %s", tmp);
    if (!rc) {
        TCPSHM_CRASH_SITE("tcpshm/crash/login/client_lastserver_after_resize");
        if (!(f = tcpshm_io_map(env, fd, sizeof *f)))
            rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot map %s", tmp);
    }
    if (f) {
        memcpy(f->magic, LAST_MAGIC, 8);
        f->version = LAST_VERSION;
        memset(f->name, 0, sizeof f->name);
        memcpy(f->name, name, strnlen(name, TCPSHM_NAME_MAX));
        (void)tcpshm_io_unmap(env, f, sizeof *f);
    }
    /* Host durability: write, sync, rename, sync the directory. The record
     * must be on disk before the rename can be: else a power cut could leave
     * the new name pointing at an empty or half-written file, which the next
     * login refuses (or, worse, the old name back after the pair was reset). */
    if (!rc && host && tcpshm_io_file_sync(env, fd) != 0)
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot sync %s", tmp);
    (void)tcpshm_io_file_close(env, fd);
    if (!rc) {
        TCPSHM_CRASH_SITE("tcpshm/crash/login/client_lastserver_before_rename");
        if (tcpshm_io_rename(env, tmp, path) != 0)
            rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot rename %s to %s", tmp, path);
        else {
            TCPSHM_CRASH_SITE("tcpshm/crash/login/client_lastserver_after_rename");
            if (host && tcpshm_io_dir_sync(env, dir) != 0)
                return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot sync directory %s", dir);
        }
    }
    if (rc)
        (void)tcpshm_io_remove(env, tmp);
    return rc;
}

int tcpshm_lastserver_sync(const tcpshm_env *env, const char *dir, const char *client, tcpshm_error *err)
{
    char path[TCPSHM_PATH_SIZE];
    if (path_of(path, sizeof path, dir, client, ""))
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "lastserver path too long");
    int fd = tcpshm_io_file_open(env, path, 0, 0);
    if (fd < 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot open %s", path);
    int rc = tcpshm_io_file_sync(env, fd);
    int e = errno;
    (void)tcpshm_io_file_close(env, fd);
    if (rc != 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, e, "cannot sync %s", path);
    if (tcpshm_io_dir_sync(env, dir) != 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot sync directory %s", dir);
    return 0;
}
