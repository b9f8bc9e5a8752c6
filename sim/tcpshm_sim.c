/* tcpshm-sim: the deterministic simulator's command line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalogue.h"
#include "sim.h"

#define DEFAULT_STEPS 3000u

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--seed N | --seeds A-B] [--steps N] [--time T] [--faults LIST]\n"
            "          [--trace FILE] [--trace-format FMT] [--check-determinism] [--json] [--quiet]\n"
            "          [--transport MODE]\n"
            "       %s --list-faults\n"
            "\n"
            "Runs the real tcpshm core (TCP and SHM) as one server and 1-%d clients on an in-memory\n"
            "network and disk under a virtual clock, injects faults, and checks that every\n"
            "message pushed is popped once, in order and intact (safety), and that after the\n"
            "last fault everything settles (liveness). Everything derives from the seed: the\n"
            "same seed, options and build give the same run and the same trace hash.\n"
            "\n"
            "  --seed N             run one seed (default 1)\n"
            "  --seeds A-B          run seeds A to B, print a summary table\n"
            "  --steps N            steps of the fault phase (default %u); then faults stop\n"
            "                       and the run must settle within a bounded virtual time\n"
            "  --time T             also end the fault phase at virtual time T\n"
            "  --faults LIST        swarm (default: each seed picks a subset), all, none,\n"
            "                       or a comma list of: disconnect, kill, crash, rename,\n"
            "                       short-write, short-read, io-error, eagain, partition, file\n"
            "  --trace FILE         write every event of the run to FILE (one seed); with\n"
            "                       FILE '-' to stdout (everything else then goes to stderr)\n"
            "  --trace-format FMT   text (default: one line per event) or chrome: Chrome /\n"
            "                       Perfetto trace-event JSON, to open in ui.perfetto.dev\n"
            "  --check-determinism  run each seed twice and compare the trace hashes\n"
            "  --json               print the summary as JSON on stdout\n"
            "  --quiet              no per-seed lines, no progress line\n"
            "  --stop               end a sweep at its first violation (with --jobs: each job's)\n"
            "  --jobs N             run a sweep in N processes (1-64; default 1)\n"
            "  --transport MODE     swarm (default: each seed picks), tcp, mixed or shm: the\n"
            "                       clients log in over TCP, shared memory, or either (a\n"
            "                       coin per client name); a seed keeps its other choices\n"
            "  --shrink             with --seed of a failing run: drop fault kinds and halve\n"
            "                       the steps while it still fails, print the smallest run\n"
            "  --list-faults        print the failure-point catalogue\n"
            "  --help               this text\n"
            "\n"
            "Exit status: 0 no violation, 1 a violation or a determinism mismatch, 2 usage.\n",
            prog, prog, 4, DEFAULT_STEPS);
}

static int usage_error(const char *prog, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return 2;
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

/* One sweep's totals and settings. */
typedef struct sweep {
    const char *prog, *faults, *transport;
    sim_params *p;
    uint64_t steps, tlimit;
    bool range, quiet, determinism, stop, tty;
    uint64_t seed_a, seed_b, total, done, failed, nondet, pushes, pops, first_fail;
    uint64_t fired[FP_KINDS], sweep_hash;
} sweep;

/* What one seed gave; children of --jobs send these through a pipe. */
typedef struct seed_rec {
    uint64_t seed;
    sim_result r;
    bool nondet;
} seed_rec;

static void run_seed(sweep *w, uint64_t seed, seed_rec *rec, FILE *report)
{
    sim_params q = *w->p;
    q.seed = seed;
    memset(rec, 0, sizeof *rec);
    rec->seed = seed;
    sim_run(&q, &rec->r, report);
    if (w->determinism) {
        q.trace_file = NULL;
        sim_result r2;
        sim_run(&q, &r2, NULL);
        if (r2.hash != rec->r.hash) {
            rec->nondet = true;
            fprintf(report, "seed %" PRIu64 ": NOT DETERMINISTIC: trace hash %016" PRIx64 " then %016" PRIx64 "\n",
                    seed, rec->r.hash, r2.hash);
        }
    }
}

/* Order-independent (--jobs): a sum of mixed per-seed hashes. */
static uint64_t mix_seed_hash(uint64_t seed, uint64_t h)
{
    uint64_t z = h ^ (seed * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void account(sweep *w, const seed_rec *rec)
{
    const sim_result *r = &rec->r;
    w->done++;
    w->pushes += r->pushes;
    w->pops += r->pops;
    for (int k = 0; k < FP_KINDS; k++)
        w->fired[k] += r->fired[k];
    w->sweep_hash += mix_seed_hash(rec->seed, r->hash);
    if (rec->nondet)
        w->nondet++;
    char kinds[160], tl[40] = "";
    fp_kinds_text(r->kinds_on, kinds, sizeof kinds);
    if (r->violated) {
        if (!w->failed || rec->seed < w->first_fail)
            w->first_fail = rec->seed;
        w->failed++;
        if (w->tlimit)
            snprintf(tl, sizeof tl, " --time %" PRIu64, w->tlimit);
        fprintf(stderr, "  replay: %s --seed %" PRIu64 " --steps %" PRIu64 "%s --faults %s%s%s --trace trace.txt\n",
                w->prog, rec->seed, w->steps, tl, w->faults, w->p->transport >= 0 ? " --transport " : "",
                w->p->transport >= 0 ? w->transport : "");
    }
    if ((!w->range || r->violated) && !w->quiet)
        printf("seed %" PRIu64 ": %s, trace hash %016" PRIx64 ", %" PRIu64 " pushed, %" PRIu64
               " popped, %u clients (%s), %u steps, t=%lld, faults: %s%s\n",
               rec->seed, r->violated ? (r->liveness ? "LIVENESS VIOLATION" : "SAFETY VIOLATION") : "ok", r->hash,
               r->pushes, r->pops, r->clients, sim_tx_names[r->tx_mode % 3], r->steps, (long long)r->vtime, kinds,
               w->determinism && !rec->nondet ? " (run twice: same trace hash)" : "");
    if (w->tty)
        fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " violations ", w->done, w->total, w->failed);
}

/* --jobs: child j runs the seeds a + j, a + j + J, ... and writes one
 * seed_rec per seed to its pipe; its violation reports go to stderr in one
 * write each. The parent accounts for the records as they come. */
static void run_parallel(sweep *w, uint32_t jobs)
{
    int fds[64];
    pid_t pids[64];
    uint32_t n = 0;
    fflush(stdout);
    fflush(stderr);
    for (uint32_t j = 0; j < jobs && w->seed_a + j <= w->seed_b; j++) {
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
            for (uint64_t seed = w->seed_a + j; seed <= w->seed_b; seed += jobs) {
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
                if ((w->stop && (rec.r.violated || rec.nondet)) || seed + jobs < seed)
                    break;
            }
            _exit(0);
        }
        close(pfd[1]);
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
                account(w, &rec);
            } else {
                close(fds[i]);
                fds[i] = -1;
                open_fds--;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) == pids[i] && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "%s: job %u ended abnormally (status 0x%x)\n", w->prog, i, st);
            w->failed++;
        }
    }
}

/* --shrink: from a failing seed, drop fault kinds one at a time and halve
 * the steps while the run still fails (any violation), then replay the
 * smallest run found with its report. An explicit --faults list makes the
 * same draws as the swarm that picked it, so the start is the same run. */
static int shrink(sweep *w, uint64_t seed)
{
    sim_params q = *w->p;
    q.seed = seed;
    q.trace_file = NULL;
    sim_result r;
    sim_run(&q, &r, NULL);
    if (!r.violated) {
        printf("seed %" PRIu64 " does not fail: nothing to shrink\n", seed);
        return 0;
    }
    q.kinds = r.kinds_on;
    q.swarm = false;
    uint32_t runs = 1;
    for (int k = 0; k < FP_KINDS; k++) {
        if (!(q.kinds >> k & 1u))
            continue;
        sim_params t = q;
        t.kinds &= ~(1u << k);
        sim_run(&t, &r, NULL);
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
        sim_run(&t, &r, NULL);
        runs++;
        if (!r.violated)
            break;
        q = t;
        printf("  %u steps: still fails\n", q.steps);
    }
    char kinds[160], tl[40] = "";
    fp_kinds_text(q.kinds, kinds, sizeof kinds);
    if (w->tlimit)
        snprintf(tl, sizeof tl, " --time %" PRIu64, w->tlimit);
    sim_run(&q, &r, stderr);
    printf("shrunk in %u runs: %s --seed %" PRIu64 " --steps %u%s --faults %s%s%s  (trace hash %016" PRIx64
           ", %s)\n",
           runs + 1, w->prog, seed, q.steps, tl, kinds, q.transport >= 0 ? " --transport " : "",
           q.transport >= 0 ? w->transport : "", r.hash,
           r.violated ? "fails" : "PASSES: the shrink is not reproducible");
    return r.violated ? 1 : 2;
}

static void summary(const sweep *w, bool json, double cpu)
{
    if (json) {
        printf("{\"seeds\": %" PRIu64 ", \"first_seed\": %" PRIu64 ", \"violations\": %" PRIu64
               ", \"first_violation\": %" PRIu64 ", \"nondeterministic\": %" PRIu64 ", \"pushed\": %" PRIu64
               ", \"popped\": %" PRIu64 ", \"cpu_seconds\": %.3f, \"hash\": \"%016" PRIx64 "\", \"faults\": {",
               w->done, w->seed_a, w->failed, w->failed ? w->first_fail : 0, w->nondet, w->pushes, w->pops, cpu,
               w->sweep_hash);
        for (int k = 0; k < FP_KINDS; k++)
            printf("%s\"%s\": %" PRIu64, k ? ", " : "", fp_kind_names[k], w->fired[k]);
        printf("}}\n");
        return;
    }
    if (!w->range)
        return;
    printf("\n%-22s\n", "seeds");
    printf("  %-20s %" PRIu64 " (%" PRIu64 "-%" PRIu64 ")\n", "run", w->done, w->seed_a, w->seed_b);
    printf("  %-20s %" PRIu64 "%s\n", "violations", w->failed, w->failed ? "  <-- FAIL" : "");
    if (w->failed)
        printf("  %-20s %" PRIu64 "\n", "first failing seed", w->first_fail);
    if (w->determinism)
        printf("  %-20s %" PRIu64 "\n", "nondeterministic", w->nondet);
    printf("  %-20s %016" PRIx64 "\n", "sweep hash", w->sweep_hash);
    printf("%-22s\n", "messages");
    printf("  %-20s %" PRIu64 "\n  %-20s %" PRIu64 "\n", "pushed", w->pushes, "popped", w->pops);
    printf("%-22s\n", "faults fired");
    for (int k = 0; k < FP_KINDS; k++)
        printf("  %-20s %" PRIu64 "\n", fp_kind_names[k], w->fired[k]);
    double runs = (double)w->done * (w->determinism ? 2 : 1);
    printf("%-22s\n", "speed");
    printf("  %-20s %.2f\n", "cpu seconds", cpu);
    printf("  %-20s %.1f\n", "seeds / cpu-s", cpu > 0 ? runs / cpu : 0.0);
    printf("  %-20s %.0f\n", "msgs / cpu-s", cpu > 0 ? (double)w->pops * (w->determinism ? 2 : 1) / cpu : 0.0);
}

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    uint64_t seed_a = 1, seed_b = 1, steps = DEFAULT_STEPS, tlimit = 0, jobs = 1;
    const char *faults = "swarm", *trace_path = NULL, *trace_format = "text";
    bool range = false, determinism = false, json = false, quiet = false, stop = false;
    bool do_shrink = false;
    const char *transport = "swarm";
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
                                         {"list-faults", no_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 's':
            if (parse_u64(optarg, &seed_a))
                return usage_error(prog, "--seed needs a number, not '%s'", optarg);
            seed_b = seed_a;
            range = false;
            break;
        case 'S': {
            const char *dash = strchr(optarg, '-');
            char a[32];
            if (!dash || (size_t)(dash - optarg) >= sizeof a)
                return usage_error(prog, "--seeds needs A-B, not '%s'", optarg);
            memcpy(a, optarg, (size_t)(dash - optarg));
            a[dash - optarg] = '\0';
            if (parse_u64(a, &seed_a) || parse_u64(dash + 1, &seed_b) || seed_b < seed_a)
                return usage_error(prog, "--seeds needs A-B with A <= B, not '%s'", optarg);
            range = true;
            break;
        }
        case 'n':
            if (parse_u64(optarg, &steps) || steps > 100000000u)
                return usage_error(prog, "--steps needs a number up to 100000000, not '%s'", optarg);
            break;
        case 't':
            if (parse_u64(optarg, &tlimit) || tlimit == 0 || tlimit > INT64_MAX / 4)
                return usage_error(prog, "--time needs a positive number, not '%s'", optarg);
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
        case 'J':
            if (parse_u64(optarg, &jobs) || jobs < 1 || jobs > 64)
                return usage_error(prog, "--jobs needs a number from 1 to 64, not '%s'", optarg);
            break;
        case 'l':
            for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
                printf("%-52s %s\n%-52s   at: %s\n", tcpshm_fault_catalogue[i].name,
                       tcpshm_fault_catalogue[i].effect, "", tcpshm_fault_catalogue[i].where);
            return 0;
        case 'h':
            usage(stdout, prog);
            return 0;
        default:
            return usage_error(prog, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(prog, "unexpected argument '%s'", argv[optind]);
    sim_params p = {.steps = (uint32_t)steps, .time_limit = (int64_t)tlimit, .transport = -1};
    for (int i = 0; i < 3; i++)
        if (strcmp(transport, sim_tx_names[i]) == 0)
            p.transport = i;
    if (p.transport < 0 && strcmp(transport, "swarm") != 0)
        return usage_error(prog, "--transport takes swarm, tcp, mixed or shm, not '%s'", transport);
    char why[128];
    if (fp_parse_kinds(faults, &p.kinds, &p.swarm, why, sizeof why) != 0)
        return usage_error(prog, "%s", why);
    if (trace_path && range && seed_a != seed_b)
        return usage_error(prog, "--trace takes one seed (%s)", "use --seed");
    if (strcmp(trace_format, "text") != 0 && strcmp(trace_format, "chrome") != 0)
        return usage_error(prog, "--trace-format takes text or chrome, not '%s'", trace_format);
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

    sweep w = {.prog = prog, .p = &p, .faults = faults, .transport = transport, .steps = steps, .tlimit = tlimit, .range = range,
               .quiet = quiet, .determinism = determinism, .stop = stop,
               .tty = isatty(2) && !quiet && range, .seed_a = seed_a, .seed_b = seed_b,
               .total = seed_b - seed_a + 1, .sweep_hash = 0};
    double t0 = cpu_seconds();
    p.trace_file = tf;
    if (do_shrink) {
        if (range && seed_a != seed_b)
            return usage_error(prog, "--shrink takes one seed (%s)", "use --seed");
        int rc = shrink(&w, seed_a);
        if (tf)
            fclose(tf);
        return rc ? 1 : 0;
    }
    if (jobs > 1 && range)
        run_parallel(&w, (uint32_t)jobs);
    else
        for (uint64_t seed = seed_a;; seed++) {
            seed_rec rec;
            run_seed(&w, seed, &rec, stderr);
            account(&w, &rec);
            if (seed == seed_b || (stop && (rec.r.violated || rec.nondet)))
                break;
        }
    if (w.tty)
        fputc('\n', stderr);
    double cpu = cpu_seconds() - t0;
    if (tf)
        fclose(tf);
    summary(&w, json, cpu);
    return w.failed || w.nondet ? 1 : 0;
}
