/* Real processes: the kill_loop program (tests/kill_loop.c, its bed in
 * echo_bed.c) runs echo_server and echo_client on loopback and SIGKILLs
 * them at seeded random moments; these tests run it as a process and check
 * its verdict and counts:
 *   random_kills            the server, the client or both, at least 60 kills
 *   server_renamed          the server restarts under new names: fresh connections
 *   crash_sites             both under fiu-run with the tcpshm/crash/ sites on
 *   net_faults              both under fiu-run with short sends/reads and resets
 *   shm                     the same over shared memory
 *   detects_a_bad_client    a client that fails makes kill_loop fail, with the replay line
 * TCPSHM_SEED=S repeats a schedule (kill_loop reads it; its first line
 * prints the seed). Under Valgrind (ci/memcheck
 * traces the children too) the runs are smaller and the fiu-run ones are
 * skipped (fiu-run's preload library leaks a string at start). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KILL_LOOP
#error "KILL_LOOP must be the path of the built kill_loop program"
#endif

static char g_out[1 << 20];

static bool under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

/* Runs kill_loop with args (NULL-terminated) plus --quiet (it takes its
 * seed from TCPSHM_SEED, if set); output in g_out; returns the exit status. */
static int run_kill_loop(const char *a0, ...)
{
    char *argv[40] = {KILL_LOOP, "--quiet"};
    int n = 2;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 39; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    char path[] = "/tmp/tcpshm-echo-kill-out-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    ssize_t got = pread(fd, g_out, sizeof g_out - 1, 0);
    g_out[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
    fprintf(stderr, "%s", g_out); /* the verdict and counts, in the test log */
    cr_assert(WIFEXITED(st), "kill_loop died with signal %d", WTERMSIG(st));
    return WEXITSTATUS(st);
}

typedef struct verdict {
    int kills, srv, cl, both, renames, srv_crashes, cl_crashes, runs;
} verdict;

/* The PASS line's counts; fails the test without one. */
static verdict pass_line(void)
{
    verdict v;
    const char *p = strstr(g_out, "kill_loop: PASS in ");
    cr_assert_not_null(p, "no PASS line:\n%s", g_out);
    p = strchr(p, ':');
    p = strchr(p + 1, ':');
    cr_assert_not_null(p);
    int k = sscanf(p, ": %d kills (server %d, client %d, both at once %d), %d rename(s), crash-site deaths: "
                      "server %d, client %d; %d client run(s)",
                   &v.kills, &v.srv, &v.cl, &v.both, &v.renames, &v.srv_crashes, &v.cl_crashes, &v.runs);
    cr_assert_eq(k, 8, "cannot read the PASS line: %s", p);
    return v;
}

TestSuite(echo_kill, .timeout = 300);

Test(echo_kill, random_kills)
{
    bool vg = under_valgrind();
    int rc = run_kill_loop("--kills", vg ? "12" : "60", "--messages", vg ? "2000" : "20000", NULL);
    cr_assert_eq(rc, 0, "kill_loop failed (exit %d)", rc);
    verdict v = pass_line();
    cr_assert_geq(v.kills, vg ? 12 : 60);
    cr_assert_gt(v.srv, 0);
    cr_assert_gt(v.cl, 0);
}

Test(echo_kill, server_renamed)
{
    bool vg = under_valgrind();
    int rc = run_kill_loop("--kills", vg ? "8" : "30", "--rename-server-every", vg ? "4" : "5", "--messages",
                           vg ? "2000" : "50000", NULL);
    cr_assert_eq(rc, 0, "kill_loop failed (exit %d)", rc);
    verdict v = pass_line();
    cr_assert_geq(v.renames, vg ? 1 : 5);
    /* at least one client saw a new name and started over from 0 */
    int seen = 0;
    for (const char *p = strstr(g_out, "'server name changed' line(s)"); p;
         p = strstr(p + 1, "'server name changed' line(s)")) {
        const char *q = p;
        while (q > g_out && q[-1] != ',')
            q--;
        seen += atoi(q);
    }
    cr_assert_gt(seen, 0, "no client reported a server name change:\n%s", g_out);
}

Test(echo_kill, crash_sites)
{
    if (under_valgrind())
        cr_skip_test("fiu-run is not combined with Valgrind");
    int rc = run_kill_loop("--crash-sites", "--kill-pct", "30", "--kills", "20", "--messages", "150000", NULL);
    cr_assert_eq(rc, 0, "kill_loop failed (exit %d)", rc);
    verdict v = pass_line();
    cr_assert_geq(v.srv_crashes, 10, "only %d crash-site deaths of the server", v.srv_crashes);
    cr_assert_geq(v.cl_crashes, 10, "only %d crash-site deaths of the client", v.cl_crashes);
}

Test(echo_kill, net_faults)
{
    if (under_valgrind())
        cr_skip_test("fiu-run is not combined with Valgrind");
    int rc = run_kill_loop("--kills", "10", "--messages", "20000", "--fiu",
                           "enable_random name=tcpshm/net/send/short,probability=0.05", "--fiu",
                           "enable_random name=tcpshm/net/recv/short,probability=0.05", "--fiu",
                           "enable_random name=tcpshm/net/reset,probability=0.001", NULL);
    cr_assert_eq(rc, 0, "kill_loop failed (exit %d)", rc);
    pass_line();
}

Test(echo_kill, shm)
{
    bool vg = under_valgrind();
    int rc = run_kill_loop("--shm", "--kills", vg ? "8" : "40", "--messages", vg ? "2000" : "20000", NULL);
    cr_assert_eq(rc, 0, "kill_loop --shm failed (exit %d)", rc);
    pass_line();
}

/* A harness that cannot fail proves nothing: a client that exits 1 must
 * fail the run, with the reason and the replay command. */
Test(echo_kill, detects_a_bad_client)
{
    int rc = run_kill_loop("--kills", "3", "--messages", "100", "--echo-client", "/bin/false", NULL);
    cr_assert_eq(rc, 1, "kill_loop passed with a client that always fails:\n%s", g_out);
    cr_assert_not_null(strstr(g_out, "kill_loop: FAILED after"), "%s", g_out);
    cr_assert_not_null(strstr(g_out, "the client ended with exit status 1"), "%s", g_out);
    cr_assert_not_null(strstr(g_out, "--echo-client /bin/false"), "no replay line:\n%s", g_out);
    /* the kept directory, removed here */
    const char *d = strstr(g_out, "the directory /tmp/tcpshm-kill-loop-");
    cr_assert_not_null(d);
    char dir[64], cmd[128];
    cr_assert_eq(sscanf(d, "the directory %63s", dir), 1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(echo_kill, usage)
{
    cr_assert_eq(run_kill_loop("--kills", "x", NULL), 2);
    cr_assert_not_null(strstr(g_out, "--kills wants a number"), "%s", g_out);
    cr_assert_eq(run_kill_loop("stray", NULL), 2);
    cr_assert_eq(run_kill_loop("--help", NULL), 0);
    cr_assert_not_null(strstr(g_out, "--rename-server-every K"), "%s", g_out);
}
