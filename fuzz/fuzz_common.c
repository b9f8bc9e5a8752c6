#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpshm/names.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/shm_queue.h"
#include "venv.h"

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n%s:%d: check failed: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    abort();
}

void fz_config(uint8_t sel, tcpshm_config *c)
{
    tcpshm_config_default(c);
    switch (sel % 4u) {
    case 1:
        c->little_endian = false;
        break;
    case 2:
        c->name_size = 8;
        c->login_user_data_size = 4;
        c->login_rsp_user_data_size = 2;
        break;
    case 3:
        c->name_size = 32;
        c->little_endian = false;
        break;
    default:
        break;
    }
    c->max_msg_size = 128;
    c->recv_buf_size = 512;
    c->queue_size = 1024;
    c->shm_groups = 0; /* TCP only: the server model knows no SHM groups */
    c->heartbeat_interval = 100;
    c->connection_timeout = 1000;
    c->new_conn_timeout = 300;
    c->ctl_interval = 0; /* the models expect every poll_ctl to accept */
    c->tcp_groups = 1;
    c->tcp_conns_per_group = 3;
    c->max_new_conns = 4;
    c->accepts_per_poll = 4;
}

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static bool any_prefix(const char *s, const char *const *list)
{
    for (; list && *list; list++)
        if (has_prefix(s, *list))
            return true;
    return false;
}

static const char *const disconnect_reasons[] = {
    "Remote close", "Read error", "Send error", "Timeout", "Request close",
    "Msg size larger than recv buf max size", "Bad ack", "Bad frame", NULL};

bool fz_disconnect_reason_ok(const char *reason) { return any_prefix(reason, disconnect_reasons); }

static const char *const reject_reasons[] = {
    "Remote close before login", "Read error before login", "Bad login: ", "login: ",
    "Timeout before login", "Invalid client name", "Login Reject", "Already logged on",
    "Max client cnt exceeded", "System error", "Too many connections logging in",
    "Shared memory not enabled", "Logged in over TCP before", "Logged in over SHM before",
    "Invalid last server name", "Shared memory needs local peer", NULL};

bool fz_login_reject_reason_ok(const char *reason, const char *const *app_texts)
{
    if (any_prefix(reason, reject_reasons))
        return true;
    for (; app_texts && *app_texts; app_texts++)
        if (strcmp(reason, *app_texts) == 0)
            return true;
    return false;
}

static const char *const client_reasons[] = {
    "Timeout", "Connect error", "Remote close", "Read error", "Send error", "Request close", "Bad frame",
    "Msg size larger than recv buf max size", "Bad login response", "login response: ",
    "server name ", "cannot ", NULL};

bool fz_client_error_reason_ok(const char *reason) { return any_prefix(reason, client_reasons); }

/* ---- the server model ---- */

static void reject(fz_srv_expect *out, const char *reason, bool response)
{
    out->outcome = FZ_SRV_REJECTED;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    out->response = response;
}

void fz_expect_server(const fz_srv_model *m, const uint8_t *b, size_t n, fz_srv_expect *out)
{
    const tcpshm_config *cfg = m->cfg;
    memset(out, 0, sizeof *out);
    uint32_t lsize = tcpshm_login_size(cfg), lpad = tcpshm_padded_size(lsize);
    if (n < TCPSHM_HEADER_SIZE) {
        out->outcome = FZ_SRV_PENDING;
        return;
    }
    tcpshm_msg_header h;
    tcpshm_header_decode(b, cfg->little_endian, &h);
    if (h.msg_type != TCPSHM_MSG_LOGIN || h.size != lsize) {
        char why[128];
        snprintf(why, sizeof why, "Bad login: type %u size %u, expected type 1 size %u", h.msg_type,
                 h.size, lsize);
        reject(out, why, false);
        return;
    }
    if (n < lpad) {
        out->outcome = FZ_SRV_PENDING;
        return;
    }
    tcpshm_error err;
    memset(&err, 0, sizeof err);
    int rc = tcpshm_login_decode(cfg, b, lpad, &out->login, &err);
    if (rc == TCPSHM_E_NAME) {
        /* a name field filled to its end: answered as a bad name (the
         * unterminated one decodes as "") */
        out->decoded = out->unterminated = true;
        reject(out, out->login.client_name[0] ? "Invalid last server name" : "Invalid client name", true);
        return;
    }
    if (rc != 0) {
        reject(out, err.text, false);
        return;
    }
    out->decoded = true;
    const tcpshm_login *lg = &out->login;
    /* 1. a name that can be a file name */
    if (tcpshm_name_check(lg->client_name, cfg->name_size, NULL, NULL) != 0) {
        reject(out, "Invalid client name", true);
        return;
    }
    /* 2. the application */
    const char *text = NULL;
    int grp = m->decide(m->user, lg, &text);
    if (grp < 0) {
        /* the callback gets the whole text, the response the text cut to its field */
        reject(out, text ? text : "Login Reject", true);
        return;
    }
    /* the targets serve TCP only (shm_groups 0): a login asking for SHM is refused */
    if (lg->use_shm && cfg->shm_groups == 0) {
        reject(out, "Shared memory not enabled", true);
        return;
    }
    if ((uint32_t)grp >= (lg->use_shm ? cfg->shm_groups : cfg->tcp_groups)) {
        reject(out, "Login Reject", true);
        return;
    }
    /* 3. the slot (the targets leave room for every name they use) */
    if (m->name_busy(m->user, lg->client_name)) {
        reject(out, "Already logged on", true);
        return;
    }
    /* 5./6. a queue with nothing unacknowledged: seq, seq; my_ack */
    uint32_t seq = 0, my_ack = 0; /* a queue created now is empty */
    bool had_queue = m->queue_state(m->user, lg->client_name, &seq, &my_ack); /* and not fresh */
    uint32_t cack = lg->ack_seq, cstart = lg->client_seq_start, cend = lg->client_seq_end;
    /* a client that goes on with this server while the server has no queue
     * file for the pair, or only a fresh one (created now at step 4, or by
     * an earlier login none accepted since): the server's state was lost,
     * and agreeing numbers prove nothing, so it is a mismatch
     * (docs/protocol.md step 6; the targets serve TCP only) */
    if (!had_queue && strcmp(lg->last_server_name, m->server_name) == 0) {
        out->outcome = FZ_SRV_MISMATCH;
        return;
    }
    /* a client that never recorded a name, with no state, for a pair nobody
     * consumed from, is resumed (the first-login window, server.c); with a
     * queue of nothing unacknowledged that gives the same numbers as a reset */
    bool resumed = lg->last_server_name[0] == '\0' && cack == 0 && cstart == 0 && cend == 0 && seq == 0 &&
                   my_ack == 0;
    if (strcmp(lg->last_server_name, m->server_name) != 0 && !resumed) {
        /* a new connection: the server resets its side, the client's numbers count as 0 */
        seq = my_ack = 0;
        cack = cstart = cend = 0;
    }
    if (!fz_in_range(cack, seq, seq) || !fz_in_range(my_ack, cstart, cend)) {
        out->outcome = FZ_SRV_MISMATCH;
        return;
    }
    /* 7. logged in: the rest of the bytes are frames on the connection */
    out->outcome = FZ_SRV_LOGGED_IN;
    out->after = FZ_AFTER_UP;
    size_t pos = lpad;
    while (n - pos >= TCPSHM_HEADER_SIZE) {
        tcpshm_header_decode(b + pos, cfg->little_endian, &h);
        if (h.size < TCPSHM_HEADER_SIZE) {
            out->after = FZ_AFTER_DISCONNECT;
            out->disc_reason = "Bad frame";
            return;
        }
        uint32_t padded = tcpshm_padded_size(h.size);
        if (padded > cfg->max_msg_size) {
            out->after = FZ_AFTER_DISCONNECT;
            out->disc_reason = "Msg size larger than recv buf max size";
            return;
        }
        if (n - pos < padded)
            return;
        /* nothing was ever sent on this stream beyond seq: a newer ack is bad */
        if ((int32_t)(h.ack_seq - seq) > 0) {
            out->after = FZ_AFTER_DISCONNECT;
            out->disc_reason = "Bad ack";
            return;
        }
        if (h.msg_type != TCPSHM_MSG_HEARTBEAT)
            out->msgs++;
        pos += padded;
    }
}

/* Opens <dir>/<local>_<remote>.ptcp under owner `as` and reads its state;
 * false if the file does not exist. */
static bool peek(struct venv *v, uint32_t as, const char *dir, const char *local, const char *remote,
                 const tcpshm_config *cfg, uint32_t *seq_start, uint32_t *seq_end, uint32_t *my_ack, bool *fresh)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s_%s.ptcp", dir, local, remote);
    if (!venv_file_data(v, path, NULL))
        return false;
    uint32_t was = venv_owner(v);
    venv_set_owner(v, as);
    tcpshm_ptcp_queue q;
    tcpshm_ptcp_queue_config qc = {cfg->queue_size, cfg->max_msg_size, cfg->little_endian, 0, false};
    tcpshm_error err;
    memset(&err, 0, sizeof err);
    tcpshm_env look = *venv_env(v); /* version 2: a look claims nothing (no boot ids) */
    look.version = 2;
    int rc = tcpshm_ptcp_queue_open(&q, &look, dir, local, remote, &qc, &err);
    FZ_CHECK(rc == 0, "%s exists but does not open: %s", path, err.text);
    *seq_start = tcpshm_ptcp_queue_seq_start(&q);
    *seq_end = tcpshm_ptcp_queue_seq_end(&q);
    *my_ack = tcpshm_ptcp_queue_my_ack(&q);
    *fresh = tcpshm_ptcp_queue_fresh(&q);
    tcpshm_ptcp_queue_close(&q);
    venv_set_owner(v, was);
    return true;
}

bool fz_peek_queue(struct venv *v, uint32_t as, const char *dir, const char *local,
                   const char *remote, const tcpshm_config *cfg, uint32_t *seq_start,
                   uint32_t *seq_end, uint32_t *my_ack)
{
    bool fresh;
    return peek(v, as, dir, local, remote, cfg, seq_start, seq_end, my_ack, &fresh);
}

bool fz_pair_state(struct venv *v, uint32_t as, const char *dir, const char *local, const char *remote,
                   const tcpshm_config *cfg, uint32_t *seq_start, uint32_t *seq_end, uint32_t *my_ack)
{
    bool fresh;
    return peek(v, as, dir, local, remote, cfg, seq_start, seq_end, my_ack, &fresh) && !fresh;
}

struct venv *fz_login_bed(uint8_t sel, tcpshm_config *cfg, size_t *chunk, uint32_t *capacity)
{
    static const uint32_t caps[4] = {4096, 64, 17, 1000};
    static const size_t chunks[4] = {0, 1, 7, 13};
    fz_config(sel, cfg);
    *chunk = chunks[(sel >> 2) & 3u];
    *capacity = caps[(sel >> 5) & 3u];
    venv_options vo = {.stream_capacity = *capacity};
    venv *v = venv_create(&vo);
    FZ_CHECK(v != NULL, "venv");
    return v;
}

void fz_shm_geometry(uint8_t cfg, uint32_t *capacity, uint32_t *max_msg_size)
{
    static const uint32_t caps[4] = {256, 512, 1024, 4096}, maxes[4] = {16, 32, 64, 128};
    *capacity = caps[cfg & 3u];
    *max_msg_size = maxes[(cfg >> 2) & 3u];
    while (*capacity < 2 * (*max_msg_size + TCPSHM_SHM_SLOT_OVERHEAD))
        *max_msg_size /= 2;
}

/* ---- shared-memory segments on the venv ---- */

void fz_shm_path(char *out, size_t n, const char *name) { snprintf(out, n, "%s%s", VENV_SHM_DIR, name); }
