/* Runtime configuration of a server or client, validated at create time. */
#ifndef TCPSHM_CONFIG_H
#define TCPSHM_CONFIG_H

#include "tcpshm/export.h"

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest peer name any configuration may use (name_size <= this + 1). */
#define TCPSHM_NAME_MAX 63u
/* Widest login / login-response user data a configuration may choose. */
#define TCPSHM_MAX_USER_DATA 256u

/* What a pushed message and a popped one survive (docs/design.md,
 * "Durability"). process: the death of either process (the queues are
 * shared mappings the kernel keeps); no sync, tcpshm's behaviour. host: also
 * a power cut or host crash: a push returns only after the message and the
 * queue's record are on stable storage, a pop is synced before any ack that
 * covers it is sent, and the client's .lastserver record is synced before
 * and after its rename. Needs an env of version 2 or later; SHM logins are
 * refused (their segments are RAM). */
typedef enum tcpshm_durability {
    TCPSHM_DURABILITY_PROCESS = 0,
    TCPSHM_DURABILITY_HOST = 1,
} tcpshm_durability;

typedef struct tcpshm_config {
    /* Wire compatibility with tcpshm's default configuration needs name_size
     * 16, both user-data sizes 1 and little-endian. */
    uint32_t name_size;                /* bytes of a name field, NUL included; [2, 64] */
    uint32_t login_user_data_size;     /* [1, TCPSHM_MAX_USER_DATA] */
    uint32_t login_rsp_user_data_size; /* [1, TCPSHM_MAX_USER_DATA] */
    bool little_endian;                /* byte order of every wire integer */

    uint32_t queue_size;    /* persistent send queue capacity in bytes, per connection */
    uint32_t recv_buf_size; /* receive buffer per connection, >= max_msg_size */
    uint32_t max_msg_size;  /* largest padded message accepted or sent, [80, TCPSHM_MAX_PADDED_MSG_SIZE] */

    /* Times are in the caller's units (whatever `now` is passed in, e.g. ns). */
    int64_t heartbeat_interval; /* send a heartbeat after this long without sending */
    int64_t connection_timeout; /* close with "Timeout" after this long without receiving */
    int64_t new_conn_timeout;   /* server: drop a connection not logged in after this long */
    /* The control plane's granularity: the server's accept() and the socket
     * of an SHM connection (the peer's heartbeats and close; our heartbeat
     * and timeout are also checked when due) are looked at once per this
     * long of `now` at most, so that between two such times a poll over SHM
     * makes no system call. Used as min(ctl_interval, heartbeat_interval / 4);
     * 0: at every poll. A login waits up to this long to be accepted and a
     * peer's close over SHM is noticed up to this long later. TCP
     * connections and logins in progress are polled at every call. */
    int64_t ctl_interval;

    bool tcp_nodelay;

    /* Server only. */
    uint32_t max_new_conns;     /* connections accepted but not yet logged in, at once */
    uint32_t accepts_per_poll;  /* accept() calls per poll_ctl at most */
    uint32_t tcp_groups;        /* number of TCP connection groups, >= 1 */
    uint32_t tcp_conns_per_group; /* client slots per group, >= 1; a group of more than
                                     64 polls with readiness (epoll, env version 3):
                                     docs/design.md "Readiness polling" */
    uint32_t shm_groups;          /* SHM connection groups; 0: logins with use_shm refused */
    uint32_t shm_conns_per_group; /* client slots per SHM group, >= 1 */
    /* Both sides. */
    uint32_t shm_queue_size; /* bytes of each direction's shared-memory queue;
                                both peers must agree (a segment of another
                                capacity is refused) */

    unsigned file_mode; /* permissions of new files and shm segments; 0 means 0600 */

    tcpshm_durability durability; /* both sides; default TCPSHM_DURABILITY_PROCESS */
} tcpshm_config;

/* tcpshm-compatible defaults: names 16, user data 1/1, little-endian, 1 MiB
 * queue, 64 KiB receive buffer and messages up to 4096 bytes, heartbeat 1 s,
 * timeout 10 s, new-connection timeout 3 s and control-plane interval 10 ms
 * in nanoseconds, TCP_NODELAY on,
 * 1 group of 16 clients, 8 pending logins, 4 accepts per poll; SHM: 1 group
 * of 16 clients, 1 MiB per direction; durability process. */
TCPSHM_API void tcpshm_config_default(tcpshm_config *c);

/* 0, or TCPSHM_E_CONFIG naming the first bad field and its allowed range. */
TCPSHM_API int tcpshm_config_check(const tcpshm_config *c, tcpshm_error *err);

#ifdef __cplusplus
}
#endif
#endif
