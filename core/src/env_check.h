/* The version check of an env passed in (server and client create, queue
 * open), as SQLite checks a VFS's iVersion. */
#ifndef TCPSHM_ENV_CHECK_H
#define TCPSHM_ENV_CHECK_H

#include <stdbool.h>

#include "tcpshm/env.h"
#include "tcpshm/error.h"

/* 0 if this library knows env's layout (version 1 .. TCPSHM_ENV_VERSION),
 * else TCPSHM_E_ARG saying which version it has and which are accepted. */
int tcpshm_env_check(const tcpshm_env *env, tcpshm_error *err);

/* 0 unless host is set and env has no stable-storage calls (version < 2):
 * then TCPSHM_E_ARG saying that durability "host" needs them. */
int tcpshm_env_check_durable(const tcpshm_env *env, bool host, tcpshm_error *err);

/* Whether env has the readiness calls (version 3 and all three set): a
 * server without them polls every TCP connection of a group directly. */
bool tcpshm_env_has_epoll(const tcpshm_env *env);

#endif
