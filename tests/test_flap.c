/* The log's account of a flapping link (core/flap.h). */
#include "helpers.h"

#include "core/flap.h"

#include <stdint.h>

/* Issue 26: a flapping link, for the log. Its first start is no coming
 * back; a fall within FLAP_MS of coming back starts it (once); its later
 * changes are quiet; it is told again every FLAP_REPEAT_MS while it goes
 * on, and ends after FLAP_MS of calm (quietly for a peer that left). */
static void test_flap(void **state)
{
	(void)state;
	struct flap f = { 0 };
	const int64_t s = 1000, t = 5000000;
	assert_int_equal(flap_change(&f, true, false, true, t), FLAP_NONE);
	assert_int_equal(flap_change(&f, false, true, true, t + 10 * s), FLAP_NONE);
	assert_int_equal(flap_change(&f, true, false, true, t + 12 * s), FLAP_NONE);
	assert_int_equal(flap_change(&f, false, false, false, t + 13 * s), FLAP_NONE); /* no link change */
	assert_int_equal(flap_change(&f, false, true, true, t + 19 * s), FLAP_START);
	assert_int_equal(f.gap, 7 * s);
	assert_int_equal(f.since, t + 10 * s);
	assert_int_equal(flap_due(&f), t + 19 * s + FLAP_MS);
	/* Quiet, counted; each change puts the calm off. */
	int64_t at = t + 19 * s;
	for (int i = 0; i < 40; i++) {
		at += 20 * s;
		assert_int_equal(flap_tick(&f, true, at), i == 29 ? FLAP_STILL : FLAP_NONE);
		assert_int_equal(flap_change(&f, i % 2 == 0, i % 2 == 1, true, at),
				 FLAP_QUIET);
		if (i == 29)
			assert_int_equal(f.recent, 14); /* the falls at odd i < 29 */
	}
	assert_int_equal(f.downs, 22);
	/* Held for FLAP_MS after its last change: steady, once. */
	assert_int_equal(flap_tick(&f, true, at + FLAP_MS - 1), FLAP_NONE);
	assert_int_equal(flap_tick(&f, true, at + FLAP_MS), FLAP_STEADY);
	assert_int_equal(flap_tick(&f, true, at + 2 * FLAP_MS), FLAP_NONE);
	assert_int_equal(flap_due(&f), INT64_MAX);
	/* A peer that left the device while flapping: no closing line. */
	at += 10 * FLAP_MS;
	assert_int_equal(flap_change(&f, true, false, true, at), FLAP_NONE);
	assert_int_equal(flap_change(&f, false, true, true, at + s), FLAP_START);
	assert_int_equal(flap_tick(&f, false, at + 2 * s), FLAP_NONE);
	assert_false(f.on);
	/* ...and back on the device: its first fall is no flap. */
	assert_int_equal(flap_change(&f, true, false, true, at + 3 * s), FLAP_NONE);
	assert_int_equal(flap_change(&f, false, true, true, at + 4 * s), FLAP_NONE);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
