/* The output of tcpshm-inspect: one record per inspected object, written
 * either as indented "key: value" text or as one JSON document
 * ({"objects": [ {...}, ... ], "corrupt": N}). Strings from files are
 * escaped in both forms (untrusted bytes never reach the terminal raw). */
#ifndef TCPSHM_TOOLS_INSPECT_OUT_H
#define TCPSHM_TOOLS_INSPECT_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void out_init(bool json);
void out_finish(unsigned objects, unsigned corrupt, unsigned unreadable); /* closes the JSON document */

void out_object_begin(const char *kind, const char *name); /* kind: "ptcp", "shm", ... */
void out_object_end(void);

void out_str(const char *key, const char *val);
void out_u64(const char *key, uint64_t val);
void out_bool(const char *key, bool val);
void out_note(const char *text); /* a remark: text only ("note" strings in JSON) */

/* A list of messages inside the current object. */
void out_list_begin(const char *key);
void out_list_end(void);
void out_msg(uint32_t seq, uint32_t type, uint32_t size, uint32_t ack, bool have_ack,
             const uint8_t *body, size_t body_len, bool hex);

#endif
