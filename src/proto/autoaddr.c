/* Auto-address derivation (SHA-1 from nettle). */
#include "proto/autoaddr.h"

#include <nettle/sha1.h>
#include <string.h>

void autoaddr_from_key(const uint8_t key[static 32], struct in6_addr *out)
{
	struct sha1_ctx ctx;
	uint8_t digest[SHA1_DIGEST_SIZE];
	sha1_init(&ctx);
	sha1_update(&ctx, 32, key);
	sha1_digest(&ctx, sizeof(digest), digest);
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
