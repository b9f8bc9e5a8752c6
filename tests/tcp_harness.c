#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tcp_harness.h"

/* ---- message pattern: body[0..3] = seq, then bytes derived from seq ---- */

static uint8_t body_byte(uint32_t seq, uint32_t i) { return (uint8_t)(seq * 131u + i * 7u + 3u); }

bool th_push(tcpshm_conn *c, uint32_t seq, uint16_t body_size, bool more)
{
    if (body_size < 4)
        body_size = 4;
    tcpshm_msg_header *m = tcpshm_conn_alloc(c, body_size);
    if (!m)
        return false;
    m->msg_type = TH_MSG_TYPE;
    uint8_t *b = (uint8_t *)(m + 1);
    memcpy(b, &seq, 4);
    for (uint32_t i = 4; i < body_size; i++)
        b[i] = body_byte(seq, i);
    return (more ? tcpshm_conn_push_more(c) : tcpshm_conn_push(c)) == 0;
}

void th_consume(th_side *side, tcpshm_conn *c, tcpshm_msg_header *m)
{
    uint32_t seq = 0;
    const uint8_t *b = (const uint8_t *)(m + 1);
    uint32_t body = m->size - 8u;
    if (m->msg_type != TH_MSG_TYPE || body < 4) {
        side->bad++;
        snprintf(side->bad_text, sizeof side->bad_text, "type %u size %u", m->msg_type, m->size);
    } else {
        memcpy(&seq, b, 4);
        if (seq != side->next_expected) {
            side->bad++;
            snprintf(side->bad_text, sizeof side->bad_text, "got seq %u, expected %u", seq,
                     side->next_expected);
        } else {
            for (uint32_t i = 4; i < body; i++)
                if (b[i] != body_byte(seq, i)) {
                    side->bad++;
                    snprintf(side->bad_text, sizeof side->bad_text, "seq %u byte %u corrupt", seq, i);
                    break;
                }
        }
        side->next_expected = seq + 1;
    }
    side->received++;
    tcpshm_conn_pop(c);
}

/* ---- server callbacks ---- */

static int srv_new_conn(void *user, const tcpshm_login *login, uint8_t *rsp_ud, const char **reject)
{
    th *h = user;
    rsp_ud[0] = 0x5a;
    if (h->use_fixed_group) {
        if (h->reject_group < 0)
            *reject = h->reject_text;
        return h->reject_group;
    }
    uint32_t groups = login->use_shm ? h->cfg.shm_groups : h->cfg.tcp_groups;
    if (h->route_by_len && groups)
        return (int)(strlen(login->client_name) % groups);
    return 0;
}

static void note(th_side *s, const char *text)
{
    snprintf(s->last_reason, sizeof s->last_reason, "%s", text);
}

static void srv_system_error(void *user, const char *what, int e)
{
    th *h = user;
    h->srv_side.system_errors++;
    note(&h->srv_side, what);
    (void)e;
}

static void srv_file_error(void *user, const char *client, const tcpshm_error *err)
{
    th *h = user;
    (void)client;
    h->srv_side.file_errors++;
    note(&h->srv_side, err->text);
    snprintf(h->srv_side.last_file_error, sizeof h->srv_side.last_file_error, "%s", err->text);
}

static void srv_login_rejected(void *user, const char *client, const char *reason)
{
    th *h = user;
    (void)client;
    h->srv_side.rejects++;
    note(&h->srv_side, reason);
}

static void srv_mismatch(void *user, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    th *h = user;
    (void)c;
    h->srv_side.mismatches++;
    h->srv_side.last_mismatch = *m;
}

static void srv_logon(void *user, tcpshm_conn *c, uint32_t grp)
{
    th *h = user;
    (void)c;
    h->srv_side.logons++;
    h->srv_side.last_grp = grp;
}

static void srv_disconnect(void *user, tcpshm_conn *c, const char *reason, int e)
{
    th *h = user;
    (void)c, (void)e;
    h->srv_side.disconnects++;
    note(&h->srv_side, reason);
}

static void srv_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    th *h = user;
    if (h->server_echo) {
        /* Echo k is message k of the server's stream: push it, then pop.
         * A message whose echo is already queued (redelivered after a
         * restart) is only popped, so every echo goes out exactly once. */
        if ((int32_t)(tcpshm_conn_seq_end(c) - tcpshm_conn_my_ack(c)) > 0) {
            tcpshm_conn_pop(c);
            return;
        }
        tcpshm_msg_header *out = tcpshm_conn_alloc(c, (uint16_t)(m->size - 8u));
        if (!out)
            return; /* queue full: it comes again at the next poll */
        memcpy(out + 1, m + 1, m->size - 8u);
        out->msg_type = m->msg_type;
        tcpshm_conn_push(c);
        tcpshm_conn_pop(c);
        h->srv_side.received++;
    } else if (h->server_consume) {
        th_consume(&h->srv_side, c, m);
    }
}

/* ---- client callbacks: user is the th_client ---- */

static void cl_system_error(void *user, const char *reason, int e)
{
    struct th_client *c = user;
    (void)e;
    c->side.system_errors++;
    note(&c->side, reason);
}

static void cl_reject(void *user, const tcpshm_login_rsp *rsp)
{
    struct th_client *c = user;
    c->side.rejects++;
    note(&c->side, rsp->error_msg);
}

static void cl_mismatch(void *user, tcpshm_conn *conn, const tcpshm_seq_mismatch *m)
{
    struct th_client *c = user;
    (void)conn;
    c->side.mismatches++;
    c->side.last_mismatch = *m;
}

static void cl_success(void *user, tcpshm_conn *conn, const tcpshm_login_rsp *rsp)
{
    struct th_client *c = user;
    (void)conn, (void)rsp;
    c->side.logons++;
}

static void cl_disconnect(void *user, tcpshm_conn *conn, const char *reason, int e)
{
    struct th_client *c = user;
    (void)conn, (void)e;
    c->side.disconnects++;
    note(&c->side, reason);
}

static bool g_client_consume = true;

static void cl_msg(void *user, tcpshm_conn *conn, tcpshm_msg_header *m)
{
    struct th_client *c = user;
    if (g_client_consume)
        th_consume(&c->side, conn, m);
}

/* ---- the bed ---- */

void th_init(th *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "/tmp/tcpshm-tcp-XXXXXX");
    cr_assert_not_null(mkdtemp(h->dir));
    snprintf(h->server_dir, sizeof h->server_dir, "%s/server", h->dir);
    tcpshm_config_default(&h->cfg);
    h->cfg.queue_size = 64 * 1024;
    h->cfg.recv_buf_size = 16 * 1024;
    h->cfg.max_msg_size = 2048;
    h->cfg.heartbeat_interval = 100 * 1000000LL;
    h->cfg.connection_timeout = 1000 * 1000000LL;
    h->cfg.new_conn_timeout = 1000 * 1000000LL;
    h->cfg.tcp_conns_per_group = 4;
    h->cfg.shm_conns_per_group = 4;
    h->cfg.shm_queue_size = 16 * 1024;
    h->now = 1000000000LL;
    h->client_consume = true;
}

void th_start_server(th *h, const char *name)
{
    snprintf(h->server_name, sizeof h->server_name, "%s", name);
    bool known = false;
    for (uint32_t i = 0; i < h->nserver_names; i++)
        known = known || strcmp(h->server_names[i], name) == 0;
    if (!known && h->nserver_names < 4)
        snprintf(h->server_names[h->nserver_names++], sizeof h->server_names[0], "%s", name);
    tcpshm_server_callbacks cb = {
        .user = h, .on_system_error = srv_system_error, .on_new_connection = srv_new_conn,
        .on_client_file_error = srv_file_error, .on_login_rejected = srv_login_rejected,
        .on_seq_mismatch = srv_mismatch, .on_logon = srv_logon, .on_disconnect = srv_disconnect,
        .on_msg = srv_msg};
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_server_create(&h->srv, &h->cfg, NULL, name, h->server_dir, &cb, &err), 0,
                 "server create: %s", err.text);
    /* Reuse the port across restarts so clients reconnect to the same place. */
    cr_assert_eq(tcpshm_server_start(h->srv, "127.0.0.1", h->port, &err), 0, "start: %s", err.text);
    h->port = tcpshm_server_port(h->srv);
    cr_assert_gt(h->port, 0);
}

void th_stop_server(th *h)
{
    tcpshm_server_destroy(h->srv);
    h->srv = NULL;
}

static void create_client(th *h, uint32_t i)
{
    struct th_client *c = &h->clients[i];
    tcpshm_client_callbacks cb = {
        .user = c, .on_system_error = cl_system_error, .on_login_reject = cl_reject,
        .on_seq_mismatch = cl_mismatch, .on_login_success = cl_success,
        .on_disconnect = cl_disconnect, .on_msg = cl_msg};
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_client_create(&c->cl, &h->cfg, NULL, c->name, c->dir, &cb, &err), 0,
                 "client create: %s", err.text);
}

uint32_t th_add_client(th *h, const char *name)
{
    cr_assert_lt(h->nclients, TH_MAX_CLIENTS);
    uint32_t i = h->nclients++;
    struct th_client *c = &h->clients[i];
    snprintf(c->name, sizeof c->name, "%s", name);
    char base[sizeof h->dir];
    memcpy(base, h->dir, sizeof base);
    snprintf(c->dir, sizeof c->dir, "%s/client-%u", base, i);
    create_client(h, i);
    return i;
}

void th_destroy_client(th *h, uint32_t i)
{
    tcpshm_client_destroy(h->clients[i].cl);
    h->clients[i].cl = NULL;
}

void th_recreate_client(th *h, uint32_t i) { create_client(h, i); }

void th_login(th *h, uint32_t i)
{
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_client_login(h->clients[i].cl, "127.0.0.1", h->port, h->use_shm, NULL, h->now, &err), 0,
                 "login: %s", err.text);
}

void th_poll(th *h, int64_t step_ns)
{
    g_client_consume = h->client_consume;
    h->now += step_ns;
    if (h->srv) {
        tcpshm_server_poll_ctl(h->srv, h->now);
        for (uint32_t g = 0; g < h->cfg.tcp_groups; g++)
            tcpshm_server_poll_tcp(h->srv, h->now, g);
        for (uint32_t g = 0; g < h->cfg.shm_groups; g++)
            tcpshm_server_poll_shm(h->srv, h->now, g);
    }
    for (uint32_t i = 0; i < h->nclients; i++)
        if (h->clients[i].cl && !h->clients[i].paused) {
            tcpshm_client_poll_tcp(h->clients[i].cl, h->now);
            tcpshm_client_poll_shm(h->clients[i].cl);
        }
}

bool th_pump_until(th *h, bool (*cond)(th *h, void *arg), void *arg, int max_rounds)
{
    for (int r = 0; r < max_rounds; r++) {
        if (cond(h, arg))
            return true;
        th_poll(h, 1000000); /* 1 ms of virtual time per round */
        usleep(50);
    }
    return cond(h, arg);
}

bool th_client_logged_in(th *h, void *arg)
{
    uint32_t i = (uint32_t)(uintptr_t)arg;
    return tcpshm_client_get_state(h->clients[i].cl) == TCPSHM_CLIENT_LOGGED_IN;
}

void th_fini(th *h)
{
    for (uint32_t i = 0; i < h->nclients; i++)
        if (h->clients[i].cl)
            tcpshm_client_destroy(h->clients[i].cl);
    if (h->srv)
        tcpshm_server_destroy(h->srv);
    for (uint32_t i = 0; i < h->nclients; i++)
        for (uint32_t k = 0; k < h->nserver_names; k++) {
            char seg[160];
            snprintf(seg, sizeof seg, "/tcpshm_%s_%s", h->clients[i].name, h->server_names[k]);
            shm_unlink(seg);
            snprintf(seg, sizeof seg, "/tcpshm_%s_%s", h->server_names[k], h->clients[i].name);
            shm_unlink(seg);
        }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    cr_assert_eq(system(cmd), 0);
}
