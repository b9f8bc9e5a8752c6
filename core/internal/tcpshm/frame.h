/* The header codec and the incremental stream parser that turns received
 * bytes into whole, validated messages (the header itself is in
 * tcpshm/msg.h). Pure functions over caller-owned buffers: no I/O, no
 * allocation. */
#ifndef TCPSHM_FRAME_H
#define TCPSHM_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/error.h"
#include "tcpshm/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A header to and from its 8 bytes in the configured byte order. */
void tcpshm_header_encode(const tcpshm_msg_header *h, void *out, bool little_endian);
void tcpshm_header_decode(const void *in, bool little_endian, tcpshm_msg_header *h);

/* Incremental parser over a caller-owned receive buffer. The buffer holds
 *   [0, head)     free (consumed)
 *   [head, scan)  whole messages already validated, headers rewritten to host order
 *   [scan, tail)  received bytes not yet parsed (possibly a partial message)
 *   [tail, cap)   free space for the next read
 * Every message starts 8-byte aligned (the buffer must be 8-byte aligned). */
typedef struct tcpshm_frame_parser {
    uint8_t *buf;
    uint32_t cap;
    uint32_t max_msg_size; /* largest padded message accepted */
    bool little_endian;
    uint32_t head, scan, tail;
    int failed; /* the error scan() returned, sticky until reset */
} tcpshm_frame_parser;

/* buf must be 8-byte aligned, cap a multiple of 8 and >= max_msg_size, and
 * max_msg_size a multiple of 8 in [8, TCPSHM_MAX_PADDED_MSG_SIZE]. */
int tcpshm_frame_parser_init(tcpshm_frame_parser *p, void *buf, uint32_t cap,
                             uint32_t max_msg_size, bool little_endian, tcpshm_error *err);

/* Drops everything buffered (a new connection starts with an empty buffer). */
void tcpshm_frame_parser_reset(tcpshm_frame_parser *p);

/* Where the next read should go and how many bytes fit. Moves the unconsumed
 * bytes to the front of the buffer when that makes room. 0 means the buffer
 * is full of unpopped messages: pop before reading more. */
uint8_t *tcpshm_frame_parser_space(tcpshm_frame_parser *p, uint32_t *len);

/* n bytes were written at the pointer space() returned (n <= its len). */
void tcpshm_frame_parser_received(tcpshm_frame_parser *p, uint32_t n);

/* Validates the next whole message after the scanned region, rewrites its
 * header to host order in place and adds it to the scanned region.
 * Returns 1 with *out set, 0 when no whole message is buffered yet, or
 * TCPSHM_E_FRAME_SMALL / TCPSHM_E_FRAME_LARGE (the parser then stays failed:
 * the connection must be closed; messages already scanned stay poppable). */
int tcpshm_frame_parser_scan(tcpshm_frame_parser *p, tcpshm_msg_header **out, tcpshm_error *err);

/* Takes m (a message scan returned, not yet popped) and every message
 * scanned after it out of the scanned region: they will not be delivered.
 * For a message that breaks the protocol (e.g. a bad ack) after its header
 * was scanned; the connection is then closed. No effect for any other m. */
void tcpshm_frame_parser_unscan(tcpshm_frame_parser *p, const tcpshm_msg_header *m);

/* The oldest scanned, unpopped message (header in host order, body follows),
 * or NULL. The same message until pop. */
tcpshm_msg_header *tcpshm_frame_parser_front(const tcpshm_frame_parser *p);

/* Removes the front message. No effect when there is none. */
void tcpshm_frame_parser_pop(tcpshm_frame_parser *p);

/* Call when the stream ended: TCPSHM_E_TRUNCATED if bytes of an incomplete
 * message remain, else 0. */
int tcpshm_frame_parser_finish(const tcpshm_frame_parser *p, tcpshm_error *err);

#ifdef __cplusplus
}
#endif
#endif
