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
 * type and that every name field is NUL-terminated inside its field. Every
 * failure is TCPSHM_E_CORRUPT with a reason (the caller closes the
 * connection), except a login whose client or last server name field has no
 * NUL: TCPSHM_E_NAME, with everything else decoded and that name "" (the
 * server answers it as a bad name). Name *contents* are not judged here. */
int tcpshm_login_decode(const tcpshm_config *c, const uint8_t *msg, uint32_t len,
                        tcpshm_login *out, tcpshm_error *err);
int tcpshm_login_rsp_decode(const tcpshm_config *c, const uint8_t *msg, uint32_t len,
                            tcpshm_login_rsp *out, tcpshm_error *err);

/* Login step 6, wrap-aware: the peer's ack of my stream lies in
 * [my_start, my_end] and my ack of its stream in [peer_start, peer_end]. */
bool tcpshm_seq_ranges_consistent(uint32_t my_start, uint32_t my_end, uint32_t peer_ack,
                                  uint32_t peer_start, uint32_t peer_end, uint32_t my_ack);

/* The one sequence-range rule for every range taken from the wire (login,
 * login response, acks): signed 32-bit differences (docs/protocol.md 3).
 * A range [start, end] is valid only if (int32_t)(end - start) >= 0: a
 * reversed range, or one of 2^31 or more numbers, is not a range. seq lies in
 * a valid range if (int32_t)(seq - start) >= 0 and (int32_t)(end - seq) >= 0;
 * no seq lies in an invalid one. */
bool tcpshm_seq_range_valid(uint32_t start, uint32_t end);
bool tcpshm_seq_in_range(uint32_t seq, uint32_t start, uint32_t end);

#ifdef __cplusplus
}
#endif
#endif
