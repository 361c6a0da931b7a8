/* UTF-8 validation (RFC 3629, table 3-7 of the Unicode standard). */
#include "util/utf8.h"

bool utf8_valid(const uint8_t *s, size_t len, size_t *chars)
{
	size_t n = 0, i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t more;
		uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
		if (c < 0x80) {
			more = 0;
		} else if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return false; /* continuation byte, C0, C1 or F5..FF */
		}
		if (more > len - i - 1)
			return false;
		for (size_t k = 1; k <= more; k++) {
			uint8_t b = s[i + k];
			if (k == 1 ? (b < lo || b > hi) : (b & 0xc0) != 0x80)
				return false;
		}
		i += more + 1;
		n++;
	}
	if (chars)
		*chars = n;
	return true;
}
