/* What each peer knows, until when: facts it sent us or we sent it. Decides
 * what a peer needs now, with the original's re-send margins.
 *
 * Compact by design, because a router's knowledge is N peers x N facts:
 * every fact id is interned once as a small "slot" number, and what a peer
 * knows is a paged array of 32-bit expiries indexed by slot (4 bytes per
 * (peer, fact), no per-entry allocation or hashing). Expiries are stored as
 * ms after a base that moves forward every few weeks.
 *
 * Pure: times are monotonic milliseconds supplied by the caller. */
#ifndef WIRELINK_KNOWLEDGE_H
#define WIRELINK_KNOWLEDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	FACT_TTL_MS = 255000,	/* TTL of every fact we originate */
	CHUNK_PERIOD_MS = 5000,	/* the original's batching period */
	ALIVE_PERIOD_MS = 30000, /* an Alive is re-sent this often */
	/* A fact is sent again when the peer's knowledge ends within this... */
	RESEND_MARGIN_MS = FACT_TTL_MS / 2 + CHUNK_PERIOD_MS,
	/* ...and our Alive when it ends within this. */
	ALIVE_MARGIN_MS = FACT_TTL_MS - ALIVE_PERIOD_MS,
	/* A fact new to a peer goes once more this much later, in case the
	 * first packet was lost. */
	REPEAT_MS = 3000,
	/* The higher of two keys that never had a handshake waits this long
	 * before its first packet to the other (crossing handshakes). */
	FIRST_CONTACT_HOLD_MS = 1000,
};

#define KNOW_NO_SLOT UINT32_MAX

struct knowledge;
/* What one peer knows; owned by the knowledge, valid until knowledge_free. */
struct known;

struct knowledge *knowledge_new(void);
void knowledge_free(struct knowledge *k);

/* The peer's record, created empty on first use. NULL when out of memory. */
struct known *knowledge_peer(struct knowledge *k, const uint8_t peer[static 32]);

/* The slot of fact `id`, interned on first use (KNOW_NO_SLOT when out of
 * memory). A slot stays valid until the next knowledge_expire or
 * knowledge_forget_fact; ask again after those. */
uint32_t knowledge_slot(struct knowledge *k, uint64_t id);

/* The peer knows the fact in `slot` until `until` (the later of two records
 * wins). 0 or -ENOMEM. */
int knowledge_record(struct knowledge *k, struct known *p, uint32_t slot, int64_t until)
	__attribute__((warn_unused_result));

/* We sent the peer the fact in `slot`, good until `until`; it is due again
 * `margin` before it ends (RESEND_MARGIN_MS, or ALIVE_MARGIN_MS for our
 * Alive). A first send — `first`, or the peer knew nothing of it — is
 * recorded as ending REPEAT_MS + margin from now (replacing what was
 * recorded), so that it goes once more REPEAT_MS later: a first packet
 * often races the peer's own set-up and is lost (beyond the original).
 * Returns the end now recorded, or INT64_MIN when out of memory. */
int64_t knowledge_sent(struct knowledge *k, struct known *p, uint32_t slot, int64_t now,
		       int64_t until, int64_t margin, bool first);

/* Until when the peer knows the fact; INT64_MIN when it does not. */
int64_t knowledge_until(const struct knowledge *k, const struct known *p, uint32_t slot);

/* Whether to send the peer the fact now: unless it knows it beyond
 * now + RESEND_MARGIN_MS. */
bool knowledge_needs(const struct knowledge *k, const struct known *p, uint32_t slot,
		     int64_t now);
/* The same for our Alive, with ALIVE_MARGIN_MS. */
bool knowledge_needs_alive(const struct knowledge *k, const struct known *p, uint32_t slot,
			   int64_t now);

/* The peer restarted (new boot id): it knows nothing any more. */
void knowledge_forget_peer(struct knowledge *k, struct known *p);
/* The peer is gone for good: its record is freed (p is invalid after). */
void knowledge_drop_peer(struct knowledge *k, struct known *p);
/* How many peers have a record. */
size_t knowledge_peers(const struct knowledge *k);
/* Nobody knows fact `id` any more (e.g. our Alive after our boot id changed). */
void knowledge_forget_fact(struct knowledge *k, uint64_t id);

/* Frees the slots of facts nobody knows beyond now (clearing what peers
 * knew of them); returns how many went. Call once per round, before asking
 * for slots. */
size_t knowledge_expire(struct knowledge *k, int64_t now);

/* How many facts the peer is recorded as knowing (ended ones included until
 * knowledge_expire frees their slot). */
size_t knowledge_count(const struct known *p);
/* Slots in use; bytes held by the per-peer arrays. */
size_t knowledge_slots(const struct knowledge *k);
size_t knowledge_bytes(const struct knowledge *k);

#endif
