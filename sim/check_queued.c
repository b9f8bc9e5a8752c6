/* The queued-messages rule (check_queued.h). */
#include <stdio.h>

#include "check_queued.h"
#include "fault_liar.h"
#include "node.h"
#include "pairs.h"
#include "tcpshm/frame.h"
#include "workload.h"

typedef struct walk {
    const sim *s;
    const char *path;
    char *why;
    size_t why_size;
    bool ok;
} walk;

static void walk_queue(void *user, const tcpshm_ptcp_queue *q)
{
    walk *w = user;
    uint32_t seq = tcpshm_ptcp_queue_seq_start(q), end = tcpshm_ptcp_queue_seq_end(q);
    for (const uint8_t *m = tcpshm_ptcp_queue_next(q, NULL); m && w->ok; m = tcpshm_ptcp_queue_next(q, m), seq++) {
        tcpshm_msg_header h;
        wl_msg msg;
        tcpshm_header_decode(m, w->s->cfg.little_endian, &h);
        if (seq == end) {
            snprintf(w->why, w->why_size, "%s holds a message past its seq_end %u", w->path, end);
            w->ok = false;
        } else if (h.msg_type != WL_MSG_TYPE || h.size < 8u + WL_MIN_BODY ||
                   wl_parse(m + 8, (uint32_t)h.size - 8u, &msg) != 0 || msg.seq != seq) {
            snprintf(w->why, w->why_size, "%s: its queued message seq %u (type %u, size %u) is not the one pushed as "
                     "%u (torn, or another's)", w->path, seq, h.msg_type, h.size, seq);
            w->ok = false;
        }
    }
    if (w->ok && seq != end) {
        snprintf(w->why, w->why_size, "%s holds messages up to seq %u, its seq_end is %u", w->path, seq, end);
        w->ok = false;
    }
}

bool queued_intact(sim *s, const char *dir, const char *local, const char *remote, char *why, size_t why_size)
{
    char path[SIM_PATH_SIZE], open_why[256];
    size_t len;
    sim_queue_path(path, sizeof path, dir, local, remote);
    if (s->p->world || liar_name(local) || liar_name(remote) || !venv_file_data(s->v, path, &len))
        return true;
    walk w = {s, path, why, why_size, true};
    (void)node_look_queue(s, dir, local, remote, walk_queue, &w, open_why, sizeof open_why); /* refused: not ours */
    return w.ok;
}
