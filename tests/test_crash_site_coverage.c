/* Every persisted write has a crash site after each of its steps.
 *
 * The persisted-write paths (queue create, push, pop, compaction, ack,
 * rewind, reset; the .lastserver record; an SHM segment's creation) run on
 * a recording env: venv's env with every mutating call logged (a file or
 * segment created, resized, renamed, removed, a directory made, a new file
 * mapped), and a libfiu external callback on tcpshm/crash/ that never
 * fails logs every crash site evaluated. The rule: after each mutating call
 * a crash site is evaluated before the next mutating call and before the
 * operation returns; and between two crash sites (or the start and the
 * first, the last and the return) at most one part of a queue file's
 * two-slot record (slot 0, slot 1, the selector) changes. A kill can only
 * be simulated at a crash site, so a step without one is a torn state the
 * simulator can never produce. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <string.h>

#include "lastserver.h"
#include "ptcp_file.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/shm_queue.h"
#include "venv.h"

#define MAX_EVENTS 256
#define NEW_FDS 16

typedef struct event {
    bool site; /* a crash site, else a mutating env call */
    char what[160];
} event;

static struct {
    venv *v;
    const tcpshm_env *inner;
    tcpshm_env env;
    event ev[MAX_EVENTS];
    size_t n;
    int new_fd[NEW_FDS]; /* files this operation created, not yet mapped: their map is a write */
    size_t nnew;
    const char *watch; /* a queue file whose record parts are compared at each site */
    struct tcpshm_ptcp_file last;
    bool have_last;
    int record_changes; /* parts of the record changed since the last site (max over the run) */
    char record_what[160];
} R;

static void log_event(bool site, const char *fmt, const char *a, const char *b)
{
    cr_assert_lt(R.n, (size_t)MAX_EVENTS, "too many events");
    R.ev[R.n].site = site;
    snprintf(R.ev[R.n].what, sizeof R.ev[R.n].what, fmt, a, b ? b : "");
    R.n++;
}

/* How many of slot 0, slot 1 and the selector differ from the snapshot;
 * the snapshot is then taken again. */
static int record_parts_changed(const char *where)
{
    size_t len;
    const uint8_t *d = R.watch ? venv_file_data(R.v, R.watch, &len) : NULL;
    if (!d || len < sizeof R.last) {
        R.have_last = false;
        return 0;
    }
    struct tcpshm_ptcp_file now;
    memcpy(&now, d, sizeof now);
    int changed = 0;
    if (R.have_last) {
        changed += memcmp(&now.slot[0], &R.last.slot[0], sizeof now.slot[0]) != 0;
        changed += memcmp(&now.slot[1], &R.last.slot[1], sizeof now.slot[1]) != 0;
        changed += now.active != R.last.active;
    }
    if (changed > R.record_changes) {
        R.record_changes = changed;
        snprintf(R.record_what, sizeof R.record_what, "%s", where);
    }
    R.last = now;
    R.have_last = true;
    return changed;
}

static int on_site(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
    (void)failnum, (void)failinfo, (void)flags;
    log_event(true, "%s%s", name, NULL); /* the enabled name (the wildcard), not the site */
    (void)record_parts_changed("the next crash site");
    return 0; /* never fails: only recorded */
}

/* Whether fd is a file this operation created and has not mapped yet (the
 * map that initialises it; a later map of the finished file is a read). */
static bool first_map_of_new_fd(int fd)
{
    for (size_t i = 0; i < R.nnew; i++)
        if (R.new_fd[i] == fd) {
            R.new_fd[i] = R.new_fd[--R.nnew];
            return true;
        }
    return false;
}

static void note_new_fd(int fd)
{
    if (fd >= 0 && R.nnew < NEW_FDS)
        R.new_fd[R.nnew++] = fd;
}

static int r_file_open(void *ctx, const char *path, int create, unsigned mode)
{
    int fd = R.inner->file_open(ctx, path, 0, 0);
    if (fd >= 0 || !create || errno != ENOENT)
        return fd;
    fd = R.inner->file_open(ctx, path, create, mode);
    if (fd >= 0) {
        log_event(false, "create %s%s", path, NULL);
        note_new_fd(fd);
    }
    return fd;
}

static int r_file_resize(void *ctx, int fd, uint64_t size)
{
    int rc = R.inner->file_resize(ctx, fd, size);
    if (rc == 0)
        log_event(false, "resize%s%s", "", NULL);
    return rc;
}

static int r_rename(void *ctx, const char *from, const char *to)
{
    int rc = R.inner->rename(ctx, from, to);
    if (rc == 0)
        log_event(false, "rename %s -> %s", from, to);
    return rc;
}

static int r_remove(void *ctx, const char *path)
{
    int rc = R.inner->remove(ctx, path);
    if (rc == 0)
        log_event(false, "remove %s%s", path, NULL);
    return rc;
}

static int r_mkdir(void *ctx, const char *path, unsigned mode)
{
    int rc = R.inner->mkdir(ctx, path, mode);
    if (rc == 0)
        log_event(false, "mkdir %s%s", path, NULL);
    return rc;
}

static int r_shm_open(void *ctx, const char *name, int create, unsigned mode)
{
    int fd = R.inner->shm_open(ctx, name, 0, 0);
    if (fd >= 0 || !create || errno != ENOENT)
        return fd;
    fd = R.inner->shm_open(ctx, name, create, mode);
    if (fd >= 0) {
        log_event(false, "shm create %s%s", name, NULL);
        note_new_fd(fd);
    }
    return fd;
}

static int r_shm_unlink(void *ctx, const char *name)
{
    int rc = R.inner->shm_unlink(ctx, name);
    if (rc == 0)
        log_event(false, "shm unlink %s%s", name, NULL);
    return rc;
}

static void *r_map(void *ctx, int fd, size_t size)
{
    void *m = R.inner->map(ctx, fd, size);
    if (m && first_map_of_new_fd(fd))
        log_event(false, "map of a new file%s%s", "", NULL);
    return m;
}

static void setup(void)
{
    memset(&R, 0, sizeof R);
    R.v = venv_create(NULL);
    cr_assert_not_null(R.v);
    R.inner = venv_env(R.v);
    R.env = *R.inner;
    R.env.file_open = r_file_open;
    R.env.file_resize = r_file_resize;
    R.env.rename = r_rename;
    R.env.remove = r_remove;
    R.env.mkdir = r_mkdir;
    R.env.shm_open = r_shm_open;
    R.env.shm_unlink = r_shm_unlink;
    R.env.map = r_map;
    cr_assert_eq(fiu_init(0), 0);
    cr_assert_eq(fiu_enable_external("tcpshm/crash/*", 1, NULL, 0, on_site), 0);
}

static void teardown(void)
{
    fiu_disable("tcpshm/crash/*");
    venv_destroy(R.v);
}

TestSuite(crash_site_coverage, .init = setup, .fini = teardown);

/* Starts recording one operation. */
static void begin(void)
{
    R.n = 0;
    R.nnew = 0;
    R.record_changes = 0;
    R.record_what[0] = '\0';
    (void)record_parts_changed("start");
}

/* Ends one operation: the rules over what it did. mutations_expected: the
 * least number of mutating calls it must have made (so a test that made
 * none by mistake does not pass). */
static void end(const char *op, size_t mutations_expected)
{
    (void)record_parts_changed("the return");
    size_t muts = 0;
    const char *open_mut = NULL;
    for (size_t i = 0; i < R.n; i++) {
        if (R.ev[i].site) {
            open_mut = NULL;
            continue;
        }
        muts++;
        cr_assert_null(open_mut, "%s: no crash site between \"%s\" and \"%s\"", op, open_mut,
                       R.ev[i].what);
        open_mut = R.ev[i].what;
    }
    cr_assert_null(open_mut, "%s: no crash site after \"%s\" before the operation returned", op,
                   open_mut);
    cr_assert_geq(muts, mutations_expected, "%s: %zu mutating calls recorded, expected at least %zu",
                  op, muts, mutations_expected);
    cr_assert_leq(R.record_changes, 1,
                  "%s: %d parts of the queue record (slots, selector) changed with no crash site "
                  "between them (seen at %s)", op, R.record_changes, R.record_what);
}

static const tcpshm_ptcp_queue_config QC = {.capacity = 256, .max_msg_size = 64,
                                            .little_endian = true};
#define QPATH "/d/a_b.ptcp"

static void push_one(tcpshm_ptcp_queue *q, uint16_t body)
{
    tcpshm_error err;
    tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(q, body);
    cr_assert_not_null(h, "alloc %u", body);
    h->msg_type = 1;
    cr_assert_eq(tcpshm_ptcp_queue_push(q, &err), 0, "push: %s", err.text);
}

Test(crash_site_coverage, queue_create_and_every_record_change)
{
    tcpshm_ptcp_queue q;
    tcpshm_error err;
    R.watch = QPATH;
    begin();
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &R.env, "/d", "a", "b", &QC, &err), 0, "%s", err.text);
    end("queue create", 5); /* mkdir, create, resize, map, rename */
    tcpshm_ptcp_queue_close(&q);

    /* a creation killed before its rename left the temporary file */
    cr_assert_eq(R.inner->remove(R.inner->ctx, QPATH), 0);
    cr_assert_eq(venv_file_write(R.v, QPATH ".tmp", "x", 1), 0);
    begin();
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &R.env, "/d", "a", "b", &QC, &err), 0, "%s", err.text);
    end("queue create over a leftover temporary file", 5); /* remove, create, resize, map, rename */

    begin();
    push_one(&q, 40);
    end("push", 0);
    for (int i = 0; i < 4; i++)
        push_one(&q, 40); /* 5 messages of 48 bytes: write at 240 of 256 */
    const uint8_t *data;
    uint32_t n = tcpshm_ptcp_queue_sendable(&q, &data);
    tcpshm_ptcp_queue_mark_sent(&q, n);
    begin();
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, tcpshm_ptcp_queue_seq_start(&q) + 4u, &err), 0, "%s", err.text);
    end("ack", 0);
    begin();
    push_one(&q, 40); /* no room after 240: compacts the one live message first */
    end("push with compaction", 0);
    begin();
    tcpshm_ptcp_queue_popped(&q);
    end("pop", 0);
    begin();
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, tcpshm_ptcp_queue_seq_start(&q) + 1u, &err), 0, "%s",
                 err.text);
    end("rewind (login)", 0);
    begin();
    tcpshm_ptcp_queue_reset(&q);
    end("reset", 0);
    tcpshm_ptcp_queue_close(&q);
    cr_assert_gt(R.n, 0u, "no crash site recorded: is the fault build linked?");
}

Test(crash_site_coverage, lastserver_write)
{
    tcpshm_error err;
    begin();
    cr_assert_eq(tcpshm_lastserver_write(&R.env, "/c", "me", "srv0", 0, false, &err), 0, "%s", err.text);
    end("lastserver write (new directory)", 5); /* mkdir, create, resize, map, rename */
    cr_assert_eq(venv_file_write(R.v, "/c/me.lastserver.tmp", "x", 1), 0);
    begin();
    cr_assert_eq(tcpshm_lastserver_write(&R.env, "/c", "me", "srv1", 0, false, &err), 0, "%s", err.text);
    end("lastserver write over a leftover temporary file", 5);
    char name[TCPSHM_NAME_MAX + 1];
    cr_assert_eq(tcpshm_lastserver_read(R.inner, "/c", "me", name, &err), 0, "%s", err.text);
    cr_assert_str_eq(name, "srv1");
}

Test(crash_site_coverage, shm_segment_create)
{
    tcpshm_shm_queue q;
    tcpshm_error err;
    begin();
    cr_assert_eq(tcpshm_shm_queue_open(&q, &R.env, "/tcpshm_a_b",
                                       &(tcpshm_shm_queue_config){.capacity = 1024, .max_msg_size = 64,
                                                                  .producer = true, .create = true},
                                       &err),
                 0, "%s", err.text);
    end("shm segment create", 3); /* create, resize, map */
    tcpshm_shm_queue_close(&q);
}

/* The recorder itself: a mutation with no site after it is caught. */
Test(crash_site_coverage, recorder_catches_a_missing_site, .exit_code = 0)
{
    begin();
    cr_assert_eq(R.env.mkdir(R.env.ctx, "/x", 0700), 0);
    size_t open_after = 0;
    for (size_t i = 0; i < R.n; i++)
        open_after = R.ev[i].site ? 0 : i + 1;
    cr_assert_eq(open_after, 1u, "the mkdir was not recorded as a mutation without a site");
}
