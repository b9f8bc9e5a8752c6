/* The failure-point catalogue (faults/catalogue.c) against the code: every
 * point named in core/src (a string literal passed to fiu_fail, fiu_do_on,
 * fiu_return_on, fiu_exit_on or TCPSHM_CRASH_SITE) is in the catalogue and
 * every catalogue row is such a point; rows are unique and described; the
 * table in faults/README.md lists the same points. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"

#ifndef TCPSHM_CORE_SRC_DIR
#error "TCPSHM_CORE_SRC_DIR must name core/src (set in tests/CMakeLists.txt)"
#endif

#define MAX_POINTS 256
#define MAX_NAME 128

typedef struct point_set {
    size_t n;
    char name[MAX_POINTS][MAX_NAME];
    char file[MAX_POINTS][MAX_NAME]; /* where it was first seen */
} point_set;

static int set_has(const point_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return 1;
    return 0;
}

static void set_add(point_set *s, const char *name, const char *file)
{
    if (set_has(s, name))
        return;
    cr_assert_lt(s->n, (size_t)MAX_POINTS, "more than %d failure points", MAX_POINTS);
    cr_assert_lt(strlen(name), (size_t)MAX_NAME, "point name too long: %s", name);
    snprintf(s->name[s->n], MAX_NAME, "%s", name);
    snprintf(s->file[s->n], MAX_NAME, "%s", file);
    s->n++;
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0, "seek %s", path);
    long size = ftell(f);
    cr_assert_geq(size, 0L, "size of %s", path);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    cr_assert_not_null(buf);
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    cr_assert_eq(got, (size_t)size, "short read of %s", path);
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* Replaces comments by spaces (keeping string and character literals), so a
 * point named in a comment (as io.h's) is not taken for a point. */
static void blank_comments(char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] == '"' || s[i] == '\'') {
            char q = s[i++];
            while (i < len && s[i] != q) {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                i++;
            }
            i++;
        } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
            size_t j = i + 2;
            while (j + 1 < len && !(s[j] == '*' && s[j + 1] == '/'))
                j++;
            j = j + 2 <= len ? j + 2 : len;
            for (; i < j; i++)
                if (s[i] != '\n')
                    s[i] = ' ';
        } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
            while (i < len && s[i] != '\n')
                s[i++] = ' ';
        } else {
            i++;
        }
    }
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Adds to s every literal that directly follows one of the point macros and
 * its '(' (spaces allowed). Literals not beginning with "tcpshm/" are added
 * too: they are points as well, and are reported as missing from the
 * catalogue. */
static void scan_source(point_set *s, const char *file, char *text, size_t len)
{
    static const char *const callers[] = {"fiu_fail", "fiu_do_on", "fiu_return_on",
                                          "fiu_exit_on", "TCPSHM_CRASH_SITE"};
    blank_comments(text, len);
    for (size_t k = 0; k < sizeof callers / sizeof callers[0]; k++) {
        size_t clen = strlen(callers[k]);
        for (char *p = strstr(text, callers[k]); p; p = strstr(p + 1, callers[k])) {
            if (p > text && ident_char(p[-1]))
                continue;
            char *q = p + clen;
            if (ident_char(*q))
                continue;
            while (is_space(*q))
                q++;
            if (*q != '(')
                continue;
            q++;
            while (is_space(*q))
                q++;
            if (*q != '"')
                continue; /* a macro definition's parameter, e.g. fiu_fail(name) */
            q++;
            char name[MAX_NAME];
            size_t n = 0;
            while (*q && *q != '"' && n + 1 < sizeof name)
                name[n++] = *q++;
            name[n] = '\0';
            cr_assert_eq(*q, '"', "%s: unterminated or too long point name near %.40s", file, p);
            set_add(s, name, file);
        }
    }
}

static int source_file(const char *name)
{
    size_t n = strlen(name);
    return n > 2 && name[n - 2] == '.' && (name[n - 1] == 'c' || name[n - 1] == 'h');
}

static void scan_core(point_set *s)
{
    DIR *d = opendir(TCPSHM_CORE_SRC_DIR);
    cr_assert_not_null(d, "cannot open %s", TCPSHM_CORE_SRC_DIR);
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!source_file(e->d_name))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", TCPSHM_CORE_SRC_DIR, e->d_name);
        size_t len;
        char *text = read_whole(path, &len);
        scan_source(s, e->d_name, text, len);
        free(text);
        files++;
    }
    closedir(d);
    cr_assert_gt(files, 0u, "no .c/.h files in %s", TCPSHM_CORE_SRC_DIR);
}

static point_set code_points; /* large: keep it off the stack */

Test(fault_catalogue, matches_the_points_in_core_src)
{
    scan_core(&code_points);
    cr_assert_gt(code_points.n, 0u, "no failure points found in %s: scanner broken?",
                 TCPSHM_CORE_SRC_DIR);

    /* Report every difference before failing. */
    int bad = 0;
    for (size_t i = 0; i < code_points.n; i++)
        if (tcpshm_fault_find(code_points.name[i]) == NULL) {
            cr_log_error("point \"%s\" (in core/src/%s) is missing from faults/catalogue.c",
                         code_points.name[i], code_points.file[i]);
            bad++;
        }
    for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
        if (!set_has(&code_points, tcpshm_fault_catalogue[i].name)) {
            cr_log_error("catalogue row \"%s\" is not a point in core/src (extra row)",
                         tcpshm_fault_catalogue[i].name);
            bad++;
        }
    cr_assert_eq(bad, 0, "%d difference(s) between faults/catalogue.c and core/src (see above)",
                 bad);
}

/* The scanner itself: literal after the macros only, comments ignored. */
Test(fault_catalogue, scanner_rules)
{
    static point_set s;
    char text[] = "/* fiu_fail(\"tcpshm/in/comment\") */\n"
                  "// TCPSHM_CRASH_SITE(\"tcpshm/in/line/comment\")\n"
                  "#define fiu_fail(name) 0\n"
                  "const char *t = \"fiu_fail(\\\"tcpshm/in/string\\\")\";\n"
                  "if (my_fiu_fail(\"tcpshm/other/ident\")) x();\n"
                  "if (fiu_fail ( \"tcpshm/a\")) x();\n"
                  "TCPSHM_CRASH_SITE(\n  \"tcpshm/crash/b\");\n"
                  "if (fiu_fail(\"tcpshm/a\")) y();\n";
    scan_source(&s, "inline", text, strlen(text));
    cr_assert_eq(s.n, 2u, "found %zu points", s.n);
    cr_assert(set_has(&s, "tcpshm/a"));
    cr_assert(set_has(&s, "tcpshm/crash/b"));
}

Test(fault_catalogue, rows_unique_and_described)
{
    cr_assert_gt(tcpshm_fault_catalogue_len, 0u);
    for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++) {
        const tcpshm_fault_point *p = &tcpshm_fault_catalogue[i];
        cr_assert_not_null(p->name, "row %zu has no name", i);
        cr_assert_eq(strncmp(p->name, "tcpshm/", 7), 0, "row %zu: \"%s\" not under tcpshm/", i,
                     p->name);
        cr_assert(p->effect != NULL && p->effect[0] != '\0', "%s: empty effect", p->name);
        cr_assert(p->where != NULL && p->where[0] != '\0', "%s: empty where", p->name);
        for (size_t j = i + 1; j < tcpshm_fault_catalogue_len; j++)
            cr_assert_neq(strcmp(p->name, tcpshm_fault_catalogue[j].name), 0,
                          "\"%s\" appears twice (rows %zu and %zu)", p->name, i, j);
    }
}

/* faults/README.md shows the same table: one "| `name` |" row per point. */
Test(fault_catalogue, readme_table_matches)
{
    size_t len;
    char *text = read_whole(TCPSHM_CORE_SRC_DIR "/../../faults/README.md", &len);
    static point_set rows;
    for (char *p = strstr(text, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
        char *name = p + 4;
        char *end = strchr(name, '`');
        cr_assert_not_null(end);
        cr_assert_lt((size_t)(end - name), (size_t)MAX_NAME);
        char buf[MAX_NAME];
        memcpy(buf, name, (size_t)(end - name));
        buf[end - name] = '\0';
        cr_assert(!set_has(&rows, buf), "README lists \"%s\" twice", buf);
        set_add(&rows, buf, "README.md");
        cr_assert_not_null(tcpshm_fault_find(buf), "README row \"%s\" is not in the catalogue",
                           buf);
    }
    free(text);
    for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
        cr_assert(set_has(&rows, tcpshm_fault_catalogue[i].name),
                  "\"%s\" is missing from the table in faults/README.md",
                  tcpshm_fault_catalogue[i].name);
}

Test(fault_catalogue, find)
{
    for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
        cr_assert_eq(tcpshm_fault_find(tcpshm_fault_catalogue[i].name),
                     &tcpshm_fault_catalogue[i], "find(%s)", tcpshm_fault_catalogue[i].name);

    const tcpshm_fault_point *p = tcpshm_fault_find("tcpshm/net/send/short");
    cr_assert_not_null(p);
    cr_assert_str_eq(p->name, "tcpshm/net/send/short");
    cr_assert_not_null(tcpshm_fault_find("tcpshm/crash/queue/push_before_publish"));

    cr_assert_null(tcpshm_fault_find("tcpshm/net/send/"));
    cr_assert_null(tcpshm_fault_find("tcpshm/net"));
    cr_assert_null(tcpshm_fault_find("TCPSHM/NET/SEND"));
    cr_assert_null(tcpshm_fault_find(""));
    cr_assert_null(tcpshm_fault_find(NULL));
}
