/* tcpshm_name_check: peer names become parts of file names. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tcpshm/error.h"
#include "tcpshm/names.h"

static tcpshm_error fresh_err(void)
{
    tcpshm_error e;
    memset(&e, 0, sizeof e);
    e.code = 12345;
    return e;
}

static void expect_ok(const char *name, size_t name_size)
{
    tcpshm_error err = fresh_err();
    int rc = tcpshm_name_check(name, name_size, "client name", &err);
    cr_assert_eq(rc, 0, "\"%s\" (name_size %zu) rejected: %s", name, name_size, err.text);
}

/* Checks the code, that err is filled, and that the text names the field
 * and contains `word`. */
static void expect_bad(const char *name, size_t name_size, const char *word)
{
    tcpshm_error err = fresh_err();
    int rc = tcpshm_name_check(name, name_size, "client name", &err);
    cr_assert_eq(rc, TCPSHM_E_NAME, "\"%s\" (name_size %zu): rc %d, want TCPSHM_E_NAME",
                 name ? name : "(null)", name_size, rc);
    cr_assert_eq(err.code, TCPSHM_E_NAME);
    cr_assert_eq(err.sys_errno, 0);
    cr_assert_neq(err.text[0], '\0', "empty error text");
    cr_assert_not_null(strstr(err.text, "client name"), "text \"%s\" does not name the field",
                       err.text);
    if (word)
        cr_assert_not_null(strstr(err.text, word), "text \"%s\" lacks \"%s\"", err.text, word);
    /* err may be NULL. */
    cr_assert_eq(tcpshm_name_check(name, name_size, "client name", NULL), TCPSHM_E_NAME);
}

/* Copies name into an exactly name_size-byte heap block so that reading past
 * name_size bytes is caught by AddressSanitizer. */
static char *exact_block(const char *name, size_t name_size)
{
    char *b = malloc(name_size);
    cr_assert_not_null(b);
    size_t n = strlen(name);
    memcpy(b, name, n < name_size ? n + 1 : name_size); /* no NUL if it does not fit */
    return b;
}

Test(names, good_names)
{
    expect_ok("server", 16);
    expect_ok("Server20180714", 16);
    expect_ok("client-1.a_b", 16);
    expect_ok("a", 16);
    expect_ok("a.b.c", 16);
    expect_ok("~!@#$%^&*()+={}", 16); /* printable punctuation other than '/' */
    expect_ok("x", 2);
}

Test(names, empty_and_null)
{
    expect_bad("", 16, "empty");
    expect_bad(NULL, 16, "empty");
}

Test(names, length_limit)
{
    /* name_size 16 includes the NUL: 15 characters fit, 16 do not. */
    char *ok = exact_block("abcdefghijklmno", 16);
    cr_assert_eq(strlen(ok), 15u);
    expect_ok(ok, 16);
    free(ok);

    char *too_long = exact_block("abcdefghijklmnop", 16); /* 16 bytes, no terminator */
    expect_bad(too_long, 16, "15");
    free(too_long);

    expect_bad("abcdefghijklmnopqrstuvwxyz", 16, "longer");
    expect_bad("ab", 2, "longer");

    char max[TCPSHM_NAME_MAX + 2];
    memset(max, 'n', sizeof max);
    max[TCPSHM_NAME_MAX] = '\0';
    expect_ok(max, TCPSHM_NAME_MAX + 1);
    max[TCPSHM_NAME_MAX] = 'n';
    max[TCPSHM_NAME_MAX + 1] = '\0';
    expect_bad(max, TCPSHM_NAME_MAX + 1, "longer");
}

Test(names, slash)
{
    expect_bad("/", 16, "'/'");
    expect_bad("/etc", 16, "'/'");
    expect_bad("a/b", 16, "'/'");
    expect_bad("ab/", 16, "'/'");
}

Test(names, dot_dot)
{
    expect_bad("..", 16, "..");
    expect_bad("..a", 16, "..");
    expect_bad("a..b", 16, "..");
    expect_bad("ab..", 16, "..");
    expect_bad("...", 16, "..");
    expect_ok(".a.b.", 16);
}

Test(names, control_space_and_non_ascii)
{
    expect_bad("a b", 16, NULL);
    expect_bad(" ", 16, NULL);
    expect_bad("tab\there", 16, NULL);
    expect_bad("nl\n", 16, NULL);
    expect_bad("\x01", 16, NULL);
    expect_bad("del\x7f", 16, NULL);
    expect_bad("caf\xc3\xa9", 16, NULL); /* UTF-8 e-acute */
    expect_bad("\xff", 16, NULL);
    expect_bad("\x80x", 16, NULL);
}

Test(names, zero_name_size_is_a_caller_bug)
{
    tcpshm_error err = fresh_err();
    /* Must not read the name at all: a pointer to nothing readable is fine. */
    int rc = tcpshm_name_check("x", 0, "client name", &err);
    cr_assert_eq(rc, TCPSHM_E_ARG, "rc %d", rc);
    cr_assert_eq(err.code, TCPSHM_E_ARG);
    cr_assert_neq(err.text[0], '\0');
}

/* tcpshm_escape (error_set.h): the one way the library puts peer or file
 * bytes into a reason. */
#include "error_set.h"

Test(escape, printable_kept_others_as_hex)
{
    char out[64];
    cr_assert_str_eq(tcpshm_escape(out, sizeof out, "alice-01 ~{}"), "alice-01 ~{}");
    cr_assert_str_eq(tcpshm_escape(out, sizeof out, "a\nb\x1b[2J\x7f\x80\xff"), "a\\x0ab\\x1b[2J\\x7f\\x80\\xff");
    cr_assert_str_eq(tcpshm_escape(out, sizeof out, "back\\slash"), "back\\x5cslash");
    cr_assert_str_eq(tcpshm_escape(out, sizeof out, ""), "");
    cr_assert_str_eq(tcpshm_escape(out, sizeof out, NULL), "");
}

Test(escape, cut_at_a_whole_escape)
{
    char out[8] = "XXXXXXX";
    /* "ab" + \x01 (4) = 6 characters fit in 8 with the NUL; the next escape does not */
    cr_assert_str_eq(tcpshm_escape(out, sizeof out, "ab\x01\x02"), "ab\\x01");
    cr_assert_str_eq(tcpshm_escape(out, 3, "abc"), "ab");
    cr_assert_str_eq(tcpshm_escape(out, 4, "\x01"), "");
    cr_assert_str_eq(tcpshm_escape(out, 1, "abc"), "");
    char none = 'Z';
    tcpshm_escape(&none, 0, "abc"); /* size 0: nothing written */
    cr_assert_eq(none, 'Z');
}
