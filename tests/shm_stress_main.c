/* shm_stress: pushes millions of random-size messages through a small SHM
 * queue with producer and consumer in two threads or two processes, and
 * checks order and every byte. A plain program (no Criterion) so that
 * ThreadSanitizer can run it: ci/tsan does. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "shm_stress.h"
#include "test_seed.h"

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [options]\n"
            "Stress the SHM queue: producer and consumer in two threads or two processes.\n"
            "  --mode threads|processes   where the producer runs (default threads)\n"
            "  --messages N               messages per round (default 1000000)\n"
            "  --rounds N                 rounds, each on a fresh segment (default 1)\n"
            "  --capacity N               queue bytes, multiple of 8 (default 1024)\n"
            "  --max-msg N                largest padded message, multiple of 8 (default 128)\n"
            "  --seed N                   body sizes come from this seed (default:\n"
            "                             $TCPSHM_SEED, else 1)\n"
            "  -h, --help                 this text\n"
            "  --version                  the program's version\n"
            "Exit 0 when every message arrived in order and intact, 1 otherwise, 2 on bad usage.\n",
            prog);
}

typedef struct {
    tcpshm_shm_queue *q;
    const shm_stress_plan *plan;
} producer_arg;

static void *producer_main(void *p)
{
    producer_arg *a = p;
    shm_stress_produce(a->q, a->plan);
    return NULL;
}

static int open_pair(tcpshm_shm_queue *prod, tcpshm_shm_queue *cons, const char *name, uint32_t cap,
                     uint32_t max_msg)
{
    tcpshm_error err = {0};
    shm_unlink(name);
    if (tcpshm_shm_queue_open(prod, tcpshm_env_posix(), name,
                              &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max_msg,
                                                         .producer = true, .create = true}, &err) != 0 ||
        tcpshm_shm_queue_open(cons, tcpshm_env_posix(), name,
                              &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max_msg}, &err) != 0) {
        fprintf(stderr, "shm_stress: %s\n", err.text);
        return -1;
    }
    return 0;
}

/* One round; returns 0 when every message arrived intact. */
static int run_round(bool processes, const char *name, uint32_t cap, uint32_t max_msg, const shm_stress_plan *plan)
{
    tcpshm_shm_queue prod, cons;
    if (open_pair(&prod, &cons, name, cap, max_msg) != 0)
        return -1;
    char why[256] = "";
    uint32_t got;
    if (processes) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("shm_stress: fork");
            return -1;
        }
        if (pid == 0) {
            shm_stress_produce(&prod, plan);
            _exit(0);
        }
        got = shm_stress_consume(&cons, plan, why, sizeof why);
        if (got != plan->messages)
            kill(pid, SIGKILL); /* it may be waiting for room forever */
        int st = 0;
        waitpid(pid, &st, 0);
        if (got == plan->messages && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            snprintf(why, sizeof why, "producer process ended with status 0x%x", st);
            got = 0;
        }
    } else {
        pthread_t t;
        producer_arg a = {&prod, plan};
        if (pthread_create(&t, NULL, producer_main, &a) != 0) {
            fprintf(stderr, "shm_stress: cannot create the producer thread\n");
            return -1;
        }
        got = shm_stress_consume(&cons, plan, why, sizeof why);
        if (got != plan->messages) {
            /* the producer may wait for room forever: report and leave */
            fprintf(stderr, "shm_stress: FAIL after %u messages: %s\n", got, why);
            shm_unlink(name);
            _exit(1);
        }
        pthread_join(t, NULL);
    }
    tcpshm_shm_queue_close(&prod);
    tcpshm_shm_queue_close(&cons);
    shm_unlink(name);
    if (got != plan->messages) {
        fprintf(stderr, "shm_stress: FAIL after %u messages: %s\n", got, why);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    static const struct option opts[] = {
        {"mode", required_argument, 0, 'm'},   {"messages", required_argument, 0, 'n'},
        {"rounds", required_argument, 0, 'r'}, {"capacity", required_argument, 0, 'c'},
        {"max-msg", required_argument, 0, 'x'}, {"seed", required_argument, 0, 's'},
        CLI_STD_LONG_OPTIONS,         {0, 0, 0, 0}};
    bool processes = false;
    uint32_t rounds = 1, cap = 1024, max_msg = 128;
    shm_stress_plan plan = {.messages = 1000000, .seed = test_seed_or(1)};
    int c;
    while ((c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'm':
            if (strcmp(optarg, "threads") == 0)
                processes = false;
            else if (strcmp(optarg, "processes") == 0)
                processes = true;
            else {
                rc = cli_usage_error(prog, "--mode wants threads or processes, not '%s'", CLI_ESC(optarg));
            }
            break;
        case 'n': rc = cli_u32(prog, "messages", optarg, 1, 1u << 30, &plan.messages); break;
        case 'r': rc = cli_u32(prog, "rounds", optarg, 1, 1000000, &rounds); break;
        case 'c': rc = cli_u32(prog, "capacity", optarg, 64, 1u << 30, &cap); break;
        case 'x': rc = cli_u32(prog, "max-msg", optarg, 16, TCPSHM_MAX_PADDED_MSG_SIZE, &max_msg); break;
        case 's': rc = cli_u64(prog, "seed", optarg, 0, UINT64_MAX, &plan.seed); break;
        default: return cli_std_option(c, prog, usage);
        }
        if (rc)
            return 2;
    }
    if (cli_no_operands(prog, argc, argv, optind) != 0)
        return 2;
    plan.max_body = max_msg - 8 + 1; /* bodies up to max_msg - 8 bytes */
    char name[64];
    snprintf(name, sizeof name, "/tcpshm_stress_%d", (int)getpid());
    for (uint32_t r = 0; r < rounds; r++) {
        shm_stress_plan p = plan;
        p.seed = plan.seed + r;
        if (run_round(processes, name, cap, max_msg, &p) != 0) {
            fprintf(stderr, "shm_stress: round %u failed; replay: %s --mode %s --messages %u --capacity %u "
                            "--max-msg %u --seed %llu (or TCPSHM_SEED=%llu)\n",
                    r, argv[0], processes ? "processes" : "threads", plan.messages, cap, max_msg,
                    (unsigned long long)p.seed, (unsigned long long)p.seed);
            return 1;
        }
    }
    printf("shm_stress: %u round(s) of %u messages in %s: all in order and intact\n", rounds, plan.messages,
           processes ? "processes" : "threads");
    return 0;
}
