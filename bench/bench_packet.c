/* Packet path benchmark: verify + decode of full-size (1212-byte) signed
 * groups per second on one core, beside libsodium's raw XChaCha20-Poly1305
 * verification of the same bytes. Prints numbers; asserts nothing.
 * usage: bench_packet [SECONDS-PER-ROUND] [ROUNDS]
 * (the two measured functions are not inlined, so a profile such as
 * `valgrind --tool=callgrind` shows each one's instructions per call) */
#include "proto/crypto.h"
#include "proto/pack.h"
#include "proto/wire.h"

#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10 endpoint facts of 40 bytes and 18 of 41 bytes: 1138 inner bytes, so
 * the packet is 74 + 1138 = 1212 bytes. */
static size_t build_inner(uint8_t *inner, size_t cap)
{
	size_t len = 0;
	for (int i = 0; i < 28; i++) {
		struct wire_fact f = { .attr = WIRE_ENDPOINT_V4, .ttl = i < 10 ? 100 : 200 };
		memset(f.subject, i, sizeof(f.subject));
		memcpy(f.v.endpoint.addr, (uint8_t[]){ 198, 51, 100, (uint8_t)i }, 4);
		f.v.endpoint.port = 51820;
		size_t n = 0;
		if (!wire_encode_fact(&f, inner + len, cap - len, &n))
			abort();
		len += n;
	}
	return len;
}

struct ctx {
	uint8_t pkt[WIRE_RECV_BUF];
	size_t len;
	struct crypto_cache *cache;
	const uint8_t *shared;
};

__attribute__((noinline)) static unsigned long verify_decode(struct ctx *c)
{
	struct wire_fact g, f;
	if (wire_decode_group_outer(c->pkt, c->len, &g) != WIRE_OK)
		abort();
	const uint8_t *shared = crypto_cache_get(c->cache, g.subject);
	if (!shared || !crypto_group_verify(shared, &g.v.group))
		abort();
	struct wire_inner_iter it;
	unsigned long sum = 0;
	wire_inner_begin(&it, &g.v.group.inner);
	while (wire_inner_next(&it, &f))
		sum += f.v.endpoint.port;
	if (it.err)
		abort();
	return sum;
}

__attribute__((noinline)) static unsigned long raw_aead(struct ctx *c)
{
	const uint8_t *nonce = c->pkt + 34, *tag = nonce + 24, *inner = tag + 16;
	uint8_t none[1] = { 0 };
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    none, NULL, none, 0, tag, inner, c->len - 74, nonce, c->shared) != 0)
		abort();
	return 1;
}

/* Runs fn for about `seconds`; adds the calls and the time taken. */
static void run(struct ctx *c, unsigned long (*fn)(struct ctx *), double seconds,
		unsigned long *calls, double *taken)
{
	volatile unsigned long sink = 0;
	unsigned long n = 0;
	double start = now_s(), end = start + seconds, t;
	do {
		for (int i = 0; i < 256; i++)
			sink += fn(c);
		n += 256;
	} while ((t = now_s()) < end);
	(void)sink;
	*calls += n;
	*taken += t - start;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (rounds < 1 || rounds > 100 || seconds <= 0)
		return 2;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);

	uint8_t a[32], b[32], inner[WIRE_MAX_INNER + 8], shared[32];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	struct crypto_identity *sender, *me;
	if (crypto_init() || crypto_identity_new(a, &sender) || crypto_identity_new(b, &me) ||
	    crypto_shared(sender, crypto_identity_public(me), shared))
		return 1;
	struct ctx c = { .cache = crypto_cache_new(me), .shared = shared };
	size_t ilen = build_inner(inner, sizeof(inner));
	uint8_t nonce[WIRE_NONCE_LEN];
	crypto_random_nonce(nonce);
	c.len = pack_seal(crypto_identity_public(sender), shared, nonce, inner, ilen, c.pkt,
			  sizeof(c.pkt));

	double ours[100], raw[100], ratio[100];
	/* Each round alternates the two in 20 slices, so a change in the
	 * machine's load (other processes on a shared host) hits both alike. */
	for (int r = 0; r < rounds; r++) {
		unsigned long n_ours = 0, n_raw = 0;
		double t_ours = 0, t_raw = 0;
		for (int slice = 0; slice < 20; slice++) {
			run(&c, verify_decode, seconds / 40, &n_ours, &t_ours);
			run(&c, raw_aead, seconds / 40, &n_raw, &t_raw);
		}
		ours[r] = (double)n_ours / t_ours;
		raw[r] = (double)n_raw / t_raw;
		ratio[r] = ours[r] / raw[r];
	}
	qsort(ours, (size_t)rounds, sizeof(double), cmp_double);
	qsort(raw, (size_t)rounds, sizeof(double), cmp_double);
	qsort(ratio, (size_t)rounds, sizeof(double), cmp_double);
	int m = rounds / 2;
	printf("packet path: %zu-byte signed group, %zu inner bytes, 28 facts; %d rounds of %.1fs"
	       " (the two alternating in 20 slices), one core\n",
	       c.len, ilen, rounds, seconds);
	printf("  %-26s %10.0f /s  (min %.0f, max %.0f)\n", "verify + decode", ours[m], ours[0],
	       ours[rounds - 1]);
	printf("  %-26s %10.0f /s  (min %.0f, max %.0f)\n", "raw AEAD verify", raw[m], raw[0],
	       raw[rounds - 1]);
	printf("  %-26s %10.3f     (min %.3f, max %.3f; target >= 0.8)\n", "ratio", ratio[m],
	       ratio[0], ratio[rounds - 1]);
	crypto_cache_free(c.cache);
	crypto_identity_free(sender);
	crypto_identity_free(me);
	return 0;
}
