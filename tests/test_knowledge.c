/* Knowledge with a fake clock: later record wins, re-send margins exactly at
 * their edges, Alive scheduling, boot-id reset, expiry. */
#include "helpers.h"

#include "core/facts.h"
#include "core/knowledge.h"
#include "proto/crypto.h"

#include <string.h>

static const uint8_t laptop[32] = { 1 }, phone[32] = { 2 };

static void test_record_and_margins(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	const int64_t t0 = 1000000;
	assert_true(knowledge_needs(k, laptop, 42, t0)); /* unknown: needed */
	assert_int_equal(knowledge_record(k, laptop, 42, t0 + FACT_TTL_MS), 0);
	assert_int_equal(knowledge_record(k, laptop, 42, t0 + 1000), 0); /* earlier: ignored */
	assert_int_equal(knowledge_until(k, laptop, 42), t0 + FACT_TTL_MS);
	assert_int_equal(knowledge_until(k, phone, 42), INT64_MIN);
	/* Not needed while it knows it beyond the margin of 132.5 s... */
	assert_false(knowledge_needs(k, laptop, 42, t0));
	int64_t edge = t0 + FACT_TTL_MS - RESEND_MARGIN_MS;
	assert_false(knowledge_needs(k, laptop, 42, edge - 1));
	/* ...and needed again from the moment it ends within the margin. */
	assert_true(knowledge_needs(k, laptop, 42, edge));
	assert_int_equal(RESEND_MARGIN_MS, 132500);
	assert_true(knowledge_needs(k, phone, 42, t0)); /* per peer */
	knowledge_free(k);
}

static void test_alive_schedule(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	const int64_t t0 = 5000;
	assert_true(knowledge_needs_alive(k, laptop, 7, t0));
	assert_int_equal(knowledge_record(k, laptop, 7, t0 + FACT_TTL_MS), 0);
	/* An Alive sent with TTL 255 s is due again 30 s later. */
	assert_false(knowledge_needs_alive(k, laptop, 7, t0 + ALIVE_PERIOD_MS - 1));
	assert_true(knowledge_needs_alive(k, laptop, 7, t0 + ALIVE_PERIOD_MS));
	/* Forgetting our Alive everywhere (our boot id changed) makes it due. */
	knowledge_forget_fact(k, 7);
	assert_true(knowledge_needs_alive(k, laptop, 7, t0));
	knowledge_free(k);
}

static void test_forget_and_expire(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	for (uint64_t id = 1; id <= 100; id++) {
		assert_int_equal(knowledge_record(k, laptop, id, (int64_t)id * 1000), 0);
		assert_int_equal(knowledge_record(k, phone, id, (int64_t)id * 1000), 0);
	}
	assert_int_equal(knowledge_count(k, laptop), 100);
	knowledge_forget_peer(k, laptop); /* new boot id: it forgot everything */
	assert_int_equal(knowledge_count(k, laptop), 0);
	assert_true(knowledge_needs(k, laptop, 50, 0));
	assert_int_equal(knowledge_until(k, phone, 100), 100000); /* other peers keep theirs */
	assert_int_equal(knowledge_expire(k, 50000), 50); /* ends at or before now */
	assert_int_equal(knowledge_count(k, phone), 50);
	assert_int_equal(knowledge_expire(k, 1000000), 50);
	assert_int_equal(knowledge_count(k, phone), 0);
	knowledge_free(k);
	knowledge_free(NULL);
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
		cmocka_unit_test(test_fact_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
