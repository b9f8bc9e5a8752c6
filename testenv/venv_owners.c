/* venv's owners (virtual processes): the handle table, where every handle is
 * tagged with the owner that made it and usable only by that owner, and
 * process death (venv_kill). */
#include "venv_internal.h"

#include <string.h>

int venv_new_handle(venv *v, int kind)
{
    size_t i = 0;
    while (i < v->nh && v->h[i].kind != H_FREE)
        i++;
    if (i == v->nh) {
        if (v->nh >= 1u << 20)
            return venv_fail(EMFILE);
        handle *nh = realloc(v->h, (v->nh + 1) * sizeof *nh);
        if (!nh)
            return venv_fail(ENOMEM);
        v->h = nh;
        v->nh++;
    }
    handle *hd = &v->h[i];
    memset(hd, 0, sizeof *hd);
    hd->kind = kind;
    hd->owner = v->owner;
    return (int)i;
}

handle *venv_get_handle(venv *v, int fd, int kind)
{
    if (fd < 0 || (size_t)fd >= v->nh || v->h[fd].kind == H_FREE || v->h[fd].owner != v->owner) {
        errno = EBADF;
        return NULL;
    }
    handle *hd = &v->h[fd];
    if (kind == H_SOCK && hd->kind != H_SOCK) {
        errno = hd->kind == H_FILE ? ENOTSOCK : EINVAL;
        return NULL;
    }
    if (kind == H_FILE && hd->kind != H_FILE) {
        errno = EINVAL;
        return NULL;
    }
    return hd;
}

void venv_free_handle(handle *hd)
{
    free(hd->queue);
    free(hd->reg);
    memset(hd, 0, sizeof *hd);
    hd->kind = H_FREE;
}

void venv_set_owner(venv *v, uint32_t owner) { v->owner = owner; }
uint32_t venv_owner(const venv *v) { return v->owner; }

void venv_kill(venv *v, uint32_t owner)
{
    for (size_t i = 0; i < v->nh; i++) {
        handle *hd = &v->h[i];
        if (hd->kind == H_FREE || hd->owner != owner)
            continue;
        if (hd->kind == H_FILE) {
            venv_close_file(hd);
        } else {
            hd->reset_on_close = true;
            venv_close_sock(v, (int)i);
        }
    }
    /* a dead process syncs nothing: what a simulator's clean-up of its
     * objects does after the kill must not reach the disk */
    for (size_t i = 0; i < v->nmaps; i++)
        if (v->maps[i].owner == owner)
            v->maps[i].dead = true;
}

/* Handles of owner of one kind (H_FREE: of any kind). */
static uint32_t count_of(const venv *v, uint32_t owner, int kind)
{
    uint32_t n = 0;
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind != H_FREE && v->h[i].owner == owner && (kind == H_FREE || v->h[i].kind == kind))
            n++;
    return n;
}

uint32_t venv_handle_count(const venv *v, uint32_t owner) { return count_of(v, owner, H_FREE); }

uint32_t venv_socket_count(const venv *v, uint32_t owner) { return count_of(v, owner, H_SOCK); }
