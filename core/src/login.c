/* Login / login-response layout (docs/protocol.md), for any configured name and
 * user-data size:
 *   login body:    u32 client_seq_start, u32 client_seq_end, u8 user_data[L],
 *                  u8 use_shm, char client_name[N], char last_server_name[N],
 *                  padding to a multiple of 4
 *   response body: u32 server_seq_start, u32 server_seq_end, u8 user_data[R],
 *                  u8 status, char server_name[N], char error_msg[32],
 *                  padding to a multiple of 4 */
#include <string.h>

#include "error_set.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"

static uint32_t align4(uint32_t n) { return (n + 3u) & ~3u; }

uint32_t tcpshm_login_size(const tcpshm_config *c)
{
    return TCPSHM_HEADER_SIZE + align4(8 + c->login_user_data_size + 1 + 2 * c->name_size);
}

uint32_t tcpshm_login_rsp_size(const tcpshm_config *c)
{
    return TCPSHM_HEADER_SIZE +
           align4(8 + c->login_rsp_user_data_size + 1 + c->name_size + TCPSHM_ERROR_MSG_SIZE);
}

static void put_u32(uint8_t *p, uint32_t v, bool little)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (little ? 8 * i : 8 * (3 - i)));
}

static uint32_t get_u32(const uint8_t *p, bool little)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (little ? 8 * i : 8 * (3 - i));
    return v;
}

/* Copies a NUL-terminated string into a field of `size` bytes, cut to fit
 * and zero-filled (no stale bytes go on the wire). */
static void put_str(uint8_t *field, const char *s, uint32_t size)
{
    memset(field, 0, size);
    size_t n = strnlen(s, size - 1);
    memcpy(field, s, n);
}

/* A field from the peer: must hold a NUL inside it. One without leaves out
 * "" and fails with code (never cut to fit, as tcpshm does: refused). */
static int get_str(char *out, const uint8_t *field, uint32_t size, const char *what, int code,
                   tcpshm_error *err)
{
    const uint8_t *nul = memchr(field, 0, size);
    out[0] = '\0';
    if (!nul)
        return tcpshm_fail(err, code, 0, "%s is not NUL-terminated within %u bytes", what, size);
    memcpy(out, field, (size_t)(nul - field) + 1);
    return 0;
}

static void put_header(uint8_t *out, uint32_t size, uint16_t type, uint32_t ack, bool little)
{
    tcpshm_msg_header h = {(uint16_t)size, type, ack};
    tcpshm_header_encode(&h, out, little);
}

/* Checks the header of a whole message against the expected size and type. */
static int check_header(const uint8_t *msg, uint32_t len, uint32_t want_size, uint16_t want_type,
                        bool little, const char *what, tcpshm_msg_header *h, tcpshm_error *err)
{
    if (len < TCPSHM_HEADER_SIZE)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: %u bytes, shorter than a header", what, len);
    tcpshm_header_decode(msg, little, h);
    if (h->msg_type != want_type)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: message type %u, expected %u", what,
                           h->msg_type, want_type);
    if (h->size != want_size || len < tcpshm_padded_size(want_size))
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: size %u, expected %u", what, h->size, want_size);
    return 0;
}

uint32_t tcpshm_login_encode(const tcpshm_config *c, const tcpshm_login *m, uint8_t *out)
{
    uint32_t size = tcpshm_login_size(c), padded = tcpshm_padded_size(size);
    memset(out, 0, padded);
    put_header(out, size, TCPSHM_MSG_LOGIN, m->ack_seq, c->little_endian);
    uint8_t *b = out + TCPSHM_HEADER_SIZE;
    put_u32(b, m->client_seq_start, c->little_endian);
    put_u32(b + 4, m->client_seq_end, c->little_endian);
    b += 8;
    memcpy(b, m->user_data, c->login_user_data_size);
    b += c->login_user_data_size;
    *b++ = m->use_shm;
    put_str(b, m->client_name, c->name_size);
    put_str(b + c->name_size, m->last_server_name, c->name_size);
    return padded;
}

int tcpshm_login_decode(const tcpshm_config *c, const uint8_t *msg, uint32_t len, tcpshm_login *out,
                        tcpshm_error *err)
{
    tcpshm_msg_header h;
    int rc = check_header(msg, len, tcpshm_login_size(c), TCPSHM_MSG_LOGIN, c->little_endian, "login", &h, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->ack_seq = h.ack_seq;
    const uint8_t *b = msg + TCPSHM_HEADER_SIZE;
    out->client_seq_start = get_u32(b, c->little_endian);
    out->client_seq_end = get_u32(b + 4, c->little_endian);
    b += 8;
    memcpy(out->user_data, b, c->login_user_data_size);
    b += c->login_user_data_size;
    out->use_shm = *b++;
    if (out->use_shm > 1)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "login: use_shm is %u, not 0 or 1", out->use_shm);
    /* both names, so a caller refusing one still knows the other */
    rc = get_str(out->client_name, b, c->name_size, "login: client name", TCPSHM_E_NAME, err);
    int rc2 = get_str(out->last_server_name, b + c->name_size, c->name_size, "login: last server name",
                      TCPSHM_E_NAME, rc ? NULL : err);
    return rc ? rc : rc2;
}

uint32_t tcpshm_login_rsp_encode(const tcpshm_config *c, const tcpshm_login_rsp *m, uint8_t *out)
{
    uint32_t size = tcpshm_login_rsp_size(c), padded = tcpshm_padded_size(size);
    memset(out, 0, padded);
    put_header(out, size, TCPSHM_MSG_LOGIN_RESPONSE, m->ack_seq, c->little_endian);
    uint8_t *b = out + TCPSHM_HEADER_SIZE;
    put_u32(b, m->server_seq_start, c->little_endian);
    put_u32(b + 4, m->server_seq_end, c->little_endian);
    b += 8;
    memcpy(b, m->user_data, c->login_rsp_user_data_size);
    b += c->login_rsp_user_data_size;
    *b++ = m->status;
    put_str(b, m->server_name, c->name_size);
    put_str(b + c->name_size, m->error_msg, TCPSHM_ERROR_MSG_SIZE);
    return padded;
}

int tcpshm_login_rsp_decode(const tcpshm_config *c, const uint8_t *msg, uint32_t len,
                            tcpshm_login_rsp *out, tcpshm_error *err)
{
    tcpshm_msg_header h;
    int rc = check_header(msg, len, tcpshm_login_rsp_size(c), TCPSHM_MSG_LOGIN_RESPONSE,
                          c->little_endian, "login response", &h, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->ack_seq = h.ack_seq;
    const uint8_t *b = msg + TCPSHM_HEADER_SIZE;
    out->server_seq_start = get_u32(b, c->little_endian);
    out->server_seq_end = get_u32(b + 4, c->little_endian);
    b += 8;
    memcpy(out->user_data, b, c->login_rsp_user_data_size);
    b += c->login_rsp_user_data_size;
    out->status = *b++;
    if (out->status > TCPSHM_LOGIN_ERROR)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "login response: unknown status %u", out->status);
    rc = get_str(out->server_name, b, c->name_size, "login response: server name", TCPSHM_E_CORRUPT, err);
    if (!rc)
        rc = get_str(out->error_msg, b + c->name_size, TCPSHM_ERROR_MSG_SIZE,
                     "login response: error message", TCPSHM_E_CORRUPT, err);
    if (!rc && out->status == TCPSHM_LOGIN_OK && out->server_name[0] == '\0')
        rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "login response: empty server name");
    return rc;
}

bool tcpshm_seq_range_valid(uint32_t start, uint32_t end) { return (int32_t)(end - start) >= 0; }

bool tcpshm_seq_in_range(uint32_t seq, uint32_t start, uint32_t end)
{
    return tcpshm_seq_range_valid(start, end) && (int32_t)(seq - start) >= 0 && (int32_t)(end - seq) >= 0;
}

bool tcpshm_seq_ranges_consistent(uint32_t my_start, uint32_t my_end, uint32_t peer_ack,
                                  uint32_t peer_start, uint32_t peer_end, uint32_t my_ack)
{
    return tcpshm_seq_in_range(peer_ack, my_start, my_end) &&
           tcpshm_seq_in_range(my_ack, peer_start, peer_end);
}
