/* The power-loss kind (fault_power.h): which host, its nodes' deaths, the
 * disk going back (venv_power_loss) and what the checker demands of each
 * pair whose files were on that host. */
#include <stdio.h>
#include <string.h>

#include "fault_power.h"
#include "fault_rollback.h"
#include "fault_twin.h"
#include "check_disk.h"
#include "check_lastserver.h"
#include "node.h"
#include "pairs.h"
#include "rollback_rule.h"
#include "world_reset.h"
#include "tcpshm/ptcp_inspect.h"
#include "tcpshm/ptcp_queue.h"

#define POWER_ALL (-1) /* every host at once */

void power_pick_durability(sim *s)
{
    sim_rng r = sim_rng_make(s->p->seed, 5); /* its own stream: nothing else moves */
    uint32_t coin = sim_rng_below(&r, 2);
    s->durability = s->p->durability >= 0 ? (uint32_t)s->p->durability : coin;
    /* the core refuses SHM logins in host durability (segments are RAM):
     * a host seed runs all TCP; one forced onto SHM runs process. A host
     * seed that drew SHM or mixed keeps its SHM groups (an operator's
     * config: the server must refuse every SHM login, "Shared memory not
     * host-durable"; the liar's SHM login asks it) */
    if (s->durability == SIM_DUR_HOST && s->p->transport >= 0 && s->p->transport != SIM_TX_TCP)
        s->durability = SIM_DUR_PROCESS;
    if (s->durability == SIM_DUR_HOST)
        s->tx_mode = SIM_TX_TCP;
    s->cfg.durability = s->durability == SIM_DUR_HOST ? TCPSHM_DURABILITY_HOST : TCPSHM_DURABILITY_PROCESS;
}

/* ------------------------------------------------------------ hosts */

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The host of a client name's directory: the server's (0) over SHM, else
 * its node's. */
static int name_host(const node *n, uint32_t g) { return n->shm[g] ? 0 : n->idx; }

typedef struct power_ctx {
    sim *s;
    int host;
    /* the directories of the host's client names (a client name's
     * directory is its name), made once per power loss: on_host is asked
     * about every path several times, and making the names each time was
     * a tenth of a --faults all sweep */
    uint32_t ndirs;
    char dirs[SIM_MAX_CLIENTS * SIM_MAX_GEN][TCPSHM_NAME_MAX + 1];
    /* the server's names' (tcpshm-sim's share one; a world's identities may not) */
    uint32_t nsdirs;
    char sdirs[SIM_MAX_GEN][TCPSHM_NAME_MAX + 1];
} power_ctx;

static void power_ctx_make(power_ctx *x, sim *s, int host)
{
    x->s = s;
    x->host = host;
    x->ndirs = 0;
    x->nsdirs = 0;
    for (uint32_t g = 0; g <= s->nodes[0].gen; g++)
        (void)sim_dir_of(s, &s->nodes[0], g, x->sdirs[x->nsdirs++]);
    for (uint32_t i = 1; i < s->nnodes; i++)
        for (uint32_t g = 0; g <= s->nodes[i].gen; g++)
            if (name_host(&s->nodes[i], g) == host)
                (void)sim_dir_of(s, &s->nodes[i], g, x->dirs[x->ndirs++]);
}

static bool on_host(void *user, const char *path)
{
    const power_ctx *x = user;
    if (strcmp(path, "/dev") == 0 || strcmp(path, VENV_SHM_DIR) == 0)
        return false; /* the OS's, there after every boot */
    if (x->host == POWER_ALL)
        return true;
    if (x->host == 0 && under(path, VENV_SHM_DIR))
        return true;
    for (uint32_t i = 0; x->host == 0 && i < x->nsdirs; i++)
        if (under(path, x->sdirs[i]))
            return true;
    for (uint32_t i = 0; i < x->ndirs; i++)
        if (under(path, x->dirs[i]))
            return true;
    return false;
}

static uint32_t below(void *user, uint32_t n) { return fp_below(&((power_ctx *)user)->s->plan, FP_POWER, n); }

static bool node_on_host(const node *n, int host)
{
    return host == POWER_ALL || (n->idx == 0 ? host == 0 : name_host(n, n->cur) == host);
}

/* ------------------------------------------------------------ boots */

/* The host a process runs on: a node's is its current name's; a twin's is
 * its victim's; the probe's is probe_host; anything else (the liar, the
 * simulator's own looks) the server's. */
static int owner_host(const sim *s, uint32_t owner)
{
    if (owner == SIM_PROBE_OWNER)
        return s->probe_host;
    for (uint32_t i = 1; i < s->nnodes; i++)
        if (s->nodes[i].owner == owner)
            return name_host(&s->nodes[i], s->nodes[i].cur);
    if (s->tw.n.owner == owner && s->tw.n.idx > 0 && (uint32_t)s->tw.n.idx < s->nnodes)
        return name_host(&s->nodes[s->tw.n.idx], s->nodes[s->tw.n.idx].cur);
    return 0;
}

static void host_boot_id(const sim *s, int host, uint8_t id[16])
{
    memset(id, 0, 16);
    memcpy(id, "simhost", 7);
    id[8] = (uint8_t)host;
    memcpy(id + 12, &s->boots[host], sizeof s->boots[host]);
}

static void boot_id(void *user, uint32_t owner, uint8_t id[16])
{
    const sim *s = user;
    host_boot_id(s, owner_host(s, owner), id);
}

void power_init(sim *s) { venv_set_boot_fn(s->v, boot_id, s); }

/* The host of a directory (the server's or a client name's). */
static int dir_host(const sim *s, const char *dir)
{
    for (uint32_t i = 1; i < s->nnodes; i++)
        for (uint32_t g = 0; g <= s->nodes[i].gen; g++) {
            char d[TCPSHM_NAME_MAX + 1];
            if (strcmp(sim_dir_of(s, &s->nodes[i], g, d), dir) == 0)
                return name_host(&s->nodes[i], g);
        }
    return 0;
}

/* Whether dir is the directory of one of the server's names. */
static bool a_server_dir(const sim *s, const char *dir)
{
    for (uint32_t g = 0; g <= s->nodes[0].gen; g++) {
        char d[TCPSHM_NAME_MAX + 1];
        if (strcmp(sim_dir_of(s, &s->nodes[0], g, d), dir) == 0)
            return true;
    }
    return false;
}

/* The rule, as the checker states it (docs/design.md, "Durability"): a
 * queue file whose header says it was written without a sync (offset 180:
 * 1) in a boot (offset 164, 16 bytes) other than its host's now is one a
 * power cut may have taken back, and must not be opened. */
static bool boot_refused(const sim *s, const uint8_t *bytes, size_t len, int host)
{
    uint8_t now[16], boot[16];
    uint32_t written;
    if (!disk_claim(bytes, len, &written, boot))
        return false;
    host_boot_id(s, host, now);
    return written == 1 && memcmp(boot, now, sizeof now) != 0;
}

/* The core must refuse such a file: a copy of it, opened by the core as the
 * host's next process would (faults off), is refused for that reason. The
 * real file is left alone (an open claims it). */
static void probe_core_refuses(sim *s, const char *path, const char *local, const char *remote, int host)
{
    size_t len;
    const uint8_t *bytes = venv_file_data(s->v, path, &len);
    char probe[SIM_PATH_SIZE];
    snprintf(probe, sizeof probe, "/bootprobe/%s_%s.ptcp", local, remote);
    uint32_t owner = venv_owner(s->v);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    venv_set_owner(s->v, SIM_PROBE_OWNER);
    s->probe_host = host;
    (void)s->env->mkdir(s->env->ctx, "/bootprobe", 0700);
    if (venv_file_write(s->v, probe, bytes, len) != 0) {
        chk_fail(&s->chk, -1, "simulator: cannot copy %s for the boot probe", path);
    } else {
        tcpshm_ptcp_queue q;
        tcpshm_ptcp_queue_config qc = {s->cfg.queue_size, s->cfg.max_msg_size, s->cfg.little_endian, 0, false};
        tcpshm_error err;
        int rc = tcpshm_ptcp_queue_open(&q, s->env, "/bootprobe", local, remote, &qc, &err);
        if (rc == 0) {
            tcpshm_ptcp_queue_close(&q);
            chk_fail(&s->chk, -1, "power loss (process durability): the core opened %s, written without a sync "
                                  "before its host's power loss (a cut may have taken back what returned: it "
                                  "must refuse it)", path);
        } else if (!strstr(err.text, "before the host restarted")) {
            chk_fail(&s->chk, -1, "power loss (process durability): the core refused %s, written without a sync "
                                  "before its host's power loss, for another reason: %s", path, err.text);
        }
    }
    (void)s->env->remove(s->env->ctx, probe);
    venv_kill(s->v, SIM_PROBE_OWNER);
    venv_set_owner(s->v, owner);
    fp_set_active(&s->plan, was);
}

/* ------------------------------------------------------------ the pairs */

/* A side's queue file after the power loss: 1 opens (numbers), 0 absent,
 * -1 refused (why), -2 refused by the boot rule (boot_refused; the core is
 * probed for it). */
static int side_state(sim *s, const char *dir, const char *local, const char *remote, uint32_t *seq_start,
                      uint32_t *seq_end, uint32_t *my_ack, char *why, size_t n)
{
    char path[SIM_PATH_SIZE];
    size_t len;
    sim_queue_path(path, sizeof path, dir, local, remote);
    const uint8_t *bytes = venv_file_data(s->v, path, &len);
    if (!bytes)
        return 0;
    if (!node_peek_queue(s, dir, local, remote, seq_start, seq_end, my_ack, why, n))
        return -1;
    int host = a_server_dir(s, dir) ? 0 : dir_host(s, dir);
    if (!boot_refused(s, bytes, len, host))
        return 1;
    snprintf(why, n, "written without a sync before its host's power loss");
    probe_core_refuses(s, path, local, remote, host);
    return -2;
}

/* How far back a count went: the file's seq against the checker's stream
 * (base + count); false when it is out of that range (an older epoch's
 * file came back, or a file gone in a wrap run). */
static bool back_to(const chk_stream *st, uint32_t count, uint32_t seq, uint32_t *k)
{
    *k = seq - st->base;
    return *k <= count;
}

#define POWER_SIDES 256 /* pair sides one power loss may judge */

/* Process durability, just before the power loss: a queue file whose
 * header says "clean" (in memory or on its disk) holds on its disk what it
 * holds in memory: the same messages and records; only the clean mark
 * itself may not have reached the disk yet. The core marks a file clean
 * only once all of it is synced (a close), and claims it again with a
 * synced header before it changes anything, so a clean header vouches for
 * every byte; a power loss would bring back bytes it did not vouch for,
 * under a header the next boot trusts (mutation 42: a close whose full
 * sync failed marked the file clean all the same; the refusal that may
 * follow passes for a detection). A file whose disk holds no header yet (a
 * creation whose first claim failed) vouches for nothing. */
static void clean_mark_rule(sim *s, const char *dir, const char *local, const char *remote)
{
    char path[SIM_PATH_SIZE];
    size_t len, dlen;
    bool named;
    sim_queue_path(path, sizeof path, dir, local, remote);
    const uint8_t *live = venv_file_data(s->v, path, &len);
    const uint8_t *disk = live ? venv_disk_data(s->v, path, &dlen, &named) : NULL;
    tcpshm_ptcp_info a, b; /* memory's, the disk's */
    if (!disk)
        return;
    (void)tcpshm_ptcp_inspect(live, len, 0, NULL, NULL, &a, NULL); /* the header's fields, valid or not */
    (void)tcpshm_ptcp_inspect(disk, dlen, 0, NULL, NULL, &b, NULL);
    if (!a.have_header || !b.have_header || strcmp(b.magic, "TSHMPTCP") != 0 || (a.written != 0 && b.written != 0))
        return;
    size_t at = a.data_offset;
    while (at < len && at < dlen && live[at] == disk[at])
        at++;
    bool records = a.active == b.active && memcmp(&a.st, &b.st, sizeof a.st) == 0 &&
                   memcmp(&a.other, &b.other, sizeof a.other) == 0;
    if (at < len || at < dlen || !records)
        chk_fail(&s->chk, -1, "power loss (process durability): %s says clean %s but its disk differs from memory "
                              "(%s; %zu bytes, %zu on the disk): a clean mark vouches for bytes the disk does not hold",
                 path, b.written == 0 ? "on its disk" : "in memory", records ? "a message byte" : "the record",
                 len, dlen);
}

typedef struct pair_check {
    /* before the power loss: whether each side visited (in order) held the
     * checker's current epoch; a side that does not (a client that has not
     * yet seen the reset the server made at a new connection) holds nothing
     * of it to lose */
    bool current[POWER_SIDES];
    uint32_t nsides;
    bool after;
    uint32_t lost_pairs, shm_pairs, refused;
    uint32_t lost_msgs; /* pushes retracted and pops undone, over the pairs */
    uint32_t replayed;  /* host durability: pops not acknowledged yet, to be delivered again */
} pair_check;

/* Host durability: a pop is synced before any ack that covers it is sent
 * (docs/design.md, "Durability"), so a power loss may take back pops whose
 * ack had not gone out: the consumer's my_ack may go back, but never below
 * what its producer had acknowledged (its queue's seq_start): below it the
 * producer freed messages that are then lost. The ones taken back are
 * delivered again, exactly (the checker replays them; the echo rule still
 * holds: the application's write-ahead record covers its last request). */
/* The directory of client name's files (sim_dir_of of the node that has
 * the name; the name itself for one no node has). */
static const char *client_dir(const sim *s, const char *client, char out[TCPSHM_NAME_MAX + 1])
{
    uint32_t g = 0;
    const node *cn = sim_client_named(s, client, &g);
    if (cn)
        return sim_dir_of(s, cn, g, out);
    sim_join(out, TCPSHM_NAME_MAX + 1, client, NULL);
    return out;
}

static bool pops_back_ok(sim *s, const char *peer_dir, const char *peer_name, const char *me, const chk_stream *si,
                         uint32_t my_ack, uint32_t *acked)
{
    uint32_t seq_end, peer_ack, k;
    char why[256];
    *acked = si->base + si->popped;
    if (side_state(s, peer_dir, peer_name, me, acked, &seq_end, &peer_ack, why, sizeof why) != 1)
        return false;
    return back_to(si, si->popped, my_ack, &k) && (int32_t)(my_ack - *acked) >= 0;
}

/* One side (X's queue file of the TCP pair) after the power loss: the
 * checker's rewinds (process) or a violation (host). true: it lost something.
 * Before it: notes whether the side holds the current epoch. */
static bool side_after(sim *s, const char *dir, bool server_side, const char *server, const char *client,
                       pair_check *pc, bool *refused)
{
    int out = chk_stream_id(&s->chk, server, client, server_side ? CHK_S2C : CHK_C2S, 0);
    int in = chk_stream_id(&s->chk, server, client, server_side ? CHK_C2S : CHK_S2C, 0);
    chk_stream *so = &s->chk.s[out], *si = &s->chk.s[in];
    uint32_t seq_end = 0, my_ack = 0;
    char why[256] = "", cdir[TCPSHM_NAME_MAX + 1];
    int st = side_state(s, dir, server_side ? server : client, server_side ? client : server, NULL, &seq_end, &my_ack,
                        why, sizeof why);
    /* a file that is gone is a queue at 0 (the next open makes it so) */
    bool same = st >= 0 && seq_end == so->base + so->pushed && my_ack == si->base + si->popped;
    uint32_t side = pc->nsides++;
    if (side >= POWER_SIDES) {
        chk_fail(&s->chk, -1, "simulator: more than %u pair sides in one power loss", POWER_SIDES);
        return false;
    }
    if (!pc->after) {
        pc->current[side] = same;
        if (s->durability == SIM_DUR_PROCESS)
            clean_mark_rule(s, dir, server_side ? server : client, server_side ? client : server);
        return false;
    }
    /* process durability: a file the core now refuses is refused at every
     * login, the detection the rule asks for: the operator renames the
     * client (pairs_after). Also one that held nothing of the current epoch
     * (seed 1206 --transport mixed --faults all: a wrap run's pre-set file
     * of a pair whose checker epoch was new; liveness failed); it lost
     * something only if it held that epoch. */
    if (st < 0 && s->durability == SIM_DUR_PROCESS) {
        *refused = true;
        pc->refused++;
        return pc->current[side];
    }
    if (!pc->current[side])
        return false; /* nothing of the current epoch there */
    /* an epoch with nothing pushed or popped has nothing that returned to
     * lose (e.g. a reset a failed sync left undurable: the login failed);
     * the next login is judged as usual */
    if (s->durability == SIM_DUR_HOST && so->pushed == 0 && si->popped == 0)
        return false;
    if (s->durability == SIM_DUR_HOST) {
        uint32_t acked = 0, k;
        /* pushes a crash cut short after they were in the file never
         * returned: they may go, unless a peer popped them */
        if (st > 0 && seq_end != so->base + so->pushed && back_to(so, so->pushed, seq_end, &k) &&
            so->pushed - k <= so->crash_tail && k >= s->chk.s[out].popped) {
            if (server_side) { /* echoes among them: their requests are to be echoed again */
                int c2s = chk_stream_id(&s->chk, server, client, CHK_C2S, 0);
                so = &s->chk.s[out];
                for (uint32_t i = k; i < so->pushed; i++)
                    s->chk.s[c2s].echo_next -= so->recs[i].kind == WL_ECHO;
                si = &s->chk.s[in];
            }
            chk_rewind_pushed(&s->chk, out, k);
            so->crash_tail = 0;
            same = my_ack == si->base + si->popped;
        }
        if (st > 0 && seq_end == so->base + so->pushed && my_ack != si->base + si->popped &&
            pops_back_ok(s, server_side ? client_dir(s, client, cdir) : sim_server_dir(s, server, cdir),
                         server_side ? client : server,
                         server_side ? server : client, si, my_ack, &acked)) {
            pc->replayed += si->base + si->popped - my_ack;
            chk_rewind_popped(&s->chk, in, my_ack - si->base);
            return false;
        }
        if (st < 0)
            chk_fail(&s->chk, out, "power loss (host durability): %s's queue file of %s/%s does not open: %s",
                     server_side ? server : client, server, client, why);
        else if (st == 0 ? !same : seq_end != so->base + so->pushed)
            chk_fail(&s->chk, out, "power loss (host durability): %s's queue file of %s/%s %s seq_end %u, my_ack %u; "
                                   "the pair says %u, %u (a push or pop that returned was lost)",
                     server_side ? server : client, server, client, st ? "has" : "is gone:", seq_end, my_ack,
                     so->base + so->pushed, si->base + si->popped);
        else if (!same)
            chk_fail(&s->chk, in, "power loss (host durability): %s's my_ack of %s/%s went back to %u (popped: %u), "
                                  "below %u that %s had acknowledged, or its file does not open (a pop whose ack was "
                                  "sent was lost)",
                     server_side ? server : client, server, client, my_ack, si->base + si->popped, acked,
                     server_side ? client : server);
        return false;
    }
    if (same && st == 0) /* an empty pair's file gone: nothing lost, but the core may report it */
        rb_power_lost(s, server, client, server_side ? server : client, false);
    if (same)
        return false;
    uint32_t pushed, popped;
    if (back_to(so, so->pushed, seq_end, &pushed)) {
        pc->lost_msgs += so->pushed - pushed;
        chk_rewind_pushed(&s->chk, out, pushed);
    } else {
        pc->lost_msgs += so->pushed;
        (void)chk_new_epoch(&s->chk, server, client, server_side ? CHK_S2C : CHK_C2S, seq_end);
    }
    si = &s->chk.s[in]; /* the array may have moved */
    if (back_to(si, si->popped, my_ack, &popped)) {
        pc->lost_msgs += si->popped - popped;
        chk_rewind_popped(&s->chk, in, popped);
    } else {
        pc->lost_msgs += si->popped;
        (void)chk_new_epoch(&s->chk, server, client, server_side ? CHK_C2S : CHK_S2C, my_ack);
    }
    return true;
}

/* A TCP pair the checker has no stream of (no login of it was ever
 * accepted) holds nothing that returned, so nothing is lost; but its queue
 * file may still be there (made at a login that then failed) and a power
 * loss may leave it refused (process durability: the rename reached the
 * disk, the size did not: "truncated: 0 bytes"). The core refuses it at
 * every login, which is the detection the rule asks for; the checker must
 * then do what it does for any refused file, the operator renaming the
 * client, or the client never logs in again (seed 1773 --faults all: the
 * liveness failure was this model gap, not the core's). */
static void unknown_pairs_refused(sim *s, int host, pair_check *pc)
{
    const node *sv = &s->nodes[0];
    bool srv_side = host == POWER_ALL || host == 0;
    for (uint32_t k = 1; k < s->nnodes && !s->chk.violated; k++)
        for (uint32_t g = 0; g <= s->nodes[k].gen; g++) {
            const node *cn = &s->nodes[k];
            bool cli_side = host == POWER_ALL || name_host(cn, g) == host;
            if (cn->shm[g] || (!srv_side && !cli_side))
                continue;
            char client[TCPSHM_NAME_MAX + 1], cdir[TCPSHM_NAME_MAX + 1];
            sim_name_of(s, cn, g, client);
            for (uint32_t v = 0; v <= sv->gen; v++) {
                char server[TCPSHM_NAME_MAX + 1], why[256];
                uint32_t b, c;
                sim_name_of(s, sv, v, server);
                int known = chk_find(&s->chk, server, client, CHK_C2S);
                if ((known >= 0 && !s->chk.s[known].retired) || rb_pair_dead(s, server, client))
                    continue; /* a known pair: judged above */
                char sdir[TCPSHM_NAME_MAX + 1];
                if ((srv_side && side_state(s, sim_dir_of(s, sv, v, sdir), server, client, NULL, &b, &c, why, sizeof why) < 0) ||
                    (cli_side && side_state(s, sim_dir_of(s, cn, g, cdir), client, server, NULL, &b, &c, why, sizeof why) < 0)) {
                    pc->refused++;
                    rb_file_refused(s, server, client);
                }
            }
        }
}

/* Every pair with files on the host: the current epoch of each (server,
 * client) the checker knows. */
static void pairs_after(sim *s, int host, const char *who, pair_check *pc)
{
    const node *sv = &s->nodes[0];
    pc->nsides = 0;
    uint32_t n0 = s->chk.n; /* new epochs made on the way are not visited */
    for (uint32_t i = 0; i < n0 && !s->chk.violated; i++) {
        const chk_stream *st = &s->chk.s[i];
        if (st->dir != CHK_C2S || st->retired || rb_pair_dead(s, st->server, st->client))
            continue;
        char server[TCPSHM_NAME_MAX + 1], client[TCPSHM_NAME_MAX + 1];
        sim_join(server, sizeof server, st->server, NULL);
        sim_join(client, sizeof client, st->client, NULL);
        if (chk_stream_id(&s->chk, server, client, CHK_C2S, 0) != (int)i)
            continue; /* an older epoch */
        bool srv_side = host == POWER_ALL || host == 0;
        uint32_t g = 0;
        const node *cn = sim_client_named(s, client, &g);
        if (!cn)
            continue; /* the twin's or the liar's: no files of a pair */
        if (cn->shm[g]) { /* both segments are RAM: gone with the server's host */
            if (!srv_side || !pc->after)
                continue;
            int c2s, s2c;
            chk_pair_login(&s->chk, server, client, false, 0, &c2s, &s2c);
            world_pair_lost(s, server, client); /* a user's world: its application's state of it too */
            pc->shm_pairs++;
            continue;
        }
        bool cli_side = host == POWER_ALL || name_host(cn, g) == host;
        if (srv_side && pc->after && s->durability == SIM_DUR_PROCESS) /* the echo record may have gone back */
            chk_echo_off(&s->chk, chk_stream_id(&s->chk, server, client, CHK_C2S, 0));
        bool refused = false, lost = false;
        uint32_t msgs = pc->lost_msgs;
        char cdir[TCPSHM_NAME_MAX + 1];
        char sdir[TCPSHM_NAME_MAX + 1];
        if (srv_side)
            lost = side_after(s, sim_server_dir(s, server, sdir), true, server, client, pc, &refused) || lost;
        if (cli_side && !s->chk.violated)
            lost = side_after(s, sim_dir_of(s, cn, g, cdir), false, server, client, pc, &refused) || lost;
        if (s->chk.violated || !pc->after || (!lost && !refused))
            continue;
        if (lost) /* the echo record went back too (process durability) */
            chk_echo_off(&s->chk, chk_stream_id(&s->chk, server, client, CHK_C2S, 0));
        if (refused) {
            rb_file_refused(s, server, client);
        } else {
            rb_power_lost(s, server, client, who, pc->lost_msgs != msgs);
            pc->lost_pairs += pc->lost_msgs != msgs;
        }
    }
    if (pc->after)
        unknown_pairs_refused(s, host, pc);
    /* an SHM pair the checker has no stream of yet (no login since a wrap
     * run's set-up) starts at 0 too: its segments are new */
    for (uint32_t k = 1; pc->after && (host == POWER_ALL || host == 0) && k < s->nnodes; k++)
        for (uint32_t g = 0; g <= s->nodes[k].gen; g++)
            for (uint32_t v = 0; s->nodes[k].shm[g] && v <= sv->gen; v++) {
                char server[TCPSHM_NAME_MAX + 1], client[TCPSHM_NAME_MAX + 1];
                sim_name_of(s, sv, v, server);
                sim_name_of(s, &s->nodes[k], g, client);
                (void)chk_stream_id(&s->chk, server, client, CHK_C2S, 0);
                (void)chk_stream_id(&s->chk, server, client, CHK_S2C, 0);
            }
}

/* Process durability: a client's record that went back (to nothing or to
 * another name) while its queue of the pair it named is intact: the queue
 * file says nothing was lost (pairs_after), but the client's next login
 * names another server, resets that queue and drops what it held (pushes
 * the server never consumed). That is a loss like a rollback's
 * `lost-record`, pending under the same rule: a new connection the client
 * makes is its detection (rb_client_accepted), a login going on with the
 * pair is not. The checker did not count it (seed 759 --faults all: the
 * client came back under that name (`return`), said "" and its queue was
 * at 0 while the pair said 5 pushes): a model gap, not the core's. */
static void record_went_back(sim *s, const char *server, const char *client)
{
    int c2s = chk_find(&s->chk, server, client, CHK_C2S), s2c = chk_find(&s->chk, server, client, CHK_S2C);
    if (rb_pair_dead(s, server, client) || c2s < 0 || s2c < 0 || s->chk.s[c2s].retired)
        return;
    bool lost = s->chk.s[c2s].pushed > 0 || s->chk.s[s2c].popped > 0;
    rb_power_lost(s, server, client, client, lost);
}

/* The clients' records: host durability keeps them; otherwise the record
 * is what the disk says now, and one that does not read is refused (the
 * client cannot log in: its pairs are dead, the operator renames it). */
static void records_after(sim *s, int host, char before[][TCPSHM_NAME_MAX + 1])
{
    /* every name of every client whose directory is on the host: a name
     * may come back (return) */
    for (uint32_t i = 1; i < s->nnodes && !s->chk.violated; i++) {
        node *n = &s->nodes[i];
        for (uint32_t g = 0; g <= n->gen && !s->chk.violated; g++) {
            if ((host != POWER_ALL && name_host(n, g) != host) || (n->ls_damaged >> g & 1u))
                continue; /* (a record the damage kind broke: refused, and its name retired) */
            char name[TCPSHM_NAME_MAX + 1], rec[TCPSHM_NAME_MAX + 1], dir[TCPSHM_NAME_MAX + 1];
            sim_name_of(s, n, g, name);
            int r = sim_recorded_server(s, sim_dir_of(s, n, g, dir), name, rec);
            const char *was = g == n->cur ? before[i] : n->ls_rec[g];
            /* host: the record of the last successful login (or the one a
             * login in flight wrote when the node died: lastserver_after_death) */
            if (s->durability == SIM_DUR_HOST &&
                (r < 0 || (strcmp(rec, n->ls_rec[g]) != 0 && strcmp(rec, was) != 0 && strcmp(rec, n->ls_prev[g]) != 0)))
                chk_fail(&s->chk, n->c2s, "power loss (host durability): %s's record %s (its last successful login "
                                          "was to \"%s\")",
                         name, r < 0 ? "does not read" : rec[0] ? "went back or changed" : "disappeared", was);
            else if (r >= 0) {
                if (s->durability == SIM_DUR_PROCESS && was[0] && strcmp(rec, was) != 0) {
                    record_went_back(s, was, name);
                    /* and the name it went back to: the client resumes that
                     * pair from its older epoch's file, which the server's
                     * side may have moved past (seed 1206 --transport mixed
                     * --faults all: a wrap run's first pair, the server back
                     * under that name by `return`): a mismatch there is the
                     * detection; nothing of it was lost at this power loss */
                    if (rec[0] && !rb_pair_dead(s, rec, name))
                        rb_power_lost(s, rec, name, name, false);
                }
                memcpy(n->ls_rec[g], rec, sizeof rec);
                memcpy(n->ls_prev[g], rec, sizeof rec); /* the disk's now */
            }
            else {
                n->ls_torn |= 1u << g;
                if (n->ls_rec[g][0])
                    rb_file_refused(s, n->ls_rec[g], name); /* a name whose pair is dead does not come back */
                if (g == n->cur) /* it cannot log in: renamed */
                    snprintf(s->rb_rule->rename[n->idx], RB_NAME, "%s", name);
            }
        }
    }
}

/* at: the node whose host goes down (the focus), or -1 for the draw's */
static void power_loss(sim *s, int at, bool pages_back)
{
    int host = POWER_ALL;
    uint32_t cands[1 + SIM_MAX_CLIENTS], nc = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        if (i == 0 || name_host(&s->nodes[i], s->nodes[i].cur) != 0)
            cands[nc++] = i;
    /* both ends at once only where nothing may be lost: a process-durable
     * pair that goes back on both sides to a state consistent with itself
     * cannot be told from the truth by any protocol (README) */
    bool all = fp_below(&s->plan, FP_POWER, 3) == 0 && s->durability == SIM_DUR_HOST;
    uint32_t pick = cands[fp_below(&s->plan, FP_POWER, nc)];
    if (at >= 0 && (uint32_t)at < s->nnodes) /* the host where something may be on no disk */
        pick = at == 0 ? 0u : (uint32_t)name_host(&s->nodes[at], s->nodes[at].cur);
    if (!all)
        host = (int)pick;
    char who[TCPSHM_NAME_MAX + 1];
    snprintf(who, sizeof who, "%s", s->nodes[host == POWER_ALL ? 0 : host].name);
    fault_twin_end(s, "power loss");
    char before[1 + SIM_MAX_CLIENTS][TCPSHM_NAME_MAX + 1];
    for (uint32_t i = 0; i < s->nnodes; i++)
        memcpy(before[i], s->nodes[i].ls_rec[s->nodes[i].cur], sizeof before[i]);
    uint32_t killed = 0;
    for (uint32_t i = 0; i < s->nnodes && !s->chk.violated; i++)
        if (s->nodes[i].alive && node_on_host(&s->nodes[i], host)) {
            node_kill(s, &s->nodes[i], false);
            killed++;
        }
    if (s->chk.violated)
        return;
    power_ctx x;
    venv_power_stats vs;
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    pair_check pc = {0};
    pairs_after(s, host, who, &pc); /* which sides hold the current epoch */
    for (uint32_t h = 0; h < s->nnodes; h++) /* the host boots again */
        s->boots[h] += host == POWER_ALL || (int)h == host;
    power_ctx_make(&x, s, host);
    venv_set_pages_back(s->v, pages_back);
    venv_power_loss(s->v, on_host, below, &x, &vs);
    venv_set_pages_back(s->v, false);
    pc.after = true;
    pairs_after(s, host, who, &pc);
    records_after(s, host, before);
    rb_operator(s); /* a refused record or file: the client is renamed at once */
    fp_set_active(&s->plan, was);
    char what[200];
    /* short: the trace's ring keeps 47 bytes of it */
    snprintf(what, sizeof what, "%s %s n%u/%u p%u/%u z%u g%u l%u r%u s%u d%u", host == POWER_ALL ? "all" : who,
             sim_dur_names[s->durability], vs.names_kept, vs.names_reverted, vs.pages_new, vs.pages_old,
             vs.sizes_reverted, vs.segments, pc.lost_pairs, pc.refused, pc.shm_pairs, pc.replayed);
    trace_event(&s->tr, s->now, TR_POWER, host == POWER_ALL ? 0u : (uint32_t)host, killed, pc.lost_msgs, what);
}

/* A young pair of a process-durable run: the client popped nothing of the
 * server's yet, while the server holds something (its pushes, its pops): if
 * the server's queue file goes with a power cut, a fresh one may agree with
 * the client's numbers (its ack 0, and the server's acks may not have
 * reached it), the case only the file's fresh mark tells (known bug 23). */
static bool young_pair(const sim *s)
{
    if (s->durability != SIM_DUR_PROCESS)
        return false;
    for (uint32_t i = 0; i < s->chk.n; i++) {
        const chk_stream *st = &s->chk.s[i];
        if (st->dir != CHK_S2C || st->retired || st->popped != 0)
            continue;
        for (uint32_t j = 0; j < s->chk.n; j++) {
            const chk_stream *in = &s->chk.s[j];
            if (in->dir == CHK_C2S && !in->retired && (in->popped > 0 || st->pushed > 0) &&
                strcmp(in->server, st->server) == 0 && strcmp(in->client, st->client) == 0)
                return true;
        }
    }
    return false;
}

void power_at_crash_site(sim *s, node *n)
{
    if (!(s->plan.on >> FP_POWER & 1u) || !s->plan.active)
        return;
    if (s->durability == SIM_DUR_PROCESS && rb_power_pending(s))
        return; /* as in power_step */
    if (fp_below(&s->plan, FP_POWER, 4) != 0)
        return;
    s->plan.fired[FP_POWER]++;
    /* half the time the disk keeps no page written since its file's last
     * sync: the most a cut between a write and its sync can take */
    bool pages_back = fp_below(&s->plan, FP_POWER, 2) == 0;
    power_loss(s, (int)n->idx, pages_back);
}

void power_step(sim *s)
{
    /* process durability: a pair whose two ends both went back (a second
     * power loss before the first was judged at a login) may hold states
     * consistent with each other, which no protocol can tell from the
     * truth; detection is asked for only while one end kept its state */
    if (s->durability == SIM_DUR_PROCESS && rb_power_pending(s))
        return;
    /* the focus: within a heartbeat after a sync failed (something may be
     * on no disk yet: what a host-durable core must not have told a peer
     * about) a power loss of that node's host comes far more often, 1 step
     * in 2, and its disk keeps no page that was not synced (names and
     * sizes still by coin: a name kept over bytes gone is known bug 20's
     * tear). Known bug 19 (a pop synced after its ack) was found in 0.4% of
     * the seeds with 1 in 4 and coins for the pages */
    bool hot = s->sync_failed_at && s->now - s->sync_failed_at <= s->cfg.heartbeat_interval;
    /* and while a pair is young (process durability), 1 step in 16 */
    bool young = !hot && (s->plan.on >> FP_POWER & 1u) && s->plan.active && young_pair(s);
    if (young && fp_below(&s->plan, FP_POWER, 16) == 0) {
        s->plan.fired[FP_POWER]++;
        power_loss(s, -1, false);
    } else if (hot && (s->plan.on >> FP_POWER & 1u) && s->plan.active && fp_below(&s->plan, FP_POWER, 2) == 0) {
        s->plan.fired[FP_POWER]++;
        s->sync_failed_at = 0;
        power_loss(s, s->sync_failed_node, true);
    } else if (fp_roll(&s->plan, FP_POWER)) {
        power_loss(s, -1, false);
    }
}
