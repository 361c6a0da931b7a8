/* WireGuard keys as operators see them: 44-character base64. */
#ifndef WIRELINK_KEYS_H
#define WIRELINK_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { KEY_LEN = 32, KEY_B64_LEN = 44 };

/* Parses exactly one base64 key (surrounding white space allowed). */
bool key_from_base64(const char *text, size_t len, uint8_t out[static KEY_LEN]);
/* Writes the base64 form and a NUL into out. */
void key_to_base64(const uint8_t key[static KEY_LEN], char out[static KEY_B64_LEN + 1]);

#endif
