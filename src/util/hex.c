/* Hex parsing on top of libsodium's constant-time decoder. */
#include "util/hex.h"

#include <sodium.h>

bool hex_parse(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t bin_len = 0;
	const char *end = NULL;
	*out_len = 0;
	if (sodium_hex2bin(out, cap, text, len, " \t\r\n", &bin_len, &end) != 0)
		return false;
	/* sodium stops at the first byte it cannot use; the rest must be blanks. */
	for (const char *p = end; p && p < text + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return false;
	*out_len = bin_len;
	return true;
}
