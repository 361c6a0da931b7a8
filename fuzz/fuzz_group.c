/* libFuzzer target: the receive path of a signed group (outer decode, tag
 * verification, inner parse). The input is tried as a whole packet, and as
 * inner facts that a known peer signs for us, so that the fuzzer reaches the
 * inner parser behind a valid tag. */
#include "proto/crypto.h"
#include "proto/pack.h"
#include "proto/wire.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct crypto_identity *me, *peer;
static struct crypto_cache *cache;
static uint8_t peer_shared[32];

static void init(void)
{
	uint8_t a[32], b[32];
	memset(a, 0x5a, sizeof(a));
	memset(b, 0xa5, sizeof(b));
	if (crypto_init() || crypto_identity_new(a, &me) || crypto_identity_new(b, &peer) ||
	    crypto_shared(peer, crypto_identity_public(me), peer_shared))
		abort();
	cache = crypto_cache_new(me);
	if (!cache)
		abort();
}

/* Returns the inner-parse result, or -1 when the tag does not verify. */
static int receive(const uint8_t *pkt, size_t len)
{
	struct wire_fact g;
	if (wire_decode_group_outer(pkt, len, &g) != WIRE_OK)
		return -2;
	const uint8_t *shared = crypto_cache_get(cache, g.subject);
	bool known = memcmp(g.subject, crypto_identity_public(peer), 32) == 0;
	bool ok = shared && crypto_group_verify(shared, &g.v.group);
	if (!known)
		crypto_cache_forget(cache, g.subject); /* keep memory flat */
	if (!ok)
		return -1;
	return (int)wire_inner_validate(&g.v.group.inner, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!me)
		init();
	(void)receive(data, size);

	if (size > WIRE_MAX_INNER)
		return 0;
	static const uint8_t nonce[WIRE_NONCE_LEN] = { 1, 2, 3 };
	uint8_t pkt[WIRE_MAX_PACKET];
	size_t n = pack_seal(crypto_identity_public(peer), peer_shared, nonce, data, size, pkt,
			     sizeof(pkt));
	if (n != WIRE_GROUP_HEADER + size)
		abort();
	struct wire_view view = { data, (uint32_t)size };
	int direct = (int)wire_inner_validate(&view, NULL, NULL);
	if (receive(pkt, n) != direct) /* a peer's tag always verifies */
		abort();
	return 0;
}
