/* UTF-8 validation for peer names (received metadata and the config file). */
#ifndef WIRELINK_UTF8_H
#define WIRELINK_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8 (RFC 3629): no overlong forms,
 * no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
 * sequence. Sets *chars (when not NULL) to the number of code points. */
bool utf8_valid(const uint8_t *s, size_t len, size_t *chars);

#endif
