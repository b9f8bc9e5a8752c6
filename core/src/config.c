#include "error_set.h"
#include "tcpshm/config.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"
#include "tcpshm/names.h"
#include "tcpshm/ptcp_queue.h"

void tcpshm_config_default(tcpshm_config *c)
{
    *c = (tcpshm_config){
        .name_size = 16,
        .login_user_data_size = 1,
        .login_rsp_user_data_size = 1,
        .little_endian = true,
        .queue_size = 1u << 20,
        .recv_buf_size = 1u << 16,
        .max_msg_size = 4096,
        .heartbeat_interval = 1000000000,
        .connection_timeout = 10000000000,
        .new_conn_timeout = 3000000000,
        .ctl_interval = 10000000,
        .tcp_nodelay = true,
        .max_new_conns = 8,
        .accepts_per_poll = 4,
        .tcp_groups = 1,
        .tcp_conns_per_group = 16,
        .shm_groups = 1,
        .shm_conns_per_group = 16,
        .shm_queue_size = 1u << 20,
        .file_mode = 0600,
        .durability = TCPSHM_DURABILITY_PROCESS,
    };
}

#define RANGE(field, lo, hi)                                                                  \
    if ((uint64_t)(c->field) < (uint64_t)(lo) || (uint64_t)(c->field) > (uint64_t)(hi))      \
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0, "config: " #field " %llu is outside [%llu, %llu]", \
                           (unsigned long long)(c->field), (unsigned long long)(lo),          \
                           (unsigned long long)(hi));

int tcpshm_config_check(const tcpshm_config *c, tcpshm_error *err)
{
    RANGE(name_size, 2, TCPSHM_NAME_MAX + 1);
    RANGE(login_user_data_size, 1, TCPSHM_MAX_USER_DATA);
    RANGE(login_rsp_user_data_size, 1, TCPSHM_MAX_USER_DATA);
    uint32_t login_min = tcpshm_padded_size(tcpshm_login_size(c));
    uint32_t rsp = tcpshm_padded_size(tcpshm_login_rsp_size(c));
    if (rsp > login_min)
        login_min = rsp;
    RANGE(max_msg_size, login_min, TCPSHM_MAX_PADDED_MSG_SIZE);
    if (c->max_msg_size % 8)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0, "config: max_msg_size %u is not a multiple of 8",
                           c->max_msg_size);
    RANGE(queue_size, c->max_msg_size, TCPSHM_PTCP_MAX_CAPACITY);
    if (c->queue_size % 8)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0, "config: queue_size %u is not a multiple of 8",
                           c->queue_size);
    RANGE(recv_buf_size, c->max_msg_size, 1u << 30);
    if (c->recv_buf_size % 8)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0, "config: recv_buf_size %u is not a multiple of 8",
                           c->recv_buf_size);
    RANGE(heartbeat_interval, 1, INT64_MAX / 2);
    RANGE(connection_timeout, c->heartbeat_interval + 1, INT64_MAX);
    RANGE(new_conn_timeout, 1, INT64_MAX);
    if (c->ctl_interval < 0 || c->ctl_interval > INT64_MAX / 2) /* RANGE's 0 would be always true */
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0, "config: ctl_interval %lld is outside [0, %lld]",
                           (long long)c->ctl_interval, (long long)(INT64_MAX / 2));
    RANGE(max_new_conns, 1, 65536);
    RANGE(accepts_per_poll, 1, 65536);
    RANGE(tcp_groups, 1, 1024);
    RANGE(tcp_conns_per_group, 1, 65536);
    RANGE(shm_groups, 0, 1024);
    RANGE(shm_conns_per_group, 1, 65536);
    RANGE(shm_queue_size, 2 * (c->max_msg_size + 8), 1u << 30);
    if (c->shm_queue_size % 8)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0, "config: shm_queue_size %u is not a multiple of 8",
                           c->shm_queue_size);
    if (c->file_mode & ~0777u)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0, "config: file_mode %o has bits beyond 0777",
                           c->file_mode);
    if (c->durability != TCPSHM_DURABILITY_PROCESS && c->durability != TCPSHM_DURABILITY_HOST)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0,
                           "config: durability %u is neither 0 (process) nor 1 (host)",
                           (unsigned)c->durability);
    return 0;
}
