/* Text or JSON output of tcpshm-inspect (see inspect_out.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "inspect_out.h"

static bool g_json;
static bool g_first_obj = true, g_first_field, g_first_item, g_in_list;

/* Through the tools' one escaping function (escape.c): \xNN in text,
 * \u00NN in JSON. The buffer fits the JSON form's worst case: never cut. */
static void put_escaped(const char *s)
{
    char small[CLI_ESC_MAX];
    size_t cap = 6 * strlen(s) + 1;
    char *buf = cap <= sizeof small ? small : malloc(cap);
    if (!buf) {
        buf = small;
        cap = sizeof small;
    }
    fputs(cli_escape(buf, cap, s, g_json ? CLI_ESC_JSON : CLI_ESC_TEXT), stdout);
    if (buf != small)
        free(buf);
}

static void key_text(const char *key)
{
    printf("  ");
    for (const char *k = key; *k; k++)
        putchar(*k == '_' ? ' ' : *k);
    printf(": ");
}

static void key_json(const char *key)
{
    printf("%s\"%s\": ", g_first_field ? "" : ", ", key);
    g_first_field = false;
}

void out_init(bool json)
{
    g_json = json;
    if (json)
        printf("{\"objects\": [");
}

void out_finish(unsigned objects, unsigned corrupt, unsigned unreadable)
{
    if (g_json)
        printf("%s], \"count\": %u, \"corrupt\": %u, \"unreadable\": %u}\n", objects ? "\n" : "",
               objects, corrupt, unreadable);
    else
        printf("%u object%s inspected, %u corrupt, %u unreadable\n", objects, objects == 1 ? "" : "s",
               corrupt, unreadable);
    fflush(stdout);
}

void out_object_begin(const char *kind, const char *name)
{
    if (g_json) {
        printf("%s\n  {\"kind\": \"%s\", \"name\": \"", g_first_obj ? "" : ",", kind);
        put_escaped(name);
        putchar('"');
        g_first_field = false;
    } else {
        printf("%s ", kind);
        put_escaped(name);
        putchar('\n');
    }
    g_first_obj = false;
}

void out_object_end(void)
{
    if (g_json)
        putchar('}');
    fflush(stdout);
}

void out_str(const char *key, const char *val)
{
    if (g_json) {
        key_json(key);
        putchar('"');
        put_escaped(val);
        putchar('"');
    } else {
        key_text(key);
        put_escaped(val);
        putchar('\n');
    }
}

void out_u64(const char *key, uint64_t val)
{
    if (g_json)
        key_json(key);
    else
        key_text(key);
    printf("%llu%s", (unsigned long long)val, g_json ? "" : "\n");
}

void out_bool(const char *key, bool val)
{
    if (g_json)
        key_json(key);
    else
        key_text(key);
    printf("%s%s", val ? (g_json ? "true" : "yes") : (g_json ? "false" : "no"), g_json ? "" : "\n");
}

void out_note(const char *text)
{
    if (g_json) {
        key_json("note");
        putchar('"');
        put_escaped(text);
        putchar('"');
    } else {
        printf("  (");
        put_escaped(text);
        printf(")\n");
    }
}

void out_list_begin(const char *key)
{
    if (g_json) {
        key_json(key);
        putchar('[');
    } else {
        printf("  %s:\n", key);
    }
    g_in_list = true;
    g_first_item = true;
}

void out_list_end(void)
{
    if (g_json)
        putchar(']');
    g_in_list = false;
}

void out_msg(uint32_t seq, uint32_t type, uint32_t size, uint32_t ack, bool have_ack,
             const uint8_t *body, size_t body_len, bool hex)
{
    if (g_json) {
        printf("%s{\"seq\": %u, \"type\": %u, \"size\": %u", g_first_item ? "" : ", ", seq, type, size);
        if (have_ack)
            printf(", \"ack\": %u", ack);
        if (hex) {
            printf(", \"body_hex\": \"");
            for (size_t i = 0; i < body_len; i++)
                printf("%02x", body[i]);
            putchar('"');
        }
        putchar('}');
    } else {
        printf("    seq %u: type %u, size %u", seq, type, size);
        if (have_ack)
            printf(", ack %u", ack);
        putchar('\n');
        for (size_t i = 0; hex && i < body_len; i += 16) {
            printf("      %04zx ", i);
            for (size_t j = i; j < i + 16; j++)
                printf(j < body_len ? " %02x" : "   ", j < body_len ? body[j] : 0);
            printf("  ");
            for (size_t j = i; j < i + 16 && j < body_len; j++)
                putchar(body[j] >= 0x20 && body[j] < 0x7f ? body[j] : '.');
            putchar('\n');
        }
    }
    g_first_item = false;
}
