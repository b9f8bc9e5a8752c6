/* A state directory too long for the library's paths is refused at create
 * (core/src/dir_check.c), not at every login after it:
 *   client_dir_at_the_limit      the longest directory whose paths fit is
 *       accepted; one byte more is TCPSHM_E_ARG and creates nothing (before,
 *       create took it: its lock path fits, and every login then failed with
 *       "lastserver path too long")
 *   server_dir_at_the_limit      the same for a server, whose longest path is
 *       a pair's queue file with a client of the longest name
 *   longer_names_need_more_room  the limit follows the config's name_size */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

#include "tcpshm/client.h"
#include "tcpshm/server.h"
#include "venv.h"

#define PATH_SIZE 4096u /* the library's path buffers, NUL included */

static void count_entry(void *user, const char *path, bool is_dir, size_t size)
{
    (void)path;
    (void)is_dir;
    (void)size;
    (*(size_t *)user)++;
}

static size_t entries(const venv *v)
{
    size_t n = 0;
    venv_list(v, count_entry, &n);
    return n;
}

/* A one-component directory name of len bytes. */
static char *dir_of(size_t len)
{
    static char d[PATH_SIZE + 8];
    cr_assert_lt(len, sizeof d);
    memset(d, 'd', len);
    d[len] = '\0';
    return d;
}

/* The longest path the library makes for local in a directory of dlen
 * bytes: <dir>/<local>_<peer>.ptcp.tmp with the longest peer name, or a
 * client's <dir>/<local>.lastserver.tmp. */
static size_t longest(size_t dlen, const char *local, uint32_t name_size, bool client)
{
    size_t queue = 1 + (name_size - 1) + strlen(".ptcp.tmp");
    size_t record = client ? strlen(".lastserver.tmp") : 0;
    return dlen + 1 + strlen(local) + (queue > record ? queue : record);
}

static size_t limit_dir(const char *local, uint32_t name_size, bool client)
{
    size_t dlen = PATH_SIZE - 1 - longest(0, local, name_size, client);
    cr_assert_eq(longest(dlen, local, name_size, client), PATH_SIZE - 1);
    return dlen;
}

static void check_client(const char *name, uint32_t name_size)
{
    venv *v = venv_create(NULL);
    cr_assert_not_null(v);
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.name_size = name_size;
    size_t at = limit_dir(name, name_size, true);
    tcpshm_error err;
    tcpshm_client *cl = NULL;
    int rc = tcpshm_client_create(&cl, &cfg, venv_env(v), name, dir_of(at + 1), NULL, &err);
    cr_assert_eq(rc, TCPSHM_E_ARG, "name_size %u, a directory of %zu bytes: rc %d (%s), want TCPSHM_E_ARG",
                 name_size, at + 1, rc, rc ? err.text : "created");
    cr_assert_not_null(strstr(err.text, "directory path too long"), "%s", err.text);
    cr_assert_null(cl);
    cr_assert_eq(entries(v), 0, "a refused create made %zu files or directories", entries(v));
    rc = tcpshm_client_create(&cl, &cfg, venv_env(v), name, dir_of(at), NULL, &err);
    cr_assert_eq(rc, 0, "name_size %u, a directory of %zu bytes (its paths fit): %s", name_size, at, err.text);
    tcpshm_client_destroy(cl);
    venv_destroy(v);
}

Test(dir_check, client_dir_at_the_limit)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    check_client("alice", cfg.name_size);
}

Test(dir_check, server_dir_at_the_limit)
{
    venv *v = venv_create(NULL);
    cr_assert_not_null(v);
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    size_t at = limit_dir("srv", cfg.name_size, false);
    tcpshm_error err;
    tcpshm_server *s = NULL;
    int rc = tcpshm_server_create(&s, &cfg, venv_env(v), "srv", dir_of(at + 1), NULL, &err);
    cr_assert_eq(rc, TCPSHM_E_ARG, "a directory of %zu bytes: rc %d (%s), want TCPSHM_E_ARG", at + 1, rc,
                 rc ? err.text : "created");
    cr_assert_null(s);
    cr_assert_eq(entries(v), 0, "a refused create made %zu files or directories", entries(v));
    rc = tcpshm_server_create(&s, &cfg, venv_env(v), "srv", dir_of(at), NULL, &err);
    cr_assert_eq(rc, 0, "a directory of %zu bytes (its paths fit): %s", at, err.text);
    tcpshm_server_destroy(s);
    venv_destroy(v);
}

Test(dir_check, longer_names_need_more_room)
{
    check_client("a", 2);
    check_client("alice", 64);
}
