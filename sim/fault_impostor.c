/* The impostor (fault_impostor.h): a raw peer a client's login reaches
 * instead of the server, which answers with one lie and checks that the
 * client refuses it and keeps its state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fault_impostor.h"
#include "pairs.h"
#include "sim_state.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"

enum {
    /* the response frame itself */
    IMP_SMALL,    /* a header with size < 8: "Bad frame" */
    IMP_LARGE,    /* a header with size past max_msg_size: "Msg size larger" */
    IMP_SIZE,     /* a whole frame of another size: "login response: size" ("too large" past the login buffer) */
    IMP_TYPE,     /* another message type: "login response: message type" */
    IMP_STATUS,   /* a status past the known three: "login response: unknown status" */
    /* status OK with a server name the client must refuse (before it opens or records anything) */
    IMP_NAME_EMPTY,     /* "": "login response: empty server name" */
    IMP_NAME_UNTERM,    /* a name field without a NUL: "login response: server name is not NUL-terminated" */
    IMP_NAME_BAD,       /* a space, a '/', "..", a control byte: "server name ..." (the name check) */
    /* status OK naming the server the TCP client said, with a range it must refuse */
    IMP_RANGE_ACK,      /* an ack past what the client pushed: "Seq number mismatch" */
    IMP_RANGE_REVERSED, /* the server's range with its start after its end: "Seq number mismatch" */
    IMP_LIES
};
#define IMP_RANGE_FIRST IMP_RANGE_ACK

static const char *const lie_names[IMP_LIES] = {
    "a response header of size < 8", "a response header past max_msg_size", "a response of another size",
    "a response of another type",    "an unknown status",                    "an empty server name",
    "an unterminated server name",   "an invalid server name",               "an ack past the client's pushes",
    "a reversed server range"};

/* The reasons a client gives for a lie: one of these that is not the lie's
 * own is a wrong answer; any other (a link failure, a timeout, a file
 * fault of the run) proves nothing. */
static bool lie_reason(const char *r)
{
    static const char *const texts[] = {"Bad frame", "Msg size larger", "login response", "Bad login response",
                                        "server name", "Seq number mismatch", "Login rejected"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strncmp(r, texts[i], strlen(texts[i])) == 0)
            return true;
    return false;
}

static const tcpshm_env *raw(sim *s) { return venv_env(s->v); }

static node *victim_of(sim *s) { return s->imp.victim >= 0 ? &s->nodes[s->imp.victim] : NULL; }

static void close_fd(sim *s, impostor *I)
{
    if (I->fd >= 0)
        (void)raw(s)->sock_close(raw(s)->ctx, I->fd);
    I->fd = -1;
}

/* The attempt is over for the client: outcome for the trace (1 refused as
 * owed, 2 inconclusive, 3 violation). The socket stays until the impostor
 * sees the client's close. */
static void attempt_over(sim *s, impostor *I, uint32_t outcome, const char *text)
{
    trace_event(&s->tr, s->now, TR_IMPOSTOR, (uint32_t)I->victim, (uint32_t)(I->lie + 1), outcome, text);
    I->victim = -1;
    I->judged = I->fd >= 0;
}

uint16_t impostor_port(sim *s, node *n)
{
    impostor *I = &s->imp;
    if (I->victim >= 0 || I->fd >= 0 || s->settle || s->bootstrap || !fp_roll(&s->plan, FP_IMPOSTOR))
        return SIM_PORT;
    if (I->lfd < 0) {
        uint32_t owner = venv_owner(s->v);
        venv_set_owner(s->v, SIM_IMPOSTOR_OWNER);
        I->lfd = raw(s)->listen(raw(s)->ctx, "127.0.0.1", SIM_IMPOSTOR_PORT, 4);
        venv_set_owner(s->v, owner);
        if (I->lfd < 0)
            return SIM_PORT;
    }
    I->victim = n->idx;
    I->owner = n->owner;
    I->called = I->judged = false;
    I->lie = -1;
    I->arg = 0;
    I->expect[0] = '\0';
    I->in_len = I->out_len = I->out_off = 0;
    return SIM_IMPOSTOR_PORT;
}

void impostor_login_called(sim *s, node *n, bool ok)
{
    impostor *I = &s->imp;
    if (I->victim != n->idx || I->called)
        return;
    if (!ok) {
        attempt_over(s, I, 2, "login call failed");
        return;
    }
    I->called = true;
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    I->had_conn = c != NULL;
    I->shm = n->shm[n->cur];
    I->seq_start = c ? tcpshm_conn_seq_start(c) : 0;
    I->my_ack = c ? tcpshm_conn_my_ack(c) : 0;
    snprintf(I->last, sizeof I->last, "%s", tcpshm_client_last_server(n->cl));
    if (sim_recorded_server(s, n->dir, n->name, I->rec) < 0)
        snprintf(I->rec, sizeof I->rec, "?");
}

bool impostor_owns(const sim *s, const node *n)
{
    const impostor *I = &s->imp;
    return I->victim == n->idx && I->owner == n->owner && I->called;
}

/* The client kept what it had: the server it records (in the core and in
 * its directory) and, of the pair, what only the real server can move. */
static bool state_kept(sim *s, node *n, char *why, size_t n_why)
{
    impostor *I = &s->imp;
    char rec[TCPSHM_NAME_MAX + 1];
    if (sim_recorded_server(s, n->dir, n->name, rec) < 0)
        snprintf(rec, sizeof rec, "?");
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    if (strcmp(tcpshm_client_last_server(n->cl), I->last) != 0 || strcmp(rec, I->rec) != 0)
        snprintf(why, n_why, "its last server is \"%.*s\" (directory: \"%.*s\"), was \"%.*s\" (\"%.*s\")",
                 SIM_NAME_PREC, tcpshm_client_last_server(n->cl), SIM_NAME_PREC, rec, SIM_NAME_PREC, I->last,
                 SIM_NAME_PREC, I->rec);
    else if (c && I->had_conn && tcpshm_conn_my_ack(c) != I->my_ack)
        snprintf(why, n_why, "its my_ack is %u, was %u", tcpshm_conn_my_ack(c), I->my_ack);
    else if (c && I->had_conn && !I->shm && tcpshm_conn_seq_start(c) != I->seq_start)
        snprintf(why, n_why, "its seq_start is %u, was %u", tcpshm_conn_seq_start(c), I->seq_start);
    else
        return true;
    return false;
}

static void judge_end(sim *s, node *n, imp_end how, const char *reason)
{
    impostor *I = &s->imp;
    char why[4 * TCPSHM_NAME_MAX + 96];
    const char *lie = I->lie >= 0 ? lie_names[I->lie] : "no lie yet";
    if (how == IMP_END_ACCEPTED) {
        chk_fail(&s->chk, n->c2s, "impostor: client %s accepted a login response with %s (%u) from the impostor",
                 n->name, lie, I->arg);
        attempt_over(s, I, 3, "accepted");
        return;
    }
    if (!state_kept(s, n, why, sizeof why)) {
        chk_fail(&s->chk, n->c2s, "impostor: after %s (%u) client %s closed with \"%.60s\" but %s", lie, I->arg,
                 n->name, reason, why);
        attempt_over(s, I, 3, reason);
        return;
    }
    if (I->lie >= 0 && strncmp(reason, I->expect, strlen(I->expect)) == 0) {
        attempt_over(s, I, 1, reason);
        return;
    }
    if (I->lie >= 0 && lie_reason(reason)) {
        chk_fail(&s->chk, n->c2s, "impostor: after %s (%u) client %s closed with \"%.60s\"; expected \"%s\"", lie,
                 I->arg, n->name, reason, I->expect);
        attempt_over(s, I, 3, reason);
        return;
    }
    attempt_over(s, I, 2, reason); /* before the lie, or the run's own fault */
}

bool impostor_client_end(sim *s, node *n, imp_end how, const char *reason)
{
    if (!impostor_owns(s, n))
        return false;
    judge_end(s, n, how, reason);
    return true;
}

/* ---- the raw side ---- */

static void out_header(sim *s, impostor *I, uint16_t size, uint16_t type)
{
    tcpshm_msg_header h;
    tcpshm_header_decode(I->out, s->cfg.little_endian, &h);
    h.size = size;
    h.msg_type = type;
    tcpshm_header_encode(&h, I->out, s->cfg.little_endian);
}

/* The lie for the login lg: a plausible acceptance (the server the login
 * named, or the impostor's own name; an empty range at the client's ack;
 * nothing acknowledged), then one thing wrong with it. */
static void compose(sim *s, impostor *I, const tcpshm_login *lg)
{
    fp_plan *p = &s->plan;
    const tcpshm_config *cfg = &s->cfg;
    bool ranged = !lg->use_shm && lg->last_server_name[0]; /* an SHM client's segments judge its ranges */
    I->lie = (int)fp_below(p, FP_IMPOSTOR, ranged ? IMP_LIES : IMP_RANGE_FIRST);
    tcpshm_login_rsp r;
    memset(&r, 0, sizeof r);
    memset(I->out, 0, sizeof I->out);
    r.status = TCPSHM_LOGIN_OK;
    snprintf(r.server_name, sizeof r.server_name, "%s", lg->last_server_name[0] ? lg->last_server_name : SIM_IMPOSTOR_NAME);
    r.server_seq_start = r.server_seq_end = lg->ack_seq;
    r.ack_seq = lg->client_seq_start;
    uint32_t rsp = tcpshm_login_rsp_size(cfg);
    uint32_t status_at = 16u + cfg->login_rsp_user_data_size, name_at = status_at + 1u;
    switch (I->lie) {
    case IMP_NAME_EMPTY:
        r.server_name[0] = '\0';
        break;
    case IMP_NAME_BAD: {
        static const char *const bad[] = {"sr v0", "srv/0", "..srv0", "srv\x01"};
        I->arg = fp_below(p, FP_IMPOSTOR, 4);
        snprintf(r.server_name, sizeof r.server_name, "%s", bad[I->arg]);
        break;
    }
    case IMP_RANGE_ACK: /* the client's window is at most 8: far past anything it pushed since */
        I->arg = r.ack_seq = lg->client_seq_end + 16u + fp_below(p, FP_IMPOSTOR, 1u << 20);
        break;
    case IMP_RANGE_REVERSED:
        I->arg = r.server_seq_start = lg->ack_seq + 1u + fp_below(p, FP_IMPOSTOR, 1000);
        break;
    default:
        break;
    }
    I->out_len = tcpshm_login_rsp_encode(cfg, &r, I->out);
    switch (I->lie) {
    case IMP_SMALL:
        I->arg = fp_below(p, FP_IMPOSTOR, 8);
        out_header(s, I, (uint16_t)I->arg, TCPSHM_MSG_LOGIN_RESPONSE);
        I->out_len = 8;
        snprintf(I->expect, sizeof I->expect, "Bad frame");
        break;
    case IMP_LARGE:
        I->arg = cfg->max_msg_size + 1u + fp_below(p, FP_IMPOSTOR, 65535u - cfg->max_msg_size);
        out_header(s, I, (uint16_t)I->arg, TCPSHM_MSG_LOGIN_RESPONSE);
        I->out_len = 8;
        snprintf(I->expect, sizeof I->expect, "Msg size larger than recv buf max size");
        break;
    case IMP_SIZE: {
        /* the whole frame goes out of I->out: a user's world may allow
         * messages larger than it (tcpshm-sim's never do: the same draws) */
        uint32_t cap = cfg->max_msg_size < sizeof I->out ? cfg->max_msg_size : (uint32_t)sizeof I->out;
        uint32_t size = 8u + fp_below(p, FP_IMPOSTOR, cap - 7u);
        if (size == rsp)
            size = size < cap ? size + 1u : 8u;
        I->arg = size;
        out_header(s, I, (uint16_t)size, TCPSHM_MSG_LOGIN_RESPONSE);
        I->out_len = tcpshm_padded_size(size); /* the whole frame: the response's bytes, then zeros */
        if (tcpshm_padded_size(size) > TCPSHM_LOGIN_MAX_BYTES)
            snprintf(I->expect, sizeof I->expect, "Bad login response: too large");
        else
            snprintf(I->expect, sizeof I->expect, "login response: size %u", size);
        break;
    }
    case IMP_TYPE: {
        uint32_t type = fp_below(p, FP_IMPOSTOR, 65535u);
        I->arg = type >= TCPSHM_MSG_LOGIN_RESPONSE ? type + 1u : type;
        out_header(s, I, (uint16_t)rsp, (uint16_t)I->arg);
        snprintf(I->expect, sizeof I->expect, "login response: message type %u", I->arg);
        break;
    }
    case IMP_STATUS:
        I->arg = TCPSHM_LOGIN_ERROR + 1u + fp_below(p, FP_IMPOSTOR, 255u - TCPSHM_LOGIN_ERROR);
        I->out[status_at] = (uint8_t)I->arg;
        snprintf(I->expect, sizeof I->expect, "login response: unknown status");
        break;
    case IMP_NAME_EMPTY:
        snprintf(I->expect, sizeof I->expect, "login response: empty server name");
        break;
    case IMP_NAME_UNTERM:
        memset(I->out + name_at, 'x', cfg->name_size);
        snprintf(I->expect, sizeof I->expect, "login response: server name is not NUL");
        break;
    case IMP_NAME_BAD:
        snprintf(I->expect, sizeof I->expect, "server name ");
        break;
    default: /* the ranges */
        snprintf(I->expect, sizeof I->expect, "Seq number mismatch");
        break;
    }
    trace_event(&s->tr, s->now, TR_IMPOSTOR, (uint32_t)I->victim, (uint32_t)(I->lie + 1), 0, I->expect);
}

/* Reads the login, then sends the lie. */
static void pump(sim *s, impostor *I)
{
    const tcpshm_env *e = raw(s);
    uint32_t want = tcpshm_padded_size(tcpshm_login_size(&s->cfg));
    while (I->lie < 0 && I->in_len < want) {
        ssize_t n = e->recv(e->ctx, I->fd, I->in + I->in_len, want - I->in_len);
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN)
                close_fd(s, I); /* the client went away: its callback says why */
            return;
        }
        I->in_len += (uint32_t)n;
    }
    if (I->lie < 0) {
        tcpshm_login lg;
        tcpshm_error err;
        if (tcpshm_login_decode(&s->cfg, I->in, want, &lg, &err) != 0) {
            chk_fail(&s->chk, -1, "impostor: the login of client %s does not decode: %s", victim_of(s)->name,
                     err.text);
            return;
        }
        compose(s, I, &lg);
    }
    while (I->out_off < I->out_len) {
        ssize_t n = e->send(e->ctx, I->fd, I->out + I->out_off, I->out_len - I->out_off);
        if (n <= 0)
            break;
        I->out_off += (uint32_t)n;
    }
}

/* After the client's attempt ended: the client must have closed the link. */
static void see_close(sim *s, impostor *I)
{
    uint8_t b[256];
    for (;;) {
        ssize_t n = raw(s)->recv(raw(s)->ctx, I->fd, b, sizeof b);
        if (n > 0)
            continue;
        if (n < 0 && errno == EAGAIN)
            chk_fail(&s->chk, -1, "impostor: a client refused %s but left the connection open",
                     I->lie >= 0 ? lie_names[I->lie] : "the attempt");
        break;
    }
    close_fd(s, I);
    I->judged = false;
}

void impostor_step(sim *s)
{
    impostor *I = &s->imp;
    if (!(s->plan.on >> FP_IMPOSTOR & 1u))
        return;
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_IMPOSTOR_OWNER);
    node *n = victim_of(s);
    if (n && (!n->alive || n->owner != I->owner)) {
        attempt_over(s, I, 2, "client died");
        n = NULL;
    }
    if (I->judged && I->fd >= 0)
        see_close(s, I);
    else if (s->settle || !n)
        close_fd(s, I); /* the impostor stops when the faults do (the client sees a close) */
    if (I->lfd >= 0) {
        /* the victim's connection, once; anything else waiting (a dead
         * attempt's) is closed */
        for (int fd; (fd = raw(s)->accept(raw(s)->ctx, I->lfd)) >= 0;) {
            if (n && I->fd < 0 && !s->settle && I->in_len == 0 && I->lie < 0)
                I->fd = fd;
            else
                (void)raw(s)->sock_close(raw(s)->ctx, fd);
        }
    }
    if (n && I->fd >= 0 && !s->chk.violated)
        pump(s, I);
    venv_set_owner(s->v, owner);
}
