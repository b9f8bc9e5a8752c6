/* cli_escape (tools/escape.c), the one function through which the tools
 * print names, reasons and peer strings: printable ASCII as is, everything
 * else and the backslash as \xNN (\u00NN and '"' too in the JSON form),
 * cut at a whole escape with "..." when the buffer is too small. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

static const char *esc(const char *s)
{
    static char buf[CLI_ESC_MAX];
    return cli_escape(buf, sizeof buf, s, CLI_ESC_TEXT);
}

Test(escape, printable_ascii_is_kept)
{
    cr_assert_str_eq(esc("alice-01 says: \"hi\" ~{}"), "alice-01 says: \"hi\" ~{}");
}

Test(escape, control_bytes)
{
    cr_assert_str_eq(esc("a\nb"), "a\\x0ab");
    cr_assert_str_eq(esc("\r\t"), "\\x0d\\x09");
    cr_assert_str_eq(esc("\x1b[31mred"), "\\x1b[31mred");
    cr_assert_str_eq(esc("\x01"), "\\x01");
    cr_assert_str_eq(esc("del\x7f"), "del\\x7f");
}

Test(escape, high_bytes)
{
    cr_assert_str_eq(esc("\x80\xff"), "\\x80\\xff");
    cr_assert_str_eq(esc("caf\xc3\xa9"), "caf\\xc3\\xa9"); /* UTF-8 too: bytes, not characters */
    cr_assert_str_eq(esc("\x9b" "2J"), "\\x9b2J");       /* the 8-bit CSI */
}

Test(escape, backslash_is_escaped)
{
    /* else "\x0a" typed by a peer would read as an escaped newline */
    cr_assert_str_eq(esc("\\"), "\\x5c");
    cr_assert_str_eq(esc("a\\x0ab"), "a\\x5cx0ab");
}

Test(escape, empty_and_null)
{
    cr_assert_str_eq(esc(""), "");
    cr_assert_str_eq(esc(NULL), "(null)");
}

Test(escape, json_form)
{
    char buf[64];
    cr_assert_str_eq(cli_escape(buf, sizeof buf, "a\"b\\c\n\x1b\xff", CLI_ESC_JSON),
                     "a\\u0022b\\u005cc\\u000a\\u001b\\u00ff");
}

Test(escape, output_never_holds_a_raw_control_byte)
{
    char in[256], out[CLI_ESC_MAX];
    for (int i = 0; i < 255; i++)
        in[i] = (char)(i + 1);
    in[255] = '\0';
    cli_escape(out, sizeof out, in, CLI_ESC_TEXT);
    cr_assert_eq(strlen(out), 94u + 161u * 4u); /* 94 printable kept; 161 escaped, the backslash among them */
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        cr_assert(*p >= 0x20 && *p < 0x7f, "raw byte 0x%02x in the output", *p);
}

Test(escape, exact_fit_is_not_cut)
{
    char buf[8];
    cr_assert_str_eq(cli_escape(buf, sizeof buf, "1234567", CLI_ESC_TEXT), "1234567");
    cr_assert_str_eq(cli_escape(buf, sizeof buf, "abc\n", CLI_ESC_TEXT), "abc\\x0a");
}

Test(escape, truncation_keeps_whole_escapes)
{
    char buf[8];
    /* "12345678" needs 9 bytes: cut to "1234..." */
    cr_assert_str_eq(cli_escape(buf, sizeof buf, "12345678", CLI_ESC_TEXT), "1234...");
    /* an escape that does not fit whole is left out, never cut in half */
    cr_assert_str_eq(cli_escape(buf, sizeof buf, "ab\ncdef", CLI_ESC_TEXT), "ab...");
    cr_assert_str_eq(cli_escape(buf, sizeof buf, "a\nbcdef", CLI_ESC_TEXT), "a...");
    /* buffers too small for the dots get as many as fit */
    char tiny[3];
    cr_assert_str_eq(cli_escape(tiny, sizeof tiny, "abcdef", CLI_ESC_TEXT), "..");
    char one[1];
    cr_assert_str_eq(cli_escape(one, sizeof one, "abc", CLI_ESC_TEXT), "");
}

Test(escape, maximum_length)
{
    /* CLI_ESC's buffer holds a whole tcpshm_error text (255 bytes), even all escaped */
    char in[256], out[CLI_ESC_MAX];
    memset(in, '\n', 255);
    in[255] = '\0';
    cli_escape(out, sizeof out, in, CLI_ESC_TEXT);
    cr_assert_eq(strlen(out), 255u * 4u);
    /* longer: cut, at most CLI_ESC_MAX - 1 bytes, ends in "..." after whole escapes */
    char big[2000];
    memset(big, '\x1b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cli_escape(out, sizeof out, big, CLI_ESC_TEXT);
    size_t n = strlen(out);
    cr_assert_leq(n, (size_t)CLI_ESC_MAX - 1);
    cr_assert_str_eq(out + n - 3, "...");
    cr_assert_eq((n - 3) % 4, 0u);
    for (size_t i = 0; i + 3 < n; i += 4)
        cr_assert_eq(memcmp(out + i, "\\x1b", 4), 0, "piece at %zu", i);
}

Test(escape, the_macro_gives_each_argument_its_own_buffer)
{
    char line[128];
    snprintf(line, sizeof line, "%s|%s", CLI_ESC("a\n"), CLI_ESC("b\x1b"));
    cr_assert_str_eq(line, "a\\x0a|b\\x1b");
}
