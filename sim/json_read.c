/* A small recursive-descent JSON reader. */
#include "json_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const char *s, *p;
    char *why;
    size_t whylen;
    int depth;
} reader;

static json_value *fail(reader *r, const char *what)
{
    if (r->why[0] == '\0')
        snprintf(r->why, r->whylen, "%s at byte %ld", what, (long)(r->p - r->s));
    return NULL;
}

static void skip_ws(reader *r)
{
    while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
        r->p++;
}

static json_value *new_value(reader *r, json_type t)
{
    json_value *v = calloc(1, sizeof *v);
    if (!v)
        return fail(r, "out of memory");
    v->type = t;
    return v;
}

/* Appends a child (and its key for objects); -1 on out of memory. */
static int push(json_value *v, char *key, json_value *item)
{
    json_value **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items)
        return -1;
    v->items = items;
    if (v->type == JSON_OBJECT) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
        if (!keys)
            return -1;
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* A string at r->p (on the quote): its decoded bytes, or NULL. */
static char *read_string(reader *r)
{
    r->p++;
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    while (out) {
        unsigned char c = (unsigned char)*r->p;
        if (c == '"') {
            r->p++;
            out[len] = '\0';
            return out;
        }
        if (c < 0x20) {
            free(out);
            fail(r, c ? "a control character in a string" : "an unterminated string");
            return NULL;
        }
        char enc[4];
        size_t k = 1;
        enc[0] = (char)c;
        r->p++;
        if (c == '\\') {
            char e = *r->p++;
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *at = e ? strchr(from, e) : NULL;
            unsigned u;
            if (at) {
                enc[0] = to[at - from];
            } else if (e == 'u' && hex4(r->p, &u) == 0) {
                r->p += 4;
                if (u < 0x80) {
                    enc[0] = (char)u;
                } else if (u < 0x800) {
                    enc[0] = (char)(0xc0 | (u >> 6));
                    enc[1] = (char)(0x80 | (u & 0x3f));
                    k = 2;
                } else {
                    enc[0] = (char)(0xe0 | (u >> 12));
                    enc[1] = (char)(0x80 | ((u >> 6) & 0x3f));
                    enc[2] = (char)(0x80 | (u & 0x3f));
                    k = 3;
                }
            } else {
                free(out);
                fail(r, "a bad escape in a string");
                return NULL;
            }
        }
        if (len + k + 1 > cap) {
            cap *= 2;
            char *bigger = realloc(out, cap);
            if (!bigger)
                break;
            out = bigger;
        }
        memcpy(out + len, enc, k);
        len += k;
    }
    free(out);
    fail(r, "out of memory");
    return NULL;
}

static json_value *read_value(reader *r);

static json_value *read_container(reader *r, json_type t)
{
    char close = t == JSON_ARRAY ? ']' : '}';
    json_value *v = new_value(r, t);
    if (!v)
        return NULL;
    r->p++;
    skip_ws(r);
    if (*r->p == close) {
        r->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(r);
        if (t == JSON_OBJECT) {
            if (*r->p != '"' || !(key = read_string(r)))
                break;
            skip_ws(r);
            if (*r->p++ != ':') {
                free(key);
                fail(r, "':' expected");
                break;
            }
        }
        json_value *item = read_value(r);
        if (!item || push(v, key, item) != 0) {
            free(key);
            json_free(item);
            break;
        }
        skip_ws(r);
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == close) {
            r->p++;
            return v;
        }
        fail(r, t == JSON_ARRAY ? "',' or ']' expected" : "',' or '}' expected");
        break;
    }
    json_free(v);
    return fail(r, t == JSON_OBJECT ? "a bad object" : "a bad array");
}

static json_value *read_number(reader *r)
{
    const char *start = r->p;
    if (*r->p == '-')
        r->p++;
    if (*r->p == '0')
        r->p++;
    else if (*r->p >= '1' && *r->p <= '9')
        while (*r->p >= '0' && *r->p <= '9')
            r->p++;
    else
        return fail(r, "a value expected");
    if (*r->p == '.') {
        r->p++;
        if (*r->p < '0' || *r->p > '9')
            return fail(r, "a digit expected");
        while (*r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (*r->p == 'e' || *r->p == 'E') {
        r->p++;
        if (*r->p == '+' || *r->p == '-')
            r->p++;
        if (*r->p < '0' || *r->p > '9')
            return fail(r, "a digit expected");
        while (*r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    json_value *v = new_value(r, JSON_NUMBER);
    if (v && !(v->text = strndup(start, (size_t)(r->p - start)))) {
        free(v);
        return fail(r, "out of memory");
    }
    return v;
}

static json_value *read_value(reader *r)
{
    skip_ws(r);
    if (++r->depth > 64)
        return fail(r, "nested too deep");
    json_value *v = NULL;
    static const struct {
        const char *word;
        json_type t;
        bool b;
    } words[] = {{"null", JSON_NULL, false}, {"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}};
    if (*r->p == '{' || *r->p == '[') {
        v = read_container(r, *r->p == '{' ? JSON_OBJECT : JSON_ARRAY);
    } else if (*r->p == '"') {
        char *s = read_string(r);
        if (s && (v = new_value(r, JSON_STRING)))
            v->text = s;
        else
            free(s);
    } else {
        for (size_t i = 0; i < 3; i++)
            if (strncmp(r->p, words[i].word, strlen(words[i].word)) == 0) {
                r->p += strlen(words[i].word);
                if ((v = new_value(r, words[i].t)))
                    v->boolean = words[i].b;
                r->depth--;
                return v;
            }
        v = read_number(r);
    }
    r->depth--;
    return v;
}

json_value *json_parse(const char *text, char *why, size_t whylen)
{
    reader r = {.s = text, .p = text, .why = why, .whylen = whylen};
    why[0] = '\0';
    json_value *v = read_value(&r);
    if (v) {
        skip_ws(&r);
        if (*r.p) {
            json_free(v);
            return fail(&r, "text after the document");
        }
    }
    return v;
}

void json_free(json_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    free(v);
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

int json_u64(const json_value *v, uint64_t *out)
{
    if (!v || v->type != JSON_NUMBER || v->text[0] == '-' || strpbrk(v->text, ".eE"))
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(v->text, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}
