/* Auto-address derivation. */
#include "proto/autoaddr.h"

#include "util/sha1.h"

#include <string.h>

void autoaddr_from_key(const uint8_t key[static 32], struct in6_addr *out)
{
	uint8_t digest[SHA1_LEN];
	sha1(key, 32, digest);
	memset(out, 0, sizeof(*out));
	out->s6_addr[0] = 0xfe;
	out->s6_addr[1] = 0x80;
	memcpy(&out->s6_addr[8], digest, 8);
}

bool autoaddr_matches(const uint8_t key[static 32], const struct in6_addr *addr)
{
	struct in6_addr want;
	autoaddr_from_key(key, &want);
	return memcmp(&want, addr, sizeof(want)) == 0;
}
