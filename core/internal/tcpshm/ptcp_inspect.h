/* Read-only description of a persistent queue file (for tcpshm-inspect):
 * the same verification as reopening it (tcpshm_ptcp_queue_verify), plus
 * what its header and active record say. Never writes, never trusts. */
#ifndef TCPSHM_PTCP_INSPECT_H
#define TCPSHM_PTCP_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/error.h"
#include "tcpshm/ptcp_queue.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tcpshm_ptcp_info {
    bool have_header;        /* the header could be read (size >= header); fields below valid */
    char magic[9];           /* printable copy ('?' for other bytes) */
    uint32_t version;
    uint32_t capacity;
    bool little_endian;      /* wire byte order of the stored headers */
    char local[64], remote[64]; /* NUL-terminated copies (cut if the file's are not) */
    uint32_t active;         /* the record selector */
    tcpshm_ptcp_state st;    /* the active record (slot 0 when the selector is bad) */
    tcpshm_ptcp_state other; /* the other slot: the state before the last change, or one staged
                                and never published (a kill or power cut before the flip) */
    uint32_t durability;     /* the mode it was created with: 0 process, 1 host (other: unknown) */
    uint32_t data_offset;    /* where message bytes start in the file */
    uint32_t written;        /* 0 clean (synced, closed), 1 written unsynced in boot_id's boot
                                (durability process), 2 every change synced (host) */
    uint8_t boot_id[16];     /* the boot that last opened it (all zero: never claimed) */
} tcpshm_ptcp_info;

/* Fills *info from the bytes of a queue file (as far as they go) and
 * verifies them as reopening would, with the file's own capacity and byte
 * order and the given max_msg_size (the configuration's; 0 means TCPSHM_MAX_PADDED_MSG_SIZE).
 * local/remote: the names the file must belong to (NULL: any, e.g. when
 * the file name cannot be split unambiguously). 0 if the file would reopen;
 * else TCPSHM_E_CORRUPT with the reason in err. When it returns 0, the
 * messages in [st.read_idx, st.write_idx) after data_offset are whole and
 * can be walked with tcpshm_header_decode. */
/* How the two record slots relate: identical; every counter of the other
 * slot at most the active one's (the state before the last change); every
 * one at least (a staged change never published); or neither. */
typedef enum tcpshm_ptcp_slots {
    TCPSHM_SLOTS_AGREE,
    TCPSHM_SLOTS_OTHER_OLDER,
    TCPSHM_SLOTS_OTHER_NEWER,
    TCPSHM_SLOTS_MIXED,
} tcpshm_ptcp_slots;
tcpshm_ptcp_slots tcpshm_ptcp_slots_compare(const tcpshm_ptcp_info *info);

int tcpshm_ptcp_inspect(const void *bytes, uint64_t size, uint32_t max_msg_size, const char *local,
                        const char *remote, tcpshm_ptcp_info *info, tcpshm_error *err);

#ifdef __cplusplus
}
#endif
#endif
