/* The only way core code reaches the env: one wrapper per env call, each
 * carrying the libfiu failure point of faults/catalogue.c. With FIU_ENABLE
 * off (the release library) the points compile to nothing.
 *
 * The failure points, what each does when enabled and where it sits are
 * listed once, in faults/catalogue.c (failnum > 1 is the errno; failinfo,
 * when set, is a byte count for the short variants). tests/test_fault_catalogue.c
 * checks that the catalogue, the fiu_fail(...) names in io.c and the table
 * in faults/README.md agree.
 */
#ifndef TCPSHM_IO_H
#define TCPSHM_IO_H

#include "tcpshm/env.h"

/* The size of the library's path buffers (NUL included); create refuses a
 * directory whose paths would not fit (dir_check.h). */
#define TCPSHM_PATH_SIZE 4096u

int tcpshm_io_file_open(const tcpshm_env *env, const char *path, int create, unsigned mode);
int tcpshm_io_file_size(const tcpshm_env *env, int fd, uint64_t *size);
int tcpshm_io_file_resize(const tcpshm_env *env, int fd, uint64_t size);
int tcpshm_io_file_close(const tcpshm_env *env, int fd);
int tcpshm_io_rename(const tcpshm_env *env, const char *from, const char *to);
int tcpshm_io_remove(const tcpshm_env *env, const char *path);
int tcpshm_io_file_lock(const tcpshm_env *env, int fd, int *holder_pid);
/* The stable-storage calls (env version 2): -1/ENOSYS for an older env. */
int tcpshm_io_map_sync(const tcpshm_env *env, void *addr, size_t len);
int tcpshm_io_file_sync(const tcpshm_env *env, int fd);
int tcpshm_io_dir_sync(const tcpshm_env *env, const char *path);
/* The boot id (env version 3): -1/ENOSYS for an older env. */
int tcpshm_io_boot_id(const tcpshm_env *env, uint8_t id[16]);
int tcpshm_io_mkdir(const tcpshm_env *env, const char *path, unsigned mode);
/* mkdir 0700 unless it exists: 0, or -1 with errno. */
int tcpshm_io_ensure_dir(const tcpshm_env *env, const char *path);
int tcpshm_io_shm_open(const tcpshm_env *env, const char *name, int create, unsigned mode);
int tcpshm_io_shm_unlink(const tcpshm_env *env, const char *name);
void *tcpshm_io_map(const tcpshm_env *env, int fd, size_t size);
int tcpshm_io_unmap(const tcpshm_env *env, void *addr, size_t size);

int tcpshm_io_listen(const tcpshm_env *env, const char *addr, uint16_t port, int backlog);
int tcpshm_io_local_port(const tcpshm_env *env, int fd);
/* -1/ENOSYS for an env without sock_addrs (one written before it existed). */
int tcpshm_io_sock_addrs(const tcpshm_env *env, int fd, char *local, char *peer, size_t size);
int tcpshm_io_accept(const tcpshm_env *env, int listen_fd);
int tcpshm_io_connect(const tcpshm_env *env, const char *addr, uint16_t port);
int tcpshm_io_connect_result(const tcpshm_env *env, int fd);
ssize_t tcpshm_io_send(const tcpshm_env *env, int fd, const void *buf, size_t len);
ssize_t tcpshm_io_recv(const tcpshm_env *env, int fd, void *buf, size_t len);
int tcpshm_io_set_nodelay(const tcpshm_env *env, int fd, int on);
int tcpshm_io_sock_close(const tcpshm_env *env, int fd);
/* The readiness calls (env version 3; the caller checks tcpshm_env_has_epoll). */
int tcpshm_io_epoll_create(const tcpshm_env *env);
int tcpshm_io_epoll_ctl(const tcpshm_env *env, int set, int op, int fd, uint64_t tag);
int tcpshm_io_epoll_wait(const tcpshm_env *env, int set, uint64_t *tags, uint32_t max);
int tcpshm_io_wait(const tcpshm_env *env, int fd, int want_write, int timeout_ms);

#endif
