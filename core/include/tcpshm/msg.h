/* What an application sees of the messages (docs/protocol.md): the 8-byte
 * header every message starts with, and the login and login response as
 * the server and client callbacks show them. The stream parser and the
 * login codec that produce these are internal (frame.h, login.h). */
#ifndef TCPSHM_MSG_H
#define TCPSHM_MSG_H

#include <stdint.h>

#include "tcpshm/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TCPSHM_HEADER_SIZE 8u
#define TCPSHM_MSG_HEARTBEAT 0u
#define TCPSHM_MSG_LOGIN 1u
#define TCPSHM_MSG_LOGIN_RESPONSE 2u
/* The size field is a u16, so no message is longer than this. */
#define TCPSHM_MAX_MSG_SIZE 65535u
/* The largest max_msg_size any configuration, parser or queue accepts: the
 * largest message padded to 8. The one place the limit is written. */
#define TCPSHM_MAX_PADDED_MSG_SIZE 65536u

/* A header in host byte order. On the wire and in a persisted queue it is
 * encoded in the configured byte order. */
typedef struct tcpshm_msg_header {
    uint16_t size;     /* header + body, not padded */
    uint16_t msg_type; /* 0 heartbeat, 1 login, 2 login response, else application */
    uint32_t ack_seq;  /* sender's ack of the receiver's stream */
} tcpshm_msg_header;

/* Bytes a message of `size` occupies on the stream: rounded up to 8. */
static inline uint32_t tcpshm_padded_size(uint32_t size) { return (size + 7u) & ~7u; }

/* Login response status. */
#define TCPSHM_LOGIN_OK 0u
#define TCPSHM_LOGIN_SEQ_MISMATCH 1u
#define TCPSHM_LOGIN_ERROR 2u
#define TCPSHM_ERROR_MSG_SIZE 32u /* error_msg field of the response, NUL included */

/* A client's login, decoded (the server's on_new_connection sees it). */
typedef struct tcpshm_login {
    uint32_t ack_seq; /* header: the client's ack of the server stream */
    uint32_t client_seq_start, client_seq_end;
    uint8_t user_data[TCPSHM_MAX_USER_DATA];
    uint8_t use_shm;
    char client_name[TCPSHM_NAME_MAX + 1];
    char last_server_name[TCPSHM_NAME_MAX + 1];
} tcpshm_login;

/* The server's response, decoded (the client's callbacks see it). */
typedef struct tcpshm_login_rsp {
    uint32_t ack_seq; /* header: the server's ack of the client stream */
    uint32_t server_seq_start, server_seq_end;
    uint8_t user_data[TCPSHM_MAX_USER_DATA];
    uint8_t status; /* TCPSHM_LOGIN_* */
    char server_name[TCPSHM_NAME_MAX + 1];
    char error_msg[TCPSHM_ERROR_MSG_SIZE];
} tcpshm_login_rsp;

#ifdef __cplusplus
}
#endif
#endif
