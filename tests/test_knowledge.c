/* Knowledge with a fake clock: later record wins, re-send margins exactly at
 * their edges, Alive scheduling, boot-id reset, expiry. */
#include "helpers.h"

#include "core/facts.h"
#include "core/knowledge.h"
#include "proto/crypto.h"

#include <string.h>

static const uint8_t laptop_key[32] = { 1 }, phone_key[32] = { 2 };

static void test_record_and_margins(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	struct known *laptop = knowledge_peer(k, laptop_key), *phone = knowledge_peer(k, phone_key);
	assert_ptr_equal(knowledge_peer(k, laptop_key), laptop); /* one record per peer */
	const int64_t t0 = 1000000;
	uint32_t s = knowledge_slot(k, 42);
	assert_int_equal(knowledge_slot(k, 42), s); /* interned */
	assert_true(knowledge_slot(k, 43) != s);
	assert_true(knowledge_needs(k, laptop, s, t0)); /* unknown: needed */
	assert_int_equal(knowledge_record(k, laptop, s, t0 + FACT_TTL_MS), 0);
	assert_int_equal(knowledge_record(k, laptop, s, t0 + 1000), 0); /* earlier: ignored */
	assert_int_equal(knowledge_until(k, laptop, s), t0 + FACT_TTL_MS);
	assert_int_equal(knowledge_until(k, phone, s), INT64_MIN);
	/* Not needed while it knows it beyond the margin of 132.5 s... */
	assert_false(knowledge_needs(k, laptop, s, t0));
	int64_t edge = t0 + FACT_TTL_MS - RESEND_MARGIN_MS;
	assert_false(knowledge_needs(k, laptop, s, edge - 1));
	/* ...and needed again from the moment it ends within the margin. */
	assert_true(knowledge_needs(k, laptop, s, edge));
	assert_int_equal(RESEND_MARGIN_MS, 132500);
	assert_true(knowledge_needs(k, phone, s, t0)); /* per peer */
	knowledge_free(k);
}

static void test_alive_schedule(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	struct known *laptop = knowledge_peer(k, laptop_key);
	const int64_t t0 = 5000;
	uint32_t s = knowledge_slot(k, 7);
	assert_true(knowledge_needs_alive(k, laptop, s, t0));
	assert_int_equal(knowledge_record(k, laptop, s, t0 + FACT_TTL_MS), 0);
	/* An Alive sent with TTL 255 s is due again 30 s later. */
	assert_false(knowledge_needs_alive(k, laptop, s, t0 + ALIVE_PERIOD_MS - 1));
	assert_true(knowledge_needs_alive(k, laptop, s, t0 + ALIVE_PERIOD_MS));
	/* Forgetting our Alive everywhere (our boot id changed) makes it due. */
	knowledge_forget_fact(k, 7);
	s = knowledge_slot(k, 7);
	assert_true(knowledge_needs_alive(k, laptop, s, t0));
	assert_int_equal(knowledge_count(laptop), 0);
	knowledge_free(k);
}

static void test_forget_and_expire(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	struct known *laptop = knowledge_peer(k, laptop_key), *phone = knowledge_peer(k, phone_key);
	uint32_t slot[101];
	for (uint64_t id = 1; id <= 100; id++) {
		slot[id] = knowledge_slot(k, id);
		assert_int_equal(knowledge_record(k, laptop, slot[id], (int64_t)id * 1000), 0);
		assert_int_equal(knowledge_record(k, phone, slot[id], (int64_t)id * 1000), 0);
	}
	assert_int_equal(knowledge_count(laptop), 100);
	assert_int_equal(knowledge_slots(k), 100);
	knowledge_forget_peer(k, laptop); /* new boot id: it forgot everything */
	assert_int_equal(knowledge_count(laptop), 0);
	assert_true(knowledge_needs(k, laptop, slot[50], 0));
	assert_int_equal(knowledge_until(k, phone, slot[100]), 100000); /* others keep theirs */
	/* Slots of facts nobody knows beyond now go, and what peers knew of them. */
	assert_int_equal(knowledge_expire(k, 50000), 50);
	assert_int_equal(knowledge_count(phone), 50);
	assert_int_equal(knowledge_slots(k), 50);
	/* A freed slot is reused, empty, for the next new fact. */
	uint32_t reused = knowledge_slot(k, 1000);
	assert_true(reused < 100);
	assert_int_equal(knowledge_until(k, phone, reused), INT64_MIN);
	/* A slot nobody was told about goes at the next expiry too. */
	assert_int_equal(knowledge_expire(k, 1000000), 51);
	assert_int_equal(knowledge_count(phone), 0);
	assert_int_equal(knowledge_slots(k), 0);
	knowledge_free(k);
	knowledge_free(NULL);
}

/* Expiries are 32-bit ms after a base that moves forward: records keep
 * their exact times across weeks of uptime. */
static void test_rebase(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	struct known *laptop = knowledge_peer(k, laptop_key);
	int64_t now = 1000;
	uint32_t s = KNOW_NO_SLOT;
	for (int day = 0; day < 120; day++, now += 86400000) {
		assert_int_equal(knowledge_expire(k, now), day ? 1 : 0);
		s = knowledge_slot(k, 5);
		assert_true(knowledge_needs(k, laptop, s, now));
		assert_int_equal(knowledge_record(k, laptop, s, now + FACT_TTL_MS), 0);
		assert_int_equal(knowledge_until(k, laptop, s), now + FACT_TTL_MS);
		assert_false(knowledge_needs(k, laptop, s, now + 1000));
		assert_int_equal(knowledge_count(laptop), 1);
	}
	/* A TTL of hours (the wire allows 65535 s) fits too. */
	assert_int_equal(knowledge_record(k, laptop, s, now + 65535000), 0);
	assert_int_equal(knowledge_until(k, laptop, s), now + 65535000);
	assert_true(knowledge_bytes(k) > 0);
	knowledge_free(k);
}

static void test_fact_ids(void **state)
{
	(void)state;
	struct wire_fact a = { .attr = WIRE_ENDPOINT_V4 }, b, alive1 = { .attr = WIRE_ALIVE }, alive2;
	memset(a.subject, 1, 32);
	a.v.endpoint.port = 1;
	b = a;
	b.v.endpoint.port = 2;
	memset(alive1.subject, 1, 32);
	alive2 = alive1;
	alive2.v.boot_id[0] = 9;
	assert_true(fact_id(&a) != 0);
	assert_true(fact_id(&a) != fact_id(&b));
	a.ttl = 200; /* the TTL is not identity */
	assert_true(fact_id(&a) == fact_id(&(struct wire_fact){ .attr = WIRE_ENDPOINT_V4,
								  .subject = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
									       1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
									       1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
									       1, 1 },
								  .v.endpoint.port = 1 }));
	assert_true(fact_id(&alive1) == fact_id(&alive2)); /* Alive ignores its value */
	struct wire_fact g = { .attr = WIRE_SIGNED_GROUP };
	assert_true(fact_id(&g) == 0);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	if (crypto_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_and_margins),
		cmocka_unit_test(test_alive_schedule),
		cmocka_unit_test(test_forget_and_expire),
		cmocka_unit_test(test_rebase),
		cmocka_unit_test(test_fact_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
