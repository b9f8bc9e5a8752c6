/* The queued-messages rule (check_queued.h). */
#include <stdio.h>

#include "check_queued.h"
#include "fault_liar.h"
#include "msg_sum.h"
#include "node.h"
#include "pairs.h"
#include "rollback_rule.h"
#include "same_name.h"
#include "tcpshm/frame.h"

typedef struct walk {
    const sim *s;
    const chk_stream *st; /* the checker's pushes of the file's stream */
    const char *path;
    char *why;
    size_t why_size;
    bool ok;
} walk;

/* Whether the queued message m (header h) is the one pushed as seq: the
 * message, opaque to the checker, is its record of the push of seq on the
 * stream (its size and msg_sum). false with what differs in *what. */
static bool pushed_as(const walk *w, const uint8_t *m, const tcpshm_msg_header *h, uint32_t seq, const char **what)
{
    *what = "torn, or another's";
    if (h->size < 8u)
        return false;
    uint32_t body = (uint32_t)h->size - 8u;
    uint32_t k = seq - w->st->base;
    if (k >= w->st->pushed) { /* before the epoch's first push, or past its last */
        *what = "no push of that seq returned on its stream";
        return false;
    }
    const chk_rec *r = &w->st->recs[k];
    *what = r->size != body ? "its size differs from the push's" : "its type or body differs from the push's";
    return r->size == body && r->checksum == sim_msg_sum(h->msg_type, m + 8, body);
}

static void walk_queue(void *user, const tcpshm_ptcp_queue *q)
{
    walk *w = user;
    uint32_t seq = tcpshm_ptcp_queue_seq_start(q), end = tcpshm_ptcp_queue_seq_end(q);
    for (const uint8_t *m = tcpshm_ptcp_queue_next(q, NULL); m && w->ok; m = tcpshm_ptcp_queue_next(q, m), seq++) {
        tcpshm_msg_header h;
        const char *what;
        tcpshm_header_decode(m, w->s->cfg.little_endian, &h);
        if (seq == end) {
            snprintf(w->why, w->why_size, "%s holds a message past its seq_end %u", w->path, end);
            w->ok = false;
        } else if (!pushed_as(w, m, &h, seq, &what)) {
            snprintf(w->why, w->why_size, "%s: its queued message seq %u (type %u, size %u) is not the one pushed as "
                     "%u (%s)", w->path, seq, h.msg_type, h.size, seq, what);
            w->ok = false;
        }
    }
    if (w->ok && seq != end) {
        snprintf(w->why, w->why_size, "%s holds messages up to seq %u, its seq_end is %u", w->path, seq, end);
        w->ok = false;
    }
}

/* A world's node local: the checker's stream its file of the pair with
 * remote holds the pushes of; -1 when the checker cannot know them, -2
 * when it saw no stream of the pair (nothing pushed: a message queued is
 * not one pushed). */
static int world_stream(sim *s, const char *local, const char *remote)
{
    node *n = sim_node_named(s, local);
    if (!n)
        return -1;
    const char *server = n->idx == 0 ? local : remote, *client = n->idx == 0 ? remote : local;
    /* A pair under the rollback rule (pending: a rollback or a power loss
     * took its storage back, to an earlier state or an older epoch, and
     * the checker's positions are not the files' until its next login is
     * judged; dead: its pushes and pops go unrecorded until the operator
     * resets it) holds what the checker did not record. */
    if (rb_pair_pending(s, server, client) || rb_pair_dead(s, server, client))
        return -1;
    /* A server's file is in the pair's current epoch: the server's core
     * resets it at the login that starts one (on_logon follows), and a
     * power loss or a reset that starts one otherwise is the rule's above
     * or removes the file (world_reset.c). A client's is in the epoch it
     * pushes and pops on (n->c2s, of n->server, the only pair node.c
     * asks of a client): the server may have started a newer one that the
     * client has not logged in to yet (its file still holds the older
     * epoch's pushes), and a stale epoch (lf_client_push_streams) is
     * pending above. A client that touched no pair in this process has no
     * n->server: node.c asks nothing of it. */
    if (n->idx == 0) {
        int sid = chk_find(&s->chk, server, client, CHK_S2C);
        return sid >= 0 ? sid : -2;
    }
    return sim_same_name(n->server, server) ? n->c2s : -1;
}

bool queued_intact(sim *s, const char *dir, const char *local, const char *remote, char *why, size_t why_size)
{
    char path[SIM_PATH_SIZE], open_why[256];
    size_t len;
    sim_queue_path(path, sizeof path, dir, local, remote);
    /* The liar's pairs hold its lies (fault_liar.c judges them); a file
     * that does not exist has nothing queued, and one that does not open
     * is node.c's to report (check_files). */
    if (liar_name(local) || liar_name(remote) || !venv_file_data(s->v, path, &len))
        return true;
    walk w = {s, NULL, path, why, why_size, true};
    static const chk_stream none; /* nothing pushed */
    int sid = world_stream(s, local, remote);
    if (sid == -1)
        return true; /* the checker cannot know what the file holds (world_stream) */
    w.st = sid >= 0 ? &s->chk.s[sid] : &none;
    (void)node_look_queue(s, dir, local, remote, walk_queue, &w, open_why, sizeof open_why); /* refused: not ours */
    return w.ok;
}
