/* The pairs of a run: where a pair's streams start, the transport of each
 * client name and the names of its SHM segments (pairs.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pairs.h"
#include "world.h"

int sim_name_group(const sim *s, const tcpshm_login *lg)
{
    uint32_t h = 2166136261u;
    for (const char *p = lg->client_name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    uint32_t groups = lg->use_shm ? s->cfg.shm_groups : s->cfg.tcp_groups; /* 0: the liar's SHM login
                                                                             * where SHM is off */
    return groups ? (int)(h % groups) : 0;
}

bool sim_pick_shm(sim *s)
{
    if (s->tx_mode == SIM_TX_MIXED)
        return sim_rng_below(&s->tx_rng, 2) != 0;
    return s->tx_mode == SIM_TX_SHM;
}

/* Whether client (a name of a node of the world, or the liar's SHM name)
 * logs in over SHM. */
bool sim_client_shm(const sim *s, const char *client)
{
    if (strcmp(client, SIM_SHM_LIAR_NAME) == 0)
        return true; /* the liar's SHM name (a world's nodes may not take it: world.c) */
    uint32_t g;
    const node *n = sim_client_named(s, client, &g);
    return n ? n->shm[g] : false;
}

const node *sim_client_named(const sim *s, const char *name, uint32_t *gen)
{
    for (uint32_t i = 1; i < s->nnodes; i++)
        for (uint32_t g = 0; g <= s->nodes[i].gen; g++) {
            char nm[TCPSHM_NAME_MAX + 1];
            sim_name_of(s, &s->nodes[i], g, nm);
            if (strcmp(nm, name) == 0) {
                *gen = g;
                return &s->nodes[i];
            }
        }
    return NULL;
}

node *sim_node_named(sim *s, const char *name)
{
    for (uint32_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].name, name) == 0)
            return &s->nodes[i];
    return NULL;
}

peer *sim_find_peer(node *n, const char *name)
{
    for (uint32_t i = 0; i < n->npeers; i++)
        if (strcmp(n->peers[i].name, name) == 0)
            return &n->peers[i];
    return NULL;
}

void sim_shm_path(char *out, size_t n, const char *from, const char *to)
{
    sim_join(out, n, VENV_SHM_DIR, "/tcpshm_", from, "_", to, NULL);
}

void sim_queue_path(char *out, size_t n, const char *dir, const char *local, const char *remote)
{
    sim_join(out, n, dir, "/", local, "_", remote, ".ptcp", NULL);
}

void sim_lastserver_path(char *out, size_t n, const char *dir, const char *client)
{
    sim_join(out, n, dir, "/", client, ".lastserver", NULL);
}

uint32_t sim_pair_base(const sim *s, const char *server, const char *client)
{
    if (!s->wrap_base) /* the pairs of the first names (world_identity 0) */
        return 0;
    bool first = false;
    for (uint32_t i = 1; i < s->nnodes && !first; i++)
        first = strcmp(world_identity(s, &s->nodes[i], 0).name, client) == 0;
    return first && strcmp(world_identity(s, &s->nodes[0], 0).name, server) == 0 ? s->wrap_base : 0;
}

void sim_join(char *out, size_t n, ...)
{
    va_list ap;
    size_t k = 0;
    va_start(ap, n);
    for (const char *part = va_arg(ap, const char *); part && n; part = va_arg(ap, const char *))
        for (; *part && k + 1 < n; part++)
            out[k++] = *part;
    va_end(ap);
    if (n)
        out[k] = '\0';
}

void sim_name_of(const sim *s, const node *n, uint32_t k, char out[TCPSHM_NAME_MAX + 1])
{
    sim_join(out, TCPSHM_NAME_MAX + 1, world_identity(s, n, k).name, NULL);
}

const char *sim_dir_of(const sim *s, const node *n, uint32_t k, char out[TCPSHM_NAME_MAX + 1])
{
    sim_join(out, TCPSHM_NAME_MAX + 1, world_identity(s, n, k).dir, NULL);
    return out;
}

const char *sim_server_dir(const sim *s, const char *server, char out[TCPSHM_NAME_MAX + 1])
{
    const node *sv = &s->nodes[0];
    for (uint32_t g = 0; g <= sv->gen; g++) {
        char name[TCPSHM_NAME_MAX + 1];
        sim_name_of(s, sv, g, name);
        if (strcmp(name, server) == 0)
            return sim_dir_of(s, sv, g, out);
    }
    sim_join(out, TCPSHM_NAME_MAX + 1, sv->dir, NULL);
    return out;
}

uint32_t sim_max_names(const sim *s, const node *n) { return world_names(s, n); }

void sim_name_switch(sim *s, node *n, uint32_t k)
{
    if (n->idx == 0)
        chk_close_server(&s->chk, n->name);
    else
        chk_close_client(&s->chk, n->name);
    n->cur = k;
    world_name(s, n); /* its identity k */
    if (k > n->gen) {
        n->gen = k;
        if (n->idx > 0)
            n->shm[k] = sim_pick_shm(s); /* a new pair: may differ in a mixed run */
    }
    chk_name_back(&s->chk, n->name);
}

int sim_recorded_server(sim *s, const char *dir, const char *client, char out[TCPSHM_NAME_MAX + 1])
{
    char path[SIM_PATH_SIZE];
    size_t len = 0;
    sim_lastserver_path(path, sizeof path, dir, client);
    const uint8_t *d = venv_file_data(s->v, path, &len);
    out[0] = '\0';
    if (!d)
        return 0;
    uint32_t version;
    if (len != 16u + TCPSHM_NAME_MAX + 1u || memcmp(d, "TSHMLAST", 8) != 0)
        return -1;
    memcpy(&version, d + 8, sizeof version);
    if (version != 1u || !memchr(d + 16, '\0', TCPSHM_NAME_MAX + 1u))
        return -1;
    memcpy(out, d + 16, TCPSHM_NAME_MAX + 1u);
    return 1;
}

bool sim_pair_lost(sim *s, const char *dir, const char *client, const char *server)
{
    char path[SIM_PATH_SIZE];
    size_t len;
    sim_queue_path(path, sizeof path, dir, client, server);
    return server[0] && !sim_client_shm(s, client) && !venv_file_data(s->v, path, &len);
}
