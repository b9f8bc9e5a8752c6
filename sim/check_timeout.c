/* The timeout rule (check_timeout.h). */
#include <string.h>

#include "check_timeout.h"
#include "pairs.h"
#include "fault_impostor.h"
#include "venv.h"

void timeout_logon(sim *s, const char *client)
{
    node *n = sim_node_named(s, client);
    if (n && n->idx > 0)
        n->logon_at = s->now;
}

void timeout_login_ok(sim *s, node *n) { n->login_ok_at = s->now; }

void timeout_closing(void *user, int fd)
{
    sim *s = user;
    node *n = s->stepping;
    if (!n)
        return;
    n->closed_at = s->now;
    n->closed_unread = venv_sock_unread(s->v, fd, &n->closed_unread_since);
}

void timeout_close(sim *s, int sid, const node *closer, const char *other, const char *reason)
{
    if (strcmp(reason, "Timeout") != 0)
        return;
    const node *other_node = closer->idx == 0 ? sim_node_named(s, other) : &s->nodes[0];
    if (!other_node || (closer->idx == 0 && other_node->idx == 0) || !other_node->alive ||
        (closer->idx > 0 && impostor_owns(s, closer)))
        return; /* a peer that died (its sockets reset) or is not a node: nothing to judge */
    /* A client sends nothing on a connection until it has read the login
     * response, while the server's timeout counts from its acceptance: a
     * link slow enough (short reads of a byte at a time) times the login
     * out, or the client's attempt fails after the acceptance and its close
     * arrives with the timeout. So a client owes heartbeats from its own
     * login's success on (the 100,000 seeds' 54445 on 8ee9a72: c3g1 still
     * logging in when srv0 closed it; later c1g1, logged in 57 ticks after
     * srv0 accepted it and timed out 10 ticks after that). */
    if (closer->idx == 0 && other_node->login_ok_at < other_node->logon_at)
        return;
    /* the last moment one side could not be heard: a block ends at its
     * block_until (or at the settle, which lifts it), a stall likewise */
    int64_t heard = closer->unblocked_at > other_node->unblocked_at ? closer->unblocked_at : other_node->unblocked_at;
    if (s->unstalled_at > heard)
        heard = s->unstalled_at;
    if (closer->idx == 0 && other_node->login_ok_at > heard)
        heard = other_node->login_ok_at;
    /* Bytes of the peer waited unread in the closer's socket, since after
     * that moment, for longer than a heartbeat: every poll reads a link
     * that has bytes (a readiness set that lost a socket sweeps it back
     * within a quarter heartbeat), so the closer stopped reading it, and
     * its timeout only ended what it caused (mutations 33 and 43: a link
     * left out of the readiness set, read only when a wait failed, timed
     * out inside the window below). */
    int64_t unread_for = s->now - closer->closed_unread_since;
    if (closer->closed_at == s->now && closer->closed_unread > 0 && closer->closed_unread_since >= heard &&
        unread_for > s->cfg.heartbeat_interval + 2 * (int64_t)s->max_dt) {
        chk_fail(&s->chk, sid,
                 "timeout: %s closed its connection with %s for \"Timeout\" at t=%lld with %ld bytes from it "
                 "unread in its socket since t=%lld (%lld ticks, heartbeat_interval %lld), and neither was blocked "
                 "nor a server group poll stalled since: it stopped reading the link",
                 closer->name, other, (long long)s->now, closer->closed_unread, (long long)closer->closed_unread_since,
                 (long long)unread_for, (long long)s->cfg.heartbeat_interval);
        return;
    }
    /* after that, a heartbeat goes out within heartbeat_interval and is read
     * at the next steps (a clock step is at most max_dt) */
    int64_t window = s->cfg.connection_timeout + s->cfg.heartbeat_interval + 2 * (int64_t)s->max_dt;
    if (s->now - heard <= window)
        return;
    chk_fail(&s->chk, sid,
             "timeout: %s closed its connection with %s for \"Timeout\" at t=%lld, but neither was blocked "
             "(partition, EAGAIN storm) nor a server group poll stalled since t=%lld (connection_timeout %lld, "
             "heartbeat_interval %lld): a side stopped sending heartbeats or reading",
             closer->name, other, (long long)s->now, (long long)heard, (long long)s->cfg.connection_timeout,
             (long long)s->cfg.heartbeat_interval);
}
