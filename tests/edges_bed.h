/* The bed the edges suites on venv share (test_edges_client, _conn, _env,
 * _server; test_edges_alloc takes the config): a venv with 4 KiB streams
 * and ephemeral ports from 5000, and a config with small buffers. */
#ifndef TCPSHM_TESTS_EDGES_BED_H
#define TCPSHM_TESTS_EDGES_BED_H

#include "tcpshm/config.h"
#include "tcpshm/env.h"
#include "venv.h"

/* Creates the venv (asserting that it was) and copies its env to *env. */
venv *edges_venv(tcpshm_env *env);

/* The defaults with a 4 KiB receive buffer and SHM queue and 256-byte
 * messages; the queue file's size stays the suite's. */
void edges_config(tcpshm_config *cfg);

#endif
