/* Every libsodium call of wirelink: keys, the per-peer shared secret cache,
 * and the tag that authenticates a signed group. */
#ifndef WIRELINK_CRYPTO_H
#define WIRELINK_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

enum { CRYPTO_KEY_LEN = 32 };

/* Initialises libsodium; 0 or -errno. Safe to call more than once. */
int crypto_init(void) __attribute__((warn_unused_result));

/* Our own key pair. The private key lives in guarded, locked memory and is
 * wiped when freed. */
struct crypto_identity;
int crypto_identity_new(const uint8_t priv[static CRYPTO_KEY_LEN], struct crypto_identity **out)
	__attribute__((warn_unused_result));
void crypto_identity_free(struct crypto_identity *id);
const uint8_t *crypto_identity_public(const struct crypto_identity *id);

/* WireGuard's public key for a private key (X25519 with the base point). */
int crypto_public_key(const uint8_t priv[static CRYPTO_KEY_LEN], uint8_t pub[static CRYPTO_KEY_LEN])
	__attribute__((warn_unused_result));

/* X25519(own private, peer public). -EINVAL for a low-order peer key (the
 * all-zero result); out is then zeroed. */
int crypto_shared(const struct crypto_identity *id, const uint8_t peer[static CRYPTO_KEY_LEN],
		  uint8_t out[static CRYPTO_KEY_LEN]) __attribute__((warn_unused_result));

/* Shared secrets by peer key, so that the per-packet path runs no X25519. */
struct crypto_cache;
struct crypto_cache *crypto_cache_new(const struct crypto_identity *id);
void crypto_cache_free(struct crypto_cache *c);
/* The shared secret with peer, computed on first use; NULL for a low-order
 * key (remembered, so a bad key costs one X25519 only). The pointer stays
 * valid until the entry is forgotten or the cache freed. */
const uint8_t *crypto_cache_get(struct crypto_cache *c, const uint8_t peer[static CRYPTO_KEY_LEN]);
void crypto_cache_forget(struct crypto_cache *c, const uint8_t peer[static CRYPTO_KEY_LEN]);
size_t crypto_cache_count(const struct crypto_cache *c);

void crypto_random_nonce(uint8_t nonce[static WIRE_NONCE_LEN]);
void crypto_random(void *buf, size_t len);

/* XChaCha20-Poly1305 with an empty plaintext and the inner bytes as the
 * additional data; the 16-byte result is the group's tag. */
void crypto_group_tag(const uint8_t shared[static CRYPTO_KEY_LEN],
		      const uint8_t nonce[static WIRE_NONCE_LEN], const uint8_t *inner, size_t len,
		      uint8_t tag[static WIRE_TAG_LEN]);
bool crypto_group_verify(const uint8_t shared[static CRYPTO_KEY_LEN], const struct wire_group *g);

#endif
