/* The version check of an env passed in (server and client create, queue
 * open), as SQLite checks a VFS's iVersion. */
#ifndef TCPSHM_ENV_CHECK_H
#define TCPSHM_ENV_CHECK_H

#include "tcpshm/env.h"
#include "tcpshm/error.h"

/* 0 if this library knows env's layout (version 1 .. TCPSHM_ENV_VERSION),
 * else TCPSHM_E_ARG saying which version it has and which are accepted. */
int tcpshm_env_check(const tcpshm_env *env, tcpshm_error *err);

#endif
