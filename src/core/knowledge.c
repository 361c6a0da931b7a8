/* Knowledge: fact ids interned as slots; per peer, pages of 32-bit expiries
 * (ms after k->base, 0 = not known) indexed by slot. */
#include "core/knowledge.h"

#include "util/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

enum {
	PAGE_SHIFT = 8,
	PAGE_LEN = 1 << PAGE_SHIFT, /* 1 KiB pages */
};

/* Values are at most 2^32 ms (~49 days) after the base; the base moves
 * forward once `now` is more than REBASE_AFTER past it, keeping at least
 * ~12 days of headroom above now (a TTL is at most ~18 hours). */
#define BASE_LAG (INT64_C(1) << 31)
#define REBASE_AFTER (INT64_C(3) << 30)

struct slot_entry {
	uint64_t id;
	uint32_t slot;
	UT_hash_handle hh;
};

struct known {
	uint8_t key[32];
	uint32_t **pages;
	size_t n_pages;
	size_t count;
	UT_hash_handle hh;
};

struct knowledge {
	struct slot_entry *by_id;
	struct slot_entry **slots; /* slot -> entry, NULL when free */
	int64_t *slot_max;	   /* the latest expiry anyone knows it until */
	size_t n_slots, cap_slots, cap_max, used;
	uint32_t *free_slots;
	size_t n_free, cap_free;
	struct known *peers;
	int64_t base;
	bool based;
	size_t bytes;
};

struct knowledge *knowledge_new(void) { return calloc(1, sizeof(struct knowledge)); }

static void drop_pages(struct knowledge *k, struct known *p)
{
	for (size_t i = 0; i < p->n_pages; i++)
		if (p->pages[i]) {
			free(p->pages[i]);
			k->bytes -= PAGE_LEN * sizeof(uint32_t);
		}
	free(p->pages);
	k->bytes -= p->n_pages * sizeof(*p->pages);
	p->pages = NULL;
	p->n_pages = 0;
	p->count = 0;
}

void knowledge_free(struct knowledge *k)
{
	if (!k)
		return;
	struct known *p, *ptmp;
	HASH_ITER(hh, k->peers, p, ptmp) {
		drop_pages(k, p);
		HASH_DEL(k->peers, p);
		free(p);
	}
	struct slot_entry *s, *stmp;
	HASH_ITER(hh, k->by_id, s, stmp) {
		HASH_DEL(k->by_id, s);
		free(s);
	}
	free(k->slots);
	free(k->slot_max);
	free(k->free_slots);
	free(k);
}

struct known *knowledge_peer(struct knowledge *k, const uint8_t peer[static 32])
{
	struct known *p = NULL;
	HASH_FIND(hh, k->peers, peer, 32, p);
	if (!p && (p = calloc(1, sizeof(*p)))) {
		memcpy(p->key, peer, 32);
		HASH_ADD(hh, k->peers, key, 32, p);
	}
	return p;
}

static struct slot_entry *find_slot(const struct knowledge *k, uint64_t id)
{
	struct slot_entry *s = NULL;
	HASH_FIND(hh, k->by_id, &id, sizeof(id), s);
	return s;
}

uint32_t knowledge_slot(struct knowledge *k, uint64_t id)
{
	struct slot_entry *s = find_slot(k, id);
	if (s)
		return s->slot;
	uint32_t slot;
	bool reused = k->n_free > 0;
	if (reused) {
		slot = k->free_slots[--k->n_free];
	} else {
		if (k->n_slots >= KNOW_NO_SLOT ||
		    !array_grow((void **)&k->slots, k->n_slots, &k->cap_slots, sizeof(*k->slots)) ||
		    !array_grow((void **)&k->slot_max, k->n_slots, &k->cap_max, sizeof(*k->slot_max)))
			return KNOW_NO_SLOT;
		slot = (uint32_t)k->n_slots++;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		if (reused)
			k->free_slots[k->n_free++] = slot; /* room: it came from there */
		else
			k->n_slots--;
		return KNOW_NO_SLOT;
	}
	s->id = id;
	s->slot = slot;
	HASH_ADD(hh, k->by_id, id, sizeof(s->id), s);
	k->slots[slot] = s;
	k->slot_max[slot] = INT64_MIN;
	k->used++;
	return slot;
}

static uint32_t *entry(const struct known *p, uint32_t slot)
{
	size_t page = slot >> PAGE_SHIFT;
	if (page >= p->n_pages || !p->pages[page])
		return NULL;
	return &p->pages[page][slot & (PAGE_LEN - 1)];
}

static void set_base(struct knowledge *k, int64_t t)
{
	if (!k->based) {
		k->base = t - BASE_LAG;
		k->based = true;
	}
}

static int put(struct knowledge *k, struct known *p, uint32_t slot, int64_t until, bool overwrite)
{
	if (slot >= k->n_slots || !k->slots[slot])
		return -EINVAL;
	set_base(k, until);
	if (until <= k->base)
		return 0; /* ended long ago */
	int64_t d = until - k->base;
	uint32_t v = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	size_t page = slot >> PAGE_SHIFT;
	if (page >= p->n_pages) {
		uint32_t **np = reallocarray(p->pages, page + 1, sizeof(*np));
		if (!np)
			return -ENOMEM;
		memset(np + p->n_pages, 0, (page + 1 - p->n_pages) * sizeof(*np));
		k->bytes += (page + 1 - p->n_pages) * sizeof(*np);
		p->pages = np;
		p->n_pages = page + 1;
	}
	if (!p->pages[page]) {
		if (!(p->pages[page] = calloc(PAGE_LEN, sizeof(uint32_t))))
			return -ENOMEM;
		k->bytes += PAGE_LEN * sizeof(uint32_t);
	}
	uint32_t *e = &p->pages[page][slot & (PAGE_LEN - 1)];
	if (v > *e || overwrite) {
		p->count += *e == 0;
		*e = v;
	}
	if (until > k->slot_max[slot])
		k->slot_max[slot] = until;
	return 0;
}

int knowledge_record(struct knowledge *k, struct known *p, uint32_t slot, int64_t until)
{
	return put(k, p, slot, until, false);
}


int64_t knowledge_until(const struct knowledge *k, const struct known *p, uint32_t slot)
{
	const uint32_t *e = p ? entry(p, slot) : NULL;
	return e && *e ? k->base + *e : INT64_MIN;
}

int64_t knowledge_sent(struct knowledge *k, struct known *p, uint32_t slot, int64_t now,
		       int64_t until, int64_t margin, bool first)
{
	first |= knowledge_until(k, p, slot) == INT64_MIN;
	if (first && until > now + REPEAT_MS + margin)
		until = now + REPEAT_MS + margin;
	if (put(k, p, slot, until, first))
		return INT64_MIN;
	return knowledge_until(k, p, slot);
}

bool knowledge_needs(const struct knowledge *k, const struct known *p, uint32_t slot,
		     int64_t now)
{
	return knowledge_until(k, p, slot) <= now + RESEND_MARGIN_MS;
}

bool knowledge_needs_alive(const struct knowledge *k, const struct known *p, uint32_t slot,
			   int64_t now)
{
	return knowledge_until(k, p, slot) <= now + ALIVE_MARGIN_MS;
}

void knowledge_forget_peer(struct knowledge *k, struct known *p) { drop_pages(k, p); }

void knowledge_drop_peer(struct knowledge *k, struct known *p)
{
	if (!p)
		return;
	drop_pages(k, p);
	HASH_DEL(k->peers, p);
	free(p);
}

size_t knowledge_peers(const struct knowledge *k) { return HASH_COUNT(k->peers); }

/* Clears `slot` in every peer and returns it to the free list. */
static void release_slot(struct knowledge *k, uint32_t slot)
{
	struct known *p, *tmp;
	if (k->slot_max[slot] != INT64_MIN) /* else nobody ever knew it */
		HASH_ITER(hh, k->peers, p, tmp) {
			uint32_t *e = entry(p, slot);
			if (e && *e) {
				*e = 0;
				p->count--;
			}
		}
	struct slot_entry *s = k->slots[slot];
	HASH_DEL(k->by_id, s);
	free(s);
	k->slots[slot] = NULL;
	k->used--;
	/* Room is there: every free slot was once counted in n_slots. */
	if (array_grow((void **)&k->free_slots, k->n_free, &k->cap_free, sizeof(uint32_t)))
		k->free_slots[k->n_free++] = slot;
}

void knowledge_forget_fact(struct knowledge *k, uint64_t id)
{
	struct slot_entry *s = find_slot(k, id);
	if (s)
		release_slot(k, s->slot);
}

/* Moves the base forward so that values keep fitting in 32 bits. */
static void rebase(struct knowledge *k, int64_t now)
{
	int64_t delta = now - BASE_LAG - k->base;
	struct known *p, *tmp;
	HASH_ITER(hh, k->peers, p, tmp) {
		for (size_t i = 0; i < p->n_pages; i++)
			for (size_t j = 0; p->pages[i] && j < PAGE_LEN; j++) {
				uint32_t *e = &p->pages[i][j];
				if (*e && *e <= delta)
					p->count--;
				*e = *e > delta ? (uint32_t)(*e - delta) : 0;
			}
	}
	k->base += delta;
}

size_t knowledge_expire(struct knowledge *k, int64_t now)
{
	set_base(k, now);
	if (now - k->base > REBASE_AFTER)
		rebase(k, now);
	size_t n = 0;
	for (size_t slot = 0; slot < k->n_slots; slot++)
		if (k->slots[slot] && k->slot_max[slot] <= now) {
			release_slot(k, (uint32_t)slot);
			n++;
		}
	return n;
}

size_t knowledge_count(const struct known *p) { return p ? p->count : 0; }
size_t knowledge_slots(const struct knowledge *k) { return k->used; }
size_t knowledge_bytes(const struct knowledge *k) { return k->bytes; }
