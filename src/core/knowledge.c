/* Knowledge: one version record per fact (by id, in a hash), one small
 * record per peer (see knowledge.h). */
#include "core/knowledge.h"

#include <stdlib.h>
#include <uthash.h>

struct version_entry {
	uint64_t id;
	struct fact_version v;
	bool up;	 /* its subject was up when last offered */
	int64_t offered; /* the expiry it was last offered with */
	uint64_t round;	 /* the round that last offered it */
	UT_hash_handle hh;
};

struct knowledge {
	struct version_entry *by_id;
	uint64_t head;	/* the next version */
	uint64_t round; /* rounds begun */
	int64_t next_bump; /* see knowledge_next_bump */
	size_t bytes;
};

struct knowledge *knowledge_new(void) { return calloc(1, sizeof(struct knowledge)); }

void knowledge_free(struct knowledge *k)
{
	if (!k)
		return;
	struct version_entry *v, *tmp;
	HASH_ITER(hh, k->by_id, v, tmp) {
		HASH_DEL(k->by_id, v);
		free(v);
	}
	free(k);
}

void knowledge_begin(struct knowledge *k) { k->round++; }

static void bump(struct knowledge *k, struct version_entry *e, int64_t expires, bool first)
{
	e->v.ver = k->head++;
	if (first)
		e->v.first_ver = e->v.ver;
	e->v.sent_expires = expires;
}

const struct fact_version *knowledge_offer(struct knowledge *k, uint64_t id, int64_t expires,
					   bool up, int64_t now, bool *again)
{
	struct version_entry *e = NULL;
	HASH_FIND(hh, k->by_id, &id, sizeof(id), e);
	*again = e && e->round == k->round;
	if (*again)
		return &e->v;
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return NULL;
		e->id = id;
		HASH_ADD(hh, k->by_id, id, sizeof(e->id), e);
		k->bytes += sizeof(*e);
		bump(k, e, expires, true);
	} else if (up && !e->up) {
		/* Its subject came up: new to everyone (it was not sent while
		 * down, whatever the marks say). */
		bump(k, e, expires, true);
	} else if (expires > e->v.sent_expires && e->v.sent_expires <= now + RESEND_MARGIN_MS) {
		/* Refreshed, and what peers were told ends soon: tell again. */
		bump(k, e, expires, false);
	}
	e->up = up;
	e->offered = expires;
	e->round = k->round;
	return &e->v;
}

size_t knowledge_end(struct knowledge *k)
{
	size_t n = 0;
	struct version_entry *e, *tmp;
	k->next_bump = INT64_MAX;
	HASH_ITER(hh, k->by_id, e, tmp)
		if (e->round != k->round) {
			HASH_DEL(k->by_id, e);
			free(e);
			k->bytes -= sizeof(*e);
			n++;
		} else if (e->up && e->offered > e->v.sent_expires &&
			   e->v.sent_expires - RESEND_MARGIN_MS < k->next_bump) {
			k->next_bump = e->v.sent_expires - RESEND_MARGIN_MS;
		}
	return n;
}

uint64_t knowledge_head(const struct knowledge *k) { return k->head; }
int64_t knowledge_next_bump(const struct knowledge *k) { return k->round ? k->next_bump : INT64_MAX; }
size_t knowledge_facts(const struct knowledge *k) { return HASH_COUNT(k->by_id); }

size_t knowledge_bytes(const struct knowledge *k)
{
	/* Entries, plus the hash's bucket array. */
	return k->bytes + (k->by_id ? k->by_id->hh.tbl->num_buckets * sizeof(UT_hash_bucket) : 0);
}

void known_reset(struct known *p)
{
	*p = (struct known){ .rep_at = INT64_MAX, .alive_until = INT64_MIN };
}

bool known_pending(const struct known *p, const struct knowledge *k, int64_t now)
{
	return p->mark < k->head || p->rep_at <= now;
}


void known_scanned(struct known *p, const struct knowledge *k, int64_t now, bool repeated,
		   bool first)
{
	if (repeated)
		p->rep_at = INT64_MAX;
	if (first) {
		if (p->rep_at == INT64_MAX) {
			p->rep_from = p->mark;
			p->rep_at = now + REPEAT_MS;
		}
		p->rep_to = k->head;
	}
	p->mark = k->head;
}

bool known_alive_due(const struct known *p, int64_t now)
{
	return p->alive_until <= now + ALIVE_MARGIN_MS;
}

bool known_alive_soon(const struct known *p, int64_t now)
{
	return !p->alive_first && known_alive_due(p, now + ALIVE_EARLY_MS);
}

int64_t known_alive_at(const struct known *p)
{
	if (p->alive_until == INT64_MIN)
		return INT64_MIN;
	return p->alive_until - ALIVE_MARGIN_MS + (p->alive_first ? 0 : ALIVE_LATE_MS);
}

void known_alive_sent(struct known *p, int64_t now, bool first)
{
	p->alive_first = first || p->alive_until == INT64_MIN;
	if (p->alive_first)
		p->alive_until = now + REPEAT_MS + ALIVE_MARGIN_MS;
	else if (now + FACT_TTL_MS > p->alive_until)
		p->alive_until = now + FACT_TTL_MS;
}
