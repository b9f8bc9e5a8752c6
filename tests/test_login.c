/* Unit tests of core/src/login.c: the byte layout of docs/protocol.md's login and
 * login-response tables, both byte orders, wider user data, every decode
 * refusal, the wrap-aware sequence-range checks and tcpshm_config_check. */
#include <criterion/criterion.h>
#include <string.h>

#include "tcpshm/config.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"

TestSuite(login, .timeout = 60);

#define CANARY 0xeeu

static tcpshm_config def_cfg(void)
{
    tcpshm_config c;
    tcpshm_config_default(&c);
    return c;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[1] | p[0] << 8); }
static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* The field holds s, NUL-terminated, and zeros after it up to size. */
static void assert_field(const uint8_t *f, uint32_t size, const char *s, const char *what)
{
    size_t n = strlen(s);
    cr_assert_lt(n, size, "%s: test string too long", what);
    cr_assert(memcmp(f, s, n) == 0, "%s: expected \"%s\" at the field start", what, s);
    for (size_t i = n; i < size; i++)
        cr_assert_eq(f[i], 0, "%s: byte %zu after the string is 0x%02x, not 0", what, i, f[i]);
}

static tcpshm_login sample_login(void)
{
    tcpshm_login m;
    memset(&m, 0, sizeof m);
    m.ack_seq = 0x11223344u;
    m.client_seq_start = 0xa1a2a3a4u;
    m.client_seq_end = 0xb1b2b3b4u;
    for (uint32_t i = 0; i < TCPSHM_MAX_USER_DATA; i++)
        m.user_data[i] = (uint8_t)(0xc0u + i);
    m.use_shm = 1;
    strcpy(m.client_name, "alice");
    strcpy(m.last_server_name, "Server20180714");
    return m;
}

static tcpshm_login_rsp sample_rsp(void)
{
    tcpshm_login_rsp m;
    memset(&m, 0, sizeof m);
    m.ack_seq = 0x55667788u;
    m.server_seq_start = 0xd1d2d3d4u;
    m.server_seq_end = 0xe1e2e3e4u;
    for (uint32_t i = 0; i < TCPSHM_MAX_USER_DATA; i++)
        m.user_data[i] = (uint8_t)(0x70u + i);
    m.status = TCPSHM_LOGIN_ERROR;
    strcpy(m.server_name, "srv");
    strcpy(m.error_msg, "Max client cnt exceeded");
    return m;
}

static void assert_logins_equal(const tcpshm_login *a, const tcpshm_login *b, uint32_t ud)
{
    cr_assert_eq(a->ack_seq, b->ack_seq);
    cr_assert_eq(a->client_seq_start, b->client_seq_start);
    cr_assert_eq(a->client_seq_end, b->client_seq_end);
    cr_assert(memcmp(a->user_data, b->user_data, ud) == 0, "user data differs");
    cr_assert_eq(a->use_shm, b->use_shm);
    cr_assert_str_eq(a->client_name, b->client_name);
    cr_assert_str_eq(a->last_server_name, b->last_server_name);
}

static void assert_rsps_equal(const tcpshm_login_rsp *a, const tcpshm_login_rsp *b, uint32_t ud)
{
    cr_assert_eq(a->ack_seq, b->ack_seq);
    cr_assert_eq(a->server_seq_start, b->server_seq_start);
    cr_assert_eq(a->server_seq_end, b->server_seq_end);
    cr_assert(memcmp(a->user_data, b->user_data, ud) == 0, "user data differs");
    cr_assert_eq(a->status, b->status);
    cr_assert_str_eq(a->server_name, b->server_name);
    cr_assert_str_eq(a->error_msg, b->error_msg);
}

/* ---- sizes ---- */

Test(login, default_sizes_match_tcpshm)
{
    tcpshm_config c = def_cfg();
    cr_assert_eq(tcpshm_login_size(&c), 52);
    cr_assert_eq(tcpshm_login_rsp_size(&c), 68);
    cr_assert_eq(tcpshm_padded_size(tcpshm_login_size(&c)), 56);
    cr_assert_eq(tcpshm_padded_size(tcpshm_login_rsp_size(&c)), 72);
}

/* ---- login layout ---- */

Test(login, login_byte_layout_little_endian)
{
    tcpshm_config c = def_cfg();
    tcpshm_login m = sample_login();
    uint8_t out[128];
    memset(out, CANARY, sizeof out);
    uint32_t len = tcpshm_login_encode(&c, &m, out);
    cr_assert_eq(len, 56, "login takes %u bytes on the stream, expected 56", len);
    /* header */
    cr_assert_eq(out[0], 52);
    cr_assert_eq(out[1], 0);
    cr_assert_eq(out[2], 1);
    cr_assert_eq(out[3], 0);
    cr_assert_eq(out[4], 0x44);
    cr_assert_eq(out[5], 0x33);
    cr_assert_eq(out[6], 0x22);
    cr_assert_eq(out[7], 0x11);
    const uint8_t *b = out + 8;
    cr_assert_eq(le32(b + 0), 0xa1a2a3a4u, "client_seq_start at body 0");
    cr_assert_eq(b[0], 0xa4);
    cr_assert_eq(le32(b + 4), 0xb1b2b3b4u, "client_seq_end at body 4");
    cr_assert_eq(b[4], 0xb4);
    cr_assert_eq(b[8], 0xc0, "user_data at body 8");
    cr_assert_eq(b[9], 1, "use_shm at body 9");
    assert_field(b + 10, 16, "alice", "client_name at body 10");
    assert_field(b + 26, 16, "Server20180714", "last_server_name at body 26");
    cr_assert_eq(b[42], 0, "padding byte 42");
    cr_assert_eq(b[43], 0, "padding byte 43");
    for (uint32_t i = 52; i < 56; i++)
        cr_assert_eq(out[i], 0, "stream padding byte %u is 0x%02x", i, out[i]);
    for (uint32_t i = 56; i < sizeof out; i++)
        cr_assert_eq(out[i], CANARY, "encode wrote past 56 bytes, at %u", i);

    tcpshm_login d;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_login_decode(&c, out, len, &d, &err), 0, "%s", err.text);
    assert_logins_equal(&m, &d, 1);
}

Test(login, login_names_full_length_and_cut)
{
    tcpshm_config c = def_cfg();
    tcpshm_login m = sample_login();
    strcpy(m.client_name, "abcdefghijklmno");       /* 15: the longest that fits */
    strcpy(m.last_server_name, "0123456789abcdefXYZ"); /* 19: cut to 15 */

    uint8_t out[64];
    memset(out, CANARY, sizeof out);
    cr_assert_eq(tcpshm_login_encode(&c, &m, out), 56);
    const uint8_t *b = out + 8;
    cr_assert(memcmp(b + 10, "abcdefghijklmno", 15) == 0);
    cr_assert_eq(b[25], 0, "the client name's NUL is the last byte of its field");
    cr_assert(memcmp(b + 26, "0123456789abcde", 15) == 0);
    cr_assert_eq(b[41], 0, "a long name is cut and NUL-terminated");
    cr_assert_eq(b[42], 0);
    cr_assert_eq(b[43], 0);
    tcpshm_login d;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_login_decode(&c, out, 56, &d, &err), 0, "%s", err.text);
    cr_assert_str_eq(d.client_name, "abcdefghijklmno");
    cr_assert_str_eq(d.last_server_name, "0123456789abcde");
}

Test(login, login_stale_bytes_never_reach_the_wire)
{
    /* Bytes after a name's NUL in the caller's struct must not be sent. */
    tcpshm_config c = def_cfg();
    tcpshm_login m = sample_login();
    memset(m.client_name, 'Q', sizeof m.client_name);
    strcpy(m.client_name, "bob");
    memset(m.last_server_name, 'R', sizeof m.last_server_name);
    m.last_server_name[0] = '\0';
    uint8_t out[64];
    memset(out, CANARY, sizeof out);
    tcpshm_login_encode(&c, &m, out);
    assert_field(out + 8 + 10, 16, "bob", "client_name");
    assert_field(out + 8 + 26, 16, "", "last_server_name");
}

/* ---- response layout ---- */

Test(login, response_byte_layout_little_endian)
{
    tcpshm_config c = def_cfg();
    tcpshm_login_rsp m = sample_rsp();
    uint8_t out[128];
    memset(out, CANARY, sizeof out);
    uint32_t len = tcpshm_login_rsp_encode(&c, &m, out);
    cr_assert_eq(len, 72, "response takes %u bytes on the stream, expected 72", len);
    cr_assert_eq(out[0], 68);
    cr_assert_eq(out[1], 0);
    cr_assert_eq(out[2], 2);
    cr_assert_eq(out[3], 0);
    cr_assert_eq(le32(out + 4), 0x55667788u, "ack_seq");
    cr_assert_eq(out[4], 0x88);
    const uint8_t *b = out + 8;
    cr_assert_eq(le32(b + 0), 0xd1d2d3d4u, "server_seq_start at body 0");
    cr_assert_eq(b[0], 0xd4);
    cr_assert_eq(le32(b + 4), 0xe1e2e3e4u, "server_seq_end at body 4");
    cr_assert_eq(b[8], 0x70, "user_data at body 8");
    cr_assert_eq(b[9], 2, "status at body 9");
    assert_field(b + 10, 16, "srv", "server_name at body 10");
    assert_field(b + 26, 32, "Max client cnt exceeded", "error_msg at body 26");
    cr_assert_eq(b[58], 0, "padding byte 58");
    cr_assert_eq(b[59], 0, "padding byte 59");
    for (uint32_t i = 68; i < 72; i++)
        cr_assert_eq(out[i], 0, "stream padding byte %u is 0x%02x", i, out[i]);
    for (uint32_t i = 72; i < sizeof out; i++)
        cr_assert_eq(out[i], CANARY, "encode wrote past 72 bytes, at %u", i);

    tcpshm_login_rsp d;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_login_rsp_decode(&c, out, len, &d, &err), 0, "%s", err.text);
    assert_rsps_equal(&m, &d, 1);
}

Test(login, response_error_msg_full_length)
{
    tcpshm_config c = def_cfg();
    tcpshm_login_rsp m = sample_rsp();
    memset(m.error_msg, 'e', 31);
    m.error_msg[31] = '\0';
    uint8_t out[72];
    tcpshm_login_rsp_encode(&c, &m, out);
    cr_assert_eq(out[8 + 26 + 30], 'e');
    cr_assert_eq(out[8 + 26 + 31], 0);
    tcpshm_login_rsp d;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_login_rsp_decode(&c, out, 72, &d, &err), 0, "%s", err.text);
    cr_assert_eq(strlen(d.error_msg), 31);
}

/* ---- byte order ---- */

Test(login, big_endian_integers)
{
    tcpshm_config c = def_cfg();
    c.little_endian = false;
    tcpshm_login m = sample_login();
    uint8_t out[64];
    cr_assert_eq(tcpshm_login_encode(&c, &m, out), 56);
    cr_assert_eq(be16(out), 52);
    cr_assert_eq(out[0], 0);
    cr_assert_eq(out[1], 52);
    cr_assert_eq(be16(out + 2), 1);
    cr_assert_eq(be32(out + 4), 0x11223344u);
    cr_assert_eq(out[4], 0x11);
    cr_assert_eq(be32(out + 8), 0xa1a2a3a4u);
    cr_assert_eq(out[8], 0xa1);
    cr_assert_eq(be32(out + 12), 0xb1b2b3b4u);
    cr_assert_eq(out[16], 0xc0);
    cr_assert_eq(out[17], 1);
    assert_field(out + 18, 16, "alice", "client_name");
    tcpshm_login d;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_login_decode(&c, out, 56, &d, &err), 0, "%s", err.text);
    assert_logins_equal(&m, &d, 1);
    /* A little-endian peer does not understand it. */
    tcpshm_config le = def_cfg();
    cr_assert_eq(tcpshm_login_decode(&le, out, 56, &d, &err), TCPSHM_E_CORRUPT);

    tcpshm_login_rsp r = sample_rsp(), rd;
    uint8_t ro[72];
    cr_assert_eq(tcpshm_login_rsp_encode(&c, &r, ro), 72);
    cr_assert_eq(be16(ro), 68);
    cr_assert_eq(be16(ro + 2), 2);
    cr_assert_eq(be32(ro + 4), 0x55667788u);
    cr_assert_eq(be32(ro + 8), 0xd1d2d3d4u);
    cr_assert_eq(be32(ro + 12), 0xe1e2e3e4u);
    cr_assert_eq(ro[17], 2);
    cr_assert_eq(tcpshm_login_rsp_decode(&c, ro, 72, &rd, &err), 0, "%s", err.text);
    assert_rsps_equal(&r, &rd, 1);
    cr_assert_eq(tcpshm_login_rsp_decode(&le, ro, 72, &rd, &err), TCPSHM_E_CORRUPT);
}

/* ---- wider user data ---- */

Test(login, wide_user_data_shifts_fields_and_round_trips)
{
    tcpshm_config c = def_cfg();
    c.login_user_data_size = 8;
    c.login_rsp_user_data_size = 8;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_config_check(&c, &err), 0, "%s", err.text);
    /* body 8 + 8 + 1 + 16 + 16 = 49 -> 52; response 8 + 8 + 1 + 16 + 32 = 65 -> 68 */
    cr_assert_eq(tcpshm_login_size(&c), 60);
    cr_assert_eq(tcpshm_login_rsp_size(&c), 76);

    tcpshm_login m = sample_login(), d;
    uint8_t out[128];
    memset(out, CANARY, sizeof out);
    cr_assert_eq(tcpshm_login_encode(&c, &m, out), 64);
    cr_assert_eq(le16(out), 60);
    const uint8_t *b = out + 8;
    for (uint32_t i = 0; i < 8; i++)
        cr_assert_eq(b[8 + i], (uint8_t)(0xc0u + i), "user_data byte %u", i);
    cr_assert_eq(b[16], 1, "use_shm after 8 bytes of user data");
    assert_field(b + 17, 16, "alice", "client_name at body 17");
    assert_field(b + 33, 16, "Server20180714", "last_server_name at body 33");
    for (uint32_t i = 49; i < 56; i++)
        cr_assert_eq(b[i], 0, "padding at body %u", i);
    cr_assert_eq(out[64], CANARY);
    cr_assert_eq(tcpshm_login_decode(&c, out, 64, &d, &err), 0, "%s", err.text);
    assert_logins_equal(&m, &d, 8);
    cr_assert_eq(d.user_data[8], 0, "nothing beyond the configured user data");
    /* A default-configured peer refuses it (its size field is 60). */
    tcpshm_config def = def_cfg();
    cr_assert_eq(tcpshm_login_decode(&def, out, 64, &d, &err), TCPSHM_E_CORRUPT);

    tcpshm_login_rsp r = sample_rsp(), rd;
    memset(out, CANARY, sizeof out);
    cr_assert_eq(tcpshm_login_rsp_encode(&c, &r, out), 80);
    cr_assert_eq(le16(out), 76);
    for (uint32_t i = 0; i < 8; i++)
        cr_assert_eq(b[8 + i], (uint8_t)(0x70u + i), "rsp user_data byte %u", i);
    cr_assert_eq(b[16], 2, "status after 8 bytes of user data");
    assert_field(b + 17, 16, "srv", "server_name at body 17");
    assert_field(b + 33, 32, "Max client cnt exceeded", "error_msg at body 33");
    for (uint32_t i = 65; i < 72; i++)
        cr_assert_eq(b[i], 0, "padding at body %u", i);
    cr_assert_eq(out[80], CANARY);
    cr_assert_eq(tcpshm_login_rsp_decode(&c, out, 80, &rd, &err), 0, "%s", err.text);
    assert_rsps_equal(&r, &rd, 8);
}

Test(login, widest_configuration_fits_the_stream_maximum)
{
    tcpshm_config c = def_cfg();
    c.name_size = TCPSHM_NAME_MAX + 1;
    c.login_user_data_size = TCPSHM_MAX_USER_DATA;
    c.login_rsp_user_data_size = TCPSHM_MAX_USER_DATA;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_config_check(&c, &err), 0, "%s", err.text);
    cr_assert_leq(tcpshm_padded_size(tcpshm_login_size(&c)), TCPSHM_LOGIN_MAX_BYTES);
    cr_assert_leq(tcpshm_padded_size(tcpshm_login_rsp_size(&c)), TCPSHM_LOGIN_MAX_BYTES);
    tcpshm_login m = sample_login(), d;
    memset(m.client_name, 'n', TCPSHM_NAME_MAX);
    m.client_name[TCPSHM_NAME_MAX] = '\0';
    uint8_t out[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t len = tcpshm_login_encode(&c, &m, out);
    cr_assert_eq(tcpshm_login_decode(&c, out, len, &d, &err), 0, "%s", err.text);
    assert_logins_equal(&m, &d, TCPSHM_MAX_USER_DATA);
}

/* ---- decode refusals ---- */

static void encode_default_login(uint8_t out[56])
{
    tcpshm_config c = def_cfg();
    tcpshm_login m = sample_login();
    m.use_shm = 0;
    tcpshm_login_encode(&c, &m, out);
}

static void encode_default_rsp(uint8_t out[72], uint8_t status, const char *server)
{
    tcpshm_config c = def_cfg();
    tcpshm_login_rsp m = sample_rsp();
    m.status = status;
    strcpy(m.server_name, server);
    tcpshm_login_rsp_encode(&c, &m, out);
}

static void assert_corrupt(int rc, const tcpshm_error *err, const char *want)
{
    cr_assert_eq(rc, TCPSHM_E_CORRUPT, "rc %d, expected TCPSHM_E_CORRUPT (%s)", rc, err->text);
    cr_assert_eq(err->code, TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err->text, want), "error text \"%s\" does not say \"%s\"", err->text,
                       want);
}

Test(login, decode_refuses_wrong_type)
{
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    put_le16(msg + 2, 2);
    tcpshm_login d;
    tcpshm_error err = {0};
    assert_corrupt(tcpshm_login_decode(&c, msg, 56, &d, &err), &err, "login: message type 2, expected 1");

    uint8_t rsp[72];
    encode_default_rsp(rsp, 0, "srv");
    put_le16(rsp + 2, 1);
    tcpshm_login_rsp rd;
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), &err,
                   "login response: message type 1, expected 2");
}

Test(login, decode_refuses_wrong_size)
{
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    put_le16(msg, 48);
    tcpshm_login d;
    tcpshm_error err = {0};
    assert_corrupt(tcpshm_login_decode(&c, msg, 56, &d, &err), &err, "login: size 48, expected 52");
    put_le16(msg, 53);
    assert_corrupt(tcpshm_login_decode(&c, msg, 56, &d, &err), &err, "login: size 53, expected 52");

    uint8_t rsp[72];
    encode_default_rsp(rsp, 0, "srv");
    put_le16(rsp, 72);
    tcpshm_login_rsp rd;
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), &err,
                   "login response: size 72, expected 68");
}

Test(login, decode_refuses_short_buffers)
{
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    tcpshm_login d;
    tcpshm_error err = {0};
    assert_corrupt(tcpshm_login_decode(&c, msg, 7, &d, &err), &err, "shorter than a header");
    /* a correct header but fewer bytes than the padded message */
    assert_corrupt(tcpshm_login_decode(&c, msg, 55, &d, &err), &err, "login: size 52, expected 52");
    uint8_t rsp[72];
    encode_default_rsp(rsp, 0, "srv");
    tcpshm_login_rsp rd;
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 3, &rd, &err), &err, "shorter than a header");
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 68, &rd, &err), &err, "login response: size");
}

/* A name field filled to its end is a bad name (TCPSHM_E_NAME, the server
 * answers it with status 2), not a malformed message; the other name is
 * still decoded and the bad one left "". */
static void assert_name_refused(int rc, const tcpshm_error *err, const char *want)
{
    cr_assert_eq(rc, TCPSHM_E_NAME, "rc %d, expected TCPSHM_E_NAME (%s)", rc, err->text);
    cr_assert_eq(err->code, TCPSHM_E_NAME);
    cr_assert_not_null(strstr(err->text, want), "error text \"%s\" does not say \"%s\"", err->text,
                       want);
}

Test(login, decode_refuses_unterminated_client_name)
{
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    memset(msg + 8 + 10, 'A', 16);
    tcpshm_login d;
    tcpshm_error err = {0};
    assert_name_refused(tcpshm_login_decode(&c, msg, 56, &d, &err), &err,
                        "login: client name is not NUL-terminated within 16 bytes");
    cr_assert_str_eq(d.client_name, "");
    cr_assert_str_eq(d.last_server_name, sample_login().last_server_name);
}

Test(login, decode_refuses_unterminated_last_server_name)
{
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    memset(msg + 8 + 26, 'B', 16);
    tcpshm_login d;
    tcpshm_error err = {0};
    assert_name_refused(tcpshm_login_decode(&c, msg, 56, &d, &err), &err,
                        "login: last server name is not NUL-terminated within 16 bytes");
    cr_assert_str_eq(d.client_name, sample_login().client_name);
    cr_assert_str_eq(d.last_server_name, "");
}

Test(login, decode_reports_the_client_name_first_when_both_are_unterminated)
{
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    memset(msg + 8 + 10, 'A', 32);
    tcpshm_login d;
    tcpshm_error err = {0};
    assert_name_refused(tcpshm_login_decode(&c, msg, 56, &d, &err), &err, "login: client name");
}

Test(login, decode_refuses_use_shm_2)
{
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    msg[8 + 9] = 2;
    tcpshm_login d;
    tcpshm_error err = {0};
    assert_corrupt(tcpshm_login_decode(&c, msg, 56, &d, &err), &err, "login: use_shm is 2, not 0 or 1");
    msg[8 + 9] = 1;
    cr_assert_eq(tcpshm_login_decode(&c, msg, 56, &d, &err), 0, "%s", err.text);
    cr_assert_eq(d.use_shm, 1);
}

Test(login, decode_refuses_unknown_status)
{
    tcpshm_config c = def_cfg();
    uint8_t rsp[72];
    encode_default_rsp(rsp, 3, "srv");
    tcpshm_login_rsp rd;
    tcpshm_error err = {0};
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), &err,
                   "login response: unknown status 3");
    rsp[8 + 9] = 0xff;
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), &err,
                   "login response: unknown status 255");
    for (uint8_t st = 0; st <= 2; st++) {
        rsp[8 + 9] = st;
        cr_assert_eq(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), 0, "status %u: %s", st, err.text);
        cr_assert_eq(rd.status, st);
    }
}

Test(login, decode_refuses_empty_server_name_with_status_ok)
{
    tcpshm_config c = def_cfg();
    uint8_t rsp[72];
    encode_default_rsp(rsp, TCPSHM_LOGIN_OK, "");
    tcpshm_login_rsp rd;
    tcpshm_error err = {0};
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), &err,
                   "login response: empty server name");
}

Test(login, decode_refuses_unterminated_response_strings)
{
    tcpshm_config c = def_cfg();
    uint8_t rsp[72];
    encode_default_rsp(rsp, TCPSHM_LOGIN_OK, "srv");
    memset(rsp + 8 + 10, 'S', 16);
    tcpshm_login_rsp rd;
    tcpshm_error err = {0};
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), &err,
                   "login response: server name is not NUL-terminated within 16 bytes");
    encode_default_rsp(rsp, TCPSHM_LOGIN_ERROR, "srv");
    memset(rsp + 8 + 26, 'E', 32);
    assert_corrupt(tcpshm_login_rsp_decode(&c, rsp, 72, &rd, &err), &err,
                   "login response: error message is not NUL-terminated within 32 bytes");
}

Test(login, decode_ignores_padding_content)
{
    /* Padding is not judged (tcpshm does not zero it either). */
    tcpshm_config c = def_cfg();
    uint8_t msg[56];
    encode_default_login(msg);
    memset(msg + 50, 0x99, 6);
    tcpshm_login d;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_login_decode(&c, msg, 56, &d, &err), 0, "%s", err.text);
    cr_assert_str_eq(d.client_name, "alice");
}

/* ---- sequence ranges ---- */

Test(login, seq_in_range_plain_and_wrapped)
{
    cr_assert(tcpshm_seq_in_range(5, 5, 5));
    cr_assert(tcpshm_seq_in_range(5, 3, 9));
    cr_assert(tcpshm_seq_in_range(3, 3, 9));
    cr_assert(tcpshm_seq_in_range(9, 3, 9));
    cr_assert_not(tcpshm_seq_in_range(2, 3, 9));
    cr_assert_not(tcpshm_seq_in_range(10, 3, 9));
    cr_assert_not(tcpshm_seq_in_range(0, 1, 1));
    /* [0xfffffffe, 2] spans the wrap: 0xfffffffe, 0xffffffff, 0, 1, 2 */
    const uint32_t s = 0xfffffffeu, e = 2;
    cr_assert(tcpshm_seq_in_range(0xfffffffeu, s, e));
    cr_assert(tcpshm_seq_in_range(0xffffffffu, s, e));
    cr_assert(tcpshm_seq_in_range(0, s, e));
    cr_assert(tcpshm_seq_in_range(1, s, e));
    cr_assert(tcpshm_seq_in_range(2, s, e));
    cr_assert_not(tcpshm_seq_in_range(3, s, e));
    cr_assert_not(tcpshm_seq_in_range(0xfffffffdu, s, e));
    cr_assert_not(tcpshm_seq_in_range(0x80000000u, s, e));
    /* an empty range at the wrap point */
    cr_assert(tcpshm_seq_in_range(0, 0, 0));
    cr_assert(tcpshm_seq_in_range(0xffffffffu, 0xffffffffu, 0xffffffffu));
    cr_assert_not(tcpshm_seq_in_range(0, 0xffffffffu, 0xffffffffu));
}

Test(login, seq_range_valid_edges)
{
    cr_assert(tcpshm_seq_range_valid(5, 5));                     /* one number */
    cr_assert(tcpshm_seq_range_valid(3, 9));
    cr_assert_not(tcpshm_seq_range_valid(5, 3));                 /* reversed */
    cr_assert_not(tcpshm_seq_range_valid(1, 0));
    cr_assert(tcpshm_seq_range_valid(0xfffffffeu, 2));           /* across the wrap */
    cr_assert_not(tcpshm_seq_range_valid(2, 0xfffffffeu));       /* reversed across it */
    cr_assert(tcpshm_seq_range_valid(0, 0x7fffffffu));           /* 2^31 numbers: the widest */
    cr_assert_not(tcpshm_seq_range_valid(0, 0x80000000u));       /* the 2^31 boundary */
    cr_assert(tcpshm_seq_range_valid(0x80000000u, 0xffffffffu));
    cr_assert_not(tcpshm_seq_range_valid(0x7fffffffu, 0xffffffffu));
    cr_assert(tcpshm_seq_range_valid(0xffffffffu, 0x7ffffffeu));
}

Test(login, seq_in_range_refuses_reversed_and_too_wide_ranges)
{
    /* the unsigned test took [5, 3] as 5..2^32-1, 0..3 */
    cr_assert_not(tcpshm_seq_in_range(0, 5, 3));
    cr_assert_not(tcpshm_seq_in_range(4, 5, 3));
    cr_assert_not(tcpshm_seq_in_range(5, 5, 3));
    cr_assert_not(tcpshm_seq_in_range(3, 5, 3));
    cr_assert_not(tcpshm_seq_in_range(0xffffffffu, 5, 3));
    /* reversed across the wrap */
    cr_assert_not(tcpshm_seq_in_range(0, 2, 0xfffffffeu));
    cr_assert_not(tcpshm_seq_in_range(2, 2, 0xfffffffeu));
    /* at the 2^31 boundary: [0, 2^31 - 1] holds its ends, [0, 2^31] nothing */
    cr_assert(tcpshm_seq_in_range(0, 0, 0x7fffffffu));
    cr_assert(tcpshm_seq_in_range(0x7fffffffu, 0, 0x7fffffffu));
    cr_assert_not(tcpshm_seq_in_range(0x80000000u, 0, 0x7fffffffu));
    cr_assert_not(tcpshm_seq_in_range(0, 0, 0x80000000u));
    cr_assert_not(tcpshm_seq_in_range(0x80000000u, 0, 0x80000000u));
    cr_assert_not(tcpshm_seq_in_range(0x40000000u, 0, 0x80000000u));
}

Test(login, seq_ranges_consistent_refuses_a_reversed_peer_range)
{
    /* server [0, 0] my_ack 0; a client saying [5, 3] with ack 0 (issue 13) */
    cr_assert_not(tcpshm_seq_ranges_consistent(0, 0, 0, 5, 3, 0));
    /* and a reversed own range is not a range either */
    cr_assert_not(tcpshm_seq_ranges_consistent(5, 3, 0, 0, 0, 0));
}

Test(login, seq_ranges_consistent_each_side)
{
    /* my queue [10, 20], peer acked 15; peer queue [3, 7], I acked 5 */
    cr_assert(tcpshm_seq_ranges_consistent(10, 20, 15, 3, 7, 5));
    cr_assert(tcpshm_seq_ranges_consistent(10, 20, 10, 3, 7, 3));
    cr_assert(tcpshm_seq_ranges_consistent(10, 20, 20, 3, 7, 7));
    cr_assert(tcpshm_seq_ranges_consistent(0, 0, 0, 0, 0, 0));
    /* the peer's ack outside my range, either way */
    cr_assert_not(tcpshm_seq_ranges_consistent(10, 20, 9, 3, 7, 5));
    cr_assert_not(tcpshm_seq_ranges_consistent(10, 20, 21, 3, 7, 5));
    /* my ack outside the peer's range, either way */
    cr_assert_not(tcpshm_seq_ranges_consistent(10, 20, 15, 3, 7, 2));
    cr_assert_not(tcpshm_seq_ranges_consistent(10, 20, 15, 3, 7, 8));
    /* the argument order matters: swapping the two acks breaks it */
    cr_assert_not(tcpshm_seq_ranges_consistent(10, 20, 5, 3, 7, 15));
    /* wrap-around on both sides */
    cr_assert(tcpshm_seq_ranges_consistent(0xfffffffeu, 2, 0xffffffffu, 0xfffffff0u, 5, 1));
    cr_assert(tcpshm_seq_ranges_consistent(0xfffffffeu, 2, 2, 0xfffffff0u, 5, 0xfffffff0u));
    cr_assert_not(tcpshm_seq_ranges_consistent(0xfffffffeu, 2, 3, 0xfffffff0u, 5, 1));
    cr_assert_not(tcpshm_seq_ranges_consistent(0xfffffffeu, 2, 0xfffffffdu, 0xfffffff0u, 5, 1));
    cr_assert_not(tcpshm_seq_ranges_consistent(0xfffffffeu, 2, 0, 0xfffffff0u, 5, 6));
    cr_assert_not(tcpshm_seq_ranges_consistent(0xfffffffeu, 2, 0, 0xfffffff0u, 5, 0xffffffefu));
}

/* ---- configuration check ---- */

typedef void (*mutate_fn)(tcpshm_config *c);

static void check_rejects(mutate_fn f, const char *field, const char *detail)
{
    tcpshm_config c = def_cfg();
    f(&c);
    tcpshm_error err;
    memset(&err, 0, sizeof err);
    int rc = tcpshm_config_check(&c, &err);
    cr_assert_eq(rc, TCPSHM_E_CONFIG, "bad %s accepted (rc %d)", field, rc);
    cr_assert_eq(err.code, TCPSHM_E_CONFIG);
    cr_assert_not_null(strstr(err.text, field), "text \"%s\" does not name %s", err.text, field);
    if (detail)
        cr_assert_not_null(strstr(err.text, detail), "text \"%s\" does not say \"%s\"", err.text,
                           detail);
}

static void name_size_1(tcpshm_config *c) { c->name_size = 1; }
static void name_size_65(tcpshm_config *c) { c->name_size = TCPSHM_NAME_MAX + 2; }
static void login_ud_0(tcpshm_config *c) { c->login_user_data_size = 0; }
static void login_ud_257(tcpshm_config *c) { c->login_user_data_size = TCPSHM_MAX_USER_DATA + 1; }
static void rsp_ud_0(tcpshm_config *c) { c->login_rsp_user_data_size = 0; }
static void rsp_ud_257(tcpshm_config *c) { c->login_rsp_user_data_size = TCPSHM_MAX_USER_DATA + 1; }
static void max_msg_below_login(tcpshm_config *c) { c->max_msg_size = 64; }
static void max_msg_huge(tcpshm_config *c) { c->max_msg_size = 65544; c->queue_size = 1u << 20; c->recv_buf_size = 1u << 20; }
static void max_msg_odd(tcpshm_config *c) { c->max_msg_size = 4092; }
static void queue_small(tcpshm_config *c) { c->queue_size = c->max_msg_size - 8; }
static void queue_huge(tcpshm_config *c) { c->queue_size = (1u << 30) + 8; }
static void queue_odd(tcpshm_config *c) { c->queue_size = (1u << 20) + 4; }
static void recv_small(tcpshm_config *c) { c->recv_buf_size = c->max_msg_size - 8; }
static void recv_huge(tcpshm_config *c) { c->recv_buf_size = (1u << 30) + 8; }
static void recv_odd(tcpshm_config *c) { c->recv_buf_size = (1u << 16) + 4; }
static void hb_zero(tcpshm_config *c) { c->heartbeat_interval = 0; }
static void hb_negative(tcpshm_config *c) { c->heartbeat_interval = -5; }
static void timeout_eq_hb(tcpshm_config *c) { c->connection_timeout = c->heartbeat_interval; }
static void new_conn_zero(tcpshm_config *c) { c->new_conn_timeout = 0; }
static void new_conn_negative(tcpshm_config *c) { c->new_conn_timeout = -1; }
static void max_new_zero(tcpshm_config *c) { c->max_new_conns = 0; }
static void accepts_zero(tcpshm_config *c) { c->accepts_per_poll = 0; }
static void groups_zero(tcpshm_config *c) { c->tcp_groups = 0; }
static void groups_huge(tcpshm_config *c) { c->tcp_groups = 1025; }
static void per_group_zero(tcpshm_config *c) { c->tcp_conns_per_group = 0; }
static void file_mode_bad(tcpshm_config *c) { c->file_mode = 01600; }

Test(login, config_check_accepts_default)
{
    tcpshm_config c = def_cfg();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_config_check(&c, &err), 0, "%s", err.text);
    cr_assert_eq(c.name_size, 16);
    cr_assert_eq(c.login_user_data_size, 1);
    cr_assert_eq(c.login_rsp_user_data_size, 1);
    cr_assert(c.little_endian);
    c.file_mode = 0;
    cr_assert_eq(tcpshm_config_check(&c, &err), 0, "file_mode 0 means 0600: %s", err.text);
    c.max_msg_size = 72; /* exactly the padded login response */
    c.queue_size = 72;
    c.recv_buf_size = 72;
    cr_assert_eq(tcpshm_config_check(&c, &err), 0, "the smallest sizes: %s", err.text);
}

Test(login, config_check_rejects_each_bad_field)
{
    check_rejects(name_size_1, "name_size", "[2, 64]");
    check_rejects(name_size_65, "name_size", "65");
    check_rejects(login_ud_0, "login_user_data_size", NULL);
    check_rejects(login_ud_257, "login_user_data_size", "257");
    check_rejects(rsp_ud_0, "login_rsp_user_data_size", NULL);
    check_rejects(rsp_ud_257, "login_rsp_user_data_size", "257");
    check_rejects(max_msg_below_login, "max_msg_size", "64");
    check_rejects(max_msg_huge, "max_msg_size", "65544");
    check_rejects(max_msg_odd, "max_msg_size", "multiple of 8");
    check_rejects(queue_small, "queue_size", NULL);
    check_rejects(queue_huge, "queue_size", NULL);
    check_rejects(queue_odd, "queue_size", "multiple of 8");
    check_rejects(recv_small, "recv_buf_size", NULL);
    check_rejects(recv_huge, "recv_buf_size", NULL);
    check_rejects(recv_odd, "recv_buf_size", "multiple of 8");
    check_rejects(hb_zero, "heartbeat_interval", NULL);
    check_rejects(hb_negative, "heartbeat_interval", NULL);
    check_rejects(timeout_eq_hb, "connection_timeout", NULL);
    check_rejects(new_conn_zero, "new_conn_timeout", NULL);
    check_rejects(new_conn_negative, "new_conn_timeout", NULL);
    check_rejects(max_new_zero, "max_new_conns", NULL);
    check_rejects(accepts_zero, "accepts_per_poll", NULL);
    check_rejects(groups_zero, "tcp_groups", NULL);
    check_rejects(groups_huge, "tcp_groups", "1025");
    check_rejects(per_group_zero, "tcp_conns_per_group", NULL);
    check_rejects(file_mode_bad, "file_mode", "1600");
}

Test(login, config_check_max_msg_follows_login_size)
{
    /* With wide names and user data the login grows; max_msg_size must hold it. */
    tcpshm_config c = def_cfg();
    c.name_size = 64;
    c.login_user_data_size = 256;
    c.max_msg_size = 256;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_config_check(&c, &err), TCPSHM_E_CONFIG);
    cr_assert_not_null(strstr(err.text, "max_msg_size"), "%s", err.text);
    c.max_msg_size = tcpshm_padded_size(tcpshm_login_size(&c));
    cr_assert_eq(tcpshm_config_check(&c, &err), 0, "%s", err.text);
}

/* ---- SHM logins: who counts as a local peer (peer_addr.c) ---- */
#include "peer_addr.h"

Test(login, shm_peer_is_local_loopback_or_own_address)
{
    /* loopback, v4 (the whole 127/8), v6, v4 mapped into v6 */
    cr_assert(tcpshm_peer_is_local("127.0.0.1", "127.0.0.1"));
    cr_assert(tcpshm_peer_is_local("10.0.0.1", "127.0.0.1"));
    cr_assert(tcpshm_peer_is_local("10.0.0.1", "127.1.2.3"));
    cr_assert(tcpshm_peer_is_local("::1", "::1"));
    cr_assert(tcpshm_peer_is_local("fe80::1", "::1"));
    cr_assert(tcpshm_peer_is_local("::ffff:10.0.0.1", "::ffff:127.0.0.1"));
    cr_assert(tcpshm_peer_is_local("::ffff:10.0.0.1", "::FFFF:127.0.0.1"));
    /* the socket's own address: the peer is this host on a non-loopback interface */
    cr_assert(tcpshm_peer_is_local("10.0.0.1", "10.0.0.1"));
    cr_assert(tcpshm_peer_is_local("2001:db8::5", "2001:db8::5"));
    cr_assert(tcpshm_peer_is_local("2001:DB8::5", "2001:db8::5"));
    /* another host */
    cr_assert_not(tcpshm_peer_is_local("10.0.0.1", "10.0.0.2"));
    cr_assert_not(tcpshm_peer_is_local("10.0.0.1", "10.0.0.10"));
    cr_assert_not(tcpshm_peer_is_local("10.0.0.10", "10.0.0.1"));
    cr_assert_not(tcpshm_peer_is_local("2001:db8::5", "2001:db8::6"));
    cr_assert_not(tcpshm_peer_is_local("::1", "::10"));
    cr_assert_not(tcpshm_peer_is_local("127.0.0.1", "128.0.0.1"));
    cr_assert_not(tcpshm_peer_is_local("10.0.0.1", "1.127.0.0"));
    cr_assert_not(tcpshm_peer_is_local("::ffff:10.0.0.1", "::ffff:10.0.0.2"));
    /* nothing known, or unspecified addresses */
    cr_assert_not(tcpshm_peer_is_local("10.0.0.1", ""));
    cr_assert_not(tcpshm_peer_is_local("10.0.0.1", NULL));
    cr_assert_not(tcpshm_peer_is_local(NULL, "10.0.0.1"));
    cr_assert_not(tcpshm_peer_is_local("0.0.0.0", "0.0.0.0"));
    cr_assert_not(tcpshm_peer_is_local("::", "::"));
}
