/* The deterministic simulator's command line: tcpshm-sim's (sim_main.c),
 * and a user's world program's (tcpshm_sim_main, world.c). */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "budget_env.h"
#include "build_id.h"
#include "catalogue.h"
#include "cli.h"
#include "merge.h"
#include "shard.h"
#include "sim.h"
#include "summary.h"
#include "watchdog.h"
#include "world.h"
#include "tcpshm/sim.h"

#define DEFAULT_STEPS 3000u

static uint32_t g_world_kinds; /* the kinds it may run (world.h) */

/* A seed allocates and frees many large blocks (queue files, snapshot
 * copies, server slots): by default glibc hands them back to the kernel
 * (mmap above 128 KiB, a trim of the heap's top) and the next seed or
 * snapshot pays a page fault per page again (5-10% of a --faults all
 * sweep's CPU time). Kept in the heap, they are reused. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--seed N | --seeds A-B] [--steps N] [--time T] [--faults LIST]\n"
            "          [--trace FILE] [--trace-format FMT] [--check-determinism] [--json] [--quiet]\n"
            "          [--transport MODE] [--durability MODE] [--shard K/N | --shards N] [--jobs N] [--seed-timeout SEC]\n"
            "       %s --merge [--json] SHARD.json...\n"
            "       %s --list-faults\n"
            "\n"
            "Runs the real tcpshm core (TCP and SHM) as one server and 1-%d clients on an in-memory\n"
            "network and disk under a virtual clock, injects faults, and checks that every\n"
            "message pushed is popped once, in order and intact (safety), and that after the\n"
            "last fault everything settles (liveness). Everything derives from the seed: the\n"
            "same seed, options and build give the same run and the same trace hash.\n"
            "\n"
            "  --seed N             run one seed (default: $TCPSHM_SEED, else 1)\n"
            "  --seeds A-B          run seeds A to B, print a summary table\n"
            "  --steps N            steps of the fault phase (default %u); then faults stop\n"
            "                       and the run must settle within a bounded virtual time\n"
            "  --time T             also end the fault phase at virtual time T\n"
            "  --faults LIST        swarm (default: each seed picks a subset), all, none,\n"
            "                       or a comma list of: disconnect, kill, crash, rename,\n"
            "                       short-write, short-read, io-error, eagain, partition, file,\n"
            "                       return, twin, rollback, liar, power-loss, misconfig,\n"
            "                       damage, misuse, stall, impostor, clock\n"
            "  --trace FILE         write every event of the run to FILE (one seed); with\n"
            "                       FILE '-' to stdout (everything else then goes to stderr)\n"
            "  --trace-format FMT   text (default: one line per event) or chrome: Chrome /\n"
            "                       Perfetto trace-event JSON, to open in ui.perfetto.dev\n"
            "  --check-determinism  run each seed twice and compare the trace hashes\n"
            "  --json               stdout is one JSON document: the summary with every\n"
            "                       failing seed and its replay command; text to stderr\n"
            "  --quiet              no per-seed lines, no progress line\n"
            "  --stop               end a sweep at its first violation (with --jobs: each job's)\n"
            "  --jobs N             run a sweep in N processes (1-64; default 1)\n"
            "  --transport MODE     swarm (default: each seed picks), tcp, mixed or shm: the\n"
            "                       clients log in over TCP, shared memory, or either (a\n"
            "                       coin per client name); a seed keeps its other choices\n"
            "  --durability MODE    swarm (default: each seed picks), process or host: the\n"
            "                       core's durability (tcpshm_config.durability); a seed\n"
            "                       keeps its other choices\n"
            "  --shrink             with --seed of a failing run: try each fault kind alone,\n"
            "                       else drop kinds one at a time, then halve the steps\n"
            "                       while it still fails; print the smallest run\n"
            "  --seed-timeout SEC   CPU seconds a run may take (default %g; 0: no limit);\n"
            "                       then it is a hang violation and the process ends (a\n"
            "                       node step over %u env calls is a hang at once)\n"
            "  --shard K/N          run only the seeds s of --seeds A-B with (s - A) mod N = K\n"
            "                       (K from 0 to N-1): N machines run disjoint parts\n"
            "  --shards N           the same with K from the environment: SLURM_ARRAY_TASK_ID\n"
            "                       (minus SLURM_ARRAY_TASK_MIN) in a Slurm array job, else\n"
            "                       JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); --shard wins\n"
            "  --merge FILE...      join the shards' --json summaries into the summary of the\n"
            "                       whole range (same sweep hash); refuses other ranges,\n"
            "                       options or builds, overlapping or missing shards\n"
            "  --list-faults        print the failure-point catalogue\n"
            "  -h, --help           this text\n"
            "  --version            the program's version\n"
            "\n"
            "Violations: safety, liveness (not settled by the deadline) and hang.\n"
            "Exit status: 0 no violation, 1 a violation or a determinism mismatch, 2 usage\n"
            "(or shards that cannot be merged).\n",
            prog, prog, prog, 4, DEFAULT_STEPS, SIM_SEED_TIMEOUT_DEFAULT, SIM_STEP_ENV_BUDGET);
    fprintf(f, "\nEnvironment: TCPSHM_SIM_SECTOR=1 puts every seed on 512-byte disk sectors, =0\n"
               "none (default: a seeded half). tcpshm-sim's own application also reads\n"
               "TCPSHM_SIM_READINESS and TCPSHM_SIM_DEEP: =1 every seed in readiness-polled\n"
               "groups, deep windows (24-200 unacknowledged); =0 none (default: a seeded\n"
               "quarter each). A replay command carries them.\n");
    if (g_world_kinds != FP_ALL_KINDS) {
        char kinds[400];
        fp_kinds_text(g_world_kinds, kinds, sizeof kinds);
        fprintf(f, "\nThis program runs its own application (tcpshm/sim.h) as the server and clients,\n"
                   "with the fault kinds %s\n(the others are off in a world: docs/simulating-your-app.md, \"Limits\").\n", kinds);
    }
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* CPU time of this process and of its waited-for children (--jobs). */
static double cpu_seconds(void)
{
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    getrusage(RUSAGE_CHILDREN, &b);
    return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
           (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec + b.ru_stime.tv_usec) / 1e6;
}

/* One sweep's settings and totals (sum). It runs the seeds first,
 * first + stride, ... up to seed_b (a shard: stride = the shard count). */
typedef struct sweep {
    const char *prog, *faults, *transport, *durability;
    sim_params *p;
    uint64_t steps, tlimit;
    bool range, quiet, determinism, stop, tty;
    double seed_timeout; /* CPU seconds per run, 0: none (watchdog.h) */
    uint64_t seed_a, seed_b, total, first, stride;
    FILE *text; /* per-seed lines: stdout, or stderr under --json */
    sim_summary sum;
} sweep;

/* What one seed gave; children of --jobs send these through a pipe. */
typedef struct seed_rec {
    uint64_t seed;
    sim_result r;
    bool nondet;
    uint64_t hash2; /* the second run's trace hash (--check-determinism) */
    bool stopped;   /* the CPU alarm stopped the run: the process must end (watchdog.h) */
} seed_rec;

static void run_seed(sweep *w, uint64_t seed, seed_rec *rec, FILE *report)
{
    sim_params q = *w->p;
    q.seed = seed;
    memset(rec, 0, sizeof *rec);
    rec->seed = seed;
    rec->stopped = watchdog_run(&q, &rec->r, report, w->seed_timeout);
    if (w->determinism && !rec->stopped) {
        q.trace_file = NULL;
        sim_result r2;
        rec->stopped = watchdog_run(&q, &r2, NULL, w->seed_timeout);
        if (rec->stopped) {
            fprintf(report, "seed %" PRIu64 ": the second run (--check-determinism) stopped: %s\n", seed, r2.what);
            rec->r = r2;
        } else if (r2.hash != rec->r.hash) {
            rec->nondet = true;
            rec->hash2 = r2.hash;
            fprintf(report, "seed %" PRIu64 ": NOT DETERMINISTIC: trace hash %016" PRIx64 " then %016" PRIx64 "\n",
                    seed, rec->r.hash, r2.hash);
        }
    }
}

static void account(sweep *w, const seed_rec *rec)
{
    const sim_result *r = &rec->r;
    sim_summary *m = &w->sum;
    m->done++;
    m->pushes += r->pushes;
    m->pops += r->pops;
    for (int k = 0; k < FP_KINDS; k++)
        m->fired[k] += r->fired[k];
    m->sweep_hash += sim_mix_seed_hash(rec->seed, r->hash);
    char kinds[160], replay[600];
    fp_kinds_text(r->kinds_on, kinds, sizeof kinds);
    if (r->violated || rec->nondet)
        sim_replay_command(&m->set, rec->seed, replay, sizeof replay);
    if (rec->nondet) {
        char what[80];
        snprintf(what, sizeof what, "not deterministic: trace hash %016" PRIx64 " then %016" PRIx64, r->hash,
                 rec->hash2);
        m->nondet++;
        sim_summary_add_failure(m, rec->seed, "nondeterministic", what, r->hash, replay);
    }
    if (r->violated) {
        if (!m->has_first_fail || rec->seed < m->first_fail)
            m->first_fail = rec->seed;
        m->has_first_fail = true;
        m->failed++;
        fprintf(stderr, "  replay: %s --trace trace.txt\n", replay);
        sim_summary_add_failure(m, rec->seed, r->hang ? "hang" : r->liveness ? "liveness" : "safety", r->what, r->hash,
                                replay);
    }
    if ((!w->range || r->violated) && !w->quiet)
        fprintf(w->text, "seed %" PRIu64 ": %s, trace hash %016" PRIx64 ", %" PRIu64 " pushed, %" PRIu64
               " popped, %u clients (%s), durability %s, %u steps, t=%lld, faults: %s%s\n",
               rec->seed,
               !r->violated ? "ok" : r->hang ? "HANG VIOLATION" : r->liveness ? "LIVENESS VIOLATION" : "SAFETY VIOLATION",
               r->hash,
               r->pushes, r->pops, r->clients, sim_tx_names[r->tx_mode % 3], sim_dur_names[r->durability % 2], r->steps, (long long)r->vtime, kinds,
               w->determinism && !rec->nondet ? " (run twice: same trace hash)" : "");
    if (w->tty)
        fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " violations ", m->done, w->total, m->failed);
}

/* --jobs: child j runs the j-th, (j+J)-th, ... seed of the sweep and writes one
 * seed_rec per seed to its pipe; its violation reports go to stderr in one
 * write each. The parent accounts for the records as they come. */
static void run_parallel(sweep *w, uint32_t jobs)
{
    int fds[64];
    pid_t pids[64];
    bool stopped[64] = {false};
    uint64_t stopped_at[64]; /* the seed whose hang stopped the job */
    uint64_t next[64];       /* the index in the sweep of the seed each job runs now */
    uint32_t n = 0;
    fflush(stdout);
    fflush(stderr);
    for (uint32_t j = 0; j < jobs && j < w->total; j++) {
        int pfd[2];
        if (pipe(pfd) != 0) {
            perror("pipe");
            exit(2);
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            exit(2);
        }
        if (pid == 0) {
            close(pfd[0]);
            for (uint64_t i = j; i < w->total; i += jobs) {
                uint64_t seed = w->first + i * w->stride;
                char *buf = NULL;
                size_t len = 0;
                FILE *rep = open_memstream(&buf, &len);
                seed_rec rec;
                run_seed(w, seed, &rec, rep ? rep : stderr);
                if (rep) {
                    fclose(rep);
                    if (len)
                        fwrite(buf, 1, len, stderr);
                    free(buf);
                }
                if (write(pfd[1], &rec, sizeof rec) != (ssize_t)sizeof rec)
                    _exit(3);
                if (rec.stopped) /* its run was abandoned: the parent reports it */
                    _exit(1);
                if (w->stop && (rec.r.violated || rec.nondet))
                    break;
            }
            _exit(0);
        }
        close(pfd[1]);
        next[n] = j;
        fds[n] = pfd[0];
        pids[n++] = pid;
    }
    for (uint32_t open_fds = n; open_fds > 0;) {
        struct pollfd pf[64];
        for (uint32_t i = 0; i < n; i++)
            pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        if (poll(pf, n, -1) < 0 && errno != EINTR) {
            perror("poll");
            exit(2);
        }
        for (uint32_t i = 0; i < n; i++) {
            if (fds[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP)))
                continue;
            seed_rec rec;
            ssize_t got = read(fds[i], &rec, sizeof rec);
            if (got == (ssize_t)sizeof rec) {
                next[i] += jobs;
                account(w, &rec);
                if (rec.stopped) {
                    stopped[i] = true;
                    stopped_at[i] = rec.seed;
                }
            } else {
                close(fds[i]);
                fds[i] = -1;
                open_fds--;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) != pids[i])
            continue;
        if (stopped[i] && WIFEXITED(st) && WEXITSTATUS(st) == 1) {
            fprintf(stderr, "%s: job %u stopped after the hang of seed %" PRIu64 " (its later seeds not run)\n",
                    w->prog, i, stopped_at[i]);
        } else if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            /* a crash of the simulator itself: the seed it was running, and
             * how to run it alone (its later seeds were not run) */
            fprintf(stderr, "%s: job %u ended abnormally (status 0x%x)", w->prog, i, st);
            if (next[i] < w->total) {
                char replay[600];
                uint64_t seed = w->first + next[i] * w->stride;
                sim_replay_command(&w->sum.set, seed, replay, sizeof replay);
                fprintf(stderr, " running seed %" PRIu64 "; its later seeds were not run\n  replay: %s\n", seed,
                        replay);
            } else {
                fputc('\n', stderr);
            }
            w->sum.failed++;
        }
    }
}

/* The command that runs one shrink candidate: the sweep's options with
 * these steps and fault kinds. */
static void shrink_command(const sweep *w, const sim_params *q, char *out, size_t n)
{
    char kinds[160];
    fp_kinds_text(q->kinds, kinds, sizeof kinds);
    sim_settings set = w->sum.set;
    set.steps = q->steps;
    set.faults = q->swarm ? w->sum.set.faults : kinds;
    sim_replay_command(&set, q->seed, out, n);
}

/* One run of the shrink. A run the CPU alarm stopped cannot go on (its
 * state is abandoned): the shrink ends there with that run's command. */
static void shrink_run(const sweep *w, const sim_params *q, sim_result *r, FILE *report)
{
    if (!watchdog_run(q, r, report, w->seed_timeout))
        return;
    char cmd[600];
    shrink_command(w, q, cmd, sizeof cmd);
    printf("the run hangs (CPU alarm), the shrink stops: %s\n", cmd);
    exit(1);
}

/* --shrink: from a failing seed, try no fault, then each kind alone (the
 * smallest runs); failing that, drop kinds one at a time; then halve the
 * steps while the run still fails (any violation), and replay the smallest
 * run found with its report. An explicit --faults list makes the same draws
 * as the swarm that picked it, so the start is the same run; each kind has
 * its own PRNG stream (plan.h), so a run without a kind is the same run
 * until that kind would have fired. */
static int shrink(sweep *w, uint64_t seed)
{
    sim_params q = *w->p;
    q.seed = seed;
    q.trace_file = NULL;
    sim_result r;
    shrink_run(w, &q, &r, NULL);
    if (!r.violated) {
        printf("seed %" PRIu64 " does not fail: nothing to shrink\n", seed);
        return 0;
    }
    q.kinds = r.kinds_on;
    q.swarm = false;
    uint32_t runs = 1;
    bool small = false; /* no kind or one kind is enough */
    for (int k = -1; k < FP_KINDS && !small && (q.kinds & (q.kinds - 1u)); k++) {
        if (k >= 0 && !(q.kinds >> k & 1u))
            continue;
        sim_params t = q;
        t.kinds = k < 0 ? 0 : 1u << k;
        shrink_run(w, &t, &r, NULL);
        runs++;
        printf("  %-12s %s\n", k < 0 ? "no fault:" : fp_kind_names[k],
               k < 0 ? (r.violated ? "still fails" : "passes") : (r.violated ? "alone still fails" : "alone passes"));
        if (r.violated) {
            q = t;
            small = true;
        }
    }
    for (int k = 0; k < FP_KINDS && !small; k++) {
        if (!(q.kinds >> k & 1u))
            continue;
        sim_params t = q;
        t.kinds &= ~(1u << k);
        shrink_run(w, &t, &r, NULL);
        runs++;
        if (r.violated) {
            q = t;
            printf("  without %-12s still fails\n", fp_kind_names[k]);
        } else {
            printf("  without %-12s passes: %s stays\n", fp_kind_names[k], fp_kind_names[k]);
        }
    }
    while (q.steps > 10) {
        sim_params t = q;
        t.steps = q.steps / 2;
        shrink_run(w, &t, &r, NULL);
        runs++;
        if (!r.violated)
            break;
        q = t;
        printf("  %u steps: still fails\n", q.steps);
    }
    shrink_run(w, &q, &r, stderr);
    char cmd[600];
    shrink_command(w, &q, cmd, sizeof cmd);
    printf("shrunk in %u runs: %s  (trace hash %016" PRIx64 ", %s)\n", runs + 1, cmd, r.hash,
           r.violated ? "fails" : "PASSES: the shrink is not reproducible");
    return r.violated ? 1 : 2;
}

int sim_cli_main(int argc, char **argv, const struct tcpshm_sim_world *world)
{
    const char *prog = argv[0];
    g_world_kinds = WORLD_KINDS_OF(SIM_DUR_HOST, world->pair_reset != NULL, world_lists_identities(world));
    keep_freed_memory();
    /* one line at a time also into a file or a pipe: a sweep that ends
     * abruptly loses no seed line */
    setvbuf(stdout, NULL, _IOLBF, 0);
    uint64_t seed_a = 1, seed_b = 1, steps = DEFAULT_STEPS, tlimit = 0, jobs = 1;
    const char *faults = "swarm", *trace_path = NULL, *trace_format = "text";
    bool range = false, determinism = false, json = false, quiet = false, stop = false;
    bool do_shrink = false, seed_given = false, merge = false, list_faults = false;
    double seed_timeout = SIM_SEED_TIMEOUT_DEFAULT;
    const char *transport = "swarm", *durability = "swarm", *shard_arg = NULL;
    uint64_t shards_opt = 0;
    static const struct option opts[] = {{"seed", required_argument, 0, 's'},
                                         {"seeds", required_argument, 0, 'S'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"time", required_argument, 0, 't'},
                                         {"faults", required_argument, 0, 'f'},
                                         {"trace", required_argument, 0, 'T'},
                                         {"trace-format", required_argument, 0, 'F'},
                                         {"check-determinism", no_argument, 0, 'd'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"stop", no_argument, 0, 'x'},
                                         {"jobs", required_argument, 0, 'J'},
                                         {"shrink", no_argument, 0, 'k'},
                                         {"transport", required_argument, 0, 'X'},
                                         {"durability", required_argument, 0, 'D'},
                                         {"seed-timeout", required_argument, 0, 'W'},
                                         {"shard", required_argument, 0, 'K'},
                                         {"shards", required_argument, 0, 'N'},
                                         {"merge", no_argument, 0, 'M'},
                                         {"list-faults", no_argument, 0, 'l'},
                                         CLI_STD_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
        switch (c) {
        case 's':
            if (parse_u64(optarg, &seed_a))
                return cli_usage_error(prog, "--seed needs a number, not '%s'", optarg);
            seed_b = seed_a;
            range = false;
            seed_given = true;
            break;
        case 'S': {
            const char *dash = strchr(optarg, '-');
            char a[32];
            if (!dash || (size_t)(dash - optarg) >= sizeof a)
                return cli_usage_error(prog, "--seeds needs A-B, not '%s'", optarg);
            memcpy(a, optarg, (size_t)(dash - optarg));
            a[dash - optarg] = '\0';
            if (parse_u64(a, &seed_a) || parse_u64(dash + 1, &seed_b) || seed_b < seed_a ||
                seed_b - seed_a == UINT64_MAX)
                return cli_usage_error(prog, "--seeds needs A-B with A <= B (not every 64-bit seed), not '%s'", optarg);
            range = true;
            seed_given = true;
            break;
        }
        case 'n':
            if (parse_u64(optarg, &steps) || steps > 100000000u)
                return cli_usage_error(prog, "--steps needs a number up to 100000000, not '%s'", optarg);
            break;
        case 't':
            if (parse_u64(optarg, &tlimit) || tlimit == 0 || tlimit > INT64_MAX / 4)
                return cli_usage_error(prog, "--time needs a positive number, not '%s'", optarg);
            break;
        case 'f':
            faults = optarg;
            break;
        case 'T':
            trace_path = optarg;
            break;
        case 'F':
            trace_format = optarg;
            break;
        case 'd':
            determinism = true;
            break;
        case 'j':
            json = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'x':
            stop = true;
            break;
        case 'k':
            do_shrink = true;
            break;
        case 'X':
            transport = optarg;
            break;
        case 'D':
            durability = optarg;
            break;
        case 'W': {
            char *end;
            errno = 0;
            seed_timeout = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(seed_timeout >= 0 && seed_timeout <= 86400))
                return cli_usage_error(prog, "--seed-timeout needs seconds from 0 to 86400, not '%s'", optarg);
            break;
        }
        case 'J':
            if (parse_u64(optarg, &jobs) || jobs < 1 || jobs > 64)
                return cli_usage_error(prog, "--jobs needs a number from 1 to 64, not '%s'", optarg);
            break;
        case 'K':
            shard_arg = optarg;
            break;
        case 'N':
            if (parse_u64(optarg, &shards_opt) || shards_opt < 1)
                return cli_usage_error(prog, "--shards needs a positive number, not '%s'", optarg);
            break;
        case 'M':
            merge = true;
            break;
        case 'l':
            list_faults = true;
            break;
        default:
            return cli_std_option(c, prog, usage);
        }
    }
    if (merge)
        return sim_merge(prog, argv + optind, argc - optind, json);
    if (optind < argc)
        return cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    if ((list_faults || do_shrink) && json)
        return cli_usage_error(prog, "%s prints text: no --json", list_faults ? "--list-faults" : "--shrink");
    if (list_faults) {
        for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
            printf("%-52s %s\n%-52s   at: %s\n", tcpshm_fault_catalogue[i].name, tcpshm_fault_catalogue[i].effect,
                   "", tcpshm_fault_catalogue[i].where);
        return 0;
    }
    const char *env_seed = getenv("TCPSHM_SEED");
    if (!seed_given && env_seed) {
        if (parse_u64(env_seed, &seed_a))
            return cli_usage_error(prog, "TCPSHM_SEED needs a number, not '%s'", env_seed);
        seed_b = seed_a;
    }
    uint64_t shard, shards;
    char shard_why[200];
    if (sim_shard_resolve(shard_arg, shards_opt, &shard, &shards, shard_why, sizeof shard_why) != 0)
        return cli_usage_error(prog, "%s", shard_why);
    if ((shard_arg || shards_opt) && !range)
        return cli_usage_error(prog, "--shard and --shards split a range: %s", "give --seeds A-B");
    sim_params p = {.steps = (uint32_t)steps, .time_limit = (int64_t)tlimit, .transport = -1, .durability = -1,
                    .world = world};
    for (int i = 0; i < 2; i++)
        if (strcmp(durability, sim_dur_names[i]) == 0)
            p.durability = i;
    if (p.durability < 0 && strcmp(durability, "swarm") != 0)
        return cli_usage_error(prog, "--durability takes swarm, process or host, not '%s'", durability);
    for (int i = 0; i < 3; i++)
        if (strcmp(transport, sim_tx_names[i]) == 0)
            p.transport = i;
    if (p.transport < 0 && strcmp(transport, "swarm") != 0)
        return cli_usage_error(prog, "--transport takes swarm, tcp, mixed or shm, not '%s'", transport);
    if (p.durability == SIM_DUR_HOST && p.transport > SIM_TX_TCP)
        return cli_usage_error(prog, "--durability host runs over TCP only (the core refuses SHM logins: %s)",
                           "segments are RAM");
    char why[128];
    if (fp_parse_kinds(faults, &p.kinds, &p.swarm, why, sizeof why) != 0)
        return cli_usage_error(prog, "%s", why);
    if (!p.swarm && strcmp(faults, "all") != 0 && (p.kinds & ~g_world_kinds)) {
        fp_kinds_text(p.kinds & ~g_world_kinds, why, sizeof why);
        return cli_usage_error(prog, "--faults %s: not in a world of tcpshm/sim.h (%s)", why, "see --help");
    }
    if (trace_path && range && seed_a != seed_b)
        return cli_usage_error(prog, "--trace takes one seed (%s)", "use --seed");
    if (strcmp(trace_format, "text") != 0 && strcmp(trace_format, "chrome") != 0)
        return cli_usage_error(prog, "--trace-format takes text or chrome, not '%s'", trace_format);
    p.trace_chrome = strcmp(trace_format, "chrome") == 0;
    FILE *tf = NULL;
    if (trace_path && strcmp(trace_path, "-") == 0) {
        /* the trace keeps stdout's file; stdout (every other line this
         * program prints) goes to stderr from here on */
        int fd = dup(1);
        if (fd < 0 || !(tf = fdopen(fd, "w")) || dup2(2, 1) < 0) {
            fprintf(stderr, "%s: cannot write the trace to stdout: %s\n", prog, strerror(errno));
            return 2;
        }
    } else if (trace_path && !(tf = fopen(trace_path, "w"))) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, trace_path, strerror(errno));
        return 2;
    }

    sweep w = {.prog = prog, .p = &p, .faults = faults, .transport = transport, .durability = durability, .steps = steps, .tlimit = tlimit, .range = range,
               .quiet = quiet, .determinism = determinism, .stop = stop,
               .tty = isatty(2) && !quiet && range, .seed_a = seed_a, .seed_b = seed_b,
               .total = sim_shard_size(seed_a, seed_b, shard, shards), .first = seed_a + shard, .stride = shards,
               .seed_timeout = seed_timeout,
               .text = json ? stderr : stdout};
    char build[40];
    sim_build_id(build, sizeof build);
    w.sum.set = (sim_settings){.program = strdup(prog), .build = strdup(build), .seed_a = seed_a, .seed_b = seed_b,
                               .steps = steps, .time_limit = tlimit, .faults = strdup(faults),
                               .transport = strdup(transport), .durability = strdup(durability), .determinism = determinism, .stop = stop,
                               .shard = shard, .shards = shards};
    double t0 = cpu_seconds();
    p.trace_file = tf;
    if (do_shrink) {
        if (range && seed_a != seed_b)
            return cli_usage_error(prog, "--shrink takes one seed (%s)", "use --seed");
        int rc = shrink(&w, seed_a);
        if (tf)
            fclose(tf);
        return rc ? 1 : 0;
    }
    if (jobs > 1 && range)
        run_parallel(&w, (uint32_t)jobs);
    else
        for (uint64_t i = 0; i < w.total; i++) {
            seed_rec rec;
            run_seed(&w, w.first + i * w.stride, &rec, stderr);
            account(&w, &rec);
            if (rec.stopped && i + 1 < w.total)
                fprintf(stderr, "%s: stopped after the hang of seed %" PRIu64 " (seeds %" PRIu64 "-%" PRIu64 "%s not run)\n",
                        prog, rec.seed, rec.seed + w.stride, w.first + (w.total - 1) * w.stride,
                        w.stride > 1 ? " of this shard" : "");
            if (rec.stopped || (stop && (rec.r.violated || rec.nondet)))
                break;
        }
    if (w.tty)
        fputc('\n', stderr);
    w.sum.cpu = cpu_seconds() - t0;
    if (tf)
        fclose(tf);
    sim_summary_sort_failures(&w.sum);
    if (json)
        sim_summary_json(stdout, &w.sum);
    else if (range)
        sim_summary_table(stdout, &w.sum);
    int rc = w.sum.failed || w.sum.nondet ? 1 : 0;
    sim_summary_free(&w.sum);
    return rc;
}
