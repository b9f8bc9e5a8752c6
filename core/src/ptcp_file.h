/* The layout of a persistent queue file <dir>/<local>_<remote>.ptcp: shared
 * by ptcp_queue.c (which owns it) and ptcp_inspect.c (which reads it). */
#ifndef TCPSHM_PTCP_FILE_H
#define TCPSHM_PTCP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "tcpshm/ptcp_queue.h"

#define PTCP_MAGIC "TSHMPTCP"
#define PTCP_VERSION 1u
#define PTCP_ENDIAN_MARK 0x01020304u
#define PTCP_NAME_FIELD 64u
#define PTCP_HEADER_SIZE 256u
#define PTCP_WRITTEN_CLEAN 0u
#define PTCP_WRITTEN_PROCESS 1u
#define PTCP_WRITTEN_HOST 2u

/* The file header, in the host's byte order (the file never leaves the host;
 * endian_mark rejects one that did). Message bytes follow at
 * PTCP_HEADER_SIZE, headers encoded in the wire byte order. */
struct tcpshm_ptcp_file {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t endian_mark;
    uint32_t wire_little; /* 1 little-endian, 0 big-endian */
    uint32_t capacity;
    /* the durability the file was created with, for tcpshm-inspect only
     * (nothing reads it back; an opener may use the other mode): 0 process,
     * 1 host. Reserved and 0 in files older than the field. */
    uint32_t durability;
    char local[PTCP_NAME_FIELD];
    char remote[PTCP_NAME_FIELD];
    uint32_t active; /* which slot is current: written last, with release order */
    /* Who may have left unsynced changes (docs/design.md, "Durability"):
     * `written` says how the file has been written since its last open:
     * PTCP_WRITTEN_CLEAN (synced and closed, or a file older than the
     * field), _PROCESS (changes not synced, by a process of the boot in
     * boot_id: a power cut of that boot may have taken any of them back),
     * _HOST (every change synced). Both are made durable at open, before
     * any change. */
    uint8_t boot_id[16];
    uint32_t written;
    /* 1: made by an open and no login has used the pair yet (the server
     * refuses a client that says it goes on with a pair whose file is
     * fresh: its state of the pair was lost, docs/protocol.md step 6) */
    uint32_t fresh;
    uint32_t reserved1;
    tcpshm_ptcp_state slot[2];
};

_Static_assert(sizeof(tcpshm_ptcp_state) == 32, "record slot is 32 bytes");
_Static_assert(offsetof(struct tcpshm_ptcp_file, durability) == 28, "durability offset");
_Static_assert(offsetof(struct tcpshm_ptcp_file, active) == 160, "selector offset");
_Static_assert(offsetof(struct tcpshm_ptcp_file, boot_id) == 164, "boot id offset");
_Static_assert(offsetof(struct tcpshm_ptcp_file, written) == 180, "written offset");
_Static_assert(offsetof(struct tcpshm_ptcp_file, fresh) == 184, "fresh offset");
_Static_assert(offsetof(struct tcpshm_ptcp_file, slot) == 192, "slots offset");
_Static_assert(sizeof(struct tcpshm_ptcp_file) == PTCP_HEADER_SIZE, "header size");

#endif
