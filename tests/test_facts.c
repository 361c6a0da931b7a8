/* The fact table with a fake clock: identity, later expiry wins, Alive,
 * metadata canonical identity, expiry at the boundary, subject index. */
#include "helpers.h"

#include "core/facts.h"
#include "proto/meta.h"

#include <errno.h>
#include <string.h>

static struct wire_fact endpoint(uint8_t who, uint8_t last_octet, uint16_t port)
{
	struct wire_fact f = { .attr = WIRE_ENDPOINT_V4 };
	memset(f.subject, who, 32);
	memcpy(f.v.endpoint.addr, (uint8_t[]){ 192, 0, 2, last_octet }, 4);
	f.v.endpoint.port = port;
	return f;
}

static struct wire_fact alive(uint8_t who, uint8_t boot)
{
	struct wire_fact f = { .attr = WIRE_ALIVE };
	memset(f.subject, who, 32);
	memset(f.v.boot_id, boot, 16);
	return f;
}

static void test_identity_and_expiry_wins(void **state)
{
	(void)state;
	struct facts *t = facts_new();
	struct wire_fact a = endpoint(1, 10, 51820);
	assert_int_equal(facts_merge(t, &a, 5000), FACTS_NEW);
	assert_int_equal(facts_merge(t, &a, 4000), FACTS_UNCHANGED); /* earlier: loses */
	assert_int_equal(facts_merge(t, &a, 5000), FACTS_UNCHANGED);
	assert_int_equal(facts_merge(t, &a, 9000), FACTS_EXTENDED);
	assert_int_equal(facts_find(t, &a)->expires, 9000);
	/* Another value or port, or another subject, is another fact. */
	struct wire_fact b = endpoint(1, 11, 51820), c = endpoint(1, 10, 1), d = endpoint(2, 10, 51820);
	assert_int_equal(facts_merge(t, &b, 5000), FACTS_NEW);
	assert_int_equal(facts_merge(t, &c, 5000), FACTS_NEW);
	assert_int_equal(facts_merge(t, &d, 5000), FACTS_NEW);
	assert_int_equal(facts_count(t), 4);
	/* The TTL a received fact carried is not part of its identity. */
	a.ttl = 77;
	assert_non_null(facts_find(t, &a));
	struct facts_changes ch = facts_take_changes(t);
	assert_int_equal(ch.appeared, 4);
	assert_int_equal(ch.extended, 1);
	assert_int_equal(facts_take_changes(t).appeared, 0);
	facts_free(t);
}

static void test_alive_identity_ignores_value(void **state)
{
	(void)state;
	struct facts *t = facts_new();
	struct wire_fact a1 = alive(1, 0xaa), a2 = alive(1, 0xbb);
	assert_int_equal(facts_merge(t, &a1, 1000), FACTS_NEW);
	assert_int_equal(facts_merge(t, &a2, 500), FACTS_UNCHANGED); /* older boot id loses */
	assert_int_equal(facts_find(t, &a2)->f.v.boot_id[0], 0xaa);
	assert_int_equal(facts_merge(t, &a2, 2000), FACTS_REPLACED);
	assert_int_equal(facts_count(t), 1);
	assert_int_equal(facts_find(t, &a1)->f.v.boot_id[0], 0xbb);
	assert_int_equal(facts_merge(t, &a2, 3000), FACTS_EXTENDED);
	facts_free(t);
}

static void test_metadata_identity_is_canonical(void **state)
{
	(void)state;
	struct facts *t = facts_new();
	/* The same entries in another order with a non-minimal length. */
	uint8_t raw1[] = { 'b', 1, 0, 'n', 2, 'h', 'i' };
	uint8_t raw2[] = { 'n', 0x82, 0x00, 'h', 'i', 'b', 1, 0 };
	struct wire_fact m1 = { .attr = WIRE_MEMBER_META }, m2;
	memset(m1.subject, 3, 32);
	m2 = m1;
	m1.v.meta = (struct wire_view){ raw1, sizeof(raw1) };
	m2.v.meta = (struct wire_view){ raw2, sizeof(raw2) };
	assert_int_equal(facts_merge(t, &m1, 1000), FACTS_NEW);
	assert_int_equal(facts_merge(t, &m2, 2000), FACTS_EXTENDED);
	/* The stored fact owns its bytes: the caller's buffers can go. */
	memset(raw1, 0, sizeof(raw1));
	const struct fact *f = facts_find(t, &m2);
	struct meta_entries m;
	assert_int_equal(meta_parse(f->f.v.meta.data, f->f.v.meta.len, &m), WIRE_OK);
	struct wire_view name = meta_get(&m, META_NAME);
	assert_int_equal(name.len, 2);
	assert_memory_equal(name.data, "hi", 2);
	/* A different name is a different fact. */
	uint8_t raw3[] = { 'n', 2, 'h', 'o' };
	struct wire_fact m3 = m1;
	m3.v.meta = (struct wire_view){ raw3, sizeof(raw3) };
	assert_int_equal(facts_merge(t, &m3, 1000), FACTS_NEW);
	/* Too large to ever be sent again, and unencodable facts. */
	static uint8_t big[1300];
	big[0] = 'x';
	big[1] = 0x91; /* 1297 = 0x511 */
	big[2] = 0x0a;
	struct wire_fact huge = m1;
	huge.v.meta = (struct wire_view){ big, sizeof(big) };
	assert_int_equal(facts_merge(t, &huge, 1000), -EMSGSIZE);
	struct wire_fact bad = m1;
	bad.attr = 'x';
	assert_int_equal(facts_merge(t, &bad, 1000), -EINVAL);
	bad.attr = WIRE_SIGNED_GROUP;
	assert_int_equal(facts_merge(t, &bad, 1000), -EINVAL);
	assert_null(facts_find(t, &bad));
	facts_free(t);
}

struct seen {
	int n;
	uint8_t attrs[8];
};

static void on_expired(void *arg, const struct fact *f)
{
	struct seen *s = arg;
	s->attrs[s->n++] = f->f.attr;
}

static void test_expiry_boundary(void **state)
{
	(void)state;
	struct facts *t = facts_new();
	struct wire_fact e = endpoint(1, 1, 1), a = alive(1, 1);
	struct wire_fact cidr = { .attr = WIRE_CIDR_V4 };
	memset(cidr.subject, 1, 32);
	cidr.v.cidr.prefix = 32;
	assert_int_equal(facts_merge(t, &e, 1000), FACTS_NEW);
	assert_int_equal(facts_merge(t, &a, 2000), FACTS_NEW);
	assert_int_equal(facts_merge(t, &cidr, 1000), FACTS_NEW);
	assert_int_equal(facts_next_expiry(t), 1000);
	struct seen s = { 0 };
	assert_int_equal(facts_expire(t, 999, on_expired, &s), 0); /* valid while now < expires */
	assert_int_equal(facts_expire(t, 1000, on_expired, &s), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(facts_next_expiry(t), 2000);
	struct facts_changes ch = facts_take_changes(t);
	assert_int_equal(ch.expired, 2);
	assert_int_equal(ch.critical_expired, 1);
	assert_int_equal(facts_expire(t, 5000, NULL, NULL), 1);
	assert_int_equal(facts_count(t), 0);
	assert_int_equal(facts_next_expiry(t), INT64_MAX);
	facts_free(t);
}

static void test_subject_index(void **state)
{
	(void)state;
	struct facts *t = facts_new();
	for (uint8_t who = 1; who <= 50; who++)
		for (uint8_t i = 0; i < who % 5 + 1; i++) {
			struct wire_fact f = endpoint(who, i, 1);
			assert_int_equal(facts_merge(t, &f, 1000 + who), FACTS_NEW);
		}
	uint8_t s7[32];
	memset(s7, 7, sizeof(s7));
	assert_int_equal(facts_subject_count(t, s7), 3);
	int n = 0;
	for (const struct fact *f = facts_subject_first(t, s7); f; f = facts_subject_next(f)) {
		assert_memory_equal(f->f.subject, s7, 32);
		n++;
	}
	assert_int_equal(n, 3);
	struct wire_fact gone = endpoint(7, 1, 1);
	assert_true(facts_remove(t, &gone));
	assert_false(facts_remove(t, &gone));
	assert_int_equal(facts_subject_count(t, s7), 2);
	assert_int_equal(facts_take_changes(t).removed, 1);
	size_t all = 0;
	for (const struct fact *f = facts_first(t); f; f = facts_next(f))
		all++;
	assert_int_equal(all, facts_count(t));
	/* Expiring a subject's facts drops its index entry. */
	assert_true(facts_expire(t, 1007, NULL, NULL) > 0);
	assert_int_equal(facts_subject_count(t, s7), 0);
	assert_null(facts_subject_first(t, s7));
	facts_free(t);
	facts_free(NULL);
}

static void test_to_wire_ttl(void **state)
{
	(void)state;
	struct fact f = { .f = endpoint(1, 1, 1), .expires = 255000 };
	struct wire_fact w;
	fact_to_wire(&f, 0, &w);
	assert_int_equal(w.ttl, 255);
	fact_to_wire(&f, 1, &w); /* whole seconds, rounded down */
	assert_int_equal(w.ttl, 254);
	fact_to_wire(&f, 300000, &w);
	assert_int_equal(w.ttl, 0);
	f.expires = INT64_MAX / 2;
	fact_to_wire(&f, 0, &w);
	assert_int_equal(w.ttl, 65535);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_and_expiry_wins),
		cmocka_unit_test(test_alive_identity_ignores_value),
		cmocka_unit_test(test_metadata_identity_is_canonical),
		cmocka_unit_test(test_expiry_boundary),
		cmocka_unit_test(test_subject_index),
		cmocka_unit_test(test_to_wire_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
