/* venv: the in-memory env of venv.h. Plain data structures (arrays searched
 * linearly: a simulated node has a handful of files and sockets; the names,
 * looked up most, also have a hash index), no I/O, no clock, no randomness. */
#include "venv_internal.h"

/* This file: creation, the env table and destruction. The calls live in
 * venv_files.c, venv_net.c, venv_ready.c and venv_shm.c; handles and owners in venv_owners.c. */

venv *venv_create(const venv_options *opt)
{
    venv *v = calloc(1, sizeof *v);
    if (v) {
        v->dix = venv_index_new();
        v->ddix = venv_index_new();
    }
    if (!v || !v->dix || !v->ddix) {
        if (v) {
            venv_index_free(v->dix);
            venv_index_free(v->ddix);
        }
        free(v);
        return NULL;
    }
    v->names_gen = 1;
    v->stream_capacity = opt && opt->stream_capacity ? opt->stream_capacity : DEFAULT_STREAM_CAPACITY;
    v->sync_unit = opt && opt->sync_unit && opt->sync_unit <= VENV_PAGE_SIZE ? opt->sync_unit : VENV_PAGE_SIZE;
    v->first_port = opt && opt->first_ephemeral_port ? opt->first_ephemeral_port
                                                     : (uint16_t)DEFAULT_EPHEMERAL_PORT;
    v->next_local_port = v->first_port;
    venv_set_connect_host(v, NULL);
    v->env = (tcpshm_env){.version = TCPSHM_ENV_VERSION, .ctx = v};
    venv_files_install(&v->env);
    venv_disk_install(&v->env);
    venv_shm_install(&v->env);
    venv_net_install(&v->env);
    venv_ready_install(&v->env);
    return v;
}

void venv_destroy(venv *v)
{
    if (!v)
        return;
    /* sockets first (connections are shared by two handles), then files */
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind == H_SOCK || v->h[i].kind == H_LISTEN || v->h[i].kind == H_EPOLL)
            venv_close_sock(v, (int)i);
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind == H_FILE)
            venv_close_file(&v->h[i]);
    venv_files_destroy(v);
    free(v->h);
    free(v->held);
    free(v);
}

const tcpshm_env *venv_env(venv *v) { return &v->env; }
