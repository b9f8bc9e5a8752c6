/* venv's readiness sets (the env's epoll calls): a set is a handle holding
 * the sockets registered in it; a wait reports those readable now (bytes,
 * EOF or a reset waiting: venv_sock_readable), level-triggered. Which ones,
 * when more are ready than asked for, is fixed: the scan goes round the
 * registrations in the order they were made, starting after the last one
 * reported by the previous wait (so none is starved, as epoll moves a
 * reported socket to the end of its ready list). */
#include "venv_internal.h"

#include <string.h>

static int v_epoll_create(void *ctx) { return venv_new_handle(ctx, H_EPOLL); }

static handle *get_set(venv *v, int set)
{
    handle *hd = venv_get_handle(v, set, H_FREE);
    if (hd && hd->kind != H_EPOLL) {
        errno = EINVAL;
        return NULL;
    }
    return hd;
}

static size_t find_reg(const handle *set, int fd)
{
    size_t i = 0;
    while (i < set->nreg && set->reg[i].fd != fd)
        i++;
    return i;
}

static void drop_reg(handle *set, size_t i)
{
    memmove(&set->reg[i], &set->reg[i + 1], (set->nreg - i - 1) * sizeof *set->reg);
    set->nreg--;
    if (set->next > i)
        set->next--;
    if (set->next >= set->nreg)
        set->next = 0;
}

static int v_epoll_ctl(void *ctx, int set_fd, int op, int fd, uint64_t tag)
{
    venv *v = ctx;
    if (!get_set(v, set_fd))
        return -1;
    if (!venv_get_handle(v, fd, H_SOCK))
        return -1; /* EBADF, or EINVAL for a file or listener (venv supports sockets only) */
    handle *set = &v->h[set_fd];
    size_t i = find_reg(set, fd);
    if (op == TCPSHM_EPOLL_DEL) {
        if (i == set->nreg)
            return venv_fail(ENOENT);
        drop_reg(set, i);
        return 0;
    }
    if (op != TCPSHM_EPOLL_ADD)
        return venv_fail(EINVAL);
    if (i < set->nreg)
        return venv_fail(EEXIST);
    if (!venv_grow((void **)&set->reg, &set->capreg, set->nreg + 1, sizeof *set->reg))
        return venv_fail(ENOMEM);
    set = &v->h[set_fd];
    set->reg[set->nreg++] = (vreg){fd, tag};
    return 0;
}

static int v_epoll_wait(void *ctx, int set_fd, uint64_t *tags, uint32_t max)
{
    venv *v = ctx;
    handle *set = get_set(v, set_fd);
    if (!set)
        return -1;
    if (max > (uint32_t)INT32_MAX)
        max = (uint32_t)INT32_MAX;
    uint32_t got = 0;
    size_t n = set->nreg, start = set->next;
    for (size_t k = 0; k < n && got < max; k++) {
        size_t i = (start + k) % n;
        if (venv_sock_readable(&v->h[set->reg[i].fd])) {
            tags[got++] = set->reg[i].tag;
            set->next = (i + 1) % n;
        }
    }
    return (int)got;
}

void venv_ready_forget(venv *v, int fd)
{
    for (size_t s = 0; s < v->nh; s++)
        if (v->h[s].kind == H_EPOLL) {
            size_t i = find_reg(&v->h[s], fd);
            if (i < v->h[s].nreg)
                drop_reg(&v->h[s], i);
        }
}

void venv_ready_install(tcpshm_env *env)
{
    env->epoll_create = v_epoll_create;
    env->epoll_ctl = v_epoll_ctl;
    env->epoll_wait = v_epoll_wait;
}
