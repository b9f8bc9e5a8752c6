#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm_pair.h"

int shm_pair_open(shm_pair *p, uint32_t capacity, uint32_t max_msg)
{
    memset(p, 0, sizeof *p);
    static unsigned serial;
    snprintf(p->c2s, sizeof p->c2s, "/tcpshm_bench%ld_%u_c2s", (long)getpid(), serial);
    snprintf(p->s2c, sizeof p->s2c, "/tcpshm_bench%ld_%u_s2c", (long)getpid(), serial++);
    const tcpshm_env *env = tcpshm_env_posix();
    tcpshm_error err = {0};
    if (tcpshm_shm_queue_open(&p->c2s_prod, env, p->c2s,
                              &(tcpshm_shm_queue_config){.capacity = capacity, .max_msg_size = max_msg,
                                                         .producer = true, .create = true, .mode = 0600},
                              &err) ||
        (p->opened = 1,
         tcpshm_shm_queue_open(&p->c2s_cons, env, p->c2s,
                               &(tcpshm_shm_queue_config){.capacity = capacity, .max_msg_size = max_msg,
                                                          .mode = 0600}, &err)) ||
        (p->opened = 2,
         tcpshm_shm_queue_open(&p->s2c_prod, env, p->s2c,
                               &(tcpshm_shm_queue_config){.capacity = capacity, .max_msg_size = max_msg,
                                                          .producer = true, .create = true, .mode = 0600},
                               &err)) ||
        (p->opened = 3,
         tcpshm_shm_queue_open(&p->s2c_cons, env, p->s2c,
                               &(tcpshm_shm_queue_config){.capacity = capacity, .max_msg_size = max_msg,
                                                          .mode = 0600}, &err))) {
        fprintf(stderr, "tcpshm-bench: shm queue: %s\n", err.text);
        shm_pair_close(p);
        return -1;
    }
    p->opened = 4;
    return 0;
}

void shm_pair_close(shm_pair *p)
{
    tcpshm_shm_queue *q[4] = {&p->c2s_prod, &p->c2s_cons, &p->s2c_prod, &p->s2c_cons};
    for (int i = 0; i < p->opened; i++)
        tcpshm_shm_queue_close(q[i]);
    p->opened = 0;
    if (p->c2s[0])
        (void)shm_unlink(p->c2s);
    if (p->s2c[0])
        (void)shm_unlink(p->s2c);
}
