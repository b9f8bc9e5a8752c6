#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "escape.h"

int cli_u64(const char *prog, const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+' || v < lo || v > hi) {
        fprintf(stderr, "%s: --%s wants a number in [%llu, %llu], not '%s'\n", prog, opt,
                (unsigned long long)lo, (unsigned long long)hi, CLI_ESC(arg));
        return -1;
    }
    *out = v;
    return 0;
}

int cli_u32(const char *prog, const char *opt, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v;
    if (cli_u64(prog, opt, arg, lo, hi, &v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int cli_no_operands(const char *prog, int argc, char **argv, int first_operand,
                    void (*usage)(FILE *out, const char *prog))
{
    if (first_operand >= argc)
        return 0;
    fprintf(stderr, "%s: unexpected argument '%s'\n", prog, CLI_ESC(argv[first_operand]));
    usage(stderr, prog);
    return -1;
}
