/* The rollback kind (fault_rollback.h): snapshots of a node's files, the
 * restore of an older copy (or a wipe) while the node is dead, the rewind
 * of the checker's streams and the operator's rename; the login-time rule
 * is rollback_rule.c. sim/README.md, "Storage that goes back in time",
 * states the rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_rollback.h"
#include "check_lastserver.h"
#include "rollback_rule.h"
#include "node.h"
#include "pairs.h"
#include "tcpshm/sim.h"
#include "world_reset.h"

#define RB_SNAPS 3    /* kept per node */
#define RB_FILES 64   /* files in one snapshot */
#define RB_COUNTS 256 /* streams in one snapshot (more: no snapshot) */

/* RB_LOST_RECORD: the client's .lastserver alone is gone, its queues stay
 * (mutation 6 of sim/mutations needs it: a client that logs in naming no
 * server while it holds that server's queue) */
enum { RB_PAIR_QUEUE, RB_LASTSERVER, RB_ALL, RB_WIPE, RB_SEGMENT, RB_LOST_RECORD, RB_MODES };

/* A copy of a file's bytes, shared by the snapshots that found the file
 * unchanged since it was made (the same venv stamp): a dead node's files,
 * and the files a live one has not mapped, are copied once, not every 25
 * steps. */
typedef struct rb_copy {
    uint32_t refs;
    uint64_t stamp; /* venv_file_stamped's when copied; 0: not shared */
    size_t len;
    uint8_t data[];
} rb_copy;

typedef struct rb_file {
    char path[SIM_PATH_SIZE];
    rb_copy *copy;
} rb_file;

typedef struct rb_count { /* a stream's counts when the snapshot was taken */
    int sid;
    uint32_t pushed, popped;
} rb_count;

typedef struct rb_snap {
    bool used;
    int64_t t;
    char name[RB_NAME]; /* the node's name then */
    rb_file files[RB_FILES];
    uint32_t nfiles;
    rb_count counts[RB_COUNTS];
    uint32_t ncounts;
} rb_snap;


typedef struct rb_state {
    rb_snap snap[1 + SIM_MAX_CLIENTS][RB_SNAPS];
} rb_state;

/* ------------------------------------------------------------ helpers */

static bool on(const sim *s) { return (s->plan.on >> FP_ROLLBACK & 1u) && s->plan.active; }

bool rb_batches_followed(const sim *s) { return !(s->durability == SIM_DUR_HOST && (s->plan.on >> FP_ROLLBACK & 1u)); }

/* Frees the copies and empties the slot. Only the counts and the header
 * are reset: nothing reads files[] or counts[] past them (zeroing the whole
 * slot, some 16 KB, showed in profiles). */
static void copy_drop(rb_copy *c)
{
    if (c && --c->refs == 0)
        free(c);
}

static void snap_free(rb_snap *sn)
{
    for (uint32_t i = 0; i < sn->nfiles; i++)
        copy_drop(sn->files[i].copy);
    sn->used = false;
    sn->t = 0;
    sn->name[0] = '\0';
    sn->nfiles = 0;
    sn->ncounts = 0;
}

void rb_init(sim *s)
{
    /* not zeroed (some 270 KB per seed): each slot's header says it is empty */
    s->rb = malloc(sizeof *s->rb);
    if (!s->rb)
        abort();
    for (uint32_t i = 0; i < 1 + SIM_MAX_CLIENTS; i++)
        for (uint32_t k = 0; k < RB_SNAPS; k++) {
            s->rb->snap[i][k].nfiles = 0;
            snap_free(&s->rb->snap[i][k]);
        }
    rb_rule_init(s);
}

void rb_fini(sim *s)
{
    for (uint32_t i = 0; i < 1 + SIM_MAX_CLIENTS; i++)
        for (uint32_t k = 0; k < RB_SNAPS; k++)
            snap_free(&s->rb->snap[i][k]);
    free(s->rb);
    s->rb = NULL;
    rb_rule_fini(s);
}

static bool prefixed(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }




/* The files a snapshot of n holds: its directory, and the SHM segments of
 * its pairs (a server: every segment). */
typedef struct collect {
    const node *n;
    rb_snap *sn;
    bool overflow;
} collect;

/* path is in n's directory (no snprintf of "<dir>/": called for every file
 * of venv, every step of a dead node) */
static bool node_file(const node *n, const char *path)
{
    size_t k = strlen(n->dir);
    return strncmp(path, n->dir, k) == 0 && path[k] == '/';
}

static bool node_segment(const node *n, const char *path)
{
    static const char pre[] = VENV_SHM_DIR "/tcpshm_";
    if (strncmp(path, pre, sizeof pre - 1) != 0)
        return false;
    if (n->idx == 0)
        return true;
    const char *from = path + sizeof pre - 1, *us = strchr(from, '_');
    if (!us)
        return false;
    bool producer = (size_t)(us - from) == strlen(n->name) && strncmp(from, n->name, (size_t)(us - from)) == 0;
    return producer || strcmp(us + 1, n->name) == 0;
}

/* A pair file of another name of X in X's directory (the server's names
 * share one: <dir>/<other>_<client>.ptcp or .app). A rollback restores the
 * state of X's current name only: the rule follows that name's pairs, and
 * a name that comes back (return) finds its files as it left them. */
static bool other_name_file(const node *x, const char *path)
{
    size_t d = strlen(x->dir), n = strlen(path), k = strlen(x->name);
    if (!node_file(x, path))
        return false;
    const char *base = path + d + 1;
    bool pair = strchr(base, '_') && ((n > 5 && strcmp(path + n - 5, ".ptcp") == 0) ||
                                      (n > 4 && strcmp(path + n - 4, ".app") == 0));
    return pair && !(strncmp(base, x->name, k) == 0 && base[k] == '_');
}

static void collect_file(void *user, const char *path, bool is_dir, size_t size)
{
    collect *c = user;
    (void)size;
    if (is_dir || !(node_file(c->n, path) || node_segment(c->n, path)))
        return;
    if (c->sn->nfiles == RB_FILES) {
        c->overflow = true;
        return;
    }
    rb_file *f = &c->sn->files[c->sn->nfiles++];
    sim_join(f->path, sizeof f->path, path, NULL);
    f->copy = NULL;
}

/* A copy of bytes with this stamp that another of the node's snapshots
 * (or the slot sn replaces: old) holds, or NULL. */
static rb_copy *shared_copy(rb_snap *slots, const rb_snap *sn, rb_copy *const *old, uint32_t nold, uint64_t stamp)
{
    for (uint32_t i = 0; i < nold; i++)
        if (old[i]->stamp == stamp)
            return old[i];
    for (uint32_t k = 0; k < RB_SNAPS; k++)
        for (uint32_t i = 0; &slots[k] != sn && i < slots[k].nfiles; i++)
            if (slots[k].files[i].copy && slots[k].files[i].copy->stamp == stamp)
                return slots[k].files[i].copy;
    return NULL;
}

/* A mapped file has no stamp (its bytes change under venv): a copy of the
 * same path another of the node's snapshots holds with the same bytes, or
 * NULL (a third of the mapped copies, mostly idle pairs; a changed file
 * differs early, in its header). */
static rb_copy *same_bytes(rb_snap *slots, const rb_snap *sn, const char *path, const uint8_t *d, size_t len)
{
    for (uint32_t k = 0; k < RB_SNAPS; k++)
        for (uint32_t i = 0; &slots[k] != sn && i < slots[k].nfiles; i++) {
            const rb_copy *c = slots[k].files[i].copy;
            if (c && c->stamp == 0 && c->len == len && strcmp(slots[k].files[i].path, path) == 0)
                return memcmp(c->data, d, len) == 0 ? slots[k].files[i].copy : NULL;
        }
    return NULL;
}

static void take_snapshot(sim *s, node *n)
{
    rb_snap *slots = s->rb->snap[n->idx], *sn = NULL;
    for (uint32_t k = 0; k < RB_SNAPS && !sn; k++)
        if (!slots[k].used || strcmp(slots[k].name, n->name) != 0)
            sn = &slots[k];
    if (!sn)
        sn = &slots[fp_below(&s->plan, FP_ROLLBACK, RB_SNAPS)];
    /* the replaced slot's copies are kept until the new one is made: it may share them */
    rb_copy *old[RB_FILES];
    uint32_t nold = 0;
    for (uint32_t i = 0; i < sn->nfiles; i++)
        old[nold++] = sn->files[i].copy;
    sn->nfiles = 0;
    snap_free(sn);
    collect c = {n, sn, false};
    venv_list(s->v, collect_file, &c);
    for (uint32_t i = 0; i < sn->nfiles; i++) {
        rb_file *f = &sn->files[i];
        size_t len;
        uint64_t stamp;
        const uint8_t *d = venv_file_stamped(s->v, f->path, &len, &stamp);
        if (!d)
            abort();
        f->copy = stamp ? shared_copy(slots, sn, old, nold, stamp) : same_bytes(slots, sn, f->path, d, len);
        if (f->copy) {
            f->copy->refs++;
            continue;
        }
        f->copy = malloc(sizeof *f->copy + (len ? len : 1));
        if (!f->copy)
            abort();
        *f->copy = (rb_copy){1, stamp, len};
        memcpy(f->copy->data, d, len);
    }
    for (uint32_t i = 0; i < nold; i++)
        copy_drop(old[i]);
    for (uint32_t i = 0; i < s->chk.n && !c.overflow; i++) {
        const chk_stream *st = &s->chk.s[i];
        if (strcmp(n->idx == 0 ? st->server : st->client, n->name) != 0)
            continue; /* closed ones too */
        /* an epoch the server began whose login the client has not taken
         * yet: the client's file still holds the older epoch (seed 2080
         * --faults all: a snapshot between the two, restored, made the
         * older epoch's numbers look like the new one's at 0) */
        if (n->idx > 0 && !st->client_joined)
            continue;
        if (sn->ncounts == RB_COUNTS)
            c.overflow = true; /* a stream left out would read as count 0 (seed 44015) */
        else
            sn->counts[sn->ncounts++] = (rb_count){(int)i, st->pushed, st->popped};
    }
    if (c.overflow) { /* not a whole copy, or not all the counts: not a snapshot */
        snap_free(sn);
        return;
    }
    sn->used = true;
    sn->t = s->now;
    sim_join(sn->name, sizeof sn->name, n->name, NULL);
    trace_event(&s->tr, s->now, TR_SNAPSHOT, (uint32_t)n->idx, sn->nfiles, 0, NULL);
}

static const rb_file *snap_file(const rb_snap *sn, const char *path)
{
    for (uint32_t i = 0; i < sn->nfiles; i++)
        if (strcmp(sn->files[i].path, path) == 0)
            return &sn->files[i];
    return NULL;
}

/* The count a stream had in the snapshot: 0 when it did not exist yet. */
static void snap_counts(const rb_snap *sn, int sid, uint32_t *pushed, uint32_t *popped)
{
    *pushed = *popped = 0;
    for (uint32_t i = 0; i < sn->ncounts; i++)
        if (sn->counts[i].sid == sid) {
            *pushed = sn->counts[i].pushed;
            *popped = sn->counts[i].popped;
        }
}

/* ------------------------------------------------------------ a rollback */

/* What a rollback does, planned before anything is touched, so that a plan
 * the rule cannot follow is dropped whole. */
typedef struct rb_rewind {
    int sid;
    bool pushes; /* the push count, else the pop count */
    uint32_t n;
} rb_rewind;

typedef struct rb_plan {
    const rb_snap *sn;
    char paths[RB_FILES * 2][SIM_PATH_SIZE]; /* files set back (to the snapshot's bytes, or removed) */
    uint32_t npaths;
    rb_rewind rewinds[RB_COUNTS * 2];
    uint32_t nrewinds;
    char pairs[SIM_MAX_CLIENTS * SIM_MAX_GEN][2][RB_NAME]; /* pairs it touches: (server, client) */
    uint32_t npairs;
    const char *remote; /* RB_PAIR_QUEUE: the pair the focus chose (NULL: drawn) */
    node *stop; /* the other side of a segment, stopped for the restore */
    bool bad;   /* the rule cannot follow it (a pair that would start at another seq) */
} rb_plan;

static void plan_path(rb_plan *pl, const char *path)
{
    for (uint32_t i = 0; i < pl->npaths; i++)
        if (strcmp(pl->paths[i], path) == 0)
            return;
    if (pl->npaths < sizeof pl->paths / sizeof pl->paths[0])
        sim_join(pl->paths[pl->npaths++], sizeof pl->paths[0], path, NULL);
    else
        pl->bad = true;
}

/* false if the pair was planned already */
static bool plan_pair(rb_plan *pl, const char *server, const char *client)
{
    for (uint32_t i = 0; i < pl->npairs; i++)
        if (strcmp(pl->pairs[i][0], server) == 0 && strcmp(pl->pairs[i][1], client) == 0)
            return false;
    if (pl->npairs == sizeof pl->pairs / sizeof pl->pairs[0]) {
        pl->bad = true;
        return false;
    }
    sim_join(pl->pairs[pl->npairs][0], RB_NAME, server, NULL);
    sim_join(pl->pairs[pl->npairs++][1], RB_NAME, client, NULL);
    return true;
}

/* The record alone going back: the pair of the server name the snapshot's
 * copy of client x's .lastserver records, if it names one, is pending too.
 * The restored record sends the client's next login there, to a pair that
 * need not be open now, whose sides need not agree (seed 82342 --faults
 * all: c2g1's record went back to srv0, whose side of the pair was empty,
 * and srv0's mismatch, a detection, was taken for a bug; order_world seed
 * 1914 --faults all). Not for a whole directory: its pairs' files come
 * back with the record and are planned with their rewinds (plan_side). */
static void plan_recorded_pair(rb_plan *pl, const node *x)
{
    char path[SIM_PATH_SIZE];
    sim_lastserver_path(path, sizeof path, x->dir, x->name);
    const rb_file *f = snap_file(pl->sn, path);
    const rb_copy *c = f ? f->copy : NULL;
    if (c && c->len == 16u + TCPSHM_NAME_MAX + 1u && memcmp(c->data, "TSHMLAST", 8) == 0 &&
        memchr(c->data + 16, '\0', TCPSHM_NAME_MAX + 1u) && c->data[16])
        (void)plan_pair(pl, (const char *)c->data + 16, x->name);
}

static void plan_rewind(sim *s, rb_plan *pl, int sid, bool pushes, bool popped, bool file_in_snap)
{
    if (sid < 0)
        return;
    const chk_stream *st = &s->chk.s[sid];
    uint32_t p, q;
    snap_counts(pl->sn, sid, &p, &q);
    bool in_snap = false, older_epoch = false;
    for (uint32_t i = 0; i < pl->sn->ncounts; i++) {
        const chk_stream *o = &s->chk.s[pl->sn->counts[i].sid];
        in_snap = in_snap || pl->sn->counts[i].sid == sid;
        older_epoch = older_epoch || (o->dir == st->dir && strcmp(o->server, st->server) == 0 &&
                                      strcmp(o->client, st->client) == 0 && pl->sn->counts[i].sid != sid);
    }
    /* a snapshot from before the pair's current epoch (a new connection
     * since) holds the old epoch's queue: the rule cannot follow it */
    if (!in_snap && older_epoch)
        pl->bad = true;
    /* the same for a queue the checker never had a stream of: a wrap run's
     * pre-set file of a pair not logged in since (seed 98006 --faults all:
     * restored, it said seq 4294967174 where the rule expected 0) */
    if (!in_snap && file_in_snap)
        pl->bad = true;
    /* a pair the snapshot does not know restarts at seq 0: only a stream that
     * starts there can follow (not the first pairs of a wrap run) */
    if (!in_snap && st->base != 0)
        pl->bad = true;
    if (pushes && p <= st->pushed)
        pl->rewinds[pl->nrewinds++] = (rb_rewind){sid, true, p};
    if (popped && q <= st->popped)
        pl->rewinds[pl->nrewinds++] = (rb_rewind){sid, false, q};
    if ((pushes && p > st->pushed) || (popped && q > st->popped))
        pl->bad = true;
}

/* X's side of the pair (X, remote) goes back to the snapshot: its queue
 * file's pushes (X's producing stream) and its my_ack (X's consuming one). */
static void plan_side(sim *s, rb_plan *pl, const node *x, const char *remote)
{
    const char *server = x->idx == 0 ? x->name : remote, *client = x->idx == 0 ? remote : x->name;
    if (!plan_pair(pl, server, client) || sim_client_shm(s, client))
        return; /* the pair's state is in /dev/shm, not in X's directory */
    int c2s = chk_find(&s->chk, server, client, CHK_C2S), s2c = chk_find(&s->chk, server, client, CHK_S2C);
    char path[SIM_PATH_SIZE];
    sim_queue_path(path, sizeof path, x->dir, x->name, remote);
    bool file_in_snap = snap_file(pl->sn, path) != NULL;
    plan_rewind(s, pl, x->idx == 0 ? s2c : c2s, true, false, file_in_snap);
    plan_rewind(s, pl, x->idx == 0 ? c2s : s2c, false, true, file_in_snap);
}

/* The remotes of X's open pairs (streams), each once. */
static uint32_t open_remotes(const sim *s, const node *x, char out[][RB_NAME], uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->chk.n; i++) {
        const chk_stream *st = &s->chk.s[i];
        if (st->closed || strcmp(x->idx == 0 ? st->server : st->client, x->name) != 0)
            continue;
        const char *r = x->idx == 0 ? st->client : st->server;
        bool seen = false;
        for (uint32_t k = 0; k < n; k++)
            seen = seen || strcmp(out[k], r) == 0;
        if (!seen && n < max)
            sim_join(out[n++], RB_NAME, r, NULL);
    }
    return n;
}


/* The remote of X's file of a pair (<dir>/<x>_<remote>.ptcp, or .app: the
 * echo record), or NULL. */
static const char *pair_remote(const node *x, const char *path, char *out)
{
    char pre[SIM_PATH_SIZE];
    sim_join(pre, sizeof pre, x->dir, "/", x->name, "_", NULL);
    size_t n = strlen(path), k = strlen(pre);
    if (!prefixed(path, pre) || n < k + 6)
        return NULL;
    size_t suffix = strcmp(path + n - 5, ".ptcp") == 0 ? 5 : strcmp(path + n - 4, ".app") == 0 ? 4 : 0;
    if (!suffix)
        return NULL;
    snprintf(out, RB_NAME, "%.*s", (int)(n - suffix - k), path + k);
    return out;
}

static bool plan_mode(sim *s, rb_plan *pl, node *x, uint32_t mode, char *what, size_t what_size)
{
    const rb_snap *sn = pl->sn;
    char remotes[SIM_MAX_CLIENTS * SIM_MAX_GEN][RB_NAME], path[SIM_PATH_SIZE];
    uint32_t nr = open_remotes(s, x, remotes, SIM_MAX_CLIENTS * SIM_MAX_GEN);
    switch (mode) {
    case RB_PAIR_QUEUE: { /* one queue file, alone */
        if (nr == 0)
            return false;
        const char *remote = remotes[fp_below(&s->plan, FP_ROLLBACK, nr)];
        for (uint32_t i = 0; pl->remote && i < nr; i++)
            if (strcmp(remotes[i], pl->remote) == 0)
                remote = remotes[i]; /* the focus's pair, if it is still open */
        if (sim_client_shm(s, x->idx == 0 ? remote : x->name))
            return false;
        sim_queue_path(path, sizeof path, x->dir, x->name, remote);
        plan_path(pl, path);
        plan_side(s, pl, x, remote);
        snprintf(what, what_size, "%s", pl->paths[0]);
        return true;
    }
    case RB_LOST_RECORD: /* the record removed (the snapshot of nothing) */
    case RB_LASTSERVER: /* the client's record alone */
        if (x->idx == 0)
            return false;
        sim_lastserver_path(path, sizeof path, x->dir, x->name);
        plan_path(pl, path);
        for (uint32_t i = 0; i < nr; i++)
            plan_pair(pl, remotes[i], x->name);
        plan_recorded_pair(pl, x);
        snprintf(what, what_size, "%s", path);
        return true;
    case RB_ALL:  /* the whole directory from the snapshot */
    case RB_WIPE: /* nothing left */
        for (uint32_t i = 0; i < sn->nfiles && mode == RB_ALL; i++)
            if (node_file(x, sn->files[i].path) && !other_name_file(x, sn->files[i].path))
                plan_path(pl, sn->files[i].path);
        for (uint32_t i = 0; i < nr; i++)
            plan_side(s, pl, x, remotes[i]);
        snprintf(what, what_size, "%s %s/", mode == RB_ALL ? "all of" : "wipe of", x->dir);
        return true;
    case RB_SEGMENT: { /* one segment of an SHM pair */
        const rb_file *segs[RB_FILES];
        uint32_t ns = 0;
        for (uint32_t i = 0; i < sn->nfiles; i++)
            if (node_segment(x, sn->files[i].path))
                segs[ns++] = &sn->files[i];
        if (ns == 0)
            return false;
        const rb_file *f = segs[fp_below(&s->plan, FP_ROLLBACK, ns)];
        char from[RB_NAME], to[RB_NAME];
        const char *body = f->path + strlen(VENV_SHM_DIR) + strlen("/tcpshm_"), *us = strchr(body, '_');
        if (!us)
            return false;
        snprintf(from, sizeof from, "%.*s", (int)(us - body), body);
        snprintf(to, sizeof to, "%s", us + 1);
        bool c2s = strncmp(from, "srv", 3) != 0;
        const char *server = c2s ? to : from, *client = c2s ? from : to;
        int sid = chk_find(&s->chk, server, client, c2s ? CHK_C2S : CHK_S2C);
        node *other = rb_node_named(s, x->idx == 0 ? client : server);
        if (sid < 0 || s->chk.s[sid].closed || !other || other == x)
            return false;
        plan_path(pl, f->path);
        plan_pair(pl, server, client);
        plan_rewind(s, pl, sid, true, true, true); /* the segment is in the snapshot */
        pl->stop = other->alive ? other : NULL;
        snprintf(what, what_size, "%s", f->path);
        return true;
    }
    default:
        return false;
    }
}

/* Sets a file back to the snapshot's bytes, or removes it (not in the snapshot). */
static void restore_path(sim *s, const rb_snap *sn, const char *path)
{
    const rb_file *f = snap_file(sn, path);
    size_t len;
    if (f) {
        if (venv_file_write(s->v, path, f->copy->data, f->copy->len) != 0) {
            fprintf(stderr, "tcpshm-sim: cannot restore %s\n", path);
            abort();
        }
    } else if (venv_file_data(s->v, path, &len)) {
        venv_set_owner(s->v, SIM_PEEK_OWNER);
        (void)s->env->remove(s->env->ctx, path);
    }
}

typedef struct lister {
    const node *x;
    rb_plan *pl;
} lister;

static void list_dir(void *user, const char *path, bool is_dir, size_t size)
{
    lister *l = user;
    (void)size;
    if (!is_dir && node_file(l->x, path) && !other_name_file(l->x, path))
        plan_path(l->pl, path);
}

/* Snapshots taken before a rollback hold contents of seqs that were since
 * pushed again: only later ones may be restored (sim/README.md). */
static void forget_snapshots(sim *s)
{
    for (uint32_t i = 0; i < 1 + SIM_MAX_CLIENTS; i++)
        for (uint32_t k = 0; k < RB_SNAPS; k++)
            snap_free(&s->rb->snap[i][k]);
}

/* A pair of server x whose rollback to snapshot sn goes back in one
 * direction only: its client popped messages x pushed after sn, while x
 * popped none of the client's since. The client's login then acks past
 * x's restored seq_end with a range x's restored ack still covers, so
 * only the ack says the storage went back (known bug 15, a clamped ack,
 * hides exactly that). NULL if no pair is so. */
static const char *one_sided_pair(const sim *s, const node *x, const rb_snap *sn)
{
    for (uint32_t i = 0; i < sn->ncounts; i++) {
        const chk_stream *st = &s->chk.s[sn->counts[i].sid];
        if (st->dir != CHK_S2C || st->closed || strcmp(st->server, x->name) != 0 ||
            st->popped == sn->counts[i].popped)
            continue;
        int c2s = chk_find(&s->chk, st->server, st->client, CHK_C2S);
        uint32_t pushed, popped;
        if (c2s < 0)
            continue;
        snap_counts(sn, c2s, &pushed, &popped);
        if (s->chk.s[c2s].popped == popped)
            return st->client;
    }
    return NULL;
}

/* An application keeps its own files of a pair beside the queue file,
 * which the simulator does not know: a restore is of the whole directory
 * (its files go back with the queues, as a backup restores them), never of
 * a queue file alone (the `queue` mode, the focus's, is the directory's
 * `all`) nor of a segment (its files would not follow: a loss no protocol
 * can detect and no application can repair). Nor is the directory of a
 * node with a pair over SHM restored or wiped: the pair's state stays in
 * /dev/shm while its files of it go back. Unless the world says its
 * application copes with the core's files going back alone
 * (tcpshm_sim_world.core_files_alone: tcpshm-sim's own, whose record only
 * guards its echoes). Never a directory that another identity shares (the
 * rule follows the current name's pairs: the other's files, the
 * application's among them, would go back without their queues). false:
 * no rollback now. */
static bool world_mode(const sim *s, const node *x, uint32_t *mode)
{
    bool alone = s->p->world->core_files_alone;
    if (*mode == RB_SEGMENT && !alone)
        return false;
    if (*mode == RB_PAIR_QUEUE && !alone)
        *mode = RB_ALL;
    for (uint32_t i = 1; !alone && (*mode == RB_ALL || *mode == RB_WIPE) && i < s->nnodes; i++)
        for (uint32_t g = 0; g <= s->nodes[i].gen; g++) /* the server: every client name's pair */
            if ((x->idx == 0 || (x->idx == (int)i && g == x->cur)) && s->nodes[i].shm[g])
                return false;
    for (uint32_t i = 0; i < s->nnodes; i++)
        for (uint32_t k = 0; k < sim_max_names(s, &s->nodes[i]); k++) {
            char d[TCPSHM_NAME_MAX + 1];
            if (!(&s->nodes[i] == x && k == x->cur) && strcmp(sim_dir_of(s, &s->nodes[i], k, d), x->dir) == 0)
                return false;
        }
    return true;
}

static void rollback(sim *s, node *x)
{
    rb_snap *slots = s->rb->snap[x->idx], *cands[RB_SNAPS];
    uint32_t nc = 0;
    for (uint32_t k = 0; k < RB_SNAPS; k++)
        if (slots[k].used && strcmp(slots[k].name, x->name) == 0)
            cands[nc++] = &slots[k];
    uint32_t mode = fp_below(&s->plan, FP_ROLLBACK, RB_MODES);
    uint32_t which = fp_below(&s->plan, FP_ROLLBACK, nc ? nc : 1);
    /* A focus, as the power loss has one: half the times the server is
     * picked while dead, one pair's queue file goes back to its oldest
     * snapshot, the case where its client has popped what the server no
     * longer has (known bug 15: a clamped ack; it was found in 0.4% of the
     * seeds without the focus) */
    bool focus = x->idx == 0 && nc > 1 && fp_below(&s->plan, FP_ROLLBACK, 2) == 0;
    const char *one_sided = NULL;
    if (focus) {
        mode = RB_PAIR_QUEUE;
        for (uint32_t k = 0; k < nc; k++)
            if (cands[k]->t < cands[which]->t)
                which = k;
        /* a pair gone back in one direction only, if a snapshot has one
         * (the newest such: the least that goes back) */
        for (uint32_t k = 0; k < nc; k++) {
            const char *r = one_sided_pair(s, x, cands[k]);
            if (r && (!one_sided || cands[k]->t > cands[which]->t)) {
                one_sided = r;
                which = k;
            }
        }
    }
    if (!world_mode(s, x, &mode))
        return;
    bool none = mode == RB_WIPE || mode == RB_LOST_RECORD;
    if (nc == 0 && !none)
        return;
    static const rb_snap empty; /* a wipe or a lost record: the snapshot of nothing */
    rb_plan *pl = malloc(sizeof *pl); /* the arrays are read only below their counts */
    if (!pl)
        abort();
    pl->sn = none ? &empty : cands[which];
    pl->npaths = pl->nrewinds = pl->npairs = 0;
    pl->stop = NULL;
    pl->remote = one_sided;
    pl->bad = false;
    char what[SIM_PATH_SIZE + 16];
    bool ok = plan_mode(s, pl, x, mode, what, sizeof what);
    if (ok && (mode == RB_ALL || mode == RB_WIPE)) {
        /* the files there now, and every pair whose queue file or echo
         * record goes back (also a closed one: a client may still push into it) */
        lister l = {x, pl};
        venv_list(s->v, list_dir, &l);
        char r[RB_NAME];
        for (uint32_t i = 0; i < pl->npaths; i++)
            if (pair_remote(x, pl->paths[i], r))
                plan_side(s, pl, x, r);
    }
    /* the rule follows pairs: a node without an open one (a retired client) keeps its files */
    /* the focus does not wait for the kind's rate: the server's dead
     * windows are short (a restart within two heartbeats) */
    bool go = focus && s->plan.active ? (s->plan.fired[FP_ROLLBACK]++, true) : fp_roll(&s->plan, FP_ROLLBACK);
    if (!ok || pl->bad || pl->npaths == 0 || pl->npairs == 0 || !go) {
        free(pl);
        return;
    }
    /* a restore of /dev/shm stops both processes */
    if (pl->stop)
        node_kill(s, pl->stop, false);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    for (uint32_t i = 0; i < pl->npaths; i++)
        restore_path(s, pl->sn, pl->paths[i]);
    fp_set_active(&s->plan, was);
    trace_event(&s->tr, s->now, TR_ROLLBACK, (uint32_t)x->idx, mode, (uint32_t)pl->sn->t, what);
    lastserver_resync(s, x); /* a restored or wiped .lastserver is the record now */
    for (uint32_t i = 0; i < pl->nrewinds; i++) {
        if (pl->rewinds[i].pushes)
            chk_rewind_pushed(&s->chk, pl->rewinds[i].sid, pl->rewinds[i].n);
        else
            chk_rewind_popped(&s->chk, pl->rewinds[i].sid, pl->rewinds[i].n);
    }
    for (uint32_t i = 0; i < pl->npairs; i++) {
        int c2s = chk_find(&s->chk, pl->pairs[i][0], pl->pairs[i][1], CHK_C2S);
        if (c2s >= 0)
            chk_echo_off(&s->chk, c2s);
        rb_pending(s, pl->pairs[i][0], pl->pairs[i][1], x->name);
    }
    free(pl);
    forget_snapshots(s);
}

void rb_step(sim *s, node *n)
{
    if (!on(s))
        return;
    /* a snapshot now and then (1 step in 25), alive or dead */
    if (fp_below(&s->plan, FP_ROLLBACK, 25) == 0) {
        take_snapshot(s, n);
        return;
    }
    if (!n->alive)
        rollback(s, n);
}

/* The operator: a detected pair is reset (world_reset.c: both processes
 * stopped, both sides' files of the pair removed, the application's
 * pair_reset hook called). */
void rb_operator(sim *s)
{
    if (!s->rb_rule || s->rb_rule->npairs == 0)
        return;
    for (uint32_t i = 1; i < s->nnodes; i++) {
        node *n = &s->nodes[i];
        char *name = s->rb_rule->rename[i];
        if (name[0] && strcmp(n->name, name) == 0)
            world_reset(s, n);
        name[0] = '\0';
    }
}
