/* What each peer knows, until when: facts it sent us or we sent it, by fact
 * id. Decides what a peer needs now, with the original's re-send margins.
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
};

struct knowledge;

struct knowledge *knowledge_new(void);
void knowledge_free(struct knowledge *k);

/* The peer knows fact `id` until `until` (the later of two records wins).
 * 0 or -ENOMEM. */
int knowledge_record(struct knowledge *k, const uint8_t peer[static 32], uint64_t id,
		     int64_t until) __attribute__((warn_unused_result));

/* The peer restarted (new boot id): it knows nothing any more. */
void knowledge_forget_peer(struct knowledge *k, const uint8_t peer[static 32]);
/* Nobody knows fact `id` any more (e.g. our Alive after our boot id changed). */
void knowledge_forget_fact(struct knowledge *k, uint64_t id);

/* Until when the peer knows `id`; INT64_MIN when it does not. */
int64_t knowledge_until(const struct knowledge *k, const uint8_t peer[static 32], uint64_t id);

/* Whether to send the peer fact `id` now: unless it knows it beyond
 * now + RESEND_MARGIN_MS. */
bool knowledge_needs(const struct knowledge *k, const uint8_t peer[static 32], uint64_t id,
		     int64_t now);
/* The same for our Alive, with ALIVE_MARGIN_MS. */
bool knowledge_needs_alive(const struct knowledge *k, const uint8_t peer[static 32],
			   uint64_t alive_id, int64_t now);

/* Drops what has ended by now; returns how many records went. */
size_t knowledge_expire(struct knowledge *k, int64_t now);
size_t knowledge_count(const struct knowledge *k, const uint8_t peer[static 32]);

#endif
