#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli.h"
#include "escape.h"
#include "tcpshm/version.h"

void cli_version(const char *prog) { printf("%s (tcpshm) %s\n", prog, TCPSHM_VERSION_STRING); }

int cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    return 2;
}

int cli_std_option(int c, const char *prog, cli_usage_fn *usage)
{
    switch (c) {
    case 'h': usage(stdout, prog); return 0;
    case CLI_OPT_VERSION: cli_version(prog); return 0;
    default: fprintf(stderr, "Try '%s --help' for more information.\n", prog); return 2;
    }
}

int cli_std_first(int argc, char **argv, cli_usage_fn *usage)
{
    if (argc < 2 || argv[1][0] != '-')
        return -1;
    static const struct option std[] = {CLI_STD_LONG_OPTIONS, {0, 0, 0, 0}};
    optind = 1;
    int c = getopt_long(2, argv, CLI_SHORT_OPTS, std, NULL); /* argv[1] alone */
    if (c == -1) /* "-" or "--" */
        return cli_usage_error(argv[0], "the first argument is a command, not '%s'", CLI_ESC(argv[1]));
    return cli_std_option(c, argv[0], usage);
}

int cli_u64(const char *prog, const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+' || v < lo || v > hi) {
        cli_usage_error(prog, "--%s wants a number in [%llu, %llu], not '%s'", opt, (unsigned long long)lo,
                        (unsigned long long)hi, CLI_ESC(arg));
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

int cli_no_operands(const char *prog, int argc, char **argv, int first_operand)
{
    if (first_operand >= argc)
        return 0;
    cli_usage_error(prog, "unexpected argument '%s'", CLI_ESC(argv[first_operand]));
    return -1;
}
