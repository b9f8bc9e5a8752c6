/* The persistent send queue: one mapped file, a checked header, two record
 * slots and a selector (see tcpshm/ptcp_queue.h for the crash-safety rule). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "crash.h"
#include "env_check.h"
#include "error_set.h"
#include "io.h"
#include "path_join.h"
#include "ptcp_file.h"
#include "tcpshm/login.h" /* tcpshm_seq_in_range */
#include "tcpshm/names.h"
#include "tcpshm/ptcp_queue.h"

static uint32_t stored_size(const uint8_t *msg, bool little)
{
    tcpshm_msg_header h;
    tcpshm_header_decode(msg, little, &h);
    return h.size;
}

/* The padded length of the queued message at pos, or 0 when its header
 * cannot be one (below a header, or past end): the walks over queued
 * messages stop there instead of looping on a size of 0 or reading past
 * the mapping. Open verifies every message; the bytes can still change
 * under the queue in memory (an application that writes past the message
 * it allocated). */
static uint32_t stored_len(const tcpshm_ptcp_queue *q, uint32_t pos, uint32_t end)
{
    if (pos >= end)
        return 0;
    uint32_t size = stored_size(q->data + pos, q->cfg.little_endian);
    uint32_t padded = tcpshm_padded_size(size);
    return size < TCPSHM_HEADER_SIZE || padded > end - pos ? 0 : padded;
}

/* ---- the one way state changes: stage the inactive slot, then flip ---- */

/* The state the file may show for ns: with host durability, the end of the
 * synced messages, not of an unpublished push_more batch. */
static tcpshm_ptcp_state published(const tcpshm_ptcp_queue *q, const tcpshm_ptcp_state *ns)
{
    tcpshm_ptcp_state p = *ns;
    if (q->cfg.host_durable) {
        p.write_idx = q->durable_write_idx;
        p.write_seq = q->durable_write_seq;
    }
    return p;
}

static void stage(tcpshm_ptcp_queue *q, const tcpshm_ptcp_state *ns)
{
    q->file->slot[1u - q->file->active] = published(q, ns);
}

static void commit(tcpshm_ptcp_queue *q, const tcpshm_ptcp_state *ns)
{
    uint32_t next = 1u - q->file->active;
    __atomic_store_n(&q->file->active, next, __ATOMIC_RELEASE);
    q->st = *ns;
}

/* ---- host durability: the syncs ----
 *
 * Order: a message's bytes are synced before the record that counts them is
 * published, and the record is synced after. A record published first could
 * reach the disk before the bytes (the kernel writes dirty pages back in any
 * order and at any time), and after a power cut it would count whatever the
 * disk held there: zeros (refused at open) or, worse, a message of an
 * earlier lap that passes every check and is sent again under a new seq. So
 * a push costs two syncs, and a push_more batch two in all. The record
 * (selector and both slots, bytes 160-255) lies in the first 512-byte
 * sector, which a disk writes whole. */

static int sync_range(tcpshm_ptcp_queue *q, const void *p, size_t len, const char *what,
                      tcpshm_error *err)
{
    if (len == 0 || tcpshm_io_map_sync(q->env, (void *)(uintptr_t)p, len) == 0)
        return 0;
    return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "Sync error: cannot sync the queue's %s", what);
}

static int sync_record(tcpshm_ptcp_queue *q, tcpshm_error *err)
{
    return sync_range(q, q->file, PTCP_HEADER_SIZE, "record", err);
}

/* ---- verification of untrusted file bytes ---- */

static int check_name_field(const char *field, const char *what, tcpshm_error *err)
{
    if (memchr(field, '\0', PTCP_NAME_FIELD) == NULL)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s field is not NUL-terminated", what);
    return 0;
}

static int verify_state(const uint8_t *data, uint32_t cap, bool little, uint32_t max_msg_size,
                        const tcpshm_ptcp_state *st, tcpshm_error *err)
{
    if (st->read_idx > st->write_idx || st->write_idx > cap || st->read_idx % 8 || st->write_idx % 8)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "indices out of range: read %u, write %u, capacity %u", st->read_idx,
                           st->write_idx, cap);
    if ((int32_t)(st->write_seq - st->read_seq) < 0)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "acknowledged seq %u is newer than anything queued (next seq %u)",
                           st->read_seq, st->write_seq);
    uint32_t pos = st->read_idx, n = 0;
    while (pos < st->write_idx) {
        tcpshm_msg_header h;
        tcpshm_header_decode(data + pos, little, &h);
        if (h.size < TCPSHM_HEADER_SIZE)
            return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                               "message %u at offset %u has size %u, below the header size", n,
                               pos, h.size);
        uint32_t padded = tcpshm_padded_size(h.size);
        if (padded > max_msg_size)
            return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                               "message %u at offset %u (size %u) is larger than max_msg_size %u",
                               n, pos, h.size, max_msg_size);
        if (padded > st->write_idx - pos)
            return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                               "message %u at offset %u (size %u) runs past the end of the queued "
                               "bytes at %u", n, pos, h.size, st->write_idx);
        if (h.msg_type == TCPSHM_MSG_HEARTBEAT)
            return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                               "message %u at offset %u has type 0 (heartbeats are never queued)",
                               n, pos);
        pos += padded;
        n++;
    }
    if (n != st->write_seq - st->read_seq)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "seq range [%u, %u) says %u messages but %u are queued", st->read_seq,
                           st->write_seq, st->write_seq - st->read_seq, n);
    return 0;
}

static int check_config(const tcpshm_ptcp_queue_config *cfg, tcpshm_error *err)
{
    if (cfg->max_msg_size < 16 || cfg->max_msg_size > TCPSHM_MAX_PADDED_MSG_SIZE || cfg->max_msg_size % 8)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0,
                           "max_msg_size %u must be a multiple of 8 in [16, %u]",
                           cfg->max_msg_size, TCPSHM_MAX_PADDED_MSG_SIZE);
    if (cfg->capacity < cfg->max_msg_size || cfg->capacity > TCPSHM_PTCP_MAX_CAPACITY ||
        cfg->capacity % 8)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0,
                           "queue capacity %u must be a multiple of 8 in [max_msg_size %u, %u]",
                           cfg->capacity, cfg->max_msg_size, TCPSHM_PTCP_MAX_CAPACITY);
    return 0;
}

int tcpshm_ptcp_queue_verify(const void *bytes, uint64_t size, const char *local,
                             const char *remote, const tcpshm_ptcp_queue_config *cfg,
                             tcpshm_error *err)
{
    if (size < PTCP_HEADER_SIZE)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "truncated: %llu bytes, smaller than the %u-byte header",
                           (unsigned long long)size, PTCP_HEADER_SIZE);
    /* A copy: the bytes may come from anywhere (a fuzzer, a dump), unaligned. */
    struct tcpshm_ptcp_file copy;
    memcpy(&copy, bytes, sizeof copy);
    const struct tcpshm_ptcp_file *f = &copy;
    if (memcmp(f->magic, PTCP_MAGIC, sizeof f->magic) != 0)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "not a tcpshm queue file (bad magic)");
    if (f->endian_mark != PTCP_ENDIAN_MARK)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "written on a host of another byte order (mark 0x%08x)", f->endian_mark);
    if (f->version != PTCP_VERSION)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "unsupported format version %u (this build reads version %u)",
                           f->version, PTCP_VERSION);
    if (f->header_size != PTCP_HEADER_SIZE)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "header size %u, expected %u",
                           f->header_size, PTCP_HEADER_SIZE);
    if (f->wire_little > 1)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "byte order field %u is neither 0 nor 1",
                           f->wire_little);
    if (f->written > PTCP_WRITTEN_HOST)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "write state %u is none of 0, 1, 2", f->written);
    if (cfg && (f->wire_little == 1) != cfg->little_endian)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "stores %s-endian headers but the configuration says %s-endian",
                           f->wire_little ? "little" : "big", cfg->little_endian ? "little" : "big");
    if (cfg && f->capacity != cfg->capacity)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "capacity %u differs from the configured %u",
                           f->capacity, cfg->capacity);
    if (f->capacity % 8 || f->capacity > TCPSHM_PTCP_MAX_CAPACITY)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "capacity %u is not a valid capacity",
                           f->capacity);
    uint64_t want = (uint64_t)PTCP_HEADER_SIZE + f->capacity;
    if (size != want)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "%s: %llu bytes, expected %llu for capacity %u",
                           size < want ? "truncated" : "too long", (unsigned long long)size,
                           (unsigned long long)want, f->capacity);
    int rc = check_name_field(f->local, "local name", err);
    if (!rc)
        rc = check_name_field(f->remote, "remote name", err);
    if (rc)
        return rc;
    if ((local && strcmp(local, f->local) != 0) || (remote && strcmp(remote, f->remote) != 0)) {
        /* the names come from the file: escaped, never raw, into the reason
         * (cut at a whole escape to fit the 63 characters a name may have) */
        char fl[TCPSHM_NAME_MAX + 1], fr[TCPSHM_NAME_MAX + 1];
        tcpshm_escape(fl, sizeof fl, f->local);
        tcpshm_escape(fr, sizeof fr, f->remote);
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "belongs to the pair (%s, %s), not (%.63s, %.63s)", fl,
                           fr, local ? local : fl, remote ? remote : fr);
    }
    if (f->active > 1)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "record selector %u is neither 0 nor 1",
                           f->active);
    tcpshm_ptcp_state st = f->slot[f->active];
    return verify_state((const uint8_t *)bytes + PTCP_HEADER_SIZE, f->capacity,
                        f->wire_little == 1, cfg ? cfg->max_msg_size : TCPSHM_MAX_PADDED_MSG_SIZE, &st, err);
}

/* ---- open / create / close ---- */

int tcpshm_ptcp_queue_path(char *out, size_t out_size, const char *dir, const char *local,
                           const char *remote)
{
    return tcpshm_join(out, out_size, dir, "/", local, "_", remote, ".ptcp", NULL) != 0 ? TCPSHM_E_ARG : 0;
}

/* Creates the file under a temporary name, initialises it and renames it
 * into place, so the final name never shows a half-made file. Returns the
 * open descriptor of the final file, or -1 with err set. */
static int create_file(const tcpshm_env *env, const char *dir, const char *path,
                       const char *local, const char *remote, const tcpshm_ptcp_queue_config *cfg,
                       tcpshm_error *err)
{
    char tmp[TCPSHM_PATH_SIZE];
    if (tcpshm_join(tmp, sizeof tmp, path, ".tmp", NULL) != 0) {
        tcpshm_fail(err, TCPSHM_E_ARG, 0, "path too long: %s", path);
        return -1;
    }
    (void)tcpshm_io_remove(env, tmp); /* left over from a creation that was killed */
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/create_after_remove_tmp");
    int fd = tcpshm_io_file_open(env, tmp, 1, cfg->file_mode ? cfg->file_mode : 0600);
    if (fd < 0) {
        tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot create %s", tmp);
        return -1;
    }
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/create_after_open");
    uint64_t size = (uint64_t)PTCP_HEADER_SIZE + cfg->capacity;
    if (tcpshm_io_file_resize(env, fd, size) != 0) {
        tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot size %s to %llu bytes", tmp,
                    (unsigned long long)size);
        goto fail;
    }
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/create_after_resize");
    struct tcpshm_ptcp_file *f = tcpshm_io_map(env, fd, PTCP_HEADER_SIZE);
    if (!f) {
        tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot map %s", tmp);
        goto fail;
    }
    memset(f, 0, sizeof *f);
    memcpy(f->magic, PTCP_MAGIC, sizeof f->magic);
    f->version = PTCP_VERSION;
    f->header_size = PTCP_HEADER_SIZE;
    f->endian_mark = PTCP_ENDIAN_MARK;
    f->wire_little = cfg->little_endian ? 1u : 0u;
    f->capacity = cfg->capacity;
    f->durability = cfg->host_durable ? 1u : 0u;
    f->fresh = 1u;
    memcpy(f->local, local, strlen(local) + 1);
    memcpy(f->remote, remote, strlen(remote) + 1);
    (void)tcpshm_io_unmap(env, f, PTCP_HEADER_SIZE);
    /* Host: the header and size on disk before the name, the name after. */
    if (cfg->host_durable && tcpshm_io_file_sync(env, fd) != 0) {
        tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot sync %s", tmp);
        goto fail;
    }
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/create_before_rename");
    if (tcpshm_io_rename(env, tmp, path) != 0) {
        tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot rename %s to %s", tmp, path);
        goto fail;
    }
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/create_after_rename");
    if (cfg->host_durable && tcpshm_io_dir_sync(env, dir) != 0) {
        /* the file is whole under its name: a later open finds it */
        tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot sync directory %s", dir);
        (void)tcpshm_io_file_close(env, fd);
        return -1;
    }
    return fd;
fail:
    (void)tcpshm_io_file_close(env, fd);
    (void)tcpshm_io_remove(env, tmp);
    return -1;
}

int tcpshm_ptcp_queue_boot_check(uint32_t written, const uint8_t boot_id[16], const uint8_t now[16],
                                 tcpshm_error *err)
{
    if (written == PTCP_WRITTEN_PROCESS && memcmp(boot_id, now, 16) != 0)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                           "written without a sync (durability \"process\") before the host restarted: "
                           "a power cut may have taken back messages or acks that had returned, so it is "
                           "not trusted (remove the pair's queue files on both sides for a new connection)");
    return 0;
}

/* The boot check (docs/design.md, "Durability"). A file a process wrote
 * without syncing (durability "process") in an earlier boot of this host
 * is refused: the power cut that ended that boot may have taken back any
 * of its changes, and what is left can agree with the peer's numbers (a
 * whole side gone back consistently), so no later check could tell. Then
 * the file is claimed for this boot and mode, durably, before anything in
 * it changes: so a cut can never bring back an older, trusted header over
 * newer, lost changes. An env without boot ids (version < 3) skips both. */
static int claim_boot(const tcpshm_env *env, struct tcpshm_ptcp_file *f, bool host, bool *claimed,
                      tcpshm_error *err)
{
    uint8_t now[16];
    *claimed = false;
    if (env->version < 3u || env->boot_id == NULL)
        return 0;
    if (tcpshm_io_boot_id(env, now) != 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot read the host's boot id");
    int rc = tcpshm_ptcp_queue_boot_check(f->written, f->boot_id, now, err);
    if (rc)
        return rc;
    uint32_t want = host ? PTCP_WRITTEN_HOST : PTCP_WRITTEN_PROCESS;
    *claimed = true;
    if (f->written == want && memcmp(f->boot_id, now, sizeof now) == 0)
        return 0; /* claimed in this boot already: a restart after a kill */
    uint8_t was_boot[16];
    uint32_t was_written = f->written;
    memcpy(was_boot, f->boot_id, sizeof was_boot);
    memcpy(f->boot_id, now, sizeof now);
    f->written = want;
    /* host: the open's sync of the whole file, next, carries it */
    if (!host && tcpshm_io_map_sync(env, f, PTCP_HEADER_SIZE) != 0) {
        /* Not claimed: the header as it was, so that the next open claims
         * (and syncs) again. Left in the page cache, the claim would pass
         * for made ("claimed in this boot already") while the disk still
         * says clean: a cut would then bring back a trusted header over the
         * changes it takes back (the simulator's seed 708, readiness). */
        int e = errno;
        f->written = was_written;
        memcpy(f->boot_id, was_boot, sizeof was_boot);
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, e, "Sync error: cannot sync the queue's header");
    }
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/open_after_boot_claim");
    return 0;
}

/* A clean close in durability "process": everything reaches the disk, then
 * the header says so, and a later boot trusts the file. A failed sync
 * leaves the file as it was: refused after a restart, never trusted wrongly.
 * Only an open that claimed the file releases it (not a reader with an env
 * of version < 3, e.g. a checker's look beside a running process). */
static void release_boot(tcpshm_ptcp_queue *q)
{
    if (!q->claimed || q->file->written != PTCP_WRITTEN_PROCESS)
        return;
    if (tcpshm_io_map_sync(q->env, q->file, (size_t)q->map_size) != 0)
        return;
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/close_after_sync");
    q->file->written = PTCP_WRITTEN_CLEAN;
    (void)tcpshm_io_map_sync(q->env, q->file, PTCP_HEADER_SIZE);
}

int tcpshm_ptcp_queue_open(tcpshm_ptcp_queue *q, const tcpshm_env *env, const char *dir,
                           const char *local, const char *remote,
                           const tcpshm_ptcp_queue_config *cfg, tcpshm_error *err)
{
    memset(q, 0, sizeof *q);
    int rc = tcpshm_env_check(env, err);
    if (!rc)
        rc = tcpshm_env_check_durable(env, cfg->host_durable, err);
    if (!rc)
        rc = check_config(cfg, err);
    if (!rc)
        rc = tcpshm_name_check(local, TCPSHM_NAME_MAX + 1, "local name", err);
    if (!rc)
        rc = tcpshm_name_check(remote, TCPSHM_NAME_MAX + 1, "remote name", err);
    if (rc)
        return rc;
    char path[TCPSHM_PATH_SIZE];
    if (tcpshm_ptcp_queue_path(path, sizeof path - 8, dir, local, remote) != 0)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "queue path too long for %s_%s in %s", local,
                           remote, dir);
    if (tcpshm_io_ensure_dir(env, dir) != 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot create directory %s", dir);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/open_after_mkdir");

    int fd = tcpshm_io_file_open(env, path, 0, 0);
    if (fd < 0 && errno == ENOENT)
        fd = create_file(env, dir, path, local, remote, cfg, err);
    else if (fd < 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot open %s", path);
    else if (cfg->host_durable && tcpshm_io_dir_sync(env, dir) != 0) {
        /* Host: a file found under its name may be one whose creation could
         * not sync the directory (create_file leaves it for a later open):
         * its name reaches the disk before anything is trusted to it. */
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot sync directory %s", dir);
        (void)tcpshm_io_file_close(env, fd);
        return rc;
    }
    if (fd < 0)
        return err ? err->code : TCPSHM_E_SYSTEM;

    uint64_t size = 0;
    if (tcpshm_io_file_size(env, fd, &size) != 0) {
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot stat %s", path);
        goto out;
    }
    if (size < PTCP_HEADER_SIZE || size > (uint64_t)PTCP_HEADER_SIZE + TCPSHM_PTCP_MAX_CAPACITY) {
        rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: %llu bytes, not a queue file size",
                         size < PTCP_HEADER_SIZE ? "truncated" : "too long",
                         (unsigned long long)size);
        goto out;
    }
    void *map = tcpshm_io_map(env, fd, (size_t)size);
    if (!map) {
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot map %s", path);
        goto out;
    }
    rc = tcpshm_ptcp_queue_verify(map, size, local, remote, cfg, err);
    if (rc) {
        (void)tcpshm_io_unmap(env, map, (size_t)size);
        goto out;
    }
    bool claimed;
    rc = claim_boot(env, map, cfg->host_durable, &claimed, err);
    if (rc) {
        (void)tcpshm_io_unmap(env, map, (size_t)size);
        goto out;
    }
    /* host durability: what a process that died left in the page cache (a
     * push or pop published, its sync not made yet) reaches the disk before
     * this one shows it to a peer (a login sends my_ack and seq_end); the
     * claim with it */
    if (cfg->host_durable && tcpshm_io_file_sync(env, fd) != 0) {
        (void)tcpshm_io_unmap(env, map, (size_t)size);
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot sync %s", path);
        goto out;
    }
    q->env = env;
    q->claimed = claimed;
    q->file = map;
    q->map_size = size;
    q->data = (uint8_t *)map + PTCP_HEADER_SIZE;
    q->cfg = *cfg;
    q->st = q->file->slot[q->file->active];
    q->send_idx = q->sent_idx = q->st.read_idx;
    q->sent_seq = q->st.read_seq;
    q->durable_write_idx = q->st.write_idx;
    q->durable_write_seq = q->st.write_seq;
out:
    (void)tcpshm_io_file_close(env, fd); /* the mapping outlives the descriptor */
    if (rc == TCPSHM_E_CORRUPT && err) {
        /* Name the file in the reason: "<path>: <what is wrong>". */
        char reason[sizeof err->text];
        memcpy(reason, err->text, sizeof reason);
        (void)tcpshm_fail(err, rc, 0, "%s: %s", path, reason);
    }
    return rc;
}

void tcpshm_ptcp_queue_close(tcpshm_ptcp_queue *q)
{
    if (q->file) {
        release_boot(q);
        (void)tcpshm_io_unmap(q->env, q->file, (size_t)q->map_size);
    }
    memset(q, 0, sizeof *q);
}

/* ---- push side ---- */

tcpshm_msg_header *tcpshm_ptcp_queue_alloc(tcpshm_ptcp_queue *q, uint16_t body_size)
{
    q->alloc_size = 0; /* a new alloc replaces an earlier one, also when it fails */
    uint32_t size = TCPSHM_HEADER_SIZE + (uint32_t)body_size;
    uint32_t padded = tcpshm_padded_size(size);
    if (size > TCPSHM_MAX_MSG_SIZE || padded > q->cfg.max_msg_size)
        return NULL;
    uint32_t cap = q->cfg.capacity;
    if (q->st.write_idx + padded > cap) {
        /* Compaction: move the live region [read, write) to the front. Only
         * when the copy cannot overwrite live bytes, so a kill during the
         * copy leaves the old record pointing at intact data. */
        uint32_t read = q->st.read_idx, live = q->st.write_idx - read;
        if (live > read || live + padded > cap)
            return NULL;
        memmove(q->data, q->data + read, live);
        tcpshm_ptcp_state ns = q->st;
        ns.read_idx = 0;
        ns.write_idx = live;
        /* Host: the copy must be on disk before the record that points at
         * it, and that record before a later push overwrites the old
         * region (which the disk's record may still point at). */
        if (q->cfg.host_durable &&
            sync_range(q, q->data, q->durable_write_idx - read, "compacted messages", NULL) != 0)
            return NULL; /* nothing published: the old record and bytes stand */
        q->durable_write_idx -= read;
        stage(q, &ns);
        TCPSHM_CRASH_SITE("tcpshm/crash/queue/compact_before_publish");
        commit(q, &ns);
        TCPSHM_CRASH_SITE("tcpshm/crash/queue/compact_after_publish");
        q->send_idx -= read;
        q->sent_idx -= read;
        if (q->cfg.host_durable && sync_record(q, NULL) != 0) {
            q->compact_unsynced = true; /* the next sync retries it first */
            return NULL;
        }
    }
    tcpshm_msg_header *h = (tcpshm_msg_header *)(void *)(q->data + q->st.write_idx);
    h->size = (uint16_t)size;
    h->msg_type = 0;
    h->ack_seq = 0;
    q->alloc_size = size;
    return h;
}

/* The one place a push's record is published (both modes). */
static void publish_push(tcpshm_ptcp_queue *q, const tcpshm_ptcp_state *ns)
{
    stage(q, ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/push_before_publish");
    commit(q, ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/push_after_publish");
}

bool tcpshm_ptcp_queue_fresh(const tcpshm_ptcp_queue *q) { return q->file->fresh != 0; }

void tcpshm_ptcp_queue_mark_used(tcpshm_ptcp_queue *q)
{
    if (!q->file->fresh)
        return;
    q->file->fresh = 0;
    q->record_unsynced = q->cfg.host_durable; /* host: the next sync carries it (same page) */
}

int tcpshm_ptcp_queue_sync(tcpshm_ptcp_queue *q, tcpshm_error *err)
{
    if (!q->cfg.host_durable)
        return 0;
    if (q->compact_unsynced) {
        int rc = sync_record(q, err);
        if (rc)
            return rc;
        q->compact_unsynced = false;
    }
    bool batch = q->durable_write_idx != q->st.write_idx || q->durable_write_seq != q->st.write_seq;
    if (batch) {
        int rc = sync_range(q, q->data + q->durable_write_idx,
                            q->st.write_idx - q->durable_write_idx, "messages", err);
        if (rc)
            return rc;
        q->durable_write_idx = q->st.write_idx;
        q->durable_write_seq = q->st.write_seq;
        tcpshm_ptcp_state ns = q->st;
        publish_push(q, &ns);
        /* published: its sync is owed until it succeeds (a batch push_more
         * left, synced by a send whose record sync failed, was otherwise
         * never synced: the next sync found nothing to do, and the sends
         * went on with a record a power cut took back) */
        q->record_unsynced = true;
    }
    if (q->record_unsynced) {
        int rc = sync_record(q, err);
        if (rc)
            return rc;
        q->record_unsynced = false;
    }
    return 0;
}

/* A push whose sync failed is taken back: the previous record (still in the
 * other slot) becomes current again, and the batch is dropped from memory,
 * so the caller's failure and the queue agree. (What the failed sync left on
 * the disk is unknown: Linux may have written some of it.) */
static void unpush(tcpshm_ptcp_queue *q, uint32_t write_idx, uint32_t write_seq, bool published)
{
    if (published)
        __atomic_store_n(&q->file->active, 1u - q->file->active, __ATOMIC_RELEASE);
    q->st.write_idx = q->durable_write_idx = write_idx;
    q->st.write_seq = q->durable_write_seq = write_seq;
}

static int push(tcpshm_ptcp_queue *q, bool sync_now, tcpshm_error *err)
{
    if (q->alloc_size == 0)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "push without a successful alloc");
    uint8_t *msg = q->data + q->st.write_idx;
    tcpshm_msg_header h;
    memcpy(&h, msg, sizeof h);
    if (h.msg_type == TCPSHM_MSG_HEARTBEAT)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "message type 0 is reserved for heartbeats");
    /* Trust our own record of the size, not the header the caller could touch. */
    h.size = (uint16_t)q->alloc_size;
    h.ack_seq = q->st.my_ack;
    tcpshm_header_encode(&h, msg, q->cfg.little_endian);
    uint32_t padded = tcpshm_padded_size(q->alloc_size);
    memset(msg + q->alloc_size, 0, padded - q->alloc_size);
    tcpshm_ptcp_state ns = q->st;
    ns.write_idx += padded;
    ns.write_seq++;
    q->alloc_size = 0;
    if (!q->cfg.host_durable) {
        publish_push(q, &ns);
        return 0;
    }
    /* Host: the message joins the batch; push makes the batch durable. */
    uint32_t old_idx = q->durable_write_idx, old_seq = q->durable_write_seq;
    q->st = ns;
    if (!sync_now)
        return 0;
    int rc = tcpshm_ptcp_queue_sync(q, err);
    if (rc)
        unpush(q, old_idx, old_seq, q->durable_write_seq != old_seq);
    return rc;
}

int tcpshm_ptcp_queue_push(tcpshm_ptcp_queue *q, tcpshm_error *err) { return push(q, true, err); }

int tcpshm_ptcp_queue_push_more(tcpshm_ptcp_queue *q, tcpshm_error *err)
{
    return push(q, false, err);
}

/* ---- send side ---- */

uint32_t tcpshm_ptcp_queue_sendable(const tcpshm_ptcp_queue *q, const uint8_t **data)
{
    *data = q->data + q->send_idx;
    return q->st.write_idx - q->send_idx;
}

void tcpshm_ptcp_queue_mark_sent(tcpshm_ptcp_queue *q, uint32_t n)
{
    uint32_t left = q->st.write_idx - q->send_idx;
    q->send_idx += n < left ? n : left;
    while (q->sent_idx < q->send_idx) {
        uint32_t padded = stored_len(q, q->sent_idx, q->st.write_idx);
        if (padded == 0 || q->sent_idx + padded > q->send_idx)
            break; /* a message sent in part (or a header that is none: then no ack past it is taken) */
        q->sent_idx += padded;
        q->sent_seq++;
    }
}

/* Frees every message before seq (which lies in [read_seq, write_seq]) in one
 * persisted step; an emptied queue also moves back to offset 0. */
static int free_to(tcpshm_ptcp_queue *q, uint32_t seq, tcpshm_error *err)
{
    tcpshm_ptcp_state ns = q->st;
    for (uint32_t i = 0, n = seq - q->st.read_seq; i < n; i++) {
        uint32_t padded = stored_len(q, ns.read_idx, ns.write_idx);
        if (padded == 0)
            return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                               "Bad queue: the message of seq %u at offset %u has no valid size (%u)",
                               q->st.read_seq + i, ns.read_idx, stored_size(q->data + ns.read_idx, q->cfg.little_endian));
        ns.read_idx += padded;
    }
    ns.read_seq = seq;
    /* Everything acknowledged was sent, so the send position is at write too. */
    bool to_front = ns.read_idx == ns.write_idx && q->alloc_size == 0;
    if (to_front)
        ns.read_idx = ns.write_idx = q->durable_write_idx = 0; /* no batch is pending then */
    stage(q, &ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/ack_before_publish");
    commit(q, &ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/ack_after_publish");
    if (to_front)
        q->send_idx = q->sent_idx = 0;
    return 0;
}

int tcpshm_ptcp_queue_ack(tcpshm_ptcp_queue *q, uint32_t seq, tcpshm_error *err)
{
    if ((int32_t)(seq - q->st.read_seq) <= 0)
        return 0; /* stale or repeated: nothing new */
    if (!tcpshm_seq_in_range(seq, q->st.read_seq, q->sent_seq))
        return tcpshm_fail(err, TCPSHM_E_BAD_ACK, 0,
                           "Bad ack: %u is beyond the last message sent (next seq %u)", seq,
                           q->sent_seq);
    return free_to(q, seq, err);
}

int tcpshm_ptcp_queue_rewind(tcpshm_ptcp_queue *q, uint32_t peer_ack, tcpshm_error *err)
{
    if (!tcpshm_seq_in_range(peer_ack, q->st.read_seq, q->st.write_seq))
        return tcpshm_fail(err, TCPSHM_E_BAD_ACK, 0,
                           "Bad ack: %u is outside the queued range [%u, %u]", peer_ack,
                           q->st.read_seq, q->st.write_seq);
    int rc = peer_ack != q->st.read_seq ? free_to(q, peer_ack, err) : 0;
    q->send_idx = q->sent_idx = q->st.read_idx;
    q->sent_seq = q->st.read_seq;
    return rc;
}

void tcpshm_ptcp_queue_reset(tcpshm_ptcp_queue *q)
{
    tcpshm_ptcp_state ns;
    memset(&ns, 0, sizeof ns);
    q->durable_write_idx = q->durable_write_seq = 0; /* a batch is dropped too */
    stage(q, &ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/reset_before_publish");
    commit(q, &ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/reset_after_publish");
    q->send_idx = q->sent_idx = 0;
    q->sent_seq = 0;
    q->alloc_size = 0;
    q->compact_unsynced = false;
    q->record_unsynced = q->cfg.host_durable;
}

void tcpshm_ptcp_queue_popped(tcpshm_ptcp_queue *q)
{
    tcpshm_ptcp_state ns = q->st;
    ns.my_ack++;
    stage(q, &ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/pop_before_publish");
    commit(q, &ns);
    TCPSHM_CRASH_SITE("tcpshm/crash/queue/pop_after_publish");
    /* Host: synced by the next sync, before any ack of it is sent. */
    q->record_unsynced = q->cfg.host_durable;
}

const uint8_t *tcpshm_ptcp_queue_next(const tcpshm_ptcp_queue *q, const uint8_t *prev)
{
    uint32_t pos = q->st.read_idx;
    if (prev)
        pos = (uint32_t)(prev - q->data) + tcpshm_padded_size(stored_size(prev, q->cfg.little_endian));
    return pos < q->st.write_idx ? q->data + pos : NULL;
}
