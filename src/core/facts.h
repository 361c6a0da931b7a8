/* The fact table: facts by identity (attribute, subject, value — an Alive's
 * identity ignores its value), the later expiry wins, indexed by subject so
 * that "all facts about peer P" is cheap. Pure: times are monotonic
 * milliseconds supplied by the caller. */
#ifndef WIRELINK_FACTS_H
#define WIRELINK_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

enum { FACT_KEY_MAX = 1 + WIRE_KEY_LEN + WIRE_MAX_INNER };

/* The identity bytes of a fact: attribute | subject | canonical value (no
 * value for Alive). 0, -EINVAL (group or unencodable), -EMSGSIZE (a value
 * larger than a group can carry). */
int fact_identity(const struct wire_fact *f, uint8_t key[static FACT_KEY_MAX], size_t *len)
	__attribute__((warn_unused_result));

/* A 64-bit keyed hash of the identity (SipHash, key random per process; call
 * crypto_init() first): how knowledge refers to facts. 0 for a fact with no
 * identity. */
uint64_t fact_id(const struct wire_fact *f);

struct fact {
	struct wire_fact f; /* f.ttl is unused; metadata views point into the fact */
	int64_t expires;    /* monotonic ms; valid while now < expires */
	uint8_t source[WIRE_KEY_LEN]; /* who told us last (zeros: unknown) */
};

struct facts;

/* Counters of what changed since the last facts_take_changes(). */
struct facts_changes {
	size_t appeared, extended, replaced, expired, critical_expired, removed;
};

enum facts_merge_result {
	FACTS_NEW = 1,	    /* identity not known before */
	FACTS_EXTENDED,	    /* known; the expiry moved later */
	FACTS_REPLACED,	    /* an Alive with a new value (boot id) and a later expiry */
	FACTS_UNCHANGED,    /* known, and not expiring later */
};

struct facts *facts_new(void);
void facts_free(struct facts *t);

/* Merges f expiring at `expires`. Returns an enum facts_merge_result, or
 * -EINVAL (a signed group or unencodable fact), -EMSGSIZE (a value larger
 * than a group can carry), -ENOMEM. */
int facts_merge(struct facts *t, const struct wire_fact *f, int64_t expires)
	__attribute__((warn_unused_result));

/* The same, noting `source` as who told us when the fact is new or renewed. */
int facts_merge_from(struct facts *t, const struct wire_fact *f, int64_t expires,
		     const uint8_t source[WIRE_KEY_LEN]) __attribute__((warn_unused_result));

const struct fact *facts_find(const struct facts *t, const struct wire_fact *f);
bool facts_remove(struct facts *t, const struct wire_fact *f);

/* Removes every fact with expires <= now, calling fn (if not NULL) on each
 * first. Returns how many were removed. */
size_t facts_expire(struct facts *t, int64_t now, void (*fn)(void *arg, const struct fact *f),
		    void *arg);

/* The earliest expiry in the table (INT64_MAX when empty): the next deadline. */
int64_t facts_next_expiry(const struct facts *t);

size_t facts_count(const struct facts *t);
struct facts_changes facts_take_changes(struct facts *t);

/* Iteration: all facts, or those about one subject (NULL at the end). The
 * table must not be changed while iterating, except through facts_expire. */
const struct fact *facts_first(const struct facts *t);
const struct fact *facts_next(const struct fact *f);
const struct fact *facts_subject_first(const struct facts *t, const uint8_t subject[static 32]);
const struct fact *facts_subject_next(const struct fact *f);
size_t facts_subject_count(const struct facts *t, const uint8_t subject[static 32]);
/* How many distinct subjects the table has facts about. */
size_t facts_subjects(const struct facts *t);

/* AllowedCidr, Member and MemberMetadata: their expiry makes a new boot id. */
bool facts_is_critical(uint8_t attr);

/* The fact as sent at `now`: TTL = whole seconds left, clamped to [0, 65535]. */
void fact_to_wire(const struct fact *f, int64_t now, struct wire_fact *out);

#endif
