/* One process per (state directory, name): <dir>/<name>.lock, taken at
 * client and server create.
 *   second_client_is_refused_and_writes_nothing   two creates in one process
 *       (two opens of the lock file): the second fails with TCPSHM_E_IN_USE
 *       naming our pid, and every byte in the directory stays as it was
 *   second_server_is_refused                       the same for servers
 *   lock_is_free_after_destroy                     destroy releases it
 *   killed_holder_releases_the_lock                a forked child holds it and
 *       is refused to us with its pid; after SIGKILL we get it
 *   venv_killed_owner_releases_the_lock            the simulator's env: a
 *       second owner is refused (pid = the owner id) until venv_kill
 *   lock_failure_point                             tcpshm/file/lock fails the
 *       create as a system error (ENOLCK), not as "in use" */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tcpshm/client.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/server.h"
#include "venv.h"

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/tcpshm-name-lock-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(name_lock, .init = setup, .fini = teardown, .timeout = 60);

static tcpshm_config config(void)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    return cfg;
}

/* Every file of g_dir, names and bytes, as one text (a snapshot). */
static void snapshot(char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    DIR *d = opendir(g_dir);
    cr_assert_not_null(d);
    /* readdir's order is the same for an unchanged directory */
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        at += (size_t)snprintf(out + at, cap - at, "[%s]", e->d_name);
        int c;
        while ((c = fgetc(f)) != EOF && at + 3 < cap)
            at += (size_t)snprintf(out + at, cap - at, "%02x", (unsigned)c);
        fclose(f);
        cr_assert_lt(at + 3, cap, "snapshot buffer too small");
    }
    closedir(d);
}

/* A queue file of the pair (alice, srv) holding one message, as a client
 * that logged in and pushed would leave it. */
static void make_queue_file(const tcpshm_config *cfg)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 64, /* small: snapshots are hex */
                                   .little_endian = cfg->little_endian, .file_mode = 0600};
    tcpshm_ptcp_queue q;
    tcpshm_error err;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), g_dir, "alice", "srv", &qc, &err), 0, "%s",
                 err.text);
    tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(&q, 8);
    cr_assert_not_null(h);
    h->msg_type = 5;
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
}

static void expect_in_use(int rc, const tcpshm_error *err, const char *name, long pid)
{
    cr_assert_eq(rc, TCPSHM_E_IN_USE, "expected 'in use', got %d: %s", rc, err->text);
    char want[64];
    snprintf(want, sizeof want, "in use by another process (pid %ld)", pid);
    cr_assert_not_null(strstr(err->text, want), "'%s' does not say '%s'", err->text, want);
    char lock[80];
    snprintf(lock, sizeof lock, "/%s.lock", name);
    cr_assert_not_null(strstr(err->text, lock), "'%s' does not name the lock file", err->text);
}

Test(name_lock, second_client_is_refused_and_writes_nothing)
{
    tcpshm_config cfg = config();
    make_queue_file(&cfg);
    tcpshm_client *first, *second = NULL;
    tcpshm_error err;
    cr_assert_eq(tcpshm_client_create(&first, &cfg, NULL, "alice", g_dir, NULL, &err), 0, "%s", err.text);
    static char before[1 << 20], after[1 << 20];
    snapshot(before, sizeof before);
    int rc = tcpshm_client_create(&second, &cfg, NULL, "alice", g_dir, NULL, &err);
    expect_in_use(rc, &err, "alice", (long)getpid());
    cr_assert_null(second);
    snapshot(after, sizeof after);
    cr_assert_str_eq(after, before, "the refused client changed the directory");
    /* another name in the same directory is another process's business */
    tcpshm_client *bob;
    cr_assert_eq(tcpshm_client_create(&bob, &cfg, NULL, "bob", g_dir, NULL, &err), 0, "%s", err.text);
    tcpshm_client_destroy(bob);
    tcpshm_client_destroy(first);
}

Test(name_lock, second_server_is_refused)
{
    tcpshm_config cfg = config();
    tcpshm_server *first, *second = NULL;
    tcpshm_error err;
    cr_assert_eq(tcpshm_server_create(&first, &cfg, NULL, "srv", g_dir, NULL, &err), 0, "%s", err.text);
    static char before[1 << 16], after[1 << 16];
    snapshot(before, sizeof before);
    int rc = tcpshm_server_create(&second, &cfg, NULL, "srv", g_dir, NULL, &err);
    expect_in_use(rc, &err, "srv", (long)getpid());
    cr_assert_null(second);
    snapshot(after, sizeof after);
    cr_assert_str_eq(after, before);
    tcpshm_server_destroy(first);
}

Test(name_lock, lock_is_free_after_destroy)
{
    tcpshm_config cfg = config();
    tcpshm_error err;
    for (int i = 0; i < 3; i++) {
        tcpshm_client *cl;
        cr_assert_eq(tcpshm_client_create(&cl, &cfg, NULL, "alice", g_dir, NULL, &err), 0, "round %d: %s", i,
                     err.text);
        tcpshm_client_destroy(cl);
        tcpshm_server *s;
        cr_assert_eq(tcpshm_server_create(&s, &cfg, NULL, "srv", g_dir, NULL, &err), 0, "round %d: %s", i,
                     err.text);
        tcpshm_server_destroy(s);
    }
}

Test(name_lock, killed_holder_releases_the_lock)
{
    tcpshm_config cfg = config();
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    fflush(NULL);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        close(ready[0]);
        tcpshm_client *cl;
        tcpshm_error e;
        if (tcpshm_client_create(&cl, &cfg, NULL, "alice", g_dir, NULL, &e) != 0)
            _exit(3);
        char one = 1;
        if (write(ready[1], &one, 1) != 1)
            _exit(4);
        for (;;)
            pause(); /* holds the lock until killed */
    }
    close(ready[1]);
    char got = 0;
    cr_assert_eq(read(ready[0], &got, 1), 1, "the child did not take the lock");
    close(ready[0]);

    tcpshm_client *cl = NULL;
    tcpshm_error err;
    int rc = tcpshm_client_create(&cl, &cfg, NULL, "alice", g_dir, NULL, &err);
    if (rc != TCPSHM_E_IN_USE)
        kill(child, SIGKILL);
    expect_in_use(rc, &err, "alice", (long)child);

    cr_assert_eq(kill(child, SIGKILL), 0);
    int st;
    cr_assert_eq(waitpid(child, &st, 0), child);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, NULL, "alice", g_dir, NULL, &err), 0,
                 "the dead holder's lock is still there: %s", err.text);
    tcpshm_client_destroy(cl);
}

Test(name_lock, venv_killed_owner_releases_the_lock)
{
    venv *v = venv_create(NULL);
    cr_assert_not_null(v);
    const tcpshm_env *env = venv_env(v);
    tcpshm_config cfg = config();
    tcpshm_error err;
    cr_assert_eq(venv_env(v)->mkdir(env->ctx, "cli", 0700), 0);

    venv_set_owner(v, 7);
    tcpshm_client *first;
    cr_assert_eq(tcpshm_client_create(&first, &cfg, env, "alice", "cli", NULL, &err), 0, "%s", err.text);
    tcpshm_server *srv;
    cr_assert_eq(tcpshm_server_create(&srv, &cfg, env, "srv", "cli", NULL, &err), 0, "%s", err.text);

    venv_set_owner(v, 8);
    tcpshm_client *second = NULL;
    int rc = tcpshm_client_create(&second, &cfg, env, "alice", "cli", NULL, &err);
    expect_in_use(rc, &err, "alice", 7);
    tcpshm_server *srv2 = NULL;
    rc = tcpshm_server_create(&srv2, &cfg, env, "srv", "cli", NULL, &err);
    expect_in_use(rc, &err, "srv", 7);
    /* the same owner (one process, two opens) is refused as well */
    venv_set_owner(v, 7);
    rc = tcpshm_client_create(&second, &cfg, env, "alice", "cli", NULL, &err);
    expect_in_use(rc, &err, "alice", 7);

    venv_kill(v, 7);
    venv_set_owner(v, 8);
    cr_assert_eq(tcpshm_client_create(&second, &cfg, env, "alice", "cli", NULL, &err), 0,
                 "the killed owner's lock is still held: %s", err.text);
    cr_assert_eq(tcpshm_server_create(&srv2, &cfg, env, "srv", "cli", NULL, &err), 0, "%s", err.text);
    /* the dead incarnation's leftovers: their calls fail (EBADF), the new
     * holders keep their locks */
    venv_set_owner(v, 7);
    tcpshm_client_destroy(first);
    tcpshm_server_destroy(srv);
    venv_set_owner(v, 9);
    tcpshm_client *third = NULL;
    rc = tcpshm_client_create(&third, &cfg, env, "alice", "cli", NULL, &err);
    expect_in_use(rc, &err, "alice", 8);
    venv_set_owner(v, 8);
    tcpshm_client_destroy(second);
    tcpshm_server_destroy(srv2);
    venv_destroy(v);
}

Test(name_lock, lock_failure_point)
{
    tcpshm_config cfg = config();
    tcpshm_error err;
    cr_assert_eq(fiu_init(0), 0);
    cr_assert_eq(fiu_enable("tcpshm/file/lock", 1, NULL, 0), 0);
    tcpshm_client *cl = NULL;
    int rc = tcpshm_client_create(&cl, &cfg, NULL, "alice", g_dir, NULL, &err);
    fiu_disable("tcpshm/file/lock");
    cr_assert_eq(rc, TCPSHM_E_SYSTEM, "%d: %s", rc, err.text);
    cr_assert_eq(err.sys_errno, ENOLCK);
    cr_assert_null(cl);
    /* nothing is left held */
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, NULL, "alice", g_dir, NULL, &err), 0, "%s", err.text);
    tcpshm_client_destroy(cl);
}
