/* A checked push and pop (stream_io.h). */
#include "stream_io.h"

int sio_push(sim *s, node *n, tcpshm_conn *c, int sid, const wl_msg *m, sio_push_fn push, bool batched)
{
    chk_push_begin(&s->chk, sid, m->seq, m);
    n->pend_push = sid;
    int rc = push(c);
    n->pend_push = -1;
    /* host: its sync failed, and it was taken back with the batch before it */
    if (rc != 0 && s->durability == SIM_DUR_HOST &&
        (tcpshm_conn_seq_end(c) == m->seq || tcpshm_conn_seq_end(c) - s->chk.s[sid].base < s->chk.s[sid].pushed)) {
        chk_push_resolve(&s->chk, sid, false);
        if (tcpshm_conn_seq_end(c) == m->seq || chk_take_back_unsynced(&s->chk, sid, tcpshm_conn_seq_end(c)))
            return rc;
        chk_fail(&s->chk, sid, "push of seq %u failed (%d) and seq_end went back to %u, past the pushes not synced yet",
                 m->seq, rc, tcpshm_conn_seq_end(c));
        return rc;
    }
    if (rc != 0) {
        chk_fail(&s->chk, sid, "push of seq %u failed (%d)%s", m->seq, rc,
                 tcpshm_conn_seq_end(c) == m->seq ? "" : " but its seq_end moved");
        return rc;
    }
    if (batched && s->durability == SIM_DUR_HOST)
        chk_push_unsynced(&s->chk, sid);
    else
        chk_push_done(&s->chk, sid);
    if (tcpshm_conn_seq_end(c) != m->seq + 1u)
        chk_fail(&s->chk, sid, "push of seq %u returned but seq_end is %u", m->seq, tcpshm_conn_seq_end(c));
    trace_event(&s->tr, s->now, TR_PUSH, (uint32_t)sid, m->seq, m->size, NULL);
    return 0;
}

void sio_pop(sim *s, node *n, tcpshm_conn *c, int sid, uint32_t seq, uint32_t size, sio_pop_fn pop)
{
    uint32_t before = tcpshm_conn_my_ack(c);
    chk_pop_begin(&s->chk, sid);
    n->pend_pop = sid;
    pop(c);
    n->pend_pop = -1;
    chk_pop_done(&s->chk, sid);
    if (tcpshm_conn_my_ack(c) != before + 1u)
        chk_fail(&s->chk, sid, "pop of seq %u: my_ack went from %u to %u", seq, before, tcpshm_conn_my_ack(c));
    trace_event(&s->tr, s->now, TR_POP, (uint32_t)sid, seq, size, NULL);
}
