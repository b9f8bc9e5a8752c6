/* The messages of tcpshm-sim's own application (echo_app.c):
 * sequence-numbered and checksummed, so that the popper checks each body
 * itself, as the checker checks it by its sum (msg_sum.h).
 *
 * Body (little-endian, at least WL_MIN_BODY bytes):
 *   0  u32 stream: the tag of the pair's direction   4  u32 seq it was pushed at
 *   8  u16 kind (enum wl_kind)          10  u16 0
 *  12  u32 echo_of: for WL_ECHO, the seq of the request it answers
 *  16  u32 checksum: FNV-1a of bytes [0, 16) and [20, size)
 *  20  filler derived from (stream, seq)
 * A message is identified by (stream, seq) and its checksum covers every
 * other byte, so any corruption, loss, duplicate or reordering shows.
 * The kinds are also the checker's marks of a push (chk_rec.kind, wl_msg
 * its record of a push). Defined in workload.c. */
#ifndef TCPSHM_SIM_WORKLOAD_H
#define TCPSHM_SIM_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

#define WL_MIN_BODY 20u
#define WL_MSG_TYPE 0x5157u

typedef enum wl_kind {
    WL_ONEWAY = 1,  /* client -> server or server -> client, popped as is */
    WL_REQUEST = 2, /* client -> server: the server answers with exactly one echo */
    WL_ECHO = 3     /* server -> client: the answer to a request */
} wl_kind;

typedef struct wl_msg {
    uint32_t stream, seq, kind, echo_of, checksum, size; /* size: body bytes */
} wl_msg;

/* Fills body (m->size bytes) and sets m->checksum. */
void wl_fill(uint8_t *body, wl_msg *m);
/* Reads the fields of a received body of size bytes; returns 0, or -1 if it
 * is too short or its checksum does not match its bytes. */
int wl_parse(const uint8_t *body, uint32_t size, wl_msg *m);
/* wl_parse without the checksum: its fields (all 0 if it is too short). */
void wl_fields(const uint8_t *body, uint32_t size, wl_msg *m);

#endif
