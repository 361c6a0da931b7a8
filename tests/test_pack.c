/* Packer: sizes, order, completeness, and what the recipient gets back. */
#include "helpers.h"

#include "proto/crypto.h"
#include "proto/meta.h"
#include "proto/pack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct crypto_identity *alice, *bob;
static uint8_t shared_ab[32];

struct sink {
	uint8_t pkts[1024][WIRE_MAX_PACKET];
	size_t lens[1024];
	int n;
	int fail_at; /* emit returns -EIO on this packet (1-based), 0: never */
};

static int collect(void *arg, const uint8_t *pkt, size_t len)
{
	struct sink *s = arg;
	if (s->fail_at && s->n + 1 == s->fail_at)
		return -EIO;
	assert_true(s->n < 1024);
	assert_true(len <= WIRE_MAX_PACKET);
	memcpy(s->pkts[s->n], pkt, len);
	s->lens[s->n++] = len;
	return 0;
}

static uint8_t meta_store[600][32];

static struct wire_fact mixed_fact(size_t i)
{
	struct wire_fact f = { .ttl = (uint16_t)(i * 131 % 65536) };
	for (int b = 0; b < 32; b++)
		f.subject[b] = (uint8_t)(i * 7 + (size_t)b);
	switch (i % 7) {
	case 0:
		f.attr = WIRE_ENDPOINT_V4;
		memcpy(f.v.endpoint.addr, (uint8_t[]){ 192, 0, 2, (uint8_t)i }, 4);
		f.v.endpoint.port = (uint16_t)(1000 + i);
		break;
	case 1:
		f.attr = WIRE_ENDPOINT_V6;
		f.v.endpoint.addr[0] = 0xfd;
		f.v.endpoint.addr[15] = (uint8_t)i;
		f.v.endpoint.port = 51820;
		break;
	case 2:
		f.attr = WIRE_CIDR_V4;
		memcpy(f.v.cidr.addr, (uint8_t[]){ 203, 0, 113, (uint8_t)i }, 4);
		f.v.cidr.prefix = 32;
		break;
	case 3:
		f.attr = WIRE_CIDR_V6;
		f.v.cidr.addr[0] = 0xfd;
		f.v.cidr.prefix = 64;
		break;
	case 4: {
		char name[17];
		bool ok;
		snprintf(name, sizeof(name), "peer-%u", (unsigned)(i % 100000));
		size_t n = meta_build(name, (int)(i % 2), meta_store[i % 600], 32, &ok);
		assert_true(ok);
		f.attr = WIRE_MEMBER_META;
		f.v.meta = (struct wire_view){ meta_store[i % 600], (uint32_t)n };
		break;
	}
	case 5: f.attr = WIRE_MEMBER; break;
	default:
		f.attr = WIRE_ALIVE;
		memset(f.v.boot_id, (int)i, 16);
		break;
	}
	return f;
}

/* Bob's side: verifies each packet and returns the facts' text, in order. */
static char **receive_all(const struct sink *s, size_t *count)
{
	struct crypto_cache *cache = crypto_cache_new(bob);
	char **texts = NULL;
	*count = 0;
	for (int p = 0; p < s->n; p++) {
		struct wire_fact g, f;
		assert_int_equal(wire_decode_group_outer(s->pkts[p], s->lens[p], &g), WIRE_OK);
		assert_int_equal(g.ttl, 0);
		assert_memory_equal(g.subject, crypto_identity_public(alice), 32);
		assert_true(g.v.group.inner.len <= WIRE_MAX_INNER);
		const uint8_t *shared = crypto_cache_get(cache, g.subject);
		assert_non_null(shared);
		assert_true(crypto_group_verify(shared, &g.v.group));
		struct wire_inner_iter it;
		wire_inner_begin(&it, &g.v.group.inner);
		while (wire_inner_next(&it, &f)) {
			texts = realloc(texts, (*count + 1) * sizeof(*texts));
			texts[(*count)++] = fact_text(&f);
		}
		assert_int_equal(it.err, WIRE_OK);
	}
	crypto_cache_free(cache);
	return texts;
}

static void check_pack(size_t n)
{
	struct wire_fact *facts = calloc(n + 1, sizeof(*facts));
	for (size_t i = 0; i < n; i++)
		facts[i] = mixed_fact(i);
	struct sink *s = calloc(1, sizeof(*s));
	struct pack_target t = { crypto_identity_public(alice), shared_ab, collect, s };
	int r = pack_facts(&t, facts, n, NULL, 0);
	assert_int_equal(r, s->n);

	/* Greedy: a packet is closed only when the next fact would not fit. */
	int want_packets = 0;
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t sz = wire_fact_size(&facts[i]);
		if (want_packets == 0 || used + sz > WIRE_MAX_INNER) {
			want_packets++;
			used = 0;
		}
		used += sz;
	}
	assert_int_equal(s->n, want_packets);

	size_t got = 0;
	char **texts = receive_all(s, &got);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++) {
		char *want = fact_text(&facts[i]);
		if (strcmp(want, texts[i]) != 0)
			fail_msg("fact %zu: got %s want %s", i, texts[i], want);
		free(want);
		free(texts[i]);
	}
	free(texts);
	free(s);
	free(facts);
}

static void test_pack_0(void **state) { (void)state; check_pack(0); }
static void test_pack_1(void **state) { (void)state; check_pack(1); }
static void test_pack_35(void **state) { (void)state; check_pack(35); }
static void test_pack_500(void **state) { (void)state; check_pack(500); }

static void test_fill(void **state)
{
	(void)state;
	struct sink *s = calloc(1, sizeof(*s));
	struct pack_target t = { crypto_identity_public(alice), shared_ab, collect, s };
	struct wire_fact alive = mixed_fact(6), ep = mixed_fact(0);
	assert_int_equal(alive.attr, WIRE_ALIVE);

	/* Nothing else to send: the fill fact alone sends nothing. */
	assert_int_equal(pack_facts(&t, NULL, 0, &alive, 1), 0);
	assert_int_equal(s->n, 0);

	/* Rides along when there is room. */
	assert_int_equal(pack_facts(&t, &ep, 1, &alive, 1), 1);
	size_t count = 0;
	char **texts = receive_all(s, &count);
	assert_int_equal(count, 2);
	for (size_t i = 0; i < count; i++)
		free(texts[i]);
	free(texts);

	/* 27 v4 endpoints of 40 bytes fill 1080 of 1136 bytes: room for the
	 * 51-byte alive. With 28 (1120 bytes) it is left out. */
	struct wire_fact many[28];
	for (int i = 0; i < 28; i++) {
		many[i] = mixed_fact(0);
		many[i].ttl = 1;
	}
	assert_int_equal(wire_fact_size(&many[0]), 40);
	assert_int_equal(wire_fact_size(&alive), 51);
	for (size_t n = 27; n <= 28; n++) {
		s->n = 0;
		assert_int_equal(pack_facts(&t, many, n, &alive, 1), 1);
		texts = receive_all(s, &count);
		assert_int_equal(count, 28);
		for (size_t i = 0; i < count; i++)
			free(texts[i]);
		free(texts);
	}
	free(s);
}

static void test_errors(void **state)
{
	(void)state;
	struct sink *s = calloc(1, sizeof(*s));
	struct pack_target t = { crypto_identity_public(alice), shared_ab, collect, s };

	/* One fact larger than a group is skipped; the others still go. */
	static uint8_t big[1200];
	big[0] = META_NAME;
	big[1] = 0xa8; /* 1192 as a uvarint */
	big[2] = 0x09;
	memset(big + 3, 'x', 1192);
	struct wire_fact facts[3] = { mixed_fact(0), mixed_fact(4), mixed_fact(1) };
	facts[1].v.meta = (struct wire_view){ big, 1195 };
	assert_true(wire_fact_size(&facts[1]) > WIRE_MAX_INNER);
	struct wire_fact alive = mixed_fact(2);
	assert_int_equal(pack_facts(&t, facts, 3, &alive, 1), 1);
	assert_int_equal(s->n, 1);

	/* So are unencodable ones and groups. */
	facts[1].attr = 'x';
	assert_int_equal(pack_facts(&t, facts, 3, NULL, 0), 1);
	facts[1].attr = WIRE_SIGNED_GROUP;
	assert_int_equal(pack_facts(&t, facts, 3, NULL, 0), 1);
	assert_int_equal(s->n, 3);
	/* Nothing packable: no packet, not even for the fill. */
	assert_int_equal(pack_facts(&t, facts + 1, 1, &alive, 1), 0);
	assert_int_equal(s->n, 3);

	/* The emitter's error stops packing and is returned. */
	struct wire_fact many[100];
	for (int i = 0; i < 100; i++)
		many[i] = mixed_fact((size_t)i);
	s->n = 0;
	s->fail_at = 2;
	assert_int_equal(pack_facts(&t, many, 100, NULL, 0), -EIO);
	assert_int_equal(s->n, 1);
	free(s);
}

static int setup(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	if (crypto_init() || crypto_identity_new(a, &alice) || crypto_identity_new(b, &bob))
		return -1;
	return crypto_shared(alice, crypto_identity_public(bob), shared_ab);
}

static int teardown(void **state)
{
	(void)state;
	crypto_identity_free(alice);
	crypto_identity_free(bob);
	return 0;
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_0),	 cmocka_unit_test(test_pack_1),
		cmocka_unit_test(test_pack_35),	 cmocka_unit_test(test_pack_500),
		cmocka_unit_test(test_fill),	 cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
