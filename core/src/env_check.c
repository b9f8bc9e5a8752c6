/* tcpshm_env_check(): see env_check.h. */
#include "env_check.h"
#include "error_set.h"

int tcpshm_env_check(const tcpshm_env *env, tcpshm_error *err)
{
    if (env->version >= 1u && env->version <= TCPSHM_ENV_VERSION)
        return 0;
    return tcpshm_fail(err, TCPSHM_E_ARG, 0,
                       "env version %u is unknown to this library (it accepts 1 to %u): "
                       "set the env's version to TCPSHM_ENV_VERSION",
                       env->version, TCPSHM_ENV_VERSION);
}

int tcpshm_env_check_durable(const tcpshm_env *env, bool host, tcpshm_error *err)
{
    if (!host || env->version >= 2u)
        return 0;
    return tcpshm_fail(err, TCPSHM_E_ARG, 0,
                       "durability \"host\" needs an env of version 2 or later (map_sync, "
                       "file_sync, dir_sync); this env has version %u",
                       env->version);
}

bool tcpshm_env_has_epoll(const tcpshm_env *env)
{
    return env->version >= 3u && env->epoll_create && env->epoll_ctl && env->epoll_wait;
}
