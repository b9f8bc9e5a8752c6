/* The edges suites' shared bed (edges_bed.h). */
#include "edges_bed.h"

#include <criterion/criterion.h>

venv *edges_venv(tcpshm_env *env)
{
    venv_options o = {.stream_capacity = 4096, .first_ephemeral_port = 5000};
    venv *v = venv_create(&o);
    cr_assert_not_null(v);
    *env = *venv_env(v);
    return v;
}

void edges_config(tcpshm_config *cfg)
{
    tcpshm_config_default(cfg);
    cfg->recv_buf_size = 4096;
    cfg->max_msg_size = 256;
    cfg->shm_queue_size = 4096;
}
