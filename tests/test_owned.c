/* The state file of what wirelink added: a round trip keeps peers and
 * allowed IPs; another interface index or a damaged file adopts nothing. */
#include "helpers.h"

#include "core/engine.h"
#include "owned.h"
#include "proto/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void zero_random(void *buf, size_t len) { memset(buf, 0, len); }

struct seen {
	int peers, ips;
};

static void count(void *arg, const uint8_t key[static 32], bool peer, const struct wg_allowedip *ips,
		  size_t n)
{
	struct seen *s = arg;
	(void)key;
	(void)ips;
	s->peers += peer;
	s->ips += (int)n;
}

static struct engine *fresh(void)
{
	static const uint8_t self[32] = { 0xee };
	struct engine_config ec = { .router = -1, .random = zero_random };
	struct engine *e = engine_new(&ec, self, 1000);
	assert_non_null(e);
	return e;
}

static void test_round_trip(void **state)
{
	(void)state;
	char path[] = "/tmp/wl-owned-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct engine *e = fresh();
	uint8_t a[32], b[32];
	memset(a, 0x0a, 32);
	memset(b, 0x0b, 32);
	struct wg_allowedip ip1, ip2;
	assert_true(wg_allowedip_parse("10.77.0.12/32", &ip1));
	assert_true(wg_allowedip_parse("2001:db8:5::/48", &ip2));
	engine_adopt(e, a, true, NULL);
	engine_adopt(e, b, false, &ip1);
	engine_adopt(e, b, false, &ip2);
	uint64_t gen = engine_owned_gen(e);
	assert_true(gen > 0);
	assert_int_equal(owned_save(path, 7, e), 0);
	engine_free(e);

	e = fresh();
	assert_int_equal(owned_load(path, 7, e), 2);
	struct seen s = { 0 };
	engine_each_owned(e, count, &s);
	assert_int_equal(s.peers, 1);
	assert_int_equal(s.ips, 2);
	engine_free(e);

	/* Another interface (re-created): nothing is ours. */
	e = fresh();
	assert_int_equal(owned_load(path, 8, e), 0);
	engine_free(e);

	/* Damaged lines are skipped, the rest is read. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "wirelink-owned 1 7\nnot-a-key 1\nCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo= 2\n"
		   "CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo= 1 10.0.0.0/99 10.1.0.0/16\n");
	fclose(f);
	e = fresh();
	assert_int_equal(owned_load(path, 7, e), 1);
	memset(&s, 0, sizeof(s));
	engine_each_owned(e, count, &s);
	assert_int_equal(s.peers, 1);
	assert_int_equal(s.ips, 1);
	engine_free(e);
	unlink(path);
	/* A missing file is nothing. */
	e = fresh();
	assert_int_equal(owned_load(path, 7, e), 0);
	engine_free(e);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	if (crypto_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
