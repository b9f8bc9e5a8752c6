/* Login and login-response messages of docs/protocol.md (the structs are in
 * tcpshm/msg.h): layout for a configuration, encode, decode with every check
 * an untrusted peer calls for, and the sequence-range consistency rule of
 * login step 6. Pure functions. */
#ifndef TCPSHM_LOGIN_H
#define TCPSHM_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpshm/config.h"
#include "tcpshm/error.h"
#include "tcpshm/msg.h"
#include "tcpshm/names.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes any configuration's login or response takes on the stream, at most. */
#define TCPSHM_LOGIN_MAX_BYTES 512u

/* Header `size` of each message (unpadded; the stream carries it padded to
 * 8): 52 and 68 with tcpshm's defaults. */
uint32_t tcpshm_login_size(const tcpshm_config *c);
uint32_t tcpshm_login_rsp_size(const tcpshm_config *c);

/* Writes the whole message (header + body, padded) into out, which must have
 * tcpshm_padded_size(size) bytes. Names longer than the field are cut (the
 * callers check names first). Returns the padded length. */
uint32_t tcpshm_login_encode(const tcpshm_config *c, const tcpshm_login *m, uint8_t *out);
uint32_t tcpshm_login_rsp_encode(const tcpshm_config *c, const tcpshm_login_rsp *m, uint8_t *out);

/* Decodes a whole padded message of len bytes. Checks the header's size and
 * type and that every name field is NUL-terminated inside its field;
 * TCPSHM_E_ARG-free: every failure is TCPSHM_E_CORRUPT with a reason (the
 * caller closes the connection). Name *contents* are not judged here. */
int tcpshm_login_decode(const tcpshm_config *c, const uint8_t *msg, uint32_t len,
                        tcpshm_login *out, tcpshm_error *err);
int tcpshm_login_rsp_decode(const tcpshm_config *c, const uint8_t *msg, uint32_t len,
                            tcpshm_login_rsp *out, tcpshm_error *err);

/* Login step 6, wrap-aware: the peer's ack of my stream lies in
 * [my_start, my_end] and my ack of its stream in [peer_start, peer_end]. */
bool tcpshm_seq_ranges_consistent(uint32_t my_start, uint32_t my_end, uint32_t peer_ack,
                                  uint32_t peer_start, uint32_t peer_end, uint32_t my_ack);

/* true if seq lies in [start, end], with u32 wrap-around. */
static inline bool tcpshm_seq_in_range(uint32_t seq, uint32_t start, uint32_t end)
{
    return seq - start <= end - start;
}

#ifdef __cplusplus
}
#endif
#endif
