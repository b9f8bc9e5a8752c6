/* readonly_env(): see readonly_env.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readonly_env.h"

static int ro_open(const char *path, int create, bool shm)
{
    if (create) {
        errno = EROFS;
        return -1;
    }
    int fd;
    do
        fd = shm ? shm_open(path, O_RDONLY | O_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd;
}

static int ro_file_open(void *ctx, const char *path, int create, unsigned mode)
{
    (void)ctx, (void)mode;
    return ro_open(path, create, false);
}

static int ro_shm_open(void *ctx, const char *name, int create, unsigned mode)
{
    (void)ctx, (void)mode;
    return ro_open(name, create, true);
}

static int ro_refuse_fd(void *ctx, int fd, uint64_t size)
{
    (void)ctx, (void)fd, (void)size;
    errno = EROFS;
    return -1;
}

static int ro_refuse_path(void *ctx, const char *path)
{
    (void)ctx, (void)path;
    errno = EROFS;
    return -1;
}

static int ro_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx, (void)from, (void)to;
    errno = EROFS;
    return -1;
}

static int ro_mkdir(void *ctx, const char *path, unsigned mode)
{
    (void)ctx, (void)mode;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    errno = EROFS;
    return -1;
}

/* Inspection never takes a client's or server's lock: it reads beside a
 * running process. */
static int ro_file_lock(void *ctx, int fd, int *holder_pid)
{
    (void)ctx, (void)fd;
    *holder_pid = -1;
    errno = EROFS;
    return -1;
}

/* Private and writable: the core may write (recovery, a fresh header) and
 * only this process sees it. */
static void *ro_map(void *ctx, int fd, size_t size)
{
    (void)ctx;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

const tcpshm_env *readonly_env(void)
{
    static tcpshm_env env;
    static bool ready;
    if (!ready) {
        env = *tcpshm_env_posix();
        env.file_open = ro_file_open;
        env.shm_open = ro_shm_open;
        env.file_resize = ro_refuse_fd;
        env.rename = ro_rename;
        env.remove = ro_refuse_path;
        env.shm_unlink = ro_refuse_path;
        env.mkdir = ro_mkdir;
        env.map = ro_map;
        env.file_lock = ro_file_lock;
        ready = true;
    }
    return &env;
}
