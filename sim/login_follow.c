/* Following a pair through its logins (login_follow.h): the login notes,
 * the protocol's decision at each accepted login made by the checker, and
 * the queues checked against the epoch on both sides (world.c). */
#include <string.h>

#include "check_lastserver.h"
#include "fault_impostor.h"
#include "login_follow.h"
#include "pairs.h"
#include "rollback_rule.h"
#include "same_name.h"

/* ------------------------------------------------------------ login notes
 * What each login said (last_server_name, its numbers), from
 * on_new_connection until the login is refused, fails the sequence check
 * or is accepted: the checker decides from it whether the pair continues. */

static int note_find(sim *s, const char *client)
{
    for (uint32_t i = s->nnotes; i-- > 0;)
        if (strcmp(s->notes[i].client, client) == 0)
            return (int)i;
    return -1;
}

void lf_note_drop(sim *s, const char *client)
{
    int i = note_find(s, client);
    if (i >= 0)
        s->notes[i] = s->notes[--s->nnotes];
}

void lf_note_add(sim *s, const tcpshm_login *lg)
{
    if (s->nnotes == sizeof s->notes / sizeof s->notes[0]) {
        chk_fail(&s->chk, -1, "simulator: too many logins under way");
        return;
    }
    login_note *t = &s->notes[s->nnotes++];
    sim_join(t->client, sizeof t->client, lg->client_name, NULL);
    sim_join(t->last, sizeof t->last, lg->last_server_name, NULL);
    t->zeros = lg->ack_seq == 0 && lg->client_seq_start == 0 && lg->client_seq_end == 0;
}

void lf_notes_forget(sim *s) { s->nnotes = 0; }

/* ------------------------------------------------------------ the server's logins */

/* The pair after an accepted login: the protocol's decision (step 5) made
 * by the checker; the server's queue must be where that epoch says (a
 * reset the protocol asked for happened, none it did not ask for). */
bool lf_server_login(sim *s, node *n, peer *p, tcpshm_conn *c)
{
    int i = note_find(s, p->name);
    if (i < 0) {
        if (!liar_server_logon(s, p->name)) /* a login lie accepted: the liar says which */
            chk_fail(&s->chk, -1, "simulator: %s logged on without a login seen", p->name);
        return false;
    }
    login_note t = s->notes[i];
    lf_note_drop(s, p->name);
    uint32_t base = sim_pair_base(s, n->name, p->name);
    bool cont = chk_login_continues(&s->chk, n->name, p->name, t.last, t.zeros, base);
    chk_pair_login(&s->chk, n->name, p->name, cont, base, &p->c2s, &p->s2c);
    /* the first-login window (last "", zeros) resumes the server's side, but
     * the client, which names no server, starts the pair anew: pushes it made
     * to this server in an earlier life of the name (it has since logged in
     * elsewhere: a new connection that abandoned this pair) go with its
     * reset, as they would at any later login here. A pair under the
     * rollback rule is that rule's to judge. (Seed 462, swarm.) Not over
     * SHM: only the server resets the segments, and in the window it keeps
     * them, so those pushes are still there and are delivered (seed 26201,
     * --faults all: a client whose directory was wiped). */
    bool window_epoch = cont && t.last[0] == '\0' && !p->shm && s->chk.s[p->c2s].pushed > 0 &&
                      !rb_pair_pending(s, n->name, p->name);
    if (window_epoch)
        p->c2s = chk_new_epoch(&s->chk, n->name, p->name, CHK_C2S, s->chk.s[p->c2s].base);
    const chk_stream *a = &s->chk.s[p->c2s], *b = &s->chk.s[p->s2c];
    bool checked = !rb_pair_pending(s, n->name, p->name) && !rb_pair_dead(s, n->name, p->name);
    if (checked && (tcpshm_conn_seq_end(c) != b->base + b->pushed || tcpshm_conn_my_ack(c) != a->base + a->popped))
        chk_fail(&s->chk, p->s2c, "server %s: after the login of %s (last server \"%s\": %s) its queue has seq_end %u, "
                                  "my_ack %u; the pair says %u, %u",
                 n->name, p->name, t.last, cont ? "continues" : "new connection, both reset", tcpshm_conn_seq_end(c),
                 tcpshm_conn_my_ack(c), b->base + b->pushed, a->base + a->popped);
    return true;
}

bool lf_refused_after_reset(sim *s, const char *server, const char *client, const char *reason)
{
    int i = note_find(s, client);
    return i >= 0 && strcmp(reason, "System error") == 0 &&
           !chk_login_continues(&s->chk, server, client, s->notes[i].last, s->notes[i].zeros,
                                sim_pair_base(s, server, client));
}

/* ------------------------------------------------------------ the client's side */

void lf_client_streams(sim *s, node *n, const char *server)
{
    if (n->c2s >= 0 && sim_same_name(n->server, server))
        return;
    sim_join(n->server, sizeof n->server, server, NULL);
    uint32_t base = sim_pair_base(s, server, n->name);
    n->c2s = chk_stream_id(&s->chk, server, n->name, CHK_C2S, base);
    n->s2c = chk_stream_id(&s->chk, server, n->name, CHK_S2C, base);
    s->chk.s[n->c2s].client_joined = s->chk.s[n->s2c].client_joined = true;
}

void lf_client_push_streams(sim *s, node *n, tcpshm_conn *c)
{
    const char *remote = tcpshm_conn_remote_name(c);
    lf_client_streams(s, n, remote);
    /* a pair whose storage went back, not judged yet, may hold on the client
     * an older epoch than the checker's: the record came back to a server
     * name that had since started the pair anew (seed 44835 --faults all:
     * a login the server accepted as new and the client failed to record).
     * Its pushes belong to that older epoch, which the next login must end
     * (a mismatch, or a new connection); they are never delivered. */
    const chk_stream *st = &s->chk.s[n->c2s];
    if (rb_pair_pending(s, remote, n->name) && tcpshm_conn_seq_end(c) != st->base + st->pushed)
        n->c2s = chk_stale_epoch(&s->chk, remote, n->name, CHK_C2S, tcpshm_conn_seq_end(c));
}

void lf_client_login(sim *s, node *n, tcpshm_conn *c, const char *server)
{
    n->c2s = -1; /* the server's login may have started a new epoch of the pair */
    lf_client_streams(s, n, server);
    const chk_stream *a = &s->chk.s[n->c2s], *b = &s->chk.s[n->s2c];
    if (!rb_pair_pending(s, server, n->name) && !rb_pair_dead(s, server, n->name) &&
        (tcpshm_conn_seq_end(c) != a->base + a->pushed || tcpshm_conn_my_ack(c) != b->base + b->popped))
        chk_fail(&s->chk, n->c2s, "client %s: after its login to %s (it said last server \"%s\") its queue has "
                                  "seq_end %u, my_ack %u; the pair says %u, %u",
                 n->name, server, n->login_last, tcpshm_conn_seq_end(c), tcpshm_conn_my_ack(c),
                 a->base + a->pushed, b->base + b->popped);
}

void lf_client_mismatch(sim *s, node *n, const tcpshm_seq_mismatch *m)
{
    /* A login to a server name other than the one it said is a new
     * connection: the client resets and records the new name before it
     * judges the ranges, and the server (told another name) reset too, so
     * both are [0, 0) with ack 0 (or the server kept a first-login window
     * that starts at 0): never a mismatch, rollback or not. */
    char rec[TCPSHM_NAME_MAX + 1];
    if (sim_recorded_server(s, n->dir, n->name, rec) >= 0 && rec[0] && strcmp(rec, n->login_last) != 0)
        chk_fail(&s->chk, n->c2s,
                 "client %s: sequence mismatch at a login that is a new connection (it said last server \"%s\", "
                 "now records \"%s\"): client [%u, %u) ack %u, server [%u, %u) ack %u (both sides start at 0)",
                 n->name, n->login_last, rec, m->local_seq_start, m->local_seq_end, m->local_ack,
                 m->remote_seq_start, m->remote_seq_end, m->remote_ack);
}

void lf_client_failed(sim *s, node *n, const char *reason, int e)
{
    trace_event(&s->tr, s->now, TR_LOGIN_FAIL, (uint32_t)n->idx, (uint32_t)e, 0, reason);
    if (!impostor_client_end(s, n, IMP_END_FAILED, reason)) /* its record must be as it was */
        lastserver_after_failed_login(s, n);
}

void lf_client_rejected(sim *s, node *n, const char *error_msg)
{
    trace_event(&s->tr, s->now, TR_REJECT, (uint32_t)n->idx, 0, 0, error_msg);
    (void)impostor_client_end(s, n, IMP_END_REJECTED, "Login rejected");
}
