/* inspect_shm(): see inspect_shm.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inspect_out.h"
#include "inspect_shm.h"
#include "readonly_env.h"
#include "tcpshm/shm_queue.h"

static int corrupt(const char *why)
{
    out_str("status", "corrupt");
    out_str("reason", why);
    out_object_end();
    return 1;
}

int inspect_shm(const char *name_arg, uint32_t max_msg_size, bool hex)
{
    char name[300];
    snprintf(name, sizeof name, "%s%s", name_arg[0] == '/' ? "" : "/", name_arg);
    out_object_begin("shm", name);
    const tcpshm_env *env = readonly_env();
    int fd = env->shm_open(env->ctx, name, 0, 0);
    uint64_t size = 0;
    if (fd < 0 || env->file_size(env->ctx, fd, &size) != 0) {
        char why[400];
        snprintf(why, sizeof why, "cannot open shared memory %s: %s", name, strerror(errno));
        if (fd >= 0)
            env->file_close(env->ctx, fd);
        out_str("status", "unreadable");
        out_str("reason", why);
        out_object_end();
        return 3;
    }
    uint8_t magic[8] = {0};
    ssize_t got = size >= 8 ? pread(fd, magic, 8, 0) : 0;
    env->file_close(env->ctx, fd);
    out_u64("segment_bytes", size);
    if (size <= TCPSHM_SHM_HEADER_SIZE)
        return corrupt(size == 0 ? "size 0: its creator died before sizing it (an open would set it up)"
                                 : "truncated: not larger than the segment header");
    static const uint8_t zero[8];
    if (got == 8 && memcmp(magic, zero, 8) == 0)
        return corrupt("no header: its creator died before writing it (an open would set it up)");
    uint64_t cap64 = size - TCPSHM_SHM_HEADER_SIZE;
    if (cap64 > UINT32_MAX)
        return corrupt("too long for a queue segment");
    uint32_t cap = (uint32_t)cap64;
    out_u64("capacity", cap);

    /* As the producer would open it: its checks, and the recovery of
     * slots published but not recorded before a kill. */
    tcpshm_shm_queue prod, cons;
    tcpshm_error err = {0};
    if (tcpshm_shm_queue_open(&prod, env, name,
                              &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max_msg_size,
                                                         .producer = true}, &err) != 0)
        return corrupt(err.text);
    uint32_t pushed = tcpshm_shm_queue_pushed(&prod);
    tcpshm_shm_queue_close(&prod);
    if (tcpshm_shm_queue_open(&cons, env, name,
                              &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max_msg_size}, &err) != 0)
        return corrupt(err.text);
    uint32_t recorded = tcpshm_shm_queue_pushed(&cons), popped = tcpshm_shm_queue_popped(&cons);
    out_u64("pushed", pushed);
    if (pushed != recorded) {
        char note[160];
        snprintf(note, sizeof note, "the producer recorded %u; %u published slot(s) recovered as an open would",
                 recorded, pushed - recorded);
        out_note(note);
    }
    out_u64("popped", popped);
    uint32_t pending = pushed - popped;
    out_u64("pending", pending);
    /* Walk what the consumer would read next (a private copy: pop changes nothing). */
    out_list_begin("messages");
    uint32_t n = 0;
    bool bad = false;
    for (; n < pending; n++) {
        tcpshm_msg_header *m = tcpshm_shm_queue_front(&cons, &bad, &err);
        if (!m)
            break;
        out_msg(popped + n, m->msg_type, m->size, m->ack_seq, true, (const uint8_t *)(m + 1),
                m->size - TCPSHM_HEADER_SIZE, hex);
        tcpshm_shm_queue_pop(&cons);
    }
    out_list_end();
    tcpshm_shm_queue_close(&cons);
    if (bad)
        return corrupt(err.text);
    if (n != pending) {
        char why[200];
        snprintf(why, sizeof why, "%u messages pending by the positions, but only %u readable", pending, n);
        return corrupt(why);
    }
    out_str("status", "ok");
    out_object_end();
    return 0;
}
