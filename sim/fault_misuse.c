/* The misuse kind (fault_misuse.h). Every case is a call an application
 * can really make by mistake, with the answer the API documents
 * (core/include/tcpshm/client.h, server.h, conn.h). The calls run with the
 * faults off: the answer must not depend on them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fault_misuse.h"
#include "node.h"
#include "tcpshm/error.h"
#include "world.h"

enum { M_LOGIN_AGAIN, M_SHM_HOST, M_PUSH_NONE, M_PUSH_MORE_NONE, M_TOO_LARGE, M_TYPE_ZERO, M_POP_NONE, M_START_AGAIN,
       M_POLL_GROUP, M_POLL_SHM_TCP, M_CODE_NAME, M_REASON_NO_ERRNO, M_CASES };

static const char *const case_names[M_CASES] = {
    "a login while one is under way or done", "a shared-memory login with durability host",
    "a push with nothing allocated", "a push_more with nothing allocated",
    "an alloc over max_msg_size, then a push", "a push of message type 0", "a pop with no message received",
    "a second server start", "a poll of a group the server does not have",
    "a poll_shm while logged in over TCP", "the name of a value that is no code",
    "a close reason asked without an errno pointer"};

/* The cases each side's application can make, in the order they are drawn. */
static const int server_cases[] = {M_START_AGAIN, M_PUSH_NONE, M_PUSH_MORE_NONE, M_TOO_LARGE, M_TYPE_ZERO,
                                   M_POP_NONE,    M_POLL_GROUP, M_CODE_NAME,     M_REASON_NO_ERRNO};
static const int client_cases[] = {M_LOGIN_AGAIN, M_SHM_HOST,  M_PUSH_NONE, M_PUSH_MORE_NONE,
                                   M_TOO_LARGE,   M_TYPE_ZERO, M_POP_NONE,  M_POLL_SHM_TCP,
                                   M_CODE_NAME,   M_REASON_NO_ERRNO};
#define COUNT(a) ((uint32_t)(sizeof a / sizeof a[0]))
/* The cases that need a connection (c) of the node. */
static bool needs_conn(int m) { return (m >= M_PUSH_NONE && m <= M_POP_NONE) || m == M_REASON_NO_ERRNO; }

typedef struct seqs {
    uint32_t start, end, ack;
} seqs;

static seqs seqs_of(const tcpshm_conn *c)
{
    return c ? (seqs){tcpshm_conn_seq_start(c), tcpshm_conn_seq_end(c), tcpshm_conn_my_ack(c)} : (seqs){0, 0, 0};
}

/* Every connection of n's (a server's peers', a client's own) folded: a
 * poll that must do nothing leaves each as it was. */
static uint64_t conns_print(sim *s, node *n)
{
    (void)s;
    uint64_t h = 1469598103934665603ull;
    uint32_t k = n->idx > 0 ? 1u : n->npeers;
    for (uint32_t i = 0; i < k; i++) {
        const tcpshm_conn *c = n->idx > 0 ? tcpshm_client_conn(n->cl) : n->peers[i].conn;
        seqs q = seqs_of(c);
        uint32_t w[4] = {q.start, q.end, q.ack, c && tcpshm_conn_is_connected(c)};
        for (int j = 0; j < 4; j++)
            h = (h ^ w[j]) * 1099511628211ull;
    }
    return h;
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
#define NO_CODE 2  /* a call without a return code (pop, a poll): only "nothing changed" is judged */

/* The codes of enum tcpshm_code. */
static const int codes[] = {TCPSHM_OK,          TCPSHM_E_CONFIG,      TCPSHM_E_SYSTEM,      TCPSHM_E_NAME,
                            TCPSHM_E_CORRUPT,   TCPSHM_E_FULL,        TCPSHM_E_BAD_ACK,     TCPSHM_E_FRAME_SMALL,
                            TCPSHM_E_FRAME_LARGE, TCPSHM_E_TRUNCATED, TCPSHM_E_ARG,         TCPSHM_E_IN_USE};

static bool is_code(int v)
{
    for (uint32_t i = 0; i < COUNT(codes); i++)
        if (codes[i] == v)
            return true;
    return false;
}

/* M_CODE_NAME: an application prints tcpshm_code_name of v, a value that
 * is no code (an errno, a count) or, one time in four, a code; and the
 * names of the codes it printed before. The rule (error.h: "a short fixed
 * name for a code"): a value that is no code is "unknown error"; each code
 * has a name of its own, which is not that one (a code that fell to the
 * default, or two codes with one name, would make a refusal's report name
 * the wrong failure). */
static void judge_code_name(sim *s, node *n, int v)
{
    const char *name = tcpshm_code_name(v);
    if (!is_code(v) && (!name || strcmp(name, "unknown error") != 0)) {
        chk_fail(&s->chk, -1, "misuse: %s by %s: tcpshm_code_name(%d) is \"%s\", not \"unknown error\"",
                 case_names[M_CODE_NAME], n->name, v, name ? name : "(null)");
        return;
    }
    for (uint32_t i = 0; i < COUNT(codes); i++) {
        const char *a = tcpshm_code_name(codes[i]);
        if (!a || !a[0] || strcmp(a, "unknown error") == 0) {
            chk_fail(&s->chk, -1, "misuse: %s by %s: code %d has no name of its own (\"%s\")",
                     case_names[M_CODE_NAME], n->name, codes[i], a ? a : "(null)");
            return;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(a, tcpshm_code_name(codes[j])) == 0) {
                chk_fail(&s->chk, -1, "misuse: %s by %s: codes %d and %d have the same name \"%s\"",
                         case_names[M_CODE_NAME], n->name, codes[j], codes[i], a);
                return;
            }
    }
}

/* The call of case m: its return code (or NOT_MADE), the message (if the
 * call has one) and a word it must contain. */
static int misuse(sim *s, node *n, int m, tcpshm_conn *c, tcpshm_error *err, const char **needle)
{
    switch (m) {
    case M_LOGIN_AGAIN:
        *needle = "already under way";
        return tcpshm_client_login(n->cl, "127.0.0.1", SIM_PORT, n->shm[n->cur], node_side_login_data(s, n), node_now(s, n), err);
    case M_SHM_HOST:
        *needle = "cannot use shared memory";
        return tcpshm_client_login(n->cl, "127.0.0.1", SIM_PORT, true, node_side_login_data(s, n), node_now(s, n), err);
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
    case M_POLL_GROUP: { /* server.h: groups 0 .. tcp_groups-1, 0 .. shm_groups-1; one past, or far past */
        bool shm = fp_below(&s->plan, FP_MISUSE, 2) != 0;
        uint32_t past = fp_below(&s->plan, FP_MISUSE, 2) ? 0u : 1000u;
        if (shm)
            tcpshm_server_poll_shm(n->srv, node_now(s, n), s->cfg.shm_groups + past);
        else
            tcpshm_server_poll_tcp(n->srv, node_now(s, n), s->cfg.tcp_groups + past);
        return NO_CODE;
    }
    case M_POLL_SHM_TCP: /* client.h: poll_shm delivers over SHM "(nothing otherwise)" */
        tcpshm_client_poll_shm(n->cl);
        return NO_CODE;
    case M_CODE_NAME: { /* an errno or a count printed as a code, or (one in four) a code */
        static const int not_codes[] = {1, EAGAIN, -12, -100, INT_MIN, INT_MAX};
        uint32_t k = fp_below(&s->plan, FP_MISUSE, 4u * COUNT(not_codes));
        judge_code_name(s, n, k < COUNT(not_codes) * 3u ? not_codes[k % COUNT(not_codes)] : codes[k % COUNT(codes)]);
        return NO_CODE;
    }
    case M_REASON_NO_ERRNO: { /* conn.h: the errno pointer is optional */
        int e = 0;
        const char *with = tcpshm_conn_close_reason(c, &e), *without = tcpshm_conn_close_reason(c, NULL);
        if (!with || !without || strcmp(with, without) != 0)
            chk_fail(&s->chk, -1, "misuse: %s by %s: the reason is \"%s\" without the pointer, \"%s\" with it",
                     case_names[m], n->name, without ? without : "(null)", with ? with : "(null)");
        return NO_CODE;
    }
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
        m = server_cases[fp_below(&s->plan, FP_MISUSE, COUNT(server_cases))];
    } else {
        m = client_cases[fp_below(&s->plan, FP_MISUSE, COUNT(client_cases))];
        tcpshm_client_state st = tcpshm_client_get_state(n->cl);
        if (m == M_LOGIN_AGAIN && st == TCPSHM_CLIENT_IDLE)
            m = s->cfg.durability == TCPSHM_DURABILITY_HOST ? M_SHM_HOST : M_PUSH_NONE;
        if (m == M_SHM_HOST && (st != TCPSHM_CLIENT_IDLE || s->cfg.durability != TCPSHM_DURABILITY_HOST))
            m = st != TCPSHM_CLIENT_IDLE ? M_LOGIN_AGAIN : M_PUSH_NONE;
        if (m == M_POLL_SHM_TCP && n->shm[n->cur])
            m = M_CODE_NAME; /* over SHM poll_shm is the application's own poll, no mistake */
    }
    if (needs_conn(m) && !(c = conn_of(s, n)))
        return; /* no connection yet: nothing to push on */
    if (m >= M_PUSH_NONE && m <= M_POP_NONE && world_wrap_holds && world_wrap_holds(c))
        return; /* a user's world holds a message allocated there: a push would push it */
    trace_event(&s->tr, s->now, TR_MISUSE, (uint32_t)n->idx, (uint32_t)m, 0, case_names[m]);
    tcpshm_client_state before_st = n->idx > 0 ? tcpshm_client_get_state(n->cl) : TCPSHM_CLIENT_IDLE;
    seqs before = seqs_of(c);
    uint64_t print_before = conns_print(s, n);
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
    else if (!s->chk.violated && conns_print(s, n) != print_before)
        chk_fail(&s->chk, -1, "misuse: %s by %s changed the seq range, ack or link of one of its connections",
                 case_names[m], n->name);
}
