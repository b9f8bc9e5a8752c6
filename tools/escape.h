/* The one escaping function of the tools: every name, reason or peer string
 * a tool prints goes through it, so bytes from the network or from a file
 * (a newline, a terminal escape) can never forge a log line or drive the
 * terminal. */
#ifndef TCPSHM_TOOLS_ESCAPE_H
#define TCPSHM_TOOLS_ESCAPE_H

#include <stddef.h>

typedef enum cli_esc_form {
    CLI_ESC_TEXT, /* \xNN for every byte outside 0x20-0x7e and for '\' */
    CLI_ESC_JSON  /* the same bytes and '"' as \u00NN: the inside of a JSON string */
} cli_esc_form;

/* Writes s into out (cap >= 1 bytes, always NUL-terminated): printable ASCII
 * as is, the rest escaped as above. When the escaped form does not fit, it
 * ends after the last whole character or escape that fits together with
 * "...". A NULL s is written as "(null)". Returns out. */
const char *cli_escape(char *out, size_t cap, const char *s, cli_esc_form form);

/* CLI_ESC's buffer: room for the text form of any string of up to 259 bytes
 * (a tcpshm_error text, any name); longer ones may end in "...". */
#define CLI_ESC_MAX 1040

/* The text form of s in a buffer that lives until the end of the enclosing
 * block: for printf arguments, e.g. printf("client %s", CLI_ESC(name)). */
#define CLI_ESC(s) cli_escape((char[CLI_ESC_MAX]){0}, CLI_ESC_MAX, (s), CLI_ESC_TEXT)

#endif
