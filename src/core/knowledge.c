/* Knowledge: per peer, a hash of fact id -> until. */
#include "core/knowledge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct known {
	uint64_t id;
	int64_t until;
	UT_hash_handle hh;
};

struct peer_knowledge {
	uint8_t peer[32];
	struct known *facts;
	UT_hash_handle hh;
};

struct knowledge {
	struct peer_knowledge *peers;
};

struct knowledge *knowledge_new(void) { return calloc(1, sizeof(struct knowledge)); }

static void clear_peer(struct peer_knowledge *p)
{
	struct known *e, *tmp;
	HASH_ITER(hh, p->facts, e, tmp) {
		HASH_DEL(p->facts, e);
		free(e);
	}
}

void knowledge_free(struct knowledge *k)
{
	if (!k)
		return;
	struct peer_knowledge *p, *tmp;
	HASH_ITER(hh, k->peers, p, tmp) {
		clear_peer(p);
		HASH_DEL(k->peers, p);
		free(p);
	}
	free(k);
}

static struct peer_knowledge *find_peer(const struct knowledge *k, const uint8_t peer[static 32])
{
	struct peer_knowledge *p = NULL;
	HASH_FIND(hh, k->peers, peer, 32, p);
	return p;
}

static struct known *find_fact(const struct peer_knowledge *p, uint64_t id)
{
	struct known *e = NULL;
	if (p)
		HASH_FIND(hh, p->facts, &id, sizeof(id), e);
	return e;
}

int knowledge_record(struct knowledge *k, const uint8_t peer[static 32], uint64_t id, int64_t until)
{
	struct peer_knowledge *p = find_peer(k, peer);
	if (!p) {
		if (!(p = calloc(1, sizeof(*p))))
			return -ENOMEM;
		memcpy(p->peer, peer, 32);
		HASH_ADD(hh, k->peers, peer, 32, p);
	}
	struct known *e = find_fact(p, id);
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return -ENOMEM;
		e->id = id;
		e->until = until;
		HASH_ADD(hh, p->facts, id, sizeof(e->id), e);
	} else if (until > e->until) {
		e->until = until;
	}
	return 0;
}

void knowledge_forget_peer(struct knowledge *k, const uint8_t peer[static 32])
{
	struct peer_knowledge *p = find_peer(k, peer);
	if (p)
		clear_peer(p);
}

void knowledge_forget_fact(struct knowledge *k, uint64_t id)
{
	struct peer_knowledge *p, *tmp;
	HASH_ITER(hh, k->peers, p, tmp) {
		struct known *e = find_fact(p, id);
		if (e) {
			HASH_DEL(p->facts, e);
			free(e);
		}
	}
}

int64_t knowledge_until(const struct knowledge *k, const uint8_t peer[static 32], uint64_t id)
{
	const struct known *e = find_fact(find_peer(k, peer), id);
	return e ? e->until : INT64_MIN;
}

bool knowledge_needs(const struct knowledge *k, const uint8_t peer[static 32], uint64_t id,
		     int64_t now)
{
	return knowledge_until(k, peer, id) <= now + RESEND_MARGIN_MS;
}

bool knowledge_needs_alive(const struct knowledge *k, const uint8_t peer[static 32],
			   uint64_t alive_id, int64_t now)
{
	return knowledge_until(k, peer, alive_id) <= now + ALIVE_MARGIN_MS;
}

size_t knowledge_expire(struct knowledge *k, int64_t now)
{
	size_t n = 0;
	struct peer_knowledge *p, *ptmp;
	HASH_ITER(hh, k->peers, p, ptmp) {
		struct known *e, *tmp;
		HASH_ITER(hh, p->facts, e, tmp) {
			if (e->until <= now) {
				HASH_DEL(p->facts, e);
				free(e);
				n++;
			}
		}
		if (!p->facts) {
			HASH_DEL(k->peers, p);
			free(p);
		}
	}
	return n;
}

size_t knowledge_count(const struct knowledge *k, const uint8_t peer[static 32])
{
	const struct peer_knowledge *p = find_peer(k, peer);
	return p ? HASH_COUNT(p->facts) : 0;
}
