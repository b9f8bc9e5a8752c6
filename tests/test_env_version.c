/* The env's version field (tcpshm/env.h): every call that takes an env —
 * server and client create, both queue opens — refuses one whose version
 * the library does not know (0: never set, or newer than TCPSHM_ENV_VERSION)
 * with TCPSHM_E_ARG, before calling any of its members, and accepts the
 * current version. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "tcpshm/client.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/server.h"
#include "tcpshm/shm_queue.h"

/* Versions no library of this layout knows. */
static const uint32_t bad_versions[] = {0u, TCPSHM_ENV_VERSION + 1u, 0xffffffffu};
#define NBAD (sizeof bad_versions / sizeof bad_versions[0])

/* An env of the given version whose members are all NULL: any call into it
 * would crash, so a refusal proves that nothing was called first. */
static tcpshm_env null_env(uint32_t version)
{
    tcpshm_env e;
    memset(&e, 0, sizeof e);
    e.version = version;
    return e;
}

static void assert_refused(int rc, const tcpshm_error *err, uint32_t version)
{
    cr_assert_eq(rc, TCPSHM_E_ARG, "version %u: rc %d", version, rc);
    cr_assert_eq(err->code, TCPSHM_E_ARG);
    char want[64];
    snprintf(want, sizeof want, "env version %u ", version);
    cr_assert(strstr(err->text, want) && strstr(err->text, "TCPSHM_ENV_VERSION"),
              "version %u: error text '%s'", version, err->text);
}

Test(env_version, the_posix_env_has_the_current_version)
{
    cr_assert_eq(tcpshm_env_posix()->version, TCPSHM_ENV_VERSION);
}

Test(env_version, server_create_refuses_an_unknown_version)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    for (size_t i = 0; i < NBAD; i++) {
        tcpshm_env e = null_env(bad_versions[i]);
        tcpshm_server *s = (tcpshm_server *)&e; /* must be reset to NULL */
        tcpshm_error err = {0};
        assert_refused(tcpshm_server_create(&s, &cfg, &e, "srv", "/nonexistent", NULL, &err), &err,
                       bad_versions[i]);
        cr_assert_null(s);
    }
    /* The current version (a copy of the real OS) and NULL (the real OS). */
    tcpshm_env ok = *tcpshm_env_posix();
    const tcpshm_env *good[] = {&ok, NULL};
    for (size_t i = 0; i < 2; i++) {
        tcpshm_server *s = NULL;
        tcpshm_error err = {0};
        cr_assert_eq(tcpshm_server_create(&s, &cfg, good[i], "srv", "/nonexistent", NULL, &err), 0,
                     "%s", err.text);
        cr_assert_not_null(s);
        tcpshm_server_destroy(s);
    }
}

Test(env_version, client_create_refuses_an_unknown_version)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    for (size_t i = 0; i < NBAD; i++) {
        tcpshm_env e = null_env(bad_versions[i]);
        tcpshm_client *cl = (tcpshm_client *)&e;
        tcpshm_error err = {0};
        assert_refused(tcpshm_client_create(&cl, &cfg, &e, "cli", "/nonexistent", NULL, &err), &err,
                       bad_versions[i]);
        cr_assert_null(cl);
    }
    tcpshm_env ok = *tcpshm_env_posix();
    tcpshm_client *cl = NULL;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, &ok, "cli", "/nonexistent", NULL, &err), 0, "%s",
                 err.text);
    tcpshm_client_destroy(cl);
}

Test(env_version, queue_opens_refuse_an_unknown_version)
{
    tcpshm_ptcp_queue_config pc = {.capacity = 4096, .max_msg_size = 256, .little_endian = true};
    tcpshm_shm_queue_config sc = {.capacity = 4096, .max_msg_size = 256, .producer = true, .create = true};
    for (size_t i = 0; i < NBAD; i++) {
        tcpshm_env e = null_env(bad_versions[i]);
        tcpshm_ptcp_queue pq;
        tcpshm_error err = {0};
        assert_refused(tcpshm_ptcp_queue_open(&pq, &e, "/nonexistent", "a", "b", &pc, &err), &err,
                       bad_versions[i]);
        tcpshm_shm_queue sq;
        memset(&err, 0, sizeof err);
        assert_refused(tcpshm_shm_queue_open(&sq, &e, "/tcpshm_envversion_test", &sc, &err), &err,
                       bad_versions[i]);
    }
}
