/* Command-line helpers shared by every program of the project (tools, bench,
 * simulator, examples, fuzz runners, test programs): the standard options
 * and the wording of usage errors, so every program answers alike:
 *   --version        "PROG (tcpshm) X.Y.Z" on stdout, exit 0
 *   -h, --help       the program's usage on stdout, exit 0
 *   a bad option     one line "PROG: what is wrong" and
 *                    "Try 'PROG --help' for more information." on stderr, exit 2
 * (tests/cli_test.sh checks every program for this). */
#ifndef TCPSHM_TOOLS_CLI_H
#define TCPSHM_TOOLS_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

/* getopt_long's value for --version (no short form). */
#define CLI_OPT_VERSION 0x7f00
/* The two standard long options, for a program's struct option array; the
 * short options string must contain "h" (CLI_SHORT_OPTS does). */
#define CLI_STD_LONG_OPTIONS {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, CLI_OPT_VERSION}
/* Leading ':' is not used: getopt itself prints the one-line complaint. */
#define CLI_SHORT_OPTS "h"

typedef void cli_usage_fn(FILE *out, const char *prog);

/* For getopt_long's return value c that is none of the program's own
 * options (the default: of its switch): -h/--help (usage on stdout) and
 * --version return 0; anything else is a bad option ('?': getopt has printed
 * "PROG: ..."; this adds the Try line) and returns 2. */
int cli_std_option(int c, const char *prog, cli_usage_fn *usage);

/* For a program whose first argument is a command (hello server, ...): when
 * argv[1] is an option, answers it as the standard ones above and returns
 * the exit status (any other option is a bad one); -1 when argv[1] is not
 * an option (or absent). */
int cli_std_first(int argc, char **argv, cli_usage_fn *usage);

/* Prints "PROG (tcpshm) VERSION" on stdout. */
void cli_version(const char *prog);

/* Prints "PROG: MESSAGE" and the Try line on stderr; returns 2 (the usage
 * error exit status). */
int cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses arg as a decimal number in [lo, hi]. On failure prints
 * "PROG: --OPT wants a number in [lo, hi], not 'ARG'" and the Try line,
 * and returns -1. */
int cli_u64(const char *prog, const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_u32(const char *prog, const char *opt, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out);

/* 0 when getopt left no operand; otherwise a usage error naming the first
 * one, and -1. */
int cli_no_operands(const char *prog, int argc, char **argv, int first_operand);

#endif
