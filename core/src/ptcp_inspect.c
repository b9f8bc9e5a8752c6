/* tcpshm_ptcp_inspect: what a queue file says, verified by the queue's own
 * tcpshm_ptcp_queue_verify (see tcpshm/ptcp_inspect.h). */
#include <string.h>

#include "error_set.h"
#include "ptcp_file.h"
#include "tcpshm/ptcp_inspect.h"

static void copy_name(char *out, const char *field)
{
    memcpy(out, field, PTCP_NAME_FIELD - 1);
    out[PTCP_NAME_FIELD - 1] = '\0';
}

/* -1, 0, 1: a wrap-aware comparison of two counters. */
static int cmp_seq(uint32_t a, uint32_t b) { return a == b ? 0 : (int32_t)(a - b) < 0 ? -1 : 1; }

tcpshm_ptcp_slots tcpshm_ptcp_slots_compare(const tcpshm_ptcp_info *info)
{
    const tcpshm_ptcp_state *a = &info->st, *o = &info->other;
    if (memcmp(a, o, sizeof *a) == 0)
        return TCPSHM_SLOTS_AGREE;
    int c[3] = {cmp_seq(o->read_seq, a->read_seq), cmp_seq(o->write_seq, a->write_seq),
                cmp_seq(o->my_ack, a->my_ack)};
    bool older = true, newer = true;
    for (int i = 0; i < 3; i++) {
        older = older && c[i] <= 0;
        newer = newer && c[i] >= 0;
    }
    return older ? TCPSHM_SLOTS_OTHER_OLDER : newer ? TCPSHM_SLOTS_OTHER_NEWER : TCPSHM_SLOTS_MIXED;
}

int tcpshm_ptcp_inspect(const void *bytes, uint64_t size, uint32_t max_msg_size, const char *local,
                        const char *remote, tcpshm_ptcp_info *info, tcpshm_error *err)
{
    _Static_assert(sizeof info->local == PTCP_NAME_FIELD, "name copies");
    memset(info, 0, sizeof *info);
    info->data_offset = PTCP_HEADER_SIZE;
    tcpshm_ptcp_queue_config cfg = {.capacity = 0, .max_msg_size = max_msg_size ? max_msg_size : TCPSHM_MAX_PADDED_MSG_SIZE,
                                    .little_endian = true, .file_mode = 0};
    if (size >= PTCP_HEADER_SIZE) {
        struct tcpshm_ptcp_file f; /* a copy: the bytes may be unaligned */
        memcpy(&f, bytes, sizeof f);
        info->have_header = true;
        for (int i = 0; i < 8; i++)
            info->magic[i] = f.magic[i] >= 0x20 && f.magic[i] < 0x7f ? f.magic[i] : '?';
        info->version = f.version;
        info->capacity = f.capacity;
        info->little_endian = f.wire_little == 1;
        copy_name(info->local, f.local);
        copy_name(info->remote, f.remote);
        info->active = f.active;
        info->st = f.slot[f.active == 1 ? 1 : 0];
        info->other = f.slot[f.active == 1 ? 0 : 1];
        info->durability = f.durability;
        info->written = f.written;
        memcpy(info->boot_id, f.boot_id, sizeof info->boot_id);
        /* The file's own capacity and byte order: those checks then pass,
         * and everything else is exactly what reopening checks. */
        cfg.capacity = f.capacity;
        cfg.little_endian = f.wire_little == 1;
        int rc = tcpshm_ptcp_queue_verify(bytes, size, local, remote, &cfg, err);
        if (rc == 0 && f.capacity < cfg.max_msg_size) /* no configuration could open it */
            rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "capacity %u is below max_msg_size %u",
                             f.capacity, cfg.max_msg_size);
        return rc;
    }
    return tcpshm_ptcp_queue_verify(bytes, size, local, remote, NULL, err);
}
