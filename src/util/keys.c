/* Key text encoding with libsodium's constant-time base64. */
#include "util/keys.h"

#include <sodium.h>

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool key_from_base64(const char *text, size_t len, uint8_t out[static KEY_LEN])
{
	while (len > 0 && is_blank(*text)) {
		text++;
		len--;
	}
	while (len > 0 && is_blank(text[len - 1]))
		len--;
	if (len != KEY_B64_LEN)
		return false;
	size_t bin_len = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, KEY_LEN, text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return bin_len == KEY_LEN && end == text + len;
}

void key_to_base64(const uint8_t key[static KEY_LEN], char out[static KEY_B64_LEN + 1])
{
	sodium_bin2base64(out, KEY_B64_LEN + 1, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}
