/* A user's world's operator (world_reset.h). The built-in application's
 * answer to a detected loss is a new client name (fault_rollback.c
 * rb_operator); a world node's names are the user's, so its operator does
 * what one does for such an application: stop both ends, remove the
 * pair's state on both, start them again (every pair of the client: with
 * server identities, one per server name). The pair is new (seq 0 both
 * ways), which the user's pair_reset hook is told while both processes
 * are down, so that the application's own state of the pair and the
 * invariant's expectations start over too. */
#include <string.h>

#include "check_lastserver.h"
#include "node.h"
#include "pairs.h"
#include "rollback_rule.h"
#include "tcpshm/sim.h"
#include "world_reset.h"

bool world_resets_pairs(const sim *s) { return s->p->world && s->p->world->pair_reset; }

/* Removed as the operator would (a file not there: nothing to do). */
static void remove_file(sim *s, const char *path)
{
    size_t len;
    if (!venv_file_data(s->v, path, &len))
        return;
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    (void)s->env->remove(s->env->ctx, path);
}

/* The user's hook, with the plan off: the operator's own calls do not fail.
 * (A world without it runs no kind that resets pairs; a file a host-durable
 * power loss left refused would still be reset, unannounced.) */
static void tell_user(sim *s, const char *server, const char *client, uint32_t how)
{
    const tcpshm_sim_world *w = s->p->world;
    node *cn = sim_node_named(s, client);
    trace_event(&s->tr, s->now, TR_RESET, cn ? (uint32_t)cn->idx : 0, how, 0, client);
    if (!w->pair_reset)
        return;
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    w->pair_reset(w->check_user, server, client);
    fp_set_active(&s->plan, was);
}

void world_reset(sim *s, node *cn)
{
    node *sv = &s->nodes[0];
    char servers[SIM_MAX_GEN][RB_NAME], client[TCPSHM_NAME_MAX + 1], path[SIM_PATH_SIZE], sdir[TCPSHM_NAME_MAX + 1];
    uint32_t ns;
    sim_join(client, sizeof client, cn->name, NULL);
    if (cn->alive)
        node_stop(s, cn);
    if (sv->alive && !s->chk.violated)
        node_stop(s, sv);
    if (s->chk.violated)
        return;
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    /* The client's record goes, so its next login says "" to every server
     * name: every pair of the client starts over, not only the dead ones.
     * With identities, a pair with another server name whose messages it
     * popped but had not yet acknowledged would otherwise resume in the
     * first-login window and give them again (order_world seed 303, swarm). */
    for (ns = 0; ns < sim_max_names(s, sv); ns++)
        sim_name_of(s, sv, ns, servers[ns]);
    for (uint32_t i = 0; i < ns; i++) {
        const char *server = servers[i];
        sim_queue_path(path, sizeof path, sim_server_dir(s, server, sdir), server, client);
        remove_file(s, path);
        sim_queue_path(path, sizeof path, cn->dir, client, server);
        remove_file(s, path);
        sim_shm_path(path, sizeof path, client, server);
        remove_file(s, path);
        sim_shm_path(path, sizeof path, server, client);
        remove_file(s, path);
        /* durable as the operator leaves it: a later power loss (process
         * durability) must not bring the removed names back */
        (void)s->env->dir_sync(s->env->ctx, sdir);
    }
    sim_lastserver_path(path, sizeof path, cn->dir, client);
    remove_file(s, path);
    (void)s->env->dir_sync(s->env->ctx, cn->dir);
    fp_set_active(&s->plan, was);
    /* no record now, so no longer torn or damaged: its rule holds again */
    cn->ls_torn &= ~(1u << cn->cur);
    cn->ls_damaged &= ~(1u << cn->cur);
    lastserver_resync(s, cn);
    memcpy(cn->ls_prev[cn->cur], cn->ls_rec[cn->cur], sizeof cn->ls_prev[0]);
    /* the checker: the old streams stay closed (retired), new ones at 0 */
    chk_name_back(&s->chk, client);
    for (uint32_t i = 0; i < ns; i++) {
        (void)chk_new_epoch(&s->chk, servers[i], client, CHK_C2S, 0);
        (void)chk_new_epoch(&s->chk, servers[i], client, CHK_S2C, 0);
        rb_pair_reset(s, servers[i], client);
        tell_user(s, servers[i], client, 0);
    }
}

void world_pair_lost(sim *s, const char *server, const char *client)
{
    if (world_resets_pairs(s))
        tell_user(s, server, client, 1);
}
