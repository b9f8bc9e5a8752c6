/* venv's shared-memory segments: shm_open("/name") is the file VENV_SHM_DIR
 * "/name", as on Linux, so a segment is a file like any other (it survives
 * kills, maps coherently, venv_file_data shows it). Built on env's file calls. */
#include "venv_internal.h"

#include <stdio.h>
#include <string.h>

static int shm_path(char *out, size_t n, const char *name)
{
    if (name[0] != '/' || name[1] == '\0' || strchr(name + 1, '/')) {
        errno = EINVAL;
        return -1;
    }
    snprintf(out, n, "%s%s", VENV_SHM_DIR, name);
    return 0;
}

static int v_shm_open(void *ctx, const char *name, int create, unsigned mode)
{
    const tcpshm_env *env = &((venv *)ctx)->env;
    char path[512];
    if (shm_path(path, sizeof path, name) != 0)
        return -1;
    if (create) { /* the directory is there on a real host */
        (void)env->mkdir(ctx, "/dev", 0755);
        (void)env->mkdir(ctx, VENV_SHM_DIR, 0755);
    }
    return env->file_open(ctx, path, create, mode);
}

static int v_shm_unlink(void *ctx, const char *name)
{
    char path[512];
    if (shm_path(path, sizeof path, name) != 0)
        return -1;
    return ((venv *)ctx)->env.remove(ctx, path);
}

void venv_shm_install(tcpshm_env *env)
{
    env->shm_open = v_shm_open;
    env->shm_unlink = v_shm_unlink;
}
