/* The canonical text form of decoded facts and packets (tests/vectors/README.md),
 * used by tests, debug logs and `wirelink decode`. */
#ifndef WIRELINK_TEXT_H
#define WIRELINK_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "proto/wire.h"

/* "<attr> ttl=<ttl> subject=<base64> value=<value>" with no newline. */
void text_fact(FILE *out, const struct wire_fact *f);
/* Just the value part. */
void text_value(FILE *out, const struct wire_fact *f);
/* text_fact, or text_value when value_only, as a malloc'd string (NULL when
 * out of memory). */
char *text_fact_string(const struct wire_fact *f, bool value_only);

/* A whole packet: one line, or a group header and indented inner facts, each
 * line ending in a newline; "error: <reason>" when it does not decode.
 * Returns the decode result. */
enum wire_err text_packet(FILE *out, const uint8_t *buf, size_t len);

/* Formats an error for a packet that did not decode (no newline). */
void text_error(FILE *out, const uint8_t *buf, size_t len, enum wire_err err);

#endif
