/* A small JSON reader (RFC 8259) for --merge: parses a document into a tree.
 * Numbers keep their text, so 64-bit integers read back exactly. */
#ifndef TCPSHM_SIM_JSON_READ_H
#define TCPSHM_SIM_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    bool boolean;
    char *text;                /* number or string (decoded, NUL-terminated) */
    struct json_value **items; /* array elements or object values */
    char **keys;               /* object keys */
    size_t n;
} json_value;

/* Parses text (one document, whitespace around it allowed). NULL on error,
 * with the reason and the byte offset in why. */
json_value *json_parse(const char *text, char *why, size_t whylen);
void json_free(json_value *v);

/* The member key of an object, or NULL. */
const json_value *json_get(const json_value *obj, const char *key);

/* A non-negative integer number (to UINT64_MAX): 0, or -1. */
int json_u64(const json_value *v, uint64_t *out);

#endif
