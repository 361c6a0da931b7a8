/* Test helpers: vector files, hex, and capturing text output. */
#ifndef WIRELINK_TEST_HELPERS_H
#define WIRELINK_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "proto/wire.h"

/* Directory of the vector files: argv[1] of the test program. */
extern const char *test_vector_dir;
void test_set_vector_dir(int argc, char **argv);

/* Calls fn for each non-comment, non-blank line of a vector file, split on
 * white space into at most max_fields fields (the last one keeps the rest).
 * Returns the number of lines. */
typedef void (*vec_line_fn)(void *arg, int nfields, char **fields);
int vec_each(const char *file, int max_fields, vec_line_fn fn, void *arg);

/* Hex to bytes; fails the test on bad hex. Returns the length. */
size_t hex_bytes(const char *hex, uint8_t *out, size_t cap);
void key_b64(const char *b64, uint8_t out[static 32]);

/* Canonical text of a packet, malloc'd, without the final newline. */
char *packet_text(const uint8_t *buf, size_t len);
/* Canonical text of one fact, malloc'd. */
char *fact_text(const struct wire_fact *f);

#endif
