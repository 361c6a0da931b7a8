/* Who may hold a prefix. WireGuard gives each prefix to exactly one peer,
 * so a prefix given to one peer is taken from another: moving a leaf's
 * address or LAN off its router onto the direct link is what we are for;
 * taking another leaf's, or our own tunnel's, is a hijack. One function
 * answers, when a fact arrives (receive.c) and when the allowed IPs it
 * gives are put on the device (reconcile.c), from everything we know:
 * the device, the config, and what facts say about every other subject
 * (leaves we reach through a router included). */
#include "core/engine_int.h"

#include "core/facts.h"
#include "core/trust.h"
#include "util/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static unsigned width(const struct wg_allowedip *ip) { return ip->family == AF_INET ? 32 : 128; }

/* The shortest prefix that is still a tunnel's subnet, not a default route
 * split in parts (0.0.0.0/1, 128.0.0.0/1) or a wide aggregate. */
static unsigned subnet_min(const struct wg_allowedip *ip) { return ip->family == AF_INET ? 16 : 32; }

/* Whether ip lies strictly inside the subnet of one of our tunnel's
 * addresses (10.77.0.13/24 on the device: 10.77.0.128/25 does). */
static bool inside_own_subnet(const struct wg_allowedip *ip, const struct netif *own)
{
	for (size_t i = 0; own && i < own->n_addrs; i++) {
		const struct netif_addr *a = &own->addrs[i];
		struct wg_allowedip net = { .family = (uint16_t)a->family, .cidr = a->prefix };
		memcpy(&net.ip6, &a->ip6, a->family == AF_INET ? 4 : 16);
		if (a->family != ip->family || net.cidr >= width(&net) ||
		    !trust_is_global_unicast(a->family, &a->ip6))
			continue;
		trust_mask_allowedip(&net);
		if (ip->cidr > net.cidr && trust_prefix_within(ip, &net))
			return true;
	}
	return false;
}

struct held_walk {
	const struct engine *e;
	const uint8_t *subject;
	const struct wg_allowedip *ip;
	enum claim found;
};

/* A prefix on the device inside or around the claim: a leaf's (not the
 * subject's) is the leaf's; a router's subnet that carries our tunnel may
 * lend single addresses only. */
static bool held_conflict(void *arg, const struct prefix_entry *h)
{
	struct held_walk *w = arg;
	const struct wg_peer *p = &w->e->dev->peers[h->peer];
	if (!memcmp(p->public_key, w->subject, WIRE_KEY_LEN) ||
	    !trust_is_global_unicast(h->ip.family, &h->ip.ip6))
		return false;
	if (!engine_peer_is_router(w->e, p)) {
		w->found = CLAIM_HELD;
		return true;
	}
	if (h->ip.cidr >= subnet_min(&h->ip) && h->ip.cidr < w->ip->cidr &&
	    w->ip->cidr < width(w->ip) && trust_covers_device(&h->ip, engine_devif(w->e))) {
		w->found = CLAIM_TUNNEL;
		return true;
	}
	return false;
}

/* The claim lies in another peer's configured prefix. A router's (or one
 * carrying our tunnel) lends what lies inside it, not itself. */
static bool configured_elsewhere(const struct engine *e, const uint8_t subject[static 32],
				 const struct wg_allowedip *ip)
{
	const struct netif *own = engine_devif(e);
	for (size_t i = 0; i < e->cfg.n_peers; i++) {
		const struct peer_config *c = &e->cfg.peers[i];
		if (!memcmp(c->key, subject, WIRE_KEY_LEN))
			continue;
		const struct peer_entry *cp = engine_entry_of(e, c->key);
		bool router = cp && cp->wg && engine_peer_is_router(e, cp->wg);
		for (size_t j = 0; j < c->n_allowed_ips; j++) {
			struct wg_allowedip have = c->allowed_ips[j];
			trust_mask_allowedip(&have);
			bool lends = router || trust_covers_device(&have, own);
			if (trust_prefix_within(ip, &have) && (!lends || have.cidr == ip->cidr))
				return true;
		}
	}
	return false;
}

struct claim_walk {
	const struct engine *e;
	const uint8_t *subject;
	unsigned standing;
};

/* Another subject's fact claims a prefix inside or around ours, from a
 * source at least as trusted: the stronger claim wins, a tie gives it to
 * neither (traffic stays with the router). A router's own prefixes, and
 * any carrying our tunnel (never anyone's but a router's), are what is
 * lent, not a rival claim. */
static bool rival_claim(const struct claim_walk *w, const struct wg_allowedip *ip,
			const struct claim_key *k)
{
	if (!memcmp(k->subject, w->subject, WIRE_KEY_LEN) || trust_covers_device(ip, engine_devif(w->e)))
		return false;
	const struct peer_entry *s = engine_entry_of(w->e, k->subject);
	if (s && s->wg && engine_peer_is_router(w->e, s->wg))
		return false;
	const struct peer_entry *src = engine_entry_of(w->e, k->source);
	return engine_sender_trust(w->e, src, k->source) >= w->standing;
}

static bool rival(void *arg, const struct prefix_entry *h)
{
	const struct claim_walk *w = arg;
	return rival_claim(w, &h->ip, &w->e->claim_keys[h->peer]);
}

enum claim engine_claim(const struct engine *e, const uint8_t subject[static 32],
			const struct wg_allowedip *ip, unsigned standing, bool again)
{
	struct wg_allowedip c = *ip;
	trust_mask_allowedip(&c);
	const struct peer_entry *subj = engine_entry_of(e, subject);
	if (!again && subj && subj->wg && prefixes_has(subj->wg->allowedips, subj->wg->n_allowedips, &c))
		return CLAIM_OK; /* it has it already: the administrator's word */
	const struct netif *own = engine_devif(e);
	if (trust_covers_device(&c, own) || (c.cidr == 0 && own))
		return CLAIM_TUNNEL;
	if (standing == CLAIM_ADMIN) {
		/* Our config: only a leaf holding exactly this prefix keeps it. */
		if (!e->dev)
			return CLAIM_OK;
		if (!e->held_ok)
			return CLAIM_HELD;
		size_t i = prefixes_owner(&e->held, &c);
		return i == SIZE_MAX || !memcmp(e->dev->peers[i].public_key, subject, WIRE_KEY_LEN) ||
				       engine_peer_is_router(e, &e->dev->peers[i])
			       ? CLAIM_OK
			       : CLAIM_HELD;
	}
	if (c.cidr < width(&c) && inside_own_subnet(&c, own))
		return CLAIM_TUNNEL;
	if (e->dev) {
		if (!e->held_ok)
			return CLAIM_HELD; /* out of memory: everything counts as taken */
		struct held_walk hw = { e, subject, &c, CLAIM_OK };
		if (prefixes_overlapping(&e->held, &c, held_conflict, &hw))
			return hw.found;
	}
	if (configured_elsewhere(e, subject, &c))
		return CLAIM_CONFIGURED;
	struct claim_walk cw = { e, subject, standing };
	if (prefixes_overlapping(&e->claims, &c, rival, &cw))
		return CLAIM_CONTESTED;
	for (size_t i = 0; i < e->n_fresh; i++) {
		const struct wg_allowedip *f = &e->fresh[i].ip;
		if ((trust_prefix_within(f, &c) || trust_prefix_within(&c, f)) &&
		    rival_claim(&cw, f, &e->fresh[i].k))
			return CLAIM_CONTESTED;
	}
	return CLAIM_OK;
}

void engine_claims_changed(struct engine *e) { e->claims_stale = true; }

static int rebuild(struct engine *e);

void engine_claims_added(struct engine *e, const struct wire_fact *f, const uint8_t source[static 32])
{
	/* A burst (a hub's 10,000 leaves) is indexed every quarter of the
	 * index's size: O(log n) a fact, amortised. */
	size_t most = e->claims.n / 4 > 64 ? e->claims.n / 4 : 64;
	if (e->n_fresh >= most && rebuild(e) == 0)
		return; /* the table has it: so has the index now */
	if (!array_grow((void **)&e->fresh, e->n_fresh, &e->cap_fresh, sizeof(*e->fresh))) {
		e->claims_stale = true; /* counts from the next round */
		return;
	}
	struct fresh_claim *c = &e->fresh[e->n_fresh++];
	c->ip = prefixes_of_fact(f);
	trust_mask_allowedip(&c->ip);
	memcpy(c->k.subject, f->subject, WIRE_KEY_LEN);
	memcpy(c->k.source, source, WIRE_KEY_LEN);
}

int engine_claims_refresh(struct engine *e)
{
	return e->claims_stale || e->n_fresh ? rebuild(e) : 0;
}

/* Indexes every AllowedCidr fact in the table (the fresh ones with them). */
static int rebuild(struct engine *e)
{
	size_t n = 0;
	for (const struct fact *f = facts_first(e->received); f; f = facts_next(f))
		n += f->f.attr == WIRE_CIDR_V4 || f->f.attr == WIRE_CIDR_V6;
	struct prefix_entry *x = n ? calloc(n, sizeof(*x)) : NULL;
	struct claim_key *k = n ? calloc(n, sizeof(*k)) : NULL;
	if (n && (!x || !k)) {
		free(x);
		free(k);
		return -ENOMEM; /* stays stale: the old index stands until then */
	}
	n = 0;
	for (const struct fact *f = facts_first(e->received); f; f = facts_next(f)) {
		if (f->f.attr != WIRE_CIDR_V4 && f->f.attr != WIRE_CIDR_V6)
			continue;
		x[n] = (struct prefix_entry){ prefixes_of_fact(&f->f), n };
		memcpy(k[n].subject, f->f.subject, WIRE_KEY_LEN);
		memcpy(k[n++].source, f->source, WIRE_KEY_LEN);
	}
	prefixes_adopt(&e->claims, x, n);
	free(e->claim_keys);
	e->claim_keys = k;
	e->claims_stale = false;
	e->n_fresh = 0;
	return 0;
}

void engine_claims_free(struct engine *e)
{
	prefixes_free(&e->claims);
	free(e->claim_keys);
	e->claim_keys = NULL;
	free(e->fresh);
	e->fresh = NULL;
	e->n_fresh = e->cap_fresh = 0;
}
