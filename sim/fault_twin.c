/* The twin fault kind (fault_twin.h). The rule (sim/README.md, "Two live
 * processes with one name"): while the first's connection is live on the
 * server, a second login with its name is refused ("Already logged on"),
 * and neither stream loses or duplicates anything. So that a correct build
 * never meets the other case (the first just dropped: the twin may log in,
 * the server resets a consumed pair, and the first's next login is not
 * always detectable: README), the twin starts only while the server has
 * the first's connection live, nothing faults the two while it tries, and
 * the server application refuses the twin itself if that connection went
 * down anyway. The twin pushes nothing; it lives until its one login ends
 * or a bound passes, then it is killed. Half the twins start in the
 * first's own directory instead: the name lock must refuse them at create
 * (TCPSHM_E_IN_USE), leaving the directory as it was; they never log in. */
#include <stdio.h>
#include <string.h>

#include "dir_print.h"
#include "fault_twin.h"
#include "node.h"
#include "pairs.h"

static node *victim_of(sim *s) { return &s->nodes[s->tw.victim]; }

static bool first_live(sim *s, const node *v)
{
    node *sv = &s->nodes[0];
    if (!sv->alive || !v->alive || tcpshm_client_get_state(v->cl) != TCPSHM_CLIENT_LOGGED_IN)
        return false;
    tcpshm_conn *c = tcpshm_server_find_conn(sv->srv, v->name);
    return c && tcpshm_conn_is_connected(c);
}

/* ------------------------------------------------------------ callbacks */

static void t_login(void *u, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    sim *s = u;
    (void)c;
    chk_fail(&s->chk, victim_of(s)->c2s,
             "twin: a second process logged in as %s (server %s) while the first's connection was live: the "
             "server must refuse it (Already logged on)",
             victim_of(s)->name, rsp->server_name);
}

static void t_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    sim *s = u;
    (void)c, (void)m;
    chk_fail(&s->chk, victim_of(s)->s2c, "twin: the second process of %s received a message", victim_of(s)->name);
}

/* Traced with the twin's end (a TR_REJECT of the victim's index would end
 * the first's spans in a Chrome trace). */
static void t_reject(void *u, const tcpshm_login_rsp *rsp)
{
    sim *s = u;
    snprintf(s->tw.refused, sizeof s->tw.refused, "refused: %s", rsp->error_msg);
}

static void t_syserr(void *u, const char *reason, int e)
{
    sim *s = u;
    (void)e;
    snprintf(s->tw.refused, sizeof s->tw.refused, "failed: %s", reason);
}

/* ------------------------------------------------------------ life */

bool fault_twin_pins(const sim *s, const node *n)
{
    return s->tw.alive && (n->idx == 0 || n->idx == s->tw.victim);
}

/* ------------------------------------------------------------ same directory */

/* The twin in the first's own directory: the name lock (<dir>/<name>.lock,
 * held by the first from create to destroy) must refuse it at create with
 * TCPSHM_E_IN_USE, before it reads or writes anything of the name's. */
static void same_dir_twin(sim *s, node *vn, const tcpshm_client_callbacks *cb)
{
    uint32_t owner = s->next_owner++;
    char what[2 * TCPSHM_NAME_MAX + 8];
    snprintf(what, sizeof what, "%s %s", vn->name, vn->dir);
    trace_event(&s->tr, s->now, TR_TWIN, (uint32_t)vn->idx, owner, 0, what);
    static sim_dir_print before; /* one twin at a time */
    sim_dir_print_begin(s, vn->dir, &before);
    tcpshm_client *cl = NULL;
    tcpshm_error err;
    venv_set_owner(s->v, owner);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    int rc = tcpshm_client_create(&cl, &s->cfg, s->env, vn->name, vn->dir, cb, &err);
    if (rc == 0) {
        chk_fail(&s->chk, vn->c2s,
                 "twin: a second process of %s was created in the first's directory %s while the first "
                 "lives: the name lock must refuse it (TCPSHM_E_IN_USE)", vn->name, vn->dir);
        tcpshm_client_destroy(cl);
    } else if (rc != TCPSHM_E_IN_USE) {
        chk_fail(&s->chk, vn->c2s, "twin: a second process of %s in the first's directory %s failed with %d (%s), "
                 "not TCPSHM_E_IN_USE", vn->name, vn->dir, rc, err.text);
    }
    venv_kill(s->v, owner);
    sim_dir_print_end(s, &before);
    fp_set_active(&s->plan, was);
    if (rc != 0 && !sim_dir_print_same(s, &before))
        chk_fail(&s->chk, vn->c2s, "twin: the refused second process of %s changed its directory %s", vn->name,
                 vn->dir);
    trace_event(&s->tr, s->now, TR_TWIN_END, (uint32_t)vn->idx, 0, 0,
                rc == TCPSHM_E_IN_USE ? "refused at create: in use" : "created");
}

void fault_twin_maybe_start(sim *s)
{
    if (s->tw.alive || s->nnodes < 2 || !fp_roll(&s->plan, FP_TWIN))
        return;
    int v = 1 + (int)fp_below(&s->plan, FP_TWIN, s->nnodes - 1u);
    node *vn = &s->nodes[v];
    if (!first_live(s, vn) || vn->block_until > s->now || s->nodes[0].block_until > s->now)
        return;
    tcpshm_client_callbacks cb = {.user = s, .on_login_success = t_login, .on_msg = t_msg,
                                  .on_login_reject = t_reject, .on_system_error = t_syserr};
    if (fp_below(&s->plan, FP_TWIN, 2) == 0) { /* half the twins: the first's own directory */
        same_dir_twin(s, vn, &cb);
        return;
    }
    twin *t = &s->tw;
    node *n = &t->n;
    memset(n, 0, sizeof *n);
    n->idx = v;
    n->owner = s->next_owner++;
    n->alive = true;
    snprintf(n->name, sizeof n->name, "%s", vn->name);
    snprintf(n->dir, sizeof n->dir, "twin%u", t->count++); /* a fresh directory */
    tcpshm_error err;
    venv_set_owner(s->v, n->owner);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    int rc = tcpshm_client_create(&n->cl, &s->cfg, s->env, n->name, n->dir, &cb, &err);
    fp_set_active(&s->plan, was);
    if (rc != 0) {
        chk_fail(&s->chk, -1, "simulator: cannot start a twin of %s: %s", n->name, err.text);
        return;
    }
    t->alive = true;
    t->tried = false;
    t->refused[0] = '\0';
    t->victim = v;
    t->until = s->now + 2 * s->cfg.new_conn_timeout + s->cfg.heartbeat_interval;
    char what[2 * TCPSHM_NAME_MAX + 8];
    snprintf(what, sizeof what, "%s %s", n->name, n->dir);
    trace_event(&s->tr, s->now, TR_TWIN, (uint32_t)v, n->owner, 0, what);
}

void fault_twin_end(sim *s, const char *why)
{
    twin *t = &s->tw;
    if (!t->alive)
        return;
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    venv_kill(s->v, t->n.owner);
    venv_set_owner(s->v, t->n.owner);
    tcpshm_client_destroy(t->n.cl);
    t->n.cl = NULL;
    fp_set_active(&s->plan, was);
    t->alive = false;
    trace_event(&s->tr, s->now, TR_TWIN_END, (uint32_t)t->victim, 0, 0, why);
}

void fault_twin_step(sim *s)
{
    twin *t = &s->tw;
    if (!t->alive)
        return;
    node *n = &t->n;
    venv_set_owner(s->v, n->owner);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false); /* its own calls do not fault: it only tries to log in */
    bool shm = sim_client_shm(s, n->name);
    tcpshm_client_state st = tcpshm_client_get_state(n->cl);
    bool over = false;
    if (!t->tried) {
        tcpshm_error err;
        t->tried = true;
        over = tcpshm_client_login(n->cl, "127.0.0.1", SIM_PORT, shm, node_side_login_data(s, n), s->now, &err) != 0;
    } else if (st == TCPSHM_CLIENT_IDLE) {
        over = true; /* refused, or the link failed */
    }
    if (!over) {
        tcpshm_client_poll_tcp(n->cl, s->now);
        if (shm)
            tcpshm_client_poll_shm(n->cl);
    }
    fp_set_active(&s->plan, was);
    if (over || s->now >= t->until)
        fault_twin_end(s, !over ? "time bound" : t->refused[0] ? t->refused : "login over");
}

bool fault_twin_login(const sim *s, const tcpshm_login *lg)
{
    const twin *t = &s->tw;
    /* the twin's: the first was logged in, so its logins name a server */
    return t->alive && strcmp(lg->client_name, t->n.name) == 0 && lg->last_server_name[0] == '\0';
}

const char *fault_twin_refuse(sim *s, const tcpshm_login *lg)
{
    if (!fault_twin_login(s, lg))
        return NULL;
    node *v = victim_of(s);
    tcpshm_conn *c = s->nodes[0].alive ? tcpshm_server_find_conn(s->nodes[0].srv, v->name) : NULL;
    return c && tcpshm_conn_is_connected(c) ? NULL : FAULT_TWIN_REFUSAL;
}
