/* Command-line helpers shared by the tools: ranged numbers and the wording
 * of usage errors, so every program answers a bad option the same way. */
#ifndef TCPSHM_TOOLS_CLI_H
#define TCPSHM_TOOLS_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Parses arg as a decimal number in [lo, hi]. On failure prints
 * "PROG: --OPT wants a number in [lo, hi], not 'ARG'" and returns -1. */
int cli_u64(const char *prog, const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_u32(const char *prog, const char *opt, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out);

/* 0 when getopt left no operand; otherwise prints the first one and the
 * usage to stderr and returns -1. */
int cli_no_operands(const char *prog, int argc, char **argv, int first_operand,
                    void (*usage)(FILE *out, const char *prog));

#endif
