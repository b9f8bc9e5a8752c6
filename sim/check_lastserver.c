/* The .lastserver rule (check_lastserver.h). */
#include <stdio.h>
#include <string.h>

#include "check_lastserver.h"
#include "fault_twin.h"
#include "pairs.h"

/* The file's layout (core/src/lastserver.c, version 1): magic, version,
 * reserved, the name field. */
#define LS_MAGIC "TSHMLAST"
#define LS_SIZE (16u + TCPSHM_NAME_MAX + 1u)

void lastserver_login_ok(sim *s, node *n, const char *server)
{
    (void)s;
    snprintf(n->ls_rec[n->cur], sizeof n->ls_rec[0], "%s", server);
    memcpy(n->ls_prev[n->cur], n->ls_rec[n->cur], sizeof n->ls_prev[0]);
}

bool lastserver_parse(const uint8_t *d, size_t len, const char *client, char name[TCPSHM_NAME_MAX + 1],
                      char *why, size_t why_size)
{
    uint32_t version;
    name[0] = '\0';
    if (len != LS_SIZE) {
        snprintf(why, why_size, "%.*s.lastserver has %zu bytes, a record has %u", SIM_NAME_PREC, client, len,
                 LS_SIZE);
        return false;
    }
    memcpy(&version, d + 8, sizeof version);
    const char *field = (const char *)d + 16;
    if (memcmp(d, LS_MAGIC, 8) != 0 || version != 1u || !memchr(field, '\0', TCPSHM_NAME_MAX + 1) ||
        field[0] == '\0') {
        snprintf(why, why_size, "%.*s.lastserver holds no valid record (torn or never written)", SIM_NAME_PREC,
                 client);
        return false;
    }
    memcpy(name, field, TCPSHM_NAME_MAX + 1);
    return true;
}

/* The recorded name in the file, "" if there is no file; false with why if
 * the file is there but holds no valid record. */
static bool read_record(sim *s, node *n, char name[TCPSHM_NAME_MAX + 1], char *why, size_t why_size)
{
    char path[SIM_PATH_SIZE];
    sim_lastserver_path(path, sizeof path, n->dir, n->name);
    size_t len;
    const uint8_t *d = venv_file_data(s->v, path, &len);
    name[0] = '\0';
    return !d || lastserver_parse(d, len, n->name, name, why, why_size);
}

/* Whether name is one the run's server has had (srv0 .. its current one). */
static bool a_server_name(const sim *s, const char *name)
{
    for (uint32_t g = 0; g <= s->nodes[0].gen; g++) { /* a world's: its identities so far */
        char sn[TCPSHM_NAME_MAX + 1];
        sim_name_of(s, &s->nodes[0], g, sn);
        if (strcmp(sn, name) == 0)
            return true;
    }
    return false;
}

void lastserver_after_death(sim *s, node *n, bool mid_login)
{
    char found[TCPSHM_NAME_MAX + 1], why[256];
    int sid = n->c2s;
    if ((n->ls_torn | n->ls_damaged) >> n->cur & 1u)
        return; /* a power loss tore it (process durability) or the damage kind broke it: refused, not a record */
    if (!read_record(s, n, found, why, sizeof why)) {
        chk_fail(&s->chk, sid, "lastserver: after %s died: %s (last successful login: \"%s\")", n->name, why,
                 n->ls_rec[n->cur]);
        return;
    }
    if (strcmp(found, n->ls_rec[n->cur]) == 0)
        return;
    if (mid_login && found[0] && a_server_name(s, found)) {
        memcpy(n->ls_prev[n->cur], n->ls_rec[n->cur], sizeof n->ls_prev[0]);
        memcpy(n->ls_rec[n->cur], found, sizeof n->ls_rec[0]); /* the login in flight recorded its name */
        return;
    }
    chk_fail(&s->chk, sid, "lastserver: after %s died its record says \"%s\", but its last successful login "
                           "was to \"%s\" (%s)",
             n->name, found, n->ls_rec[n->cur], found[0] ? "went back or changed" : "the record disappeared");
}

void lastserver_after_failed_login(sim *s, node *n)
{
    char found[TCPSHM_NAME_MAX + 1], why[256];
    if (read_record(s, n, found, why, sizeof why) && found[0] && a_server_name(s, found) &&
        strcmp(found, n->ls_rec[n->cur]) != 0) {
        memcpy(n->ls_prev[n->cur], n->ls_rec[n->cur], sizeof n->ls_prev[0]);
        memcpy(n->ls_rec[n->cur], found, sizeof n->ls_rec[0]);
    }
}

void lastserver_at_login(sim *s, const tcpshm_login *lg)
{
    if (fault_twin_login(s, lg)) /* the twin has a directory of its own */
        return;
    for (uint32_t i = 1; i < s->nnodes; i++) {
        node *n = &s->nodes[i];
        if (strcmp(n->name, lg->client_name) != 0)
            continue;
        /* a login an earlier incarnation sent, read only now (it waited in
         * the server's pending logins): its record may have changed since
         * (a rollback, a later login); node.c checks each login call */
        if (!n->alive || strcmp(lg->last_server_name, n->login_last) != 0)
            return;
        /* judged by the record when the login was made: an earlier attempt
         * of this process that said the same name (closed by the client
         * while the server was partitioned) may be read after a later one
         * succeeded and recorded a new name (seed 35022, --faults all) */
        if (strcmp(lg->last_server_name, n->login_rec) != 0 &&
            !(lg->last_server_name[0] == '\0' && sim_pair_lost(s, n->dir, n->name, n->login_rec)))
            chk_fail(&s->chk, n->c2s, "lastserver: %s logs in with last server \"%s\", but its last successful "
                                      "login was to \"%s\"",
                     n->name, lg->last_server_name, n->login_rec);
        return;
    }
}

void lastserver_resync(sim *s, node *n)
{
    char rec[TCPSHM_NAME_MAX + 1];
    if (n->idx > 0 && sim_recorded_server(s, n->dir, n->name, rec) >= 0)
        memcpy(n->ls_rec[n->cur], rec, sizeof rec);
}
