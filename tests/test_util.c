/* Hex and key text parsing, UTF-8 validation, SHA-1, and the log rate limiter. */
#include "helpers.h"

#include "log.h"
#include "util/clockwatch.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/keys.h"
#include "util/sha1.h"
#include "util/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Writes n bytes of 'x' to a fresh temporary file; its path in path. */
static void temp_file(char path[static 32], size_t n)
{
	snprintf(path, 32, "/tmp/wl-file-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char *b = malloc(n + 1);
	assert_non_null(b);
	memset(b, 'x', n);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	free(b);
	close(fd);
}

/* The limit is inclusive: a file of exactly max bytes is read, one byte
 * more is -EFBIG (not -ENOMEM), also past the first buffer's size. */
static void test_file_limit(void **state)
{
	(void)state;
	static const size_t maxes[] = { 10, 4096, 1u << 20 };
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		char path[32], *text = NULL;
		size_t len = 0;
		temp_file(path, maxes[i]);
		assert_int_equal(file_read_all(path, maxes[i], &text, &len), 0);
		assert_int_equal(len, maxes[i]);
		assert_int_equal(text[len], '\0');
		free(text);
		unlink(path);
		temp_file(path, maxes[i] + 1);
		assert_int_equal(file_read_all(path, maxes[i], &text, &len), -EFBIG);
		assert_null(text);
		unlink(path);
	}
	char *text = NULL;
	size_t len;
	assert_int_equal(file_read_all("/tmp", 100, &text, &len), -EISDIR);
	assert_int_equal(file_read_all("/nonexistent-wl/x", 100, &text, &len), -ENOENT);
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

/* SHA-1 against digests from an independent implementation (Python's
 * hashlib): the FIPS 180 examples, every padding boundary, a million 'a'. */
static void hex20(const char *hex, uint8_t out[20])
{
	size_t n = 0;
	assert_true(hex_parse(hex, strlen(hex), out, 20, &n));
	assert_int_equal(n, 20);
}

static void test_sha1(void **state)
{
	(void)state;
	uint8_t want[20], got[20];
	const struct { const char *msg; size_t len; const char *hex; } fips[] = {
		{ "", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ "abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	};
	for (size_t i = 0; i < sizeof(fips) / sizeof(fips[0]); i++) {
		hex20(fips[i].hex, want);
		sha1((const uint8_t *)fips[i].msg, fips[i].len, got);
		assert_memory_equal(got, want, 20);
	}
	/* bytes (i * 7 + 3) mod 256 for i < len */
	const struct { size_t len; const char *hex; } lens[] = {
		{ 1, "9842926af7ca0a8cca12604f945414f07b01e13d" },
		{ 55, "ddf57317ef34bfee3b6df83d359098930eb278bc" },
		{ 56, "a0d492bb0fc889d0eca3bc137066ab6f4f74f369" },
		{ 57, "11a02dcf95859677a62e75024067c22b165d890f" },
		{ 63, "c55856749bef509bdfe6bfebfc7bf4e793e82132" },
		{ 64, "bede92be29c3874e1b54ddc77988d606fc857a8e" },
		{ 65, "b05a80522b053d6dc7e0a517d0e70212c7dad11f" },
		{ 119, "504e27376a6e0f0dba8295b85cb25dc4dfa17d23" },
		{ 120, "82134b02fb3f702491be9bed581eeab59334acb2" },
		{ 127, "34d5e582029e9b9b85b2febe31da3db7cdabaaea" },
		{ 128, "a09133e6730ffe899efb70204cb5646cd5dc24ee" },
		{ 1000, "4231a8a50a10fa9758db8ec71fdef855b751048a" },
	};
	static uint8_t buf[1000000];
	for (size_t i = 0; i < 1000; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		hex20(lens[i].hex, want);
		sha1(buf, lens[i].len, got);
		assert_memory_equal(got, want, 20);
	}
	memset(buf, 'a', sizeof(buf));
	hex20("34aa973cd4c4daa4f61eeb2bdbad27316534016f", want);
	sha1(buf, sizeof(buf), got);
	assert_memory_equal(got, want, 20);
}

static bool valid(const char *s, size_t *chars)
{
	return utf8_valid((const uint8_t *)s, strlen(s), chars);
}

/* Encodes code point cp (any value up to 0x1fffff, surrogates included) the
 * shortest way; returns the length. */
static size_t encode(uint32_t cp, uint8_t *o)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

static void test_utf8(void **state)
{
	(void)state;
	size_t n = 99;
	assert_true(valid("", &n));
	assert_int_equal(n, 0);
	assert_true(valid("router-1", &n));
	assert_int_equal(n, 8);
	assert_true(valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", &n)); /* café € 😀 */
	assert_int_equal(n, 8);
	assert_true(valid("\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf", &n)); /* U+D7FF U+E000 U+10FFFF */
	assert_int_equal(n, 3);
	assert_true(utf8_valid((const uint8_t *)"a\0b", 3, NULL)); /* NUL is a character */

	const char *bad[] = {
		"\x80", "a\xbf", "\xc0\x80", "\xc1\xbf",     /* lone continuation, overlong 2 */
		"\xe0\x80\x80", "\xe0\x9f\xbf",             /* overlong 3 */
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",     /* overlong 4 */
		"\xed\xa0\x80", "\xed\xbf\xbf",             /* surrogates */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe",
		"\xe2\x82", "x\xf0\x9f\x98", "\xc3",        /* truncated */
		"\xe2\x28\xa1", "\xc3\xc3\xa9", "\xf0\x9f\x28\x80", /* bad continuation */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		assert_false(valid(bad[i], &n));
		assert_int_equal(n, 99);
	}

	/* Every code point, shortest form: valid except the surrogates. */
	uint8_t b[8];
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		size_t len = encode(cp, b);
		bool ok = utf8_valid(b, len, &n);
		assert_int_equal(ok, cp < 0xd800 || cp > 0xdfff);
		if (ok)
			assert_int_equal(n, 1);
		/* Every proper prefix of a multi-byte sequence is truncated. */
		for (size_t k = 1; k < len; k++)
			assert_false(utf8_valid(b, k, NULL));
	}
	/* Above U+10FFFF, and longer forms of small code points, are invalid. */
	assert_false(utf8_valid(b, encode(0x110000, b), NULL));
	assert_false(utf8_valid(b, encode(0x1fffff, b), NULL));
	/* Every two-byte input: valid exactly when two ASCII bytes or one
	 * two-byte sequence C2..DF 80..BF. */
	for (unsigned x = 0; x < 0x10000; x++) {
		b[0] = (uint8_t)(x >> 8);
		b[1] = (uint8_t)x;
		bool expect = (b[0] < 0x80 && b[1] < 0x80) ||
			      (b[0] >= 0xc2 && b[0] <= 0xdf && b[1] >= 0x80 && b[1] <= 0xbf);
		assert_int_equal(utf8_valid(b, 2, NULL), expect);
	}
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_file_limit),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_sha1),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_clockwatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
