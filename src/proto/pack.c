/* Group packing and sealing. */
#include "proto/pack.h"

#include "proto/crypto.h"

#include <errno.h>
#include <string.h>

size_t pack_seal(const uint8_t signer[static WIRE_KEY_LEN], const uint8_t shared[static 32],
		 const uint8_t nonce[static WIRE_NONCE_LEN], const uint8_t *inner, size_t len,
		 uint8_t *out, size_t cap)
{
	struct wire_fact g = { .attr = WIRE_SIGNED_GROUP, .ttl = 0 };
	memcpy(g.subject, signer, WIRE_KEY_LEN);
	memcpy(g.v.group.nonce, nonce, WIRE_NONCE_LEN);
	g.v.group.inner = (struct wire_view){ inner, (uint32_t)len };
	crypto_group_tag(shared, nonce, inner, len, g.v.group.tag);
	size_t written = 0;
	return wire_encode_fact(&g, out, cap, &written) ? written : 0;
}

struct group_buf {
	uint8_t inner[WIRE_MAX_INNER];
	size_t len;
};

static int flush(const struct pack_target *t, struct group_buf *g)
{
	uint8_t nonce[WIRE_NONCE_LEN], pkt[WIRE_MAX_PACKET];
	crypto_random_nonce(nonce);
	size_t n = pack_seal(t->signer, t->shared, nonce, g->inner, g->len, pkt, sizeof(pkt));
	g->len = 0;
	if (n == 0)
		return -EMSGSIZE;
	int r = t->emit(t->arg, pkt, n);
	return r < 0 ? r : 1;
}

static bool append(struct group_buf *g, const struct wire_fact *f)
{
	size_t written = 0;
	if (!wire_encode_fact(f, g->inner + g->len, sizeof(g->inner) - g->len, &written))
		return false;
	g->len += written;
	return true;
}

/* Whether a fact can travel in a group at all. */
static bool packable(const struct wire_fact *f)
{
	size_t size = wire_fact_size(f);
	return size != 0 && size <= WIRE_MAX_INNER && f->attr != WIRE_SIGNED_GROUP;
}

/* Packs facts (an array) or, when it is NULL, refs (pointers). */
static int pack(const struct pack_target *t, const struct wire_fact *facts,
		const struct wire_fact *const *refs, size_t n, const struct wire_fact *fill,
		size_t nfill)
{
	struct group_buf g = { .len = 0 };
	int packets = 0;
	size_t packed = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wire_fact *f = facts ? &facts[i] : refs[i];
		if (!packable(f))
			continue; /* one bad fact never costs the others */
		packed++;
		if (append(&g, f))
			continue;
		int r = flush(t, &g);
		if (r < 0)
			return r;
		packets++;
		append(&g, f); /* fits: checked above */
	}
	for (size_t i = 0; i < nfill && packed > 0; i++)
		if (packable(&fill[i]))
			append(&g, &fill[i]);
	if (g.len > 0) {
		int r = flush(t, &g);
		if (r < 0)
			return r;
		packets++;
	}
	return packets;
}

int pack_facts(const struct pack_target *t, const struct wire_fact *facts, size_t n,
	       const struct wire_fact *fill, size_t nfill)
{
	return pack(t, facts, NULL, n, fill, nfill);
}

int pack_fact_refs(const struct pack_target *t, const struct wire_fact *const *refs, size_t n,
		   const struct wire_fact *fill, size_t nfill)
{
	return pack(t, NULL, refs, n, fill, nfill);
}
