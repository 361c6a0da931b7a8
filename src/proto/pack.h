/* Turns a list of facts into signed-group packets for one recipient: each at
 * most WIRE_MAX_PACKET bytes, facts never split, order kept. */
#ifndef WIRELINK_PACK_H
#define WIRELINK_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

/* Seals inner facts into one signed-group packet (ttl 0, signer as subject).
 * Returns the packet length, or 0 if it does not fit in cap. */
size_t pack_seal(const uint8_t signer[static WIRE_KEY_LEN], const uint8_t shared[static 32],
		 const uint8_t nonce[static WIRE_NONCE_LEN], const uint8_t *inner, size_t len,
		 uint8_t *out, size_t cap);

/* Receives each finished packet; a negative return stops packing. */
typedef int (*pack_emit_fn)(void *arg, const uint8_t *pkt, size_t len);

struct pack_target {
	const uint8_t *signer; /* our public key */
	const uint8_t *shared; /* secret shared with the recipient */
	pack_emit_fn emit;
	void *arg;
};

/* Packs facts[0..n) in order. Then each of fill[0..nfill) (e.g. an Alive
 * that is only worth sending alongside other facts) is added to the last
 * packet if it fits there; fill facts never start a packet of their own.
 * A fact that cannot travel (unencodable, or larger than a group) is
 * skipped: it never costs the others. Returns the number of packets
 * emitted, or the emitter's error. */
int pack_facts(const struct pack_target *t, const struct wire_fact *facts, size_t n,
	       const struct wire_fact *fill, size_t nfill) __attribute__((warn_unused_result));
/* The same for facts given by pointer. */
int pack_fact_refs(const struct pack_target *t, const struct wire_fact *const *refs, size_t n,
		   const struct wire_fact *fill, size_t nfill) __attribute__((warn_unused_result));

#endif
