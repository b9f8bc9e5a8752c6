/* The queued-messages rule (check_queued.h). */
#include <stdio.h>

#include "check_queued.h"
#include "fault_liar.h"
#include "pairs.h"
#include "tcpshm/frame.h"
#include "tcpshm/ptcp_queue.h"
#include "workload.h"

bool queued_intact(sim *s, const char *dir, const char *local, const char *remote, char *why, size_t why_size)
{
    char path[SIM_PATH_SIZE];
    size_t len;
    sim_queue_path(path, sizeof path, dir, local, remote);
    if (s->p->world || liar_name(local) || liar_name(remote) || !venv_file_data(s->v, path, &len))
        return true;
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    tcpshm_ptcp_queue q;
    tcpshm_ptcp_queue_config qc = {s->cfg.queue_size, s->cfg.max_msg_size, s->cfg.little_endian, 0, false};
    tcpshm_error err;
    tcpshm_env look = *s->env; /* version 2: a look claims nothing (node_peek_queue) */
    look.version = 2;
    bool ok = true;
    if (tcpshm_ptcp_queue_open(&q, &look, dir, local, remote, &qc, &err) == 0) {
        uint32_t seq = tcpshm_ptcp_queue_seq_start(&q), end = tcpshm_ptcp_queue_seq_end(&q);
        for (const uint8_t *m = tcpshm_ptcp_queue_next(&q, NULL); m && ok; m = tcpshm_ptcp_queue_next(&q, m), seq++) {
            tcpshm_msg_header h;
            wl_msg w;
            tcpshm_header_decode(m, s->cfg.little_endian, &h);
            if (seq == end) {
                snprintf(why, why_size, "%s holds a message past its seq_end %u", path, end);
                ok = false;
            } else if (h.msg_type != WL_MSG_TYPE || h.size < 8u + WL_MIN_BODY ||
                       wl_parse(m + 8, (uint32_t)h.size - 8u, &w) != 0 || w.seq != seq) {
                snprintf(why, why_size, "%s: its queued message seq %u (type %u, size %u) is not the one pushed as %u "
                         "(torn, or another's)", path, seq, h.msg_type, h.size, seq);
                ok = false;
            }
        }
        if (ok && seq != end) {
            snprintf(why, why_size, "%s holds messages up to seq %u, its seq_end is %u", path, seq, end);
            ok = false;
        }
        tcpshm_ptcp_queue_close(&q);
    }
    venv_set_owner(s->v, owner);
    fp_set_active(&s->plan, was);
    return ok;
}
