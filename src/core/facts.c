/* Fact table on uthash (by identity and by subject) with utlist chains. */
#include "core/facts.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

enum { KEY_MAX = FACT_KEY_MAX };

struct subject_entry;

struct fact_entry {
	struct fact pub; /* first, so a struct fact * is a struct fact_entry * */
	struct subject_entry *subj;
	struct fact_entry *prev, *next; /* facts about the same subject */
	UT_hash_handle hh;
	size_t key_len;
	uint8_t key[]; /* attribute | subject | canonical value (none for Alive) */
};

struct subject_entry {
	uint8_t subject[WIRE_KEY_LEN];
	struct fact_entry *head;
	size_t count;
	UT_hash_handle hh;
};

struct facts {
	struct fact_entry *by_key;
	struct subject_entry *by_subject;
	struct facts_changes changes;
	int64_t earliest; /* a lower bound of every expiry */
};

struct facts *facts_new(void)
{
	struct facts *t = calloc(1, sizeof(*t));
	if (t)
		t->earliest = INT64_MAX;
	return t;
}

static void unlink_entry(struct facts *t, struct fact_entry *e)
{
	HASH_DEL(t->by_key, e);
	struct subject_entry *s = e->subj;
	DL_DELETE(s->head, e);
	if (--s->count == 0) {
		HASH_DEL(t->by_subject, s);
		free(s);
	}
	free(e);
}

void facts_free(struct facts *t)
{
	if (!t)
		return;
	struct fact_entry *e, *tmp;
	HASH_ITER(hh, t->by_key, e, tmp)
		unlink_entry(t, e);
	free(t);
}

bool facts_is_critical(uint8_t attr)
{
	return attr == WIRE_CIDR_V4 || attr == WIRE_CIDR_V6 || attr == WIRE_MEMBER ||
	       attr == WIRE_MEMBER_META;
}

int fact_identity(const struct wire_fact *f, uint8_t key[static KEY_MAX], size_t *len)
{
	size_t value = 0;
	if (wire_fact_size(f) == 0 || f->attr == WIRE_SIGNED_GROUP)
		return -EINVAL;
	key[0] = f->attr;
	memcpy(key + 1, f->subject, WIRE_KEY_LEN);
	if (f->attr != WIRE_ALIVE && !wire_encode_value(f, key + 1 + WIRE_KEY_LEN,
							KEY_MAX - 1 - WIRE_KEY_LEN, &value))
		return -EMSGSIZE;
	*len = 1 + WIRE_KEY_LEN + value;
	return 0;
}

uint64_t fact_id(const struct wire_fact *f)
{
	static uint8_t hash_key[crypto_shorthash_KEYBYTES];
	static bool keyed;
	if (!keyed) {
		randombytes_buf(hash_key, sizeof(hash_key));
		keyed = true;
	}
	uint8_t key[KEY_MAX], out[crypto_shorthash_BYTES];
	size_t len = 0;
	if (fact_identity(f, key, &len) != 0)
		return 0;
	crypto_shorthash(out, key, len, hash_key);
	uint64_t id;
	memcpy(&id, out, sizeof(id));
	return id ? id : 1; /* 0 means "no identity" */
}

static struct fact_entry *find(const struct facts *t, const uint8_t *key, size_t len)
{
	struct fact_entry *e = NULL;
	HASH_FIND(hh, t->by_key, key, len, e);
	return e;
}

static int insert(struct facts *t, const struct wire_fact *f, int64_t expires, const uint8_t *key,
		  size_t len, const uint8_t *source)
{
	struct fact_entry *e = calloc(1, sizeof(*e) + len);
	if (!e)
		return -ENOMEM;
	struct subject_entry *s = NULL;
	HASH_FIND(hh, t->by_subject, f->subject, WIRE_KEY_LEN, s);
	if (!s) {
		if (!(s = calloc(1, sizeof(*s)))) {
			free(e);
			return -ENOMEM;
		}
		memcpy(s->subject, f->subject, WIRE_KEY_LEN);
		HASH_ADD(hh, t->by_subject, subject, WIRE_KEY_LEN, s);
	}
	memcpy(e->key, key, len);
	e->key_len = len;
	e->pub.f = *f;
	e->pub.f.ttl = 0;
	e->pub.expires = expires;
	if (source)
		memcpy(e->pub.source, source, WIRE_KEY_LEN);
	if (f->attr == WIRE_MEMBER_META) {
		/* Point at our own canonical copy: after the length prefix. */
		struct reader r = reader_init(e->key + 1 + WIRE_KEY_LEN, len - 1 - WIRE_KEY_LEN);
		uint64_t n = reader_uvarint(&r);
		e->pub.f.v.meta = (struct wire_view){ r.buf + r.off, (uint32_t)n };
	}
	e->subj = s;
	DL_APPEND(s->head, e);
	s->count++;
	HASH_ADD(hh, t->by_key, key[0], len, e);
	if (expires < t->earliest)
		t->earliest = expires;
	t->changes.appeared++;
	return FACTS_NEW;
}

int facts_merge_from(struct facts *t, const struct wire_fact *f, int64_t expires,
		     const uint8_t source[WIRE_KEY_LEN])
{
	uint8_t key[KEY_MAX];
	size_t len = 0;
	int err = fact_identity(f, key, &len);
	if (err)
		return err;
	struct fact_entry *e = find(t, key, len);
	if (!e)
		return insert(t, f, expires, key, len, source);
	if (expires <= e->pub.expires)
		return FACTS_UNCHANGED;
	e->pub.expires = expires;
	if (source)
		memcpy(e->pub.source, source, WIRE_KEY_LEN);
	if (f->attr == WIRE_ALIVE &&
	    memcmp(e->pub.f.v.boot_id, f->v.boot_id, WIRE_BOOT_ID_LEN) != 0) {
		memcpy(e->pub.f.v.boot_id, f->v.boot_id, WIRE_BOOT_ID_LEN);
		t->changes.replaced++;
		return FACTS_REPLACED;
	}
	t->changes.extended++;
	return FACTS_EXTENDED;
}

int facts_merge(struct facts *t, const struct wire_fact *f, int64_t expires)
{
	return facts_merge_from(t, f, expires, NULL);
}

const struct fact *facts_find(const struct facts *t, const struct wire_fact *f)
{
	uint8_t key[KEY_MAX];
	size_t len = 0;
	const struct fact_entry *e = fact_identity(f, key, &len) ? NULL : find(t, key, len);
	return e ? &e->pub : NULL;
}

bool facts_remove(struct facts *t, const struct wire_fact *f)
{
	uint8_t key[KEY_MAX];
	size_t len = 0;
	struct fact_entry *e = fact_identity(f, key, &len) ? NULL : find(t, key, len);
	if (!e)
		return false;
	unlink_entry(t, e);
	t->changes.removed++;
	return true;
}

size_t facts_expire(struct facts *t, int64_t now, void (*fn)(void *arg, const struct fact *f),
		    void *arg)
{
	if (now < t->earliest)
		return 0;
	struct fact_entry *e, *tmp;
	size_t n = 0;
	int64_t earliest = INT64_MAX;
	HASH_ITER(hh, t->by_key, e, tmp) {
		if (e->pub.expires > now) {
			if (e->pub.expires < earliest)
				earliest = e->pub.expires;
			continue;
		}
		if (fn)
			fn(arg, &e->pub);
		if (facts_is_critical(e->pub.f.attr))
			t->changes.critical_expired++;
		t->changes.expired++;
		unlink_entry(t, e);
		n++;
	}
	t->earliest = earliest;
	return n;
}

int64_t facts_next_expiry(const struct facts *t) { return t->earliest; }
size_t facts_count(const struct facts *t) { return HASH_COUNT(t->by_key); }
size_t facts_subjects(const struct facts *t) { return HASH_COUNT(t->by_subject); }

struct facts_changes facts_take_changes(struct facts *t)
{
	struct facts_changes c = t->changes;
	memset(&t->changes, 0, sizeof(t->changes));
	return c;
}

const struct fact *facts_first(const struct facts *t) { return t->by_key ? &t->by_key->pub : NULL; }

const struct fact *facts_next(const struct fact *f)
{
	const struct fact_entry *e = (const struct fact_entry *)f;
	return e->hh.next ? &((const struct fact_entry *)e->hh.next)->pub : NULL;
}

static const struct subject_entry *subject(const struct facts *t, const uint8_t s[static 32])
{
	struct subject_entry *e = NULL;
	HASH_FIND(hh, t->by_subject, s, WIRE_KEY_LEN, e);
	return e;
}

const struct fact *facts_subject_first(const struct facts *t, const uint8_t s[static 32])
{
	const struct subject_entry *e = subject(t, s);
	return e ? &e->head->pub : NULL;
}

const struct fact *facts_subject_next(const struct fact *f)
{
	const struct fact_entry *e = (const struct fact_entry *)f;
	return e->next ? &e->next->pub : NULL;
}

size_t facts_subject_count(const struct facts *t, const uint8_t s[static 32])
{
	const struct subject_entry *e = subject(t, s);
	return e ? e->count : 0;
}

void fact_to_wire(const struct fact *f, int64_t now, struct wire_fact *out)
{
	*out = f->f;
	int64_t left = f->expires > now ? (f->expires - now) / 1000 : 0;
	out->ttl = (uint16_t)(left > WIRE_TTL_MAX ? WIRE_TTL_MAX : left);
}
