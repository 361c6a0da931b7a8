/* libsodium wrappers. Key material is wiped (sodium_memzero) wherever it is
 * freed or goes out of scope. */
#include "proto/crypto.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The cache is keyed by public keys of current peers (a packet's signer is
 * checked against its source before any lookup): their first bytes are
 * already uniform, so they are the hash; Jenkins' hash over all 32 bytes
 * cost more than a tenth of the packet path outside the AEAD. */
#define HASH_FUNCTION(keyptr, keylen, hashv)                                                       \
	do {                                                                                       \
		uint32_t h_;                                                                       \
		memcpy(&h_, (keyptr), sizeof(h_));                                                 \
		(hashv) = h_;                                                                      \
	} while (0)
#include <uthash.h>

int crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

struct crypto_identity {
	uint8_t pub[CRYPTO_KEY_LEN];
	uint8_t *priv; /* sodium_malloc'd */
};

int crypto_public_key(const uint8_t priv[static CRYPTO_KEY_LEN], uint8_t pub[static CRYPTO_KEY_LEN])
{
	return crypto_scalarmult_curve25519_base(pub, priv) == 0 ? 0 : -EINVAL;
}

int crypto_identity_new(const uint8_t priv[static CRYPTO_KEY_LEN], struct crypto_identity **out)
{
	*out = NULL;
	struct crypto_identity *id = calloc(1, sizeof(*id));
	if (!id)
		return -ENOMEM;
	id->priv = sodium_malloc(CRYPTO_KEY_LEN);
	if (!id->priv) {
		free(id);
		return -ENOMEM;
	}
	memcpy(id->priv, priv, CRYPTO_KEY_LEN);
	if (crypto_public_key(id->priv, id->pub) != 0) {
		crypto_identity_free(id);
		return -EINVAL;
	}
	sodium_mprotect_readonly(id->priv);
	*out = id;
	return 0;
}

void crypto_identity_free(struct crypto_identity *id)
{
	if (!id)
		return;
	sodium_free(id->priv); /* wipes before unmapping */
	free(id);
}

const uint8_t *crypto_identity_public(const struct crypto_identity *id) { return id->pub; }

int crypto_shared(const struct crypto_identity *id, const uint8_t peer[static CRYPTO_KEY_LEN],
		  uint8_t out[static CRYPTO_KEY_LEN])
{
	/* libsodium already fails on an all-zero result; check again so the
	 * rule does not depend on the library version. */
	if (crypto_scalarmult_curve25519(out, id->priv, peer) != 0 ||
	    sodium_is_zero(out, CRYPTO_KEY_LEN)) {
		sodium_memzero(out, CRYPTO_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

struct cache_entry {
	uint8_t peer[CRYPTO_KEY_LEN];
	uint8_t shared[CRYPTO_KEY_LEN];
	bool valid;
	UT_hash_handle hh;
};

struct crypto_cache {
	const struct crypto_identity *id;
	struct cache_entry *entries;
};

struct crypto_cache *crypto_cache_new(const struct crypto_identity *id)
{
	struct crypto_cache *c = calloc(1, sizeof(*c));
	if (c)
		c->id = id;
	return c;
}

static void entry_free(struct cache_entry *e)
{
	sodium_memzero(e->shared, sizeof(e->shared));
	free(e);
}

void crypto_cache_free(struct crypto_cache *c)
{
	if (!c)
		return;
	struct cache_entry *e, *tmp;
	HASH_ITER(hh, c->entries, e, tmp) {
		HASH_DEL(c->entries, e);
		entry_free(e);
	}
	free(c);
}

const uint8_t *crypto_cache_get(struct crypto_cache *c, const uint8_t peer[static CRYPTO_KEY_LEN])
{
	struct cache_entry *e = NULL;
	HASH_FIND(hh, c->entries, peer, CRYPTO_KEY_LEN, e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return NULL;
		memcpy(e->peer, peer, CRYPTO_KEY_LEN);
		e->valid = crypto_shared(c->id, peer, e->shared) == 0;
		HASH_ADD(hh, c->entries, peer, CRYPTO_KEY_LEN, e);
	}
	return e->valid ? e->shared : NULL;
}

void crypto_cache_forget(struct crypto_cache *c, const uint8_t peer[static CRYPTO_KEY_LEN])
{
	struct cache_entry *e = NULL;
	HASH_FIND(hh, c->entries, peer, CRYPTO_KEY_LEN, e);
	if (e) {
		HASH_DEL(c->entries, e);
		entry_free(e);
	}
}

size_t crypto_cache_count(const struct crypto_cache *c) { return HASH_COUNT(c->entries); }

void crypto_random_nonce(uint8_t nonce[static WIRE_NONCE_LEN])
{
	randombytes_buf(nonce, WIRE_NONCE_LEN);
}

void crypto_random(void *buf, size_t len) { randombytes_buf(buf, len); }

void crypto_group_tag(const uint8_t shared[static CRYPTO_KEY_LEN],
		      const uint8_t nonce[static WIRE_NONCE_LEN], const uint8_t *inner, size_t len,
		      uint8_t tag[static WIRE_TAG_LEN])
{
	/* The plaintext is empty; libsodium still wants non-NULL buffers. */
	uint8_t none[1] = { 0 };
	unsigned long long taglen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(none, tag, &taglen, none, 0, inner, len,
							    NULL, nonce, shared);
}

bool crypto_group_verify(const uint8_t shared[static CRYPTO_KEY_LEN], const struct wire_group *g)
{
	uint8_t none[1] = { 0 };
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		       none, NULL, none, 0, g->tag, g->inner.data, g->inner.len, g->nonce, shared) == 0;
}
