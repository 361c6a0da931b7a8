/* Keys, the shared-secret cache, and group tags. */
#include "helpers.h"

#include "proto/crypto.h"
#include "proto/pack.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static void test_identity(void **state)
{
	(void)state;
	uint8_t priv[32], pub[32];
	memset(priv, 0x42, sizeof(priv));
	struct crypto_identity *id;
	assert_int_equal(crypto_identity_new(priv, &id), 0);
	assert_int_equal(crypto_scalarmult_base(pub, priv), 0);
	assert_memory_equal(crypto_identity_public(id), pub, 32);
	crypto_identity_free(id);
	crypto_identity_free(NULL);
}

static void test_cache(void **state)
{
	(void)state;
	uint8_t a[32], b[32], pub_b[32], direct[32];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	assert_int_equal(crypto_public_key(b, pub_b), 0);
	struct crypto_identity *id;
	assert_int_equal(crypto_identity_new(a, &id), 0);
	struct crypto_cache *c = crypto_cache_new(id);
	const uint8_t *s1 = crypto_cache_get(c, pub_b);
	const uint8_t *s2 = crypto_cache_get(c, pub_b);
	assert_non_null(s1);
	assert_ptr_equal(s1, s2); /* second lookup is a cache hit */
	assert_int_equal(crypto_shared(id, pub_b, direct), 0);
	assert_memory_equal(s1, direct, 32);
	assert_int_equal(crypto_cache_count(c), 1);

	/* Low-order keys give an all-zero secret: refused, and remembered. */
	static const uint8_t zero[32] = { 0 }, one[32] = { 1 };
	assert_int_equal(crypto_shared(id, zero, direct), -EINVAL);
	assert_true(sodium_is_zero(direct, 32));
	assert_null(crypto_cache_get(c, zero));
	assert_null(crypto_cache_get(c, one));
	assert_int_equal(crypto_cache_count(c), 3);

	crypto_cache_forget(c, pub_b);
	crypto_cache_forget(c, pub_b);
	assert_int_equal(crypto_cache_count(c), 2);
	crypto_cache_free(c);
	crypto_cache_free(NULL);
	crypto_identity_free(id);
}

static void test_tag_covers_everything(void **state)
{
	(void)state;
	uint8_t shared[32], nonce[24], signer[32] = { 9 }, inner[100], pkt[512];
	memset(shared, 7, sizeof(shared));
	crypto_random_nonce(nonce);
	for (size_t i = 0; i < sizeof(inner); i++)
		inner[i] = (uint8_t)i;
	size_t n = pack_seal(signer, shared, nonce, inner, sizeof(inner), pkt, sizeof(pkt));
	assert_int_equal(n, WIRE_GROUP_HEADER + sizeof(inner));
	assert_int_equal(pack_seal(signer, shared, nonce, inner, sizeof(inner), pkt, 100), 0);
	n = pack_seal(signer, shared, nonce, inner, sizeof(inner), pkt, sizeof(pkt));

	struct wire_fact g;
	assert_int_equal(wire_decode_group_outer(pkt, n, &g), WIRE_OK);
	assert_true(crypto_group_verify(shared, &g.v.group));
	/* Flipping any bit of nonce, tag or inner bytes breaks the tag. */
	for (size_t i = 1 + 1 + 32; i < n; i++) {
		pkt[i] ^= 0x10;
		assert_int_equal(wire_decode_group_outer(pkt, n, &g), WIRE_OK);
		if (crypto_group_verify(shared, &g.v.group))
			fail_msg("flip at byte %zu still verifies", i);
		pkt[i] ^= 0x10;
	}
	/* Dropping the last inner byte too. */
	assert_int_equal(wire_decode_group_outer(pkt, n - 1, &g), WIRE_OK);
	assert_false(crypto_group_verify(shared, &g.v.group));
	/* Another key does not verify. */
	assert_int_equal(wire_decode_group_outer(pkt, n, &g), WIRE_OK);
	shared[0] ^= 1;
	assert_false(crypto_group_verify(shared, &g.v.group));
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	if (crypto_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_tag_covers_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
