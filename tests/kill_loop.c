/* kill_loop: echo_server and echo_client as real processes on 127.0.0.1,
 * SIGKILLed at seeded random moments and restarted; every client run must
 * end with every echo verified exactly once and in order ("done sent=N
 * received=N"). See usage() and tests/README.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "echo_bed.h"
#include "escape.h"
#include "test_seed.h"

#ifndef ECHO_SERVER
#error "ECHO_SERVER and ECHO_CLIENT must be the paths of the built programs"
#endif

/* The crash-site preset (--crash-sites): the queue's sites are hit several
 * times per message, server_after_rewind once per login, the other login
 * sites only at a first login (or one under a new server name). */
static const char *const CRASH_SITES[] = {
    "enable_random name=tcpshm/crash/queue/*,probability=0.00005",
    "enable_random name=tcpshm/crash/login/server_after_rewind,probability=0.05",
    "enable_random name=tcpshm/crash/login/server_after_reset,probability=0.5",
    "enable_random name=tcpshm/crash/login/client*,probability=0.5"};

typedef struct options {
    uint64_t messages, kills, seed, rename_every, max_size, kill_pct, wait_s;
    bool seed_given, shm, keep, quiet, crash_sites, fiu_no_x;
    const char *fiu[BED_MAX_FIU];
    int nfiu;
    const char *server_bin, *client_bin;
} options;

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [--messages N] [--kills N] [--seed S] [--rename-server-every K] [--shm]\n"
            "          [--fiu CMD]... [--crash-sites] [--fiu-no-x] [--kill-pct P] [--max-size B] [--wait S]\n"
            "          [--keep] [--quiet] [--echo-server PATH] [--echo-client PATH]\n"
            "\n"
            "Runs echo_server and echo_client as real processes over 127.0.0.1 on a free port it\n"
            "picks, and SIGKILLs the server, the client or both at random moments (1-60 ms apart,\n"
            "from the seed), restarting what it killed 0-30 ms later, until N kills are done.\n"
            "A client run sends --messages numbered messages; when one finishes, its output must\n"
            "say 'done sent=N received=N' (every echo exactly once, in order, intact: the client\n"
            "checks each) and a new client (another name) starts, so the kills go on. At the end:\n"
            "the last client finishes, says done again when restarted, and the server stops with\n"
            "exit 0 on SIGTERM. Each kill is logged (stdout and DIR/kills.log); on failure the\n"
            "logs' tails and the command that replays the schedule are printed and the directory\n"
            "is kept.\n"
            "\n"
            "  --messages N      messages per client run (default 20000)\n"
            "  --kills N         SIGKILLs to send (default 100)\n"
            "  --seed S          seed of the schedule and the message pattern (default: $TCPSHM_SEED,\n"
            "                    else the clock)\n"
            "  --rename-server-every K\n"
            "                    every K kills the server restarts under a new name (srv0, srv1...),\n"
            "                    once the client has logged in to the current one: a brand-new\n"
            "                    connection (docs/protocol.md login step 5); the client must say\n"
            "                    'server name changed from OLD to NEW: ... starting over from 0' at\n"
            "                    its next login and still finish every message\n"
            "  --shm             both programs over shared memory (their --shm option)\n"
            "  --fiu CMD         run both under fiu-run -x -c CMD (repeatable, at most 8), e.g.\n"
            "                    'enable_random name=tcpshm/net/send/short,probability=0.05'; a\n"
            "                    program that dies at a crash site (exit 86) is restarted\n"
            "  --crash-sites     --fiu with every tcpshm/crash/ site on at a small probability\n"
            "  --fiu-no-x        fiu-run without -x (its POSIX wrappers): libfiu's malloc wrapper\n"
            "                    crashes ASan builds, so an ASan build of kill_loop never uses -x\n"
            "  --kill-pct P      a kill moment really kills P%% of the time (default 100)\n"
            "  --max-size B      largest message, header included, 16-4096 (default 1024)\n"
            "  --wait S          seconds the last client may take after the last kill (default 120)\n"
            "  --keep            keep the directory after a pass\n"
            "  --quiet           no line per kill on stdout (progress every 50 kills instead;\n"
            "                    DIR/kills.log still has every kill)\n"
            "  --echo-server PATH, --echo-client PATH   the programs (default: this build's)\n"
            "  -h, --help        this text\n"
            "  --version         the program's version\n"
            "\n"
            "Exit status: 0 passed; 1 a check failed (an echo lost, duplicated, out of order or\n"
            "corrupted, a program ended wrongly, a client did not finish); 2 usage error.\n",
            prog);
}

/* The command line that repeats this run (with the seed). */
static void replay_line(char *out, size_t n, const char *prog, const options *o)
{
    int k = snprintf(out, n, "%s --messages %" PRIu64 " --kills %" PRIu64 " --seed %" PRIu64 " --max-size %" PRIu64,
                     prog, o->messages, o->kills, o->seed, o->max_size);
    if (o->rename_every)
        k += snprintf(out + k, n - (size_t)k, " --rename-server-every %" PRIu64, o->rename_every);
    if (o->kill_pct != 100)
        k += snprintf(out + k, n - (size_t)k, " --kill-pct %" PRIu64, o->kill_pct);
    if (o->shm)
        k += snprintf(out + k, n - (size_t)k, " --shm");
    if (o->crash_sites)
        k += snprintf(out + k, n - (size_t)k, " --crash-sites");
    if (o->fiu_no_x)
        k += snprintf(out + k, n - (size_t)k, " --fiu-no-x");
    for (int i = o->crash_sites ? 4 : 0; i < o->nfiu; i++)
        k += snprintf(out + k, n - (size_t)k, " --fiu '%s'", o->fiu[i]);
    if (strcmp(o->server_bin, ECHO_SERVER) != 0)
        k += snprintf(out + k, n - (size_t)k, " --echo-server %s", o->server_bin);
    if (strcmp(o->client_bin, ECHO_CLIENT) != 0)
        snprintf(out + k, n - (size_t)k, " --echo-client %s", o->client_bin);
}

static int parse(int argc, char **argv, options *o)
{
    static const struct option lo[] = {{"messages", required_argument, 0, 'm'},
                                       {"kills", required_argument, 0, 'k'},
                                       {"seed", required_argument, 0, 's'},
                                       {"rename-server-every", required_argument, 0, 'r'},
                                       {"shm", no_argument, 0, 'S'},
                                       {"fiu", required_argument, 0, 'f'},
                                       {"crash-sites", no_argument, 0, 'c'},
                                       {"fiu-no-x", no_argument, 0, 'X'},
                                       {"kill-pct", required_argument, 0, 'p'},
                                       {"max-size", required_argument, 0, 'b'},
                                       {"wait", required_argument, 0, 'w'},
                                       {"keep", no_argument, 0, 'K'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"echo-server", required_argument, 0, 'E'},
                                       {"echo-client", required_argument, 0, 'C'},
                                       CLI_STD_LONG_OPTIONS,
                                       {0, 0, 0, 0}};
    const char *p = argv[0];
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, lo, NULL)) != -1;) {
        switch (c) {
        case 'm': if (cli_u64(p, "messages", optarg, 1, UINT32_MAX, &o->messages)) return 2; break;
        case 'k': if (cli_u64(p, "kills", optarg, 0, 1000000, &o->kills)) return 2; break;
        case 's':
            if (cli_u64(p, "seed", optarg, 0, UINT64_MAX, &o->seed))
                return 2;
            o->seed_given = true;
            break;
        case 'r': if (cli_u64(p, "rename-server-every", optarg, 1, 1000000, &o->rename_every)) return 2; break;
        case 'S': o->shm = true; break;
        case 'f':
        case 'c':
            if (o->nfiu + (c == 'c' ? 4 : 1) > BED_MAX_FIU) {
                fprintf(stderr, "%s: at most %d fiu-run commands\n", p, BED_MAX_FIU);
                return 2;
            }
            if (c == 'f') {
                o->fiu[o->nfiu++] = optarg;
            } else if (!o->crash_sites) {
                /* the preset goes first (replay_line relies on it) */
                memmove(o->fiu + 4, o->fiu, (size_t)o->nfiu * sizeof o->fiu[0]);
                for (int i = 0; i < 4; i++)
                    o->fiu[i] = CRASH_SITES[i];
                o->nfiu += 4;
                o->crash_sites = true;
            }
            break;
        case 'p': if (cli_u64(p, "kill-pct", optarg, 1, 100, &o->kill_pct)) return 2; break;
        case 'b': if (cli_u64(p, "max-size", optarg, 16, 4096, &o->max_size)) return 2; break;
        case 'w': if (cli_u64(p, "wait", optarg, 1, 3600, &o->wait_s)) return 2; break;
        case 'X': o->fiu_no_x = true; break;
        case 'K': o->keep = true; break;
        case 'q': o->quiet = true; break;
        case 'E': o->server_bin = optarg; break;
        case 'C': o->client_bin = optarg; break;
        default: exit(cli_std_option(c, p, usage));
        }
    }
    return cli_no_operands(p, argc, argv, optind) ? 2 : 0;
}

/* What the server gets for --shm: "--shm" if its --help lists it, else
 * "--shm-groups 1" (its option before the SHM transport). */
static void server_shm_option(bed *b)
{
    char cmd[4200], line[512];
    snprintf(cmd, sizeof cmd, "'%s' --help 2>&1", b->server_bin);
    FILE *f = popen(cmd, "r");
    bool plain = false;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "  --shm ", 8) == 0 || strcmp(line, "  --shm\n") == 0)
            plain = true;
    if (f)
        pclose(f);
    b->srv_shm_opt[0] = plain ? "--shm" : "--shm-groups";
    b->srv_shm_opt[1] = plain ? NULL : "1";
    b->srv_shm_opt[2] = NULL;
}

/* ---- the renamed-server check ---- */

#define MAX_RENAMES 4096

typedef struct rename_ev {
    char from[32];  /* the server the client last logged in to, "" if none yet */
    long err_at;    /* the client's stderr offset at the rename */
} rename_ev;

static rename_ev g_ren[MAX_RENAMES];
static int g_nren;

static int name_index(const char *s) { return strncmp(s, "srv", 3) == 0 ? atoi(s + 3) : -1; }

/* For the client run that just finished: every "server name changed" line
 * names an older server and a newer one and says it starts over from 0; and
 * after each rename at which the client had logged in to some server, if it
 * logged in again, it reported the change from that server. */
static void check_renames(bed *b)
{
    static char out[1 << 22], err_buf[1 << 16];
    bed_client_stdout(b, out, sizeof out);
    int lines = 0;
    for (const char *p = strstr(out, "server name changed from "); p;
         p = strstr(p + 1, "server name changed from ")) {
        char from[32], to[32], line[128];
        const char *eol = strchr(p, '\n');
        snprintf(line, sizeof line, "%.*s", eol ? (int)(eol - p) : 120, p); /* for the messages */
        if (sscanf(p, "server name changed from %31s to %31[^:]:", from, to) != 2)
            bed_fail(b, "cannot read: %s", CLI_ESC(line));
        const char *start = strstr(p, "new connection, starting over from 0");
        if (!start || (eol && start > eol))
            bed_fail(b, "the client did not say it starts over from 0: %s", CLI_ESC(line));
        if (name_index(from) < 0 || name_index(to) <= name_index(from))
            bed_fail(b, "the client reports a change from %s to %s, not to a newer server", CLI_ESC(from),
                     CLI_ESC(to));
        lines++;
    }
    for (int i = 0; i < g_nren; i++) {
        if (!g_ren[i].from[0])
            continue;
        char again[32];
        bed_last_login(b, g_ren[i].err_at, again, sizeof again);
        if (!again[0])
            continue; /* it finished without logging in again */
        char want[96];
        snprintf(want, sizeof want, "server name changed from %.31s to ", g_ren[i].from);
        if (!strstr(out, want)) {
            snprintf(err_buf, sizeof err_buf, "after the rename that ended %.31s, client %.31s logged in to %s "
                     "without reporting a new connection ('%.95s...')", g_ren[i].from, b->cl_name, CLI_ESC(again), want);
            bed_fail(b, "%s", err_buf);
        }
    }
    if (g_nren)
        printf("kill_loop: client %s: %d rename(s) while it ran, %d 'server name changed' line(s), all fresh "
               "connections from 0\n", b->cl_name, g_nren, lines);
    g_nren = 0;
}

/* ---- main ---- */

static void round_done(bed *b, const options *o)
{
    bed_wait_done(b, (int)o->wait_s);
    if (o->rename_every)
        check_renames(b);
    printf("kill_loop: client %s verified all %" PRIu64 " echoes (after %d kills so far)\n", b->cl_name,
           o->messages, b->kills);
}

int main(int argc, char **argv)
{
    options o = {.messages = 20000, .kills = 100, .max_size = 1024, .kill_pct = 100, .wait_s = 120,
                 .server_bin = ECHO_SERVER, .client_bin = ECHO_CLIENT};
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
#if defined(__SANITIZE_ADDRESS__)
    o.fiu_no_x = true; /* the echo programs of this build have ASan too */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    o.fiu_no_x = true;
#endif
#endif
    if (!o.seed_given && !test_seed_env(&o.seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o.seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
    }
    static char replay[8192];
    replay_line(replay, sizeof replay, argv[0], &o);
    setvbuf(stdout, NULL, _IOLBF, 0);

    static bed B;
    bed *b = &B;
    b->server_bin = o.server_bin;
    b->client_bin = o.client_bin;
    b->replay = replay;
    b->count = o.messages;
    b->max_size = (uint32_t)o.max_size;
    b->rng = o.seed;
    b->shm = o.shm;
    for (int i = 0; i < o.nfiu; i++)
        b->fiu_cmds[i] = o.fiu[i];
    b->nfiu = o.nfiu;
    b->fiu_no_x = o.fiu_no_x;
    b->kill_pct = (uint32_t)o.kill_pct;
    b->keep = o.keep;
    b->verbose = !o.quiet;
    if (o.shm)
        server_shm_option(b);

    printf("kill_loop: seed %" PRIu64 " (TCPSHM_SEED=%" PRIu64 " to replay), %" PRIu64 " kills, %" PRIu64 " messages per client run%s%s%s\n", o.seed, o.seed,
           o.kills, o.messages, o.rename_every ? ", server renamed every few kills" : "", o.shm ? ", SHM" : "",
           o.nfiu ? ", under fiu-run" : "");
    printf("kill_loop: replay with: %s\n", replay);
    int round = 0, renames = 0;
    char name[32];
    /* Client names unique to this run: SHM segment names are host-wide. */
    snprintf(b->tag, sizeof b->tag, "k%d", (int)(getpid() % 1000000));
    snprintf(name, sizeof name, "%.12sc0", b->tag);
    bed_start(b, o.rename_every ? "srv0" : "server", name);
    printf("kill_loop: directory %s, port %u\n", b->dir, b->port);
    int last_rename_at = 0, last_progress = 0;
    while ((uint64_t)b->kills < o.kills) {
        if (o.rename_every && b->kills > 0 && (uint64_t)b->kills % o.rename_every == 0 && last_rename_at != b->kills) {
            if (g_nren == MAX_RENAMES)
                bed_fail(b, "too many renames in one client run");
            /* a rename only tests something once the client knows the old name */
            bed_wait_login(b, 30);
            if (b->cl_done) {
                round_done(b, &o);
                snprintf(name, sizeof name, "%.12sc%d", b->tag, ++round);
                bed_new_client(b, name);
                bed_wait_login(b, 30);
            }
            rename_ev *ev = &g_ren[g_nren++];
            bed_last_login(b, b->cl_err_from, ev->from, sizeof ev->from);
            ev->err_at = bed_file_size(b->cl_err);
            snprintf(name, sizeof name, "srv%d", ++renames);
            bed_rename_server(b, name, bed_rnd_in(b, 0, 1) == 1);
            last_rename_at = b->kills;
        } else {
            bed_random_kill(b);
        }
        if (b->cl_done) {
            round_done(b, &o);
            snprintf(name, sizeof name, "%.12sc%d", b->tag, ++round);
            bed_new_client(b, name);
        }
        if (o.quiet && b->kills / 50 != last_progress) {
            last_progress = b->kills / 50;
            printf("kill_loop: %d of %" PRIu64 " kills (server %d, client %d, both %d), %d client run(s) done, "
                   "%.1f s\n", b->kills, o.kills, b->srv_kills, b->cl_kills, b->both_kills, round,
                   (double)(bed_now_ms() - b->t0) / 1000.0);
        }
    }
    round_done(b, &o);
    bed b_end = *b; /* the counts before the final checks (which restart the server) */
    bed_finish(b);
    b = &b_end;
    printf("kill_loop: PASS in %.1f s: %d kills (server %d, client %d, both at once %d), %d rename(s), "
           "crash-site deaths: server %d, client %d; %d client run(s) of %" PRIu64 " messages, each verified "
           "exactly once and in order\n",
           (double)(bed_now_ms() - b->t0) / 1000.0, b->kills, b->srv_kills, b->cl_kills, b->both_kills, renames,
           b->srv_crashes, b->cl_crashes, round + 1, o.messages);
    return 0;
}
