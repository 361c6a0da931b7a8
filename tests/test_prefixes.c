/* The prefix index against a brute-force walk: exact owners, and what lies
 * inside or around a prefix, over random v4 and v6 sets. */
#include "helpers.h"

#include "core/prefixes.h"
#include "core/trust.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct wg_allowedip parse(const char *s)
{
	struct wg_allowedip ip;
	assert_true(wg_allowedip_parse(s, &ip));
	return ip;
}

static bool take_any(void *arg, const struct prefix_entry *e)
{
	*(size_t *)arg = e->peer;
	return true;
}

static bool count_all(void *arg, const struct prefix_entry *e)
{
	(void)e;
	++*(size_t *)arg;
	return false;
}

static void test_owner_and_overlap(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	const char *held[][3] = { { "10.0.0.0/24", "fd00::/64", NULL },
				  { "10.0.0.7/32", "192.0.2.0/24", NULL },
				  { "10.0.0.0/8", "0.0.0.0/0", "fd00::1/128" } };
	for (size_t i = 0; i < 3; i++) {
		struct wg_peer *p = wg_device_add_peer(d);
		for (size_t j = 0; j < 3 && held[i][j]; j++) {
			struct wg_allowedip ip = parse(held[i][j]);
			assert_int_equal(wg_peer_add_allowedip(p, &ip), 0);
		}
	}
	struct prefixes x = { 0 };
	assert_int_equal(prefixes_build(&x, d), 0);
	struct wg_allowedip q = parse("10.0.0.7/32");
	assert_int_equal(prefixes_owner(&x, &q), 1);
	q = parse("10.0.0.5/24"); /* host bits do not count */
	assert_int_equal(prefixes_owner(&x, &q), 0);
	q = parse("10.0.1.0/24");
	assert_int_equal(prefixes_owner(&x, &q), SIZE_MAX);
	/* 10.0.0.0/28: around it /24, /8 and /0; inside it nothing (the /32
	 * is .7, inside indeed): four. */
	size_t n = 0;
	q = parse("10.0.0.0/28");
	assert_false(prefixes_overlapping(&x, &q, count_all, &n));
	assert_int_equal(n, 4);
	n = 0;
	q = parse("198.51.100.0/24"); /* only the default route */
	assert_false(prefixes_overlapping(&x, &q, count_all, &n));
	assert_int_equal(n, 1);
	size_t who = SIZE_MAX;
	q = parse("fd00::/16");
	assert_true(prefixes_overlapping(&x, &q, take_any, &who));
	assert_true(who == 0 || who == 2);
	prefixes_free(&x);
	prefixes_free(&x);
	wg_device_free(d);
}

/* Random sets, checked against a walk over every pair. */
static void test_against_walk(void **state)
{
	(void)state;
	srand(7);
	for (int round = 0; round < 20; round++) {
		struct wg_device *d = wg_device_new("wg0");
		for (int i = 0; i < 40; i++) {
			struct wg_peer *p = wg_device_add_peer(d);
			for (int j = 0; j < 3; j++) {
				struct wg_allowedip ip = { .family = rand() % 3 ? AF_INET : AF_INET6 };
				int max = ip.family == AF_INET ? 32 : 128;
				ip.cidr = (uint8_t)(rand() % 3 ? max - rand() % 9 : rand() % (max + 1));
				/* few distinct high bytes, so that prefixes meet */
				uint8_t *b = (uint8_t *)&ip.ip6;
				b[0] = ip.family == AF_INET ? 10 : 0xfd;
				for (int k = 1; k < (ip.family == AF_INET ? 4 : 16); k++)
					b[k] = (uint8_t)(k < 3 ? rand() % 2 : rand());
				trust_mask_allowedip(&ip);
				bool dup = false;
				for (size_t a = 0; a < d->n_peers && !dup; a++)
					for (size_t c = 0; c < d->peers[a].n_allowedips; c++)
						dup |= !memcmp(&d->peers[a].allowedips[c], &ip, sizeof(ip));
				if (!dup)
					assert_int_equal(wg_peer_add_allowedip(p, &ip), 0);
			}
		}
		struct prefixes x = { 0 };
		assert_int_equal(prefixes_build(&x, d), 0);
		for (size_t a = 0; a < d->n_peers; a++)
			for (size_t c = 0; c < d->peers[a].n_allowedips; c++) {
				const struct wg_allowedip *q = &d->peers[a].allowedips[c];
				assert_int_equal(prefixes_owner(&x, q), a);
				size_t want = 0, got = 0;
				for (size_t b = 0; b < d->n_peers; b++)
					for (size_t e = 0; e < d->peers[b].n_allowedips; e++) {
						const struct wg_allowedip *h = &d->peers[b].allowedips[e];
						want += trust_prefix_within(h, q) || trust_prefix_within(q, h);
					}
				prefixes_overlapping(&x, q, count_all, &got);
				assert_int_equal(got, want);
			}
		prefixes_free(&x);
		wg_device_free(d);
	}
}

/* Queries that are not held, with host bits, and at the edges (/0, /32,
 * /128, the other family), against the same walk. */
static void test_review_queries_against_walk(void **state)
{
	(void)state;
	srand(11);
	struct wg_device *d = wg_device_new("wg0");
	const char *fixed[] = { "0.0.0.0/0", "::/0", "10.0.0.0/8", "10.1.2.3/32", "fd00::/8",
				"fd00::1/128", "255.255.255.255/32", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" };
	for (size_t i = 0; i < 8; i++) {
		struct wg_allowedip ip = parse(fixed[i]);
		assert_int_equal(wg_peer_add_allowedip(wg_device_add_peer(d), &ip), 0);
	}
	for (int i = 0; i < 60; i++) {
		struct wg_allowedip ip = { .family = i % 2 ? AF_INET : AF_INET6 };
		int max = ip.family == AF_INET ? 32 : 128;
		ip.cidr = (uint8_t)(rand() % (max + 1));
		uint8_t *b = (uint8_t *)&ip.ip6;
		b[0] = ip.family == AF_INET ? 10 : 0xfd;
		for (int k = 1; k < max / 8; k++)
			b[k] = (uint8_t)(k < 3 ? rand() % 2 : rand());
		trust_mask_allowedip(&ip);
		bool dup = false;
		for (size_t a = 0; a < d->n_peers; a++)
			for (size_t c = 0; c < d->peers[a].n_allowedips; c++)
				dup |= !memcmp(&d->peers[a].allowedips[c], &ip, sizeof(ip));
		if (!dup)
			assert_int_equal(wg_peer_add_allowedip(wg_device_add_peer(d), &ip), 0);
	}
	struct prefixes x = { 0 };
	assert_int_equal(prefixes_build(&x, d), 0);
	for (int n = 0; n < 3000; n++) {
		struct wg_allowedip q = { .family = n % 2 ? AF_INET : AF_INET6 };
		int max = q.family == AF_INET ? 32 : 128;
		q.cidr = (uint8_t)(n % 5 == 0 ? (n % 3 ? max : 0) : rand() % (max + 1));
		uint8_t *b = (uint8_t *)&q.ip6;
		b[0] = n % 7 == 0 ? 0xff : q.family == AF_INET ? 10 : 0xfd;
		for (int k = 1; k < max / 8; k++)
			b[k] = (uint8_t)(n % 7 == 0 ? 0xff : k < 3 ? rand() % 2 : rand());
		/* host bits left in: the index must ignore them */
		struct wg_allowedip m = q;
		trust_mask_allowedip(&m);
		size_t want = 0, got = 0, owner = SIZE_MAX;
		for (size_t a = 0; a < d->n_peers; a++)
			for (size_t c = 0; c < d->peers[a].n_allowedips; c++) {
				const struct wg_allowedip *h = &d->peers[a].allowedips[c];
				want += trust_prefix_within(h, &m) || trust_prefix_within(&m, h);
				if (h->family == m.family && h->cidr == m.cidr &&
				    !memcmp(&h->ip6, &m.ip6, max / 8))
					owner = a;
			}
		prefixes_overlapping(&x, &q, count_all, &got);
		assert_int_equal(got, want);
		assert_int_equal(prefixes_owner(&x, &q), owner);
	}
	prefixes_free(&x);
	wg_device_free(d);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_and_overlap),
		cmocka_unit_test(test_against_walk),
		cmocka_unit_test(test_review_queries_against_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
