/* Hex and key text parsing, and the log rate limiter. */
#include "helpers.h"

#include "log.h"
#include "util/clockwatch.h"
#include "util/hex.h"
#include "util/keys.h"

#include <string.h>

static void test_hex(void **state)
{
	(void)state;
	uint8_t b[4];
	size_t n = 9;
	assert_true(hex_parse("0a ff\t10\r\n", 10, b, sizeof(b), &n));
	assert_int_equal(n, 3);
	assert_memory_equal(b, "\x0a\xff\x10", 3);
	assert_true(hex_parse("", 0, b, sizeof(b), &n));
	assert_int_equal(n, 0);
	assert_false(hex_parse("0g", 2, b, sizeof(b), &n));
	assert_false(hex_parse("abc", 3, b, sizeof(b), &n));
	assert_false(hex_parse("0102030405", 10, b, sizeof(b), &n)); /* too long */
}

static void test_keys(void **state)
{
	(void)state;
	uint8_t k[32];
	char text[KEY_B64_LEN + 1];
	const char *good = "wFMQhZK5wQM3v/mMThQfB64UgsUpOTobQBJQYkAby1c=";
	assert_true(key_from_base64(good, strlen(good), k));
	key_to_base64(k, text);
	assert_string_equal(text, good);
	assert_true(key_from_base64(" wFMQhZK5wQM3v/mMThQfB64UgsUpOTobQBJQYkAby1c=\n", 46, k));
	assert_false(key_from_base64(good, 43, k));
	assert_false(key_from_base64("wFMQhZK5wQM3v/mMThQfB64UgsUpOTobQBJQYkAby1c", 43, k));
	assert_false(key_from_base64("wFMQhZK5wQM3v/mMThQfB64UgsUpOTobQBJQYkAby1!=", 44, k));
	assert_false(key_from_base64("", 0, k));
}

static void test_ratelimit(void **state)
{
	(void)state;
	struct log_ratelimit rl = { .per_sec = 2, .burst = 5 };
	uint64_t suppressed = 0;
	int allowed = 0;
	for (int i = 0; i < 100; i++) /* a burst at one instant */
		allowed += log_ratelimit_allow(&rl, 1000, &suppressed);
	assert_int_equal(allowed, 5);
	/* One second later: two more tokens; the first says what was dropped. */
	assert_true(log_ratelimit_allow(&rl, 2000, &suppressed));
	assert_int_equal(suppressed, 95);
	assert_true(log_ratelimit_allow(&rl, 2000, &suppressed));
	assert_int_equal(suppressed, 0);
	assert_false(log_ratelimit_allow(&rl, 2000, &suppressed));
	/* Over a minute of flood, at most burst + rate * 60 get through. */
	allowed = 0;
	for (int64_t t = 3000; t < 63000; t++)
		allowed += log_ratelimit_allow(&rl, t, NULL);
	assert_true(allowed <= 5 + 2 * 60);
	assert_true(allowed >= 2 * 59);
}

static void test_clockwatch(void **state)
{
	(void)state;
	struct clockwatch w = { 0 };
	int64_t mono = 1000, boot = 5000, real = 1700000000000;
	assert_int_equal(clockwatch_check(&w, mono, boot, real), CLOCKWATCH_NONE);
	/* Ordinary time passing: all three move together, with a little jitter. */
	assert_int_equal(clockwatch_check(&w, mono + 30000, boot + 30010, real + 29990), CLOCKWATCH_NONE);
	/* Suspended for a minute: boottime moved, monotonic did not. */
	assert_int_equal(clockwatch_check(&w, mono + 31000, boot + 91010, real + 90990), CLOCKWATCH_SUSPENDED);
	/* The wall clock set back an hour. */
	assert_int_equal(clockwatch_check(&w, mono + 32000, boot + 92010, real + 91990 - 3600000),
			 CLOCKWATCH_JUMPED);
	assert_int_equal(clockwatch_check(&w, mono + 33000, boot + 93010, real + 92990 - 3600000),
			 CLOCKWATCH_NONE);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_clockwatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
