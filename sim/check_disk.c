/* The disk rule at a login (check_disk.h). */
#include <stdio.h>
#include <string.h>

#include "check_disk.h"
#include "check_lastserver.h"
#include "checker.h"
#include "pairs.h"
#include "tcpshm/ptcp_inspect.h"
#include "venv.h"

bool disk_claim(const uint8_t *bytes, size_t len, uint32_t *written, uint8_t boot[16])
{
    tcpshm_ptcp_info info;
    /* the header's fields, valid or not: no reason asked for (err NULL), so
     * none is formatted (a header always fails the default max_msg_size) */
    (void)tcpshm_ptcp_inspect(bytes, len, 0, NULL, NULL, &info, NULL);
    *written = info.written;
    memcpy(boot, info.boot_id, 16);
    return info.have_header;
}

static void judge_side(sim *s, int sid, const char *dir, const char *local, const char *remote)
{
    char path[SIM_PATH_SIZE];
    sim_queue_path(path, sizeof path, dir, local, remote);
    size_t len, dlen;
    bool named;
    const uint8_t *live = venv_file_data(s->v, path, &len);
    const uint8_t *disk = live ? venv_disk_data(s->v, path, &dlen, &named) : NULL;
    if (!disk)
        return; /* no file (a reader's login, a pair the core keeps none of) */
    tcpshm_ptcp_info a, b; /* memory's, the disk's */
    bool a_ok = tcpshm_ptcp_inspect(live, len, 0, local, remote, &a, NULL) == 0; /* (no reason formatted) */
    bool b_ok = tcpshm_ptcp_inspect(disk, dlen, 0, local, remote, &b, NULL) == 0;
    if (s->durability == SIM_DUR_HOST) {
        if (!named)
            chk_fail(&s->chk, sid, "disk: after a login in host durability %s is not on the disk under its name "
                                   "(a power cut would take the file back, and the pair's numbers with it)", path);
        else if (a_ok && (!b_ok || b.st.write_seq != a.st.write_seq || b.st.my_ack != a.st.my_ack))
            chk_fail(&s->chk, sid, "disk: after a login in host durability %s has seq_end %u, my_ack %u on its disk, "
                                   "%u, %u in memory", path, b.have_header ? b.st.write_seq : 0u,
                     b.have_header ? b.st.my_ack : 0u, a.st.write_seq, a.st.my_ack);
        return;
    }
    if (!a.have_header || a.written != 1)
        return; /* not claimed (an env without boot ids): nothing a cut could betray */
    if (!b.have_header || b.written != 1 || memcmp(a.boot_id, b.boot_id, sizeof a.boot_id) != 0)
        chk_fail(&s->chk, sid, "disk: after a login in process durability %s is claimed in memory only "
                               "(its disk says written %u: a power cut would bring back a header it trusts)",
                 path, b.have_header ? b.written : 0u);
}

void check_disk_at_logon(sim *s, const char *server, const char *client)
{
    char dir[TCPSHM_NAME_MAX + 1];
    if (!s->chk.violated && !sim_client_shm(s, client)) /* SHM pairs keep no queue file */
        judge_side(s, -1, sim_server_dir(s, server, dir), server, client);
}

/* Host durability: the client's record names the server on its disk, under
 * its name (the login told the server "I have recorded you"; a power cut
 * that took the record back would make the client's next login a new
 * connection while the server continues the pair). */
static void judge_record(sim *s, int sid, const char *dir, const char *client, const char *server)
{
    char path[SIM_PATH_SIZE], found[TCPSHM_NAME_MAX + 1], why[160];
    sim_lastserver_path(path, sizeof path, dir, client);
    size_t len;
    bool named;
    const uint8_t *disk = venv_disk_data(s->v, path, &len, &named);
    if (!disk || !named)
        chk_fail(&s->chk, sid, "disk: after %s's login to %s in host durability %s is not on the disk under its "
                               "name (a power cut would take the record back)", client, server, path);
    else if (!lastserver_parse(disk, len, client, found, why, sizeof why))
        chk_fail(&s->chk, sid, "disk: after %s's login to %s in host durability its record's disk bytes: %s",
                 client, server, why);
    else if (strcmp(found, server) != 0)
        chk_fail(&s->chk, sid, "disk: after %s's login to %s in host durability %s says \"%s\" on its disk "
                               "(the record's data is not synced)", client, server, path, found);
}

void check_disk_at_login(sim *s, node *cn, const char *server)
{
    if (s->chk.violated)
        return;
    char client[TCPSHM_NAME_MAX + 1], cdir[TCPSHM_NAME_MAX + 1];
    sim_name_of(s, cn, cn->cur, client);
    sim_dir_of(s, cn, cn->cur, cdir);
    if (s->durability == SIM_DUR_HOST)
        judge_record(s, cn->c2s, cdir, client, server);
    if (!cn->shm[cn->cur] && !s->chk.violated) /* SHM pairs keep no queue file */
        judge_side(s, cn->c2s, cdir, client, server);
}
