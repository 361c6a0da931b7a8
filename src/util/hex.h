/* Hex parsing for operator input (packets pasted as hex) and test vectors. */
#ifndef WIRELINK_HEX_H
#define WIRELINK_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses hex digits from text[0..len), ignoring ASCII white space between
 * byte pairs. Writes at most cap bytes; *out_len gets the count. False on a
 * non-hex character, an odd digit count, or more than cap bytes. */
bool hex_parse(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
