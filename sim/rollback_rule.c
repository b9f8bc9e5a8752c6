/* The rollback rule (rollback_rule.h): pairs under a rollback, what a
 * login, a mismatch or a new connection means for them. The rule is stated
 * in sim/README.md, "Storage that goes back in time". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pairs.h"
#include "rollback_rule.h"
#include "same_name.h"

void rb_rule_init(sim *s)
{
    s->rb_rule = calloc(1, sizeof *s->rb_rule);
    if (!s->rb_rule)
        abort();
}

void rb_rule_fini(sim *s)
{
    free(s->rb_rule);
    s->rb_rule = NULL;
}

node *rb_node_named(sim *s, const char *name)
{
    for (uint32_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].name, name) == 0)
            return &s->nodes[i];
    return NULL;
}

static rb_pair *find_pair(const sim *s, const char *server, const char *client)
{
    for (uint32_t i = 0; i < s->rb_rule->npairs; i++)
        if (strcmp(s->rb_rule->pairs[i].client, client) == 0 && (!server || strcmp(s->rb_rule->pairs[i].server, server) == 0))
            return &s->rb_rule->pairs[i];
    return NULL;
}

/* A pair of these names in state RB_NONE, nothing else known of it. */
static void pair_init(rb_pair *p, const char *server, const char *client)
{
    memset(p, 0, sizeof *p);
    sim_join(p->server, sizeof p->server, server, NULL);
    sim_join(p->client, sizeof p->client, client, NULL);
}

static rb_pair *pair_of(sim *s, const char *server, const char *client)
{
    rb_pair *p = find_pair(s, server, client);
    if (p || s->rb_rule->npairs == RB_PAIRS)
        return p;
    p = &s->rb_rule->pairs[s->rb_rule->npairs++];
    pair_init(p, server, client);
    return p;
}

void rb_pending(sim *s, const char *server, const char *client, const char *who)
{
    rb_pair *p = pair_of(s, server, client);
    if (!p) {
        chk_fail(&s->chk, -1, "simulator: too many rolled-back pairs");
        return;
    }
    if (p->state == RB_DEAD)
        return;
    p->state = RB_PENDING;
    p->t = s->now;
    sim_join(p->who, sizeof p->who, who, NULL);
    p->owner_floor = s->next_owner;
    p->srv_last[0] = '\0';
    p->srv_noted = false;
    p->power = p->lost = false;
}

void rb_pair_reset(sim *s, const char *server, const char *client)
{
    rb_pair *p = find_pair(s, server, client);
    if (p)
        pair_init(p, server, client);
}

void rb_power_lost(sim *s, const char *server, const char *client, const char *who, bool lost)
{
    rb_pair *p = find_pair(s, server, client);
    bool was_lost = p && p->state == RB_PENDING && p->power && p->lost;
    rb_pending(s, server, client, who);
    p = find_pair(s, server, client);
    if (p && p->state == RB_PENDING) {
        p->power = true;
        p->lost = lost || was_lost;
    }
}

bool rb_power_pending(const sim *s)
{
    for (uint32_t i = 0; s->rb_rule && i < s->rb_rule->npairs; i++)
        if (s->rb_rule->pairs[i].state == RB_PENDING && s->rb_rule->pairs[i].power)
            return true;
    return false;
}

/* Whether the pair (server, client) is in state: find_pair's answer, the
 * names compared only for pairs in that state (a pair is there once, by
 * pair_of; asked per message, the compares showed in profiles). */
static bool pair_in(const sim *s, const char *server, const char *client, int state)
{
    for (uint32_t i = 0; s->rb_rule && i < s->rb_rule->npairs; i++) {
        const rb_pair *p = &s->rb_rule->pairs[i];
        if (p->state == state && sim_same_name(p->client, client) && sim_same_name(p->server, server))
            return true;
    }
    return false;
}

bool rb_pair_dead(const sim *s, const char *server, const char *client)
{
    return pair_in(s, server, client, RB_DEAD);
}

bool rb_pair_pending(const sim *s, const char *server, const char *client)
{
    return pair_in(s, server, client, RB_PENDING);
}

bool rb_client_retired(const sim *s, const char *client)
{
    for (uint32_t i = 0; s->rb_rule && i < s->rb_rule->npairs; i++)
        if (s->rb_rule->pairs[i].state == RB_DEAD && strcmp(s->rb_rule->pairs[i].client, client) == 0)
            return true;
    return false;
}

/* Detected: the pair is over for the checker; the operator renames the client. */
static void detected(sim *s, rb_pair *p, uint32_t how)
{
    p->state = RB_DEAD;
    chk_close_client(&s->chk, p->client);
    node *c = rb_node_named(s, p->client);
    if (c)
        snprintf(s->rb_rule->rename[c->idx], RB_NAME, "%s", p->client);
    trace_event(&s->tr, s->now, TR_DETECTED, c ? (uint32_t)c->idx : 0, how, 0, p->client);
}

void rb_file_refused(sim *s, const char *server, const char *client)
{
    rb_pair *p = pair_of(s, server, client);
    if (!p) {
        chk_fail(&s->chk, -1, "simulator: too many rolled-back pairs");
        return;
    }
    if (p->state != RB_DEAD)
        detected(s, p, 2);
}

/* A retracted push was popped: some stream of the pair has more pops than pushes. */
static bool popped_retracted(const sim *s, const rb_pair *p, char *why, size_t n)
{
    for (int dir = 0; dir < 2; dir++) {
        int sid = chk_find(&s->chk, p->server, p->client, dir);
        if (sid < 0)
            continue;
        const chk_stream *st = &s->chk.s[sid];
        if (st->popped > st->pushed) {
            snprintf(why, n, "%s had popped up to seq %u but %s's state holds only seq < %u",
                     dir == CHK_C2S ? p->server : p->client, st->base + st->popped,
                     dir == CHK_C2S ? p->client : p->server, st->base + st->pushed);
            return true;
        }
    }
    return false;
}

void rb_server_login(sim *s, const tcpshm_login *lg)
{
    rb_pair *p = s->rb_rule->npairs ? find_pair(s, NULL, lg->client_name) : NULL;
    for (uint32_t i = 0; p && i < s->rb_rule->npairs; i++)
        if (strcmp(s->rb_rule->pairs[i].client, lg->client_name) == 0) {
            snprintf(s->rb_rule->pairs[i].srv_last, RB_NAME, "%s", lg->last_server_name);
            s->rb_rule->pairs[i].srv_ack = lg->ack_seq;
            s->rb_rule->pairs[i].srv_end = lg->client_seq_end;
            s->rb_rule->pairs[i].srv_noted = true;
        }
}

void rb_server_rejected(sim *s, const char *client)
{
    for (uint32_t i = 0; s->rb_rule && i < s->rb_rule->npairs; i++)
        if (strcmp(s->rb_rule->pairs[i].client, client) == 0)
            s->rb_rule->pairs[i].srv_noted = false;
}

static void accepted(sim *s, rb_pair *p, const char *by)
{
    char why[200];
    if (p->power && !p->lost)
        return; /* nothing lost: going on is right */
    if (p->power) {
        /* the server's note of the login's numbers, when it has one */
        char said[120] = "";
        if (p->srv_last[0])
            snprintf(said, sizeof said, "; the login said last server \"%s\", ack %u, client_seq_end %u",
                     p->srv_last, p->srv_ack, p->srv_end);
        chk_fail(&s->chk, chk_find(&s->chk, p->server, p->client, CHK_C2S),
                 "silent loss after power loss: %s accepted the login of the pair %s/%s as continuing after a power "
                 "loss of %s's host (t=%lld) took back pushes or pops that had returned (must be a sequence mismatch, "
                 "a refused file or a new connection%s)",
                 by, p->server, p->client, p->who, (long long)p->t, said);
        return;
    }
    if (popped_retracted(s, p, why, sizeof why))
        chk_fail(&s->chk, chk_find(&s->chk, p->server, p->client, CHK_C2S),
                 "rollback: %s accepted the login of the pair %s/%s after %s's storage went back (t=%lld): %s "
                 "(must be a sequence mismatch on both sides)",
                 by, p->server, p->client, p->who, (long long)p->t, why);
}

void rb_server_accepted(sim *s, const char *server, const char *client)
{
    rb_pair *p = s->rb_rule->npairs ? find_pair(s, server, client) : NULL;
    if (!p || p->state != RB_PENDING)
        return;
    /* a login noted before the rollback, its connection gone with the
     * incarnation that sent it: pending in a stalled group poll until now
     * (seed 9935 --faults all, with a refused login of the next incarnation
     * noted in between): not the pair's state now */
    if (!p->srv_noted)
        return;
    if (strcmp(p->srv_last, server) != 0) { /* a new connection for the server (its side was reset) */
        detected(s, p, 1);
        return;
    }
    /* a login the client sent before the rollback (read by the server after
     * it): its numbers are not the client's state now, which no login
     * changed since; its connection is gone */
    int c2s = chk_find(&s->chk, server, client, CHK_C2S), s2c = chk_find(&s->chk, server, client, CHK_S2C);
    if (c2s >= 0 && s2c >= 0 &&
        (p->srv_end != s->chk.s[c2s].base + s->chk.s[c2s].pushed ||
         p->srv_ack != s->chk.s[s2c].base + s->chk.s[s2c].popped))
        return;
    accepted(s, p, server);
}

void rb_client_accepted(sim *s, node *n, const char *server, const char *recorded)
{
    rb_pair *p = s->rb_rule->npairs ? find_pair(s, server, n->name) : NULL;
    if (!p || p->state != RB_PENDING)
        return;
    /* a response the server sent before its rollback (it died after
     * accepting), read by the client after: its connection is gone. Also
     * when the server has restarted since: the login call connected to an
     * incarnation older than the rollback (seed 42527 --faults all: the
     * response of srv0, whose host then lost power, read once an EAGAIN
     * storm ended, in the step srv1 started) */
    const node *sv = &s->nodes[0];
    if (strcmp(p->who, server) == 0 &&
        (!sv->alive || sv->owner < p->owner_floor || n->login_srv_owner < p->owner_floor))
        return;
    if (strcmp(recorded, server) != 0) { /* a new connection for the client */
        detected(s, p, 1);
        return;
    }
    accepted(s, p, n->name);
    if (!s->chk.violated)
        p->state = RB_NONE; /* a good login: the next mismatch is a violation again */
}

bool rb_mismatch(sim *s, const char *server, const char *client)
{
    for (uint32_t i = 0; s->rb_rule && i < s->rb_rule->npairs; i++) {
        rb_pair *p = &s->rb_rule->pairs[i];
        if (p->state == RB_NONE || strcmp(p->client, client) != 0 || (server[0] && strcmp(p->server, server) != 0))
            continue;
        /* The server's mismatch at a login that names another server ("":
         * none) detects nothing: step 5 made that login a new connection
         * (both sides at 0), or the first-login window resumed a pair the
         * server never consumed from (my_ack 0, seq_start 0): the ranges
         * agree either way, rollback or not (known bug 59: a server that
         * resumes a pair it consumed from for a client whose state was
         * lost). The login is the one noted last: a slot has one login
         * under way, and one refused meanwhile unsets the note. */
        if (server[0] && p->srv_noted && strcmp(p->srv_last, server) != 0) {
            chk_fail(&s->chk, chk_find(&s->chk, p->server, p->client, CHK_C2S),
                     "server %s: sequence mismatch at a login of %s that is a new connection (it said last server "
                     "\"%s\", ack %u, client_seq_end %u): step 5 resets both sides or resumes an unconsumed pair, "
                     "whose ranges agree (rollback or not)",
                     server, client, p->srv_last, p->srv_ack, p->srv_end);
            return false;
        }
        if (p->state == RB_PENDING)
            detected(s, p, 0);
        return true;
    }
    return false;
}
