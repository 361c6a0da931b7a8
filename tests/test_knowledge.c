/* Knowledge with a fake clock: versions and re-send margins exactly at
 * their edges, peer marks and repeats, Alive scheduling, restart, size. */
#include "helpers.h"

#include "core/facts.h"
#include "core/knowledge.h"
#include "proto/crypto.h"

#include <string.h>

/* One round offering these (id, expires) pairs, all up. */
static const struct fact_version *offer(struct knowledge *k, uint64_t id, int64_t expires,
					int64_t now)
{
	bool again = true;
	const struct fact_version *v = knowledge_offer(k, id, expires, true, now, &again);
	assert_non_null(v);
	assert_false(again);
	return v;
}

static void round_of(struct knowledge *k, uint64_t id, int64_t expires, int64_t now,
		     struct fact_version *out)
{
	knowledge_begin(k);
	*out = *offer(k, id, expires, now);
	knowledge_end(k);
}

/* A version is bumped when the fact is new and when peers must hear it
 * again: we know it longer and what they were told ends within the margin. */
static void test_versions_and_margins(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	const int64_t t0 = 1000000;
	struct fact_version v, w;
	round_of(k, 42, t0 + FACT_TTL_MS, t0, &v);
	assert_int_equal(v.ver, 0);
	assert_int_equal(v.first_ver, 0);
	assert_int_equal(v.sent_expires, t0 + FACT_TTL_MS);
	assert_int_equal(knowledge_head(k), 1);
	/* Refreshed (as our own facts are, every round), but what peers were
	 * told ends beyond the margin of 132.5 s: the same version... */
	int64_t edge = t0 + FACT_TTL_MS - RESEND_MARGIN_MS;
	assert_int_equal(RESEND_MARGIN_MS, 132500);
	round_of(k, 42, edge - 1 + FACT_TTL_MS, edge - 1, &w);
	assert_int_equal(w.ver, v.ver);
	/* ...and a new one from the moment it ends within the margin. */
	round_of(k, 42, edge + FACT_TTL_MS, edge, &w);
	assert_int_equal(w.ver, 1);
	assert_int_equal(w.first_ver, 0); /* not new: a peer that had it heard of it */
	assert_int_equal(w.sent_expires, edge + FACT_TTL_MS);
	/* Not refreshed (its source went quiet): never again, however near
	 * the end. */
	for (int64_t t = edge; t < edge + FACT_TTL_MS; t += 1000) {
		round_of(k, 42, edge + FACT_TTL_MS, t, &w);
		assert_int_equal(w.ver, 1);
	}
	/* Two offers in one round (ours and a received copy): the first counts. */
	knowledge_begin(k);
	bool again = false;
	assert_int_equal(knowledge_offer(k, 7, t0 + 1000, true, t0, &again)->ver, 2);
	assert_false(again);
	assert_int_equal(knowledge_offer(k, 7, t0 + 9000, true, t0, &again)->sent_expires, t0 + 1000);
	assert_true(again);
	assert_int_equal(knowledge_facts(k), 2);
	/* A fact not offered in a round is forgotten: 42 went. */
	assert_int_equal(knowledge_end(k), 1);
	assert_int_equal(knowledge_facts(k), 1);
	/* A subject coming up makes its facts new to everyone. */
	knowledge_begin(k);
	assert_int_equal(knowledge_offer(k, 7, t0 + 1000, false, t0, &again)->ver, 2);
	knowledge_end(k);
	knowledge_begin(k);
	v = *knowledge_offer(k, 7, t0 + 1000, true, t0, &again);
	knowledge_end(k);
	assert_int_equal(v.ver, 3);
	assert_int_equal(v.first_ver, 3);
	assert_true(knowledge_bytes(k) > 0);
	knowledge_free(k);
	knowledge_free(NULL);
}

/* A peer's record: a mark, a repeat window and our Alive. */
static void test_peer_marks_and_repeats(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	struct known laptop;
	known_reset(&laptop);
	const int64_t t0 = 1000000;
	knowledge_begin(k);
	struct fact_version a = *offer(k, 1, t0 + FACT_TTL_MS, t0);
	struct fact_version soon = *offer(k, 2, t0 + 100000, t0); /* 100 s left */
	knowledge_end(k);
	assert_true(known_pending(&laptop, k, t0));
	assert_true(known_new(&laptop, &a) && known_new(&laptop, &soon));
	/* A first send of a fact with long to live is repeated; one that ends
	 * within the margin anyway is not. */
	assert_true(known_first(&laptop, &a, t0));
	assert_false(known_first(&laptop, &soon, t0));
	known_scanned(&laptop, k, t0, false, true);
	assert_false(known_new(&laptop, &a));
	assert_false(known_pending(&laptop, k, t0 + REPEAT_MS - 1));
	assert_false(known_repeat(&laptop, &a, t0 + REPEAT_MS - 1));
	/* The repeat is due REPEAT_MS later, for the first sends only. */
	assert_true(known_pending(&laptop, k, t0 + REPEAT_MS));
	assert_true(known_repeat(&laptop, &a, t0 + REPEAT_MS));
	assert_false(known_repeat(&laptop, &soon, t0 + REPEAT_MS));
	known_scanned(&laptop, k, t0 + REPEAT_MS, true, false);
	assert_false(known_pending(&laptop, k, t0 + 10 * REPEAT_MS));
	/* A new version (the margin reached): new to it, not a first send. */
	int64_t edge = t0 + FACT_TTL_MS - RESEND_MARGIN_MS;
	knowledge_begin(k);
	struct fact_version a2 = *offer(k, 1, edge + FACT_TTL_MS, edge);
	knowledge_end(k);
	assert_true(a2.ver > a.ver);
	assert_true(known_pending(&laptop, k, edge));
	assert_true(known_new(&laptop, &a2));
	assert_false(known_first(&laptop, &a2, edge));
	/* It restarted: it knows nothing, every fact is a first send again. */
	known_reset(&laptop);
	assert_true(known_new(&laptop, &a2) && known_first(&laptop, &a2, edge));
	/* Two first sends before the repeat: one window, due at the first's
	 * time, covering both. */
	known_scanned(&laptop, k, edge, false, true);
	knowledge_begin(k);
	offer(k, 1, edge + 1000 + FACT_TTL_MS, edge + 1000);
	struct fact_version b = *offer(k, 3, edge + 1000 + FACT_TTL_MS, edge + 1000);
	knowledge_end(k);
	assert_true(known_first(&laptop, &b, edge + 1000));
	known_scanned(&laptop, k, edge + 1000, false, true);
	assert_true(known_repeat(&laptop, &a2, edge + REPEAT_MS));
	assert_true(known_repeat(&laptop, &b, edge + REPEAT_MS));
	knowledge_free(k);
}

static void test_alive_schedule(void **state)
{
	(void)state;
	struct known laptop;
	known_reset(&laptop);
	const int64_t t0 = 5000;
	assert_true(known_alive_due(&laptop, t0));
	/* A first Alive goes again REPEAT_MS later... */
	known_alive_sent(&laptop, t0, false);
	assert_false(known_alive_due(&laptop, t0 + REPEAT_MS - 1));
	assert_true(known_alive_due(&laptop, t0 + REPEAT_MS));
	/* ...then every ALIVE_PERIOD_MS. */
	known_alive_sent(&laptop, t0 + REPEAT_MS, false);
	assert_false(known_alive_due(&laptop, t0 + REPEAT_MS + ALIVE_PERIOD_MS - 1));
	assert_true(known_alive_due(&laptop, t0 + REPEAT_MS + ALIVE_PERIOD_MS));
	/* A hello (a probe, a new link) is a first send whatever it knew. */
	known_alive_sent(&laptop, t0 + 6000, true);
	assert_true(known_alive_due(&laptop, t0 + 6000 + REPEAT_MS));
}

/* A peer's record is the same few bytes however many facts there are, and
 * a fact's record the same however many peers: a hub's knowledge is
 * O(peers + facts), not O(peers x facts). */
static void test_size_independent_of_peers(void **state)
{
	(void)state;
	struct knowledge *k = knowledge_new();
	knowledge_begin(k);
	for (uint64_t id = 1; id <= 40000; id++)
		offer(k, id, 1000 + FACT_TTL_MS, 1000);
	knowledge_end(k);
	assert_true(knowledge_bytes(k) < 40000 * 128);
	assert_true(sizeof(struct known) <= 64);
	assert_int_equal(knowledge_head(k), 40000);
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
		cmocka_unit_test(test_versions_and_margins),
		cmocka_unit_test(test_peer_marks_and_repeats),
		cmocka_unit_test(test_alive_schedule),
		cmocka_unit_test(test_size_independent_of_peers),
		cmocka_unit_test(test_fact_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
