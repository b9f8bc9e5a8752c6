/* The misuse kind (fault_misuse.h). Every case is a call an application
 * can really make by mistake, with the answer the API documents
 * (core/include/tcpshm/client.h, server.h, conn.h). The calls run with the
 * faults off: the answer must not depend on them. */
#include <stdio.h>
#include <string.h>

#include "fault_misuse.h"
#include "node.h"
#include "tcpshm/error.h"
#include "world.h"

enum { M_LOGIN_AGAIN, M_SHM_HOST, M_PUSH_NONE, M_PUSH_MORE_NONE, M_TOO_LARGE, M_TYPE_ZERO, M_POP_NONE, M_START_AGAIN,
       M_CASES };

static const char *const case_names[M_CASES] = {
    "a login while one is under way or done", "a shared-memory login with durability host",
    "a push with nothing allocated", "a push_more with nothing allocated",
    "an alloc over max_msg_size, then a push", "a push of message type 0", "a pop with no message received",
    "a second server start"};

typedef struct seqs {
    uint32_t start, end, ack;
} seqs;

static seqs seqs_of(const tcpshm_conn *c)
{
    return c ? (seqs){tcpshm_conn_seq_start(c), tcpshm_conn_seq_end(c), tcpshm_conn_my_ack(c)} : (seqs){0, 0, 0};
}

/* A connection of n to misuse: the client's, or one of the server's peers'
 * (NULL if none). */
static tcpshm_conn *conn_of(sim *s, node *n)
{
    if (n->idx > 0)
        return tcpshm_client_conn(n->cl);
    if (n->npeers == 0)
        return NULL;
    return tcpshm_server_find_conn(n->srv, n->peers[fp_below(&s->plan, FP_MISUSE, n->npeers)].name);
}

#define NOT_MADE 1 /* the mistake could not be made */
#define NO_CODE 2  /* a call without a return code (pop): only "nothing changed" is judged */

/* The call of case m: its return code (or NOT_MADE), the message (if the
 * call has one) and a word it must contain. */
static int misuse(sim *s, node *n, int m, tcpshm_conn *c, tcpshm_error *err, const char **needle)
{
    switch (m) {
    case M_LOGIN_AGAIN:
        *needle = "already under way";
        return tcpshm_client_login(n->cl, "127.0.0.1", SIM_PORT, n->shm[n->cur], NULL, node_now(s, n), err);
    case M_SHM_HOST:
        *needle = "cannot use shared memory";
        return tcpshm_client_login(n->cl, "127.0.0.1", SIM_PORT, true, NULL, node_now(s, n), err);
    case M_PUSH_NONE:
        return tcpshm_conn_push(c);
    case M_PUSH_MORE_NONE:
        return tcpshm_conn_push_more(c);
    case M_TOO_LARGE:
        if (tcpshm_conn_alloc(c, (uint16_t)(s->cfg.max_msg_size < 65535u ? s->cfg.max_msg_size : 65535u)) != NULL)
            return 0; /* the rule: NULL; the push after it then has nothing allocated */
        return tcpshm_conn_push(c);
    case M_TYPE_ZERO: {
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, 8);
        if (!h)
            return NOT_MADE; /* full: the application never got a message to misuse */
        h->msg_type = 0;
        int rc = tcpshm_conn_push(c);
        (void)tcpshm_conn_alloc(c, UINT16_MAX); /* the application gives the message up (a failed alloc drops it) */
        return rc;
    }
    case M_POP_NONE:
        if (tcpshm_conn_front(c))
            return NOT_MADE; /* a message is there: the pop would consume it */
        tcpshm_conn_pop(c);
        return NO_CODE;
    default:
        *needle = "already started";
        return tcpshm_server_start(n->srv, "127.0.0.1", SIM_PORT, err);
    }
}

void fault_misuse(sim *s, node *n)
{
    if (!fp_roll(&s->plan, FP_MISUSE))
        return;
    int m;
    tcpshm_conn *c = NULL;
    if (n->idx == 0) {
        m = (int)fp_below(&s->plan, FP_MISUSE, 6);
        m = m == 0 ? M_START_AGAIN : M_PUSH_NONE + m - 1;
    } else {
        m = (int)fp_below(&s->plan, FP_MISUSE, M_START_AGAIN);
        tcpshm_client_state st = tcpshm_client_get_state(n->cl);
        if (m == M_LOGIN_AGAIN && st == TCPSHM_CLIENT_IDLE)
            m = s->cfg.durability == TCPSHM_DURABILITY_HOST ? M_SHM_HOST : M_PUSH_NONE;
        if (m == M_SHM_HOST && (st != TCPSHM_CLIENT_IDLE || s->cfg.durability != TCPSHM_DURABILITY_HOST))
            m = st != TCPSHM_CLIENT_IDLE ? M_LOGIN_AGAIN : M_PUSH_NONE;
    }
    if (m >= M_PUSH_NONE && m <= M_POP_NONE && !(c = conn_of(s, n)))
        return; /* no connection yet: nothing to push on */
    if (m >= M_PUSH_NONE && m <= M_POP_NONE && world_wrap_holds && world_wrap_holds(c))
        return; /* a user's world holds a message allocated there: a push would push it */
    trace_event(&s->tr, s->now, TR_MISUSE, (uint32_t)n->idx, (uint32_t)m, 0, case_names[m]);
    tcpshm_client_state before_st = n->idx > 0 ? tcpshm_client_get_state(n->cl) : TCPSHM_CLIENT_IDLE;
    seqs before = seqs_of(c);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    tcpshm_error err = {0};
    const char *needle = NULL;
    s->misusing = true;
    int rc = misuse(s, n, m, c, &err, &needle);
    s->misusing = false;
    fp_set_active(&s->plan, was);
    if (rc == NOT_MADE)
        return;
    seqs after = seqs_of(c);
    if (rc != TCPSHM_E_ARG && rc != NO_CODE)
        chk_fail(&s->chk, -1, "misuse: %s by %s returned %d (%s), not TCPSHM_E_ARG%s", case_names[m], n->name, rc,
                 tcpshm_code_name(rc), m == M_TOO_LARGE && rc == 0 ? " (the alloc returned a message)" : "");
    else if (needle && !strstr(err.text, needle))
        chk_fail(&s->chk, -1, "misuse: %s by %s was refused with \"%s\", which does not say \"%s\"", case_names[m],
                 n->name, err.text, needle);
    else if (n->idx > 0 && tcpshm_client_get_state(n->cl) != before_st)
        chk_fail(&s->chk, -1, "misuse: %s by %s changed the client's state from %d to %d", case_names[m], n->name,
                 (int)before_st, (int)tcpshm_client_get_state(n->cl));
    else if (memcmp(&before, &after, sizeof before) != 0)
        chk_fail(&s->chk, -1, "misuse: %s by %s changed its connection: seq [%u, %u) ack %u, then [%u, %u) ack %u",
                 case_names[m], n->name, before.start, before.end, before.ack, after.start, after.end, after.ack);
}
