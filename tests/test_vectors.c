/* The protocol vectors captured from / written for the original implementation. */
#include "helpers.h"

#include "proto/autoaddr.h"
#include "proto/crypto.h"
#include "proto/pack.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[70000], out[70000];

struct keyset {
	int n;
	uint8_t priv[4][32], pub[4][32];
};
static struct keyset keys;

static void encode_case(void *arg, int nf, char **f)
{
	(void)arg;
	assert_int_equal(nf, 2);
	size_t len = hex_bytes(f[1], buf, sizeof(buf)), written = 0;
	struct wire_fact fact;
	size_t count = 0;
	enum wire_err err = wire_decode_packet(buf, len, &fact, &count);
	if (err)
		fail_msg("%s: decode failed: %s", f[0], wire_strerror(err));
	assert_true(wire_encode_fact(&fact, out, sizeof(out), &written));
	if (written != len || memcmp(out, buf, len) != 0)
		fail_msg("%s: re-encoding differs", f[0]);
	assert_int_equal(wire_fact_size(&fact), len);
}

static void test_encode(void **state)
{
	(void)state;
	assert_int_equal(vec_each("encode.txt", 2, encode_case, NULL), 15);
}

static void error_case(void *arg, int nf, char **f)
{
	(void)arg;
	size_t len = nf > 1 ? hex_bytes(f[1], buf, sizeof(buf)) : 0;
	struct wire_fact fact;
	if (wire_decode_packet(buf, len, &fact, NULL) == WIRE_OK)
		fail_msg("%s: decoded but must be rejected", f[0]);
	/* Every prefix of a bad packet must be rejected without reading past it. */
	for (size_t i = 0; i < len; i++)
		(void)wire_decode_packet(buf, i, &fact, NULL);
}

static void test_decode_errors(void **state)
{
	(void)state;
	assert_int_equal(vec_each("decode-errors.txt", 2, error_case, NULL), 18);
}

static void lenient_case(void *arg, int nf, char **f)
{
	(void)arg;
	assert_int_equal(nf, 3);
	size_t len = hex_bytes(f[1], buf, sizeof(buf));
	char *text = packet_text(buf, len);
	if (strcmp(text, f[2]) != 0)
		fail_msg("%s:\n got  %s\n want %s", f[0], text, f[2]);
	free(text);
}

static void test_decode_lenient(void **state)
{
	(void)state;
	assert_int_equal(vec_each("decode-lenient.txt", 3, lenient_case, NULL), 3);
}

/* Reads an .expected file into blocks: a packet's text is its first line and
 * the indented lines after it. */
struct blocks {
	char *text[128];
	int n;
};

static void read_blocks(const char *file, struct blocks *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", test_vector_dir, file);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	memset(b, 0, sizeof(*b));
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (line[0] == '#' || n == 0)
			continue;
		if (line[0] != ' ') {
			assert_true(b->n < 128);
			b->text[b->n++] = strdup(line);
			continue;
		}
		assert_true(b->n > 0);
		char *prev = b->text[b->n - 1];
		size_t plen = strlen(prev);
		prev = realloc(prev, plen + (size_t)n + 2);
		prev[plen] = '\n';
		memcpy(prev + plen + 1, line, (size_t)n + 1);
		b->text[b->n - 1] = prev;
	}
	free(line);
	fclose(f);
}

static void free_blocks(struct blocks *b)
{
	for (int i = 0; i < b->n; i++)
		free(b->text[i]);
}

struct expect_run {
	struct blocks want;
	int i;
	bool error_is_word; /* the fuzz file says plain "error" */
};

static void expected_case(void *arg, int nf, char **f)
{
	struct expect_run *run = arg;
	assert_int_equal(nf, 1);
	assert_true(run->i < run->want.n);
	size_t len = hex_bytes(f[0], buf, sizeof(buf));
	char *text = packet_text(buf, len);
	if (run->error_is_word && strncmp(text, "error", 5) == 0)
		text[5] = '\0';
	if (strcmp(text, run->want.text[run->i]) != 0)
		fail_msg("packet %d:\n got:\n%s\n want:\n%s", run->i + 1, text, run->want.text[run->i]);
	free(text);
	run->i++;
}

static void run_expected(const char *hex_file, const char *expected_file, int count)
{
	struct expect_run run = { .error_is_word = true };
	read_blocks(expected_file, &run.want);
	assert_int_equal(run.want.n, count);
	assert_int_equal(vec_each(hex_file, 1, expected_case, &run), count);
	free_blocks(&run.want);
}

static void test_original_packets(void **state)
{
	(void)state;
	run_expected("original-packets.hex", "original-packets.expected", 66);
}

static void test_original_fuzz_regressions(void **state)
{
	(void)state;
	run_expected("original-fuzz-regressions.hex", "original-fuzz-regressions.expected", 8);
}

static void key_case(void *arg, int nf, char **f)
{
	struct keyset *k = arg;
	assert_int_equal(nf, 4);
	int i = atoi(f[0]);
	assert_int_equal(i, k->n);
	uint8_t pub[32];
	key_b64(f[1], k->priv[i]);
	key_b64(f[2], k->pub[i]);
	assert_int_equal(crypto_public_key(k->priv[i], pub), 0);
	assert_memory_equal(pub, k->pub[i], 32);
	struct in6_addr want, got;
	assert_int_equal(inet_pton(AF_INET6, f[3], &want), 1);
	autoaddr_from_key(k->pub[i], &got);
	assert_memory_equal(&got, &want, sizeof(want));
	assert_true(autoaddr_matches(k->pub[i], &want));
	k->n++;
}

static void test_keys(void **state)
{
	(void)state;
	assert_int_equal(keys.n, 4); /* loaded in setup */
}

static void shared_case(void *arg, int nf, char **f)
{
	(void)arg;
	assert_int_equal(nf, 3);
	int i = atoi(f[0]), j = atoi(f[1]);
	uint8_t want[32], got[32];
	assert_int_equal(hex_bytes(f[2], want, sizeof(want)), 32);
	struct crypto_identity *a, *b;
	assert_int_equal(crypto_identity_new(keys.priv[i], &a), 0);
	assert_int_equal(crypto_identity_new(keys.priv[j], &b), 0);
	assert_int_equal(crypto_shared(a, keys.pub[j], got), 0);
	assert_memory_equal(got, want, 32);
	assert_int_equal(crypto_shared(b, keys.pub[i], got), 0);
	assert_memory_equal(got, want, 32);
	crypto_identity_free(a);
	crypto_identity_free(b);
}

static void test_shared_keys(void **state)
{
	(void)state;
	assert_int_equal(vec_each("shared-keys.txt", 3, shared_case, NULL), 6);
}

static void signed_case(void *arg, int nf, char **f)
{
	int *valid = arg;
	assert_int_equal(nf, 5);
	int s = atoi(f[1]), r = atoi(f[2]);
	const char *outcome = f[3];
	size_t len = hex_bytes(f[4], buf, sizeof(buf));

	struct crypto_identity *rid;
	assert_int_equal(crypto_identity_new(keys.priv[r], &rid), 0);
	struct crypto_cache *cache = crypto_cache_new(rid);
	struct wire_fact g;
	assert_int_equal(wire_decode_group_outer(buf, len, &g), WIRE_OK);
	assert_memory_equal(g.subject, keys.pub[s], 32);
	const uint8_t *shared = crypto_cache_get(cache, g.subject);
	assert_non_null(shared);
	bool tag_ok = crypto_group_verify(shared, &g.v.group);
	enum wire_err inner = wire_inner_validate(&g.v.group.inner, NULL, NULL);
	const char *got = !tag_ok ? "bad-tag" : inner ? "bad-inner" : "valid";
	if (strcmp(got, outcome) != 0)
		fail_msg("%s: got %s, want %s", f[0], got, outcome);

	if (tag_ok) {
		/* The signer, sealing the same inner bytes with the vector's nonce
		 * for this recipient, reproduces the packet byte for byte. */
		struct crypto_identity *sid;
		uint8_t sshared[32];
		assert_int_equal(crypto_identity_new(keys.priv[s], &sid), 0);
		assert_int_equal(crypto_shared(sid, keys.pub[r], sshared), 0);
		size_t n = pack_seal(keys.pub[s], sshared, g.v.group.nonce, g.v.group.inner.data,
				     g.v.group.inner.len, out, sizeof(out));
		assert_int_equal(n, len);
		assert_memory_equal(out, buf, len);
		crypto_identity_free(sid);
		(*valid)++;
	}
	crypto_cache_free(cache);
	crypto_identity_free(rid);
}

static void test_signed(void **state)
{
	(void)state;
	int sealed = 0;
	assert_int_equal(vec_each("signed.txt", 5, signed_case, &sealed), 8);
	assert_int_equal(sealed, 5); /* 3 valid + 2 bad-inner have a good tag */
}

static int setup(void **state)
{
	(void)state;
	if (crypto_init() != 0)
		return -1;
	memset(&keys, 0, sizeof(keys));
	return vec_each("keys.txt", 4, key_case, &keys) == 4 ? 0 : -1;
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_decode_lenient),
		cmocka_unit_test(test_original_packets),
		cmocka_unit_test(test_original_fuzz_regressions),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_shared_keys),
		cmocka_unit_test(test_signed),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
