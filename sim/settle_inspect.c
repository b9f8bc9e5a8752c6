/* settle_inspect (settle_inspect.h). After a settle every logged-in TCP
 * client's pair is live and idle on both sides, so each side's file shows
 * exactly its connection's state: its active record is the last change
 * (a host batch is published before anything is sent), and `written` says
 * the open of this process (1: durability process, 2: host; a process
 * whose env has no boot ids, version < 3 or boot_id NULL, claims nothing:
 * any). The other
 * record slot is the state one change away: before the last change (every
 * counter at most the active one's), or a change staged and never published
 * (a kill, a power cut), or the state a reset to 0 left behind (every
 * counter at least): never a mix of both, but across the u32 wrap (where
 * "at most" cannot tell; wrap runs are left out). */
#include <stdio.h>
#include <string.h>

#include "node.h"
#include "pairs.h"
#include "settle_inspect.h"
#include "tcpshm/ptcp_inspect.h"

static void inspect_one(sim *s, const node *n, const char *local, const char *remote, tcpshm_conn *c)
{
    const char *dir = n->dir;
    char path[SIM_PATH_SIZE];
    size_t len = 0;
    sim_queue_path(path, sizeof path, dir, local, remote);
    int sid = chk_stream_id(&s->chk, s->nodes[0].name, strcmp(local, s->nodes[0].name) == 0 ? remote : local,
                            strcmp(local, s->nodes[0].name) == 0 ? CHK_S2C : CHK_C2S, 0);
    const uint8_t *bytes = venv_file_data(s->v, path, &len);
    if (!bytes) {
        chk_fail(&s->chk, sid, "inspect: the live pair's file %s does not exist", path);
        return;
    }
    tcpshm_ptcp_info info;
    tcpshm_error err = {0};
    if (tcpshm_ptcp_inspect(bytes, len, s->cfg.max_msg_size, local, remote, &info, &err) != 0) {
        chk_fail(&s->chk, sid, "inspect: the inspector refuses the live pair's file %s: %s", path, err.text);
        return;
    }
    uint32_t written = s->cfg.durability == TCPSHM_DURABILITY_HOST ? 2u : 1u;
    uint32_t start = tcpshm_conn_seq_start(c), end = tcpshm_conn_seq_end(c), ack = tcpshm_conn_my_ack(c);
    if (strcmp(info.local, local) != 0 || strcmp(info.remote, remote) != 0)
        chk_fail(&s->chk, sid, "inspect: %s says it is the pair %s_%s", path, info.local, info.remote);
    else if (info.capacity != s->cfg.queue_size)
        chk_fail(&s->chk, sid, "inspect: %s says capacity %u, the configuration %u", path, info.capacity,
                 s->cfg.queue_size);
    else if (info.durability != s->cfg.durability)
        chk_fail(&s->chk, sid, "inspect: %s says durability %u, the run's is %u", path, info.durability,
                 s->cfg.durability);
    else if (n->env.version >= 3u && n->env.boot_id && info.written != written)
        chk_fail(&s->chk, sid, "inspect: %s, open in a live process, says written %u, not %u", path, info.written,
                 written);
    else if (info.st.read_seq != start || info.st.write_seq != end || info.st.my_ack != ack)
        chk_fail(&s->chk, sid, "inspect: %s says seq [%u, %u) ack %u, the live connection [%u, %u) ack %u", path,
                 info.st.read_seq, info.st.write_seq, info.st.my_ack, start, end, ack);
    else if (!s->wrap_base && tcpshm_ptcp_slots_compare(&info) == TCPSHM_SLOTS_MIXED)
        chk_fail(&s->chk, sid, "inspect: %s's record slots are not one change apart: active seq [%u, %u) ack %u, "
                 "other [%u, %u) ack %u", path, info.st.read_seq, info.st.write_seq, info.st.my_ack,
                 info.other.read_seq, info.other.write_seq, info.other.my_ack);
}

/* The files the core makes (queue files, .lastserver records and their
 * temporaries, lock files, SHM segments) have the configured file_mode,
 * 0600 when it is 0 (config.h: "0 means 0600"). The seeds use 0600 or 0,
 * so a file the simulator wrote back (a rollback, a damage: venv writes
 * 0600) agrees too. */
static bool core_file(const char *path)
{
    static const char *const suffix[] = {".ptcp", ".lastserver", ".lastserver.tmp", ".lock"};
    size_t len = strlen(path);
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        size_t k = strlen(suffix[i]);
        if (len > k && strcmp(path + len - k, suffix[i]) == 0)
            return true;
    }
    return strncmp(path, VENV_SHM_DIR "/tcpshm_", strlen(VENV_SHM_DIR "/tcpshm_")) == 0;
}

static void check_mode(void *user, const char *path, bool is_dir, size_t size)
{
    sim *s = user;
    (void)size;
    unsigned want = s->cfg.file_mode ? s->cfg.file_mode : 0600u;
    int mode = is_dir || !core_file(path) || s->chk.violated ? (int)want : venv_file_mode(s->v, path);
    if (mode != (int)want)
        chk_fail(&s->chk, -1, "inspect: %s has mode %o; the configuration's file_mode %o says %o", path,
                 (unsigned)mode, s->cfg.file_mode, want);
}

void settle_inspect(sim *s)
{
    venv_list(s->v, check_mode, s);
    node *sv = &s->nodes[0];
    for (uint32_t i = 1; i < s->nnodes && !s->chk.violated; i++) {
        node *n = &s->nodes[i];
        if (sim_client_shm(s, n->name) || !node_client_ready(s, n))
            continue;
        tcpshm_conn *c = tcpshm_client_conn(n->cl);
        const char *server = tcpshm_conn_remote_name(c);
        inspect_one(s, n, n->name, server, c);
        if (!s->chk.violated)
            inspect_one(s, sv, sv->name, n->name, tcpshm_server_find_conn(sv->srv, n->name));
    }
}
