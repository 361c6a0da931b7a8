/* What changes on the device: allowed IPs onto a healthy direct link and
 * back when it dies, the next endpoint of a peer without one, members
 * added and non-members removed. */
#include "core/engine_int.h"

#include "core/facts.h"
#include "core/trust.h"
#include "util/array.h"

#include <arpa/inet.h>
#include <string.h>

struct change_buf {
	struct wg_peer_change *peers;
	size_t n, cap;
	struct wg_allowedip *ips;
	size_t n_ips, cap_ips;
	size_t *ip_start; /* per change, an offset into ips (the buffer moves) */
	size_t cap_start;
};

static struct wg_peer_change *change_new(struct change_buf *c, const uint8_t key[static 32],
					 uint32_t flags)
{
	if (!array_grow((void **)&c->peers, c->n, &c->cap, sizeof(*c->peers)) ||
	    !array_grow((void **)&c->ip_start, c->n, &c->cap_start, sizeof(*c->ip_start)))
		return NULL;
	struct wg_peer_change *pc = &c->peers[c->n];
	memset(pc, 0, sizeof(*pc));
	memcpy(pc->public_key, key, WIRE_KEY_LEN);
	pc->flags = flags;
	c->ip_start[c->n++] = c->n_ips;
	return pc;
}

static void change_ip(struct change_buf *c, const struct wg_allowedip *ip)
{
	if (array_grow((void **)&c->ips, c->n_ips, &c->cap_ips, sizeof(*c->ips))) {
		c->ips[c->n_ips++] = *ip;
		c->peers[c->n - 1].n_allowedips++;
	}
}

/* Adds ip to the set unless it is there or p may not hold it. */
static void want_ip(const struct engine *e, const struct peer_entry *p, const struct wg_allowedip *ip,
		 unsigned standing, struct wg_allowedip **out, size_t *n, size_t *cap)
{
	if (!prefixes_has(*out, *n, ip) && engine_claim(e, p->key, ip, standing, false) == CLAIM_OK &&
	    array_grow((void **)out, *n, cap, sizeof(**out)))
		(*out)[(*n)++] = *ip;
}

/* The allowed IPs a healthy, alive peer should have and may hold (owner.c):
 * its auto-address, every AllowedCidr fact about it, as strong as its
 * source's trust, and what our config gives it. */
static size_t wanted_ips(const struct engine *e, const struct peer_entry *p, struct wg_allowedip **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	want_ip(e, p, &p->auto_ip, CLAIM_ADMIN, out, &n, &cap);
	for (const struct fact *f = facts_subject_first(e->received, p->key); f; f = facts_subject_next(f))
		if (f->f.attr == WIRE_CIDR_V4 || f->f.attr == WIRE_CIDR_V6) {
			struct wg_allowedip ip = prefixes_of_fact(&f->f);
			want_ip(e, p, &ip, engine_sender_trust(e, engine_entry_of(e, f->source), f->source), out,
			     &n, &cap);
		}
	const struct peer_config *c = engine_config_of(e, p->key);
	for (size_t i = 0; c && i < c->n_allowed_ips; i++)
		want_ip(e, p, &c->allowed_ips[i], CLAIM_ADMIN, out, &n, &cap);
	return n;
}

/* Whether ip is one we put on p for a fact that a stronger claim (or a
 * tunnel subnet that covers it now) takes from p: another leaf's address
 * that p claimed before the truth arrived. */
static bool yields(const struct engine *e, const struct peer_entry *p, const struct wg_allowedip *ip)
{
	if (!engine_added_has(p, ip))
		return false;
	const struct peer_config *c = engine_config_of(e, p->key);
	if (c && prefixes_has(c->allowed_ips, c->n_allowed_ips, ip))
		return false;
	for (const struct fact *f = facts_subject_first(e->received, p->key); f; f = facts_subject_next(f)) {
		if (f->f.attr != WIRE_CIDR_V4 && f->f.attr != WIRE_CIDR_V6)
			continue;
		struct wg_allowedip have = prefixes_of_fact(&f->f);
		if (prefixes_same(&have, ip))
			return engine_claim(e, p->key, ip,
					    engine_sender_trust(e, engine_entry_of(e, f->source), f->source),
					    true) != CLAIM_OK;
	}
	return false; /* its facts ran out: it keeps what it has while the link works */
}

/* A healthy, alive peer gains the allowed IPs that facts give it. Nothing
 * is taken from a working link (beyond the original, which replaces the
 * set) but what a stronger claim gives another peer: what we added goes
 * back when the link dies. */
static void reconcile_healthy(struct engine *e, struct peer_entry *p, struct change_buf *c)
{
	struct wg_allowedip *want = NULL;
	size_t n = wanted_ips(e, p, &want);
	const struct wg_peer *w = p->wg;
	struct wg_allowedip a = p->auto_ip;
	struct wg_peer_change *pc = NULL;
	bool moved = false;
	for (size_t i = 0; i < w->n_allowedips; i++) {
		if (!yields(e, p, &w->allowedips[i]))
			continue;
		/* Replace the set: all it has but what it yields. */
		if (!pc) {
			if (!(pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY | WG_CHANGE_REPLACE_ALLOWEDIPS)))
				break;
			for (size_t k = 0; k < w->n_allowedips; k++)
				if (!yields(e, p, &w->allowedips[k]))
					change_ip(c, &w->allowedips[k]);
		}
		for (size_t k = 0; k < p->n_added; k++)
			if (prefixes_same(&p->added[k], &w->allowedips[i]))
				p->added[k--] = p->added[--p->n_added];
		e->owned_gen++;
		engine_emit(e, p->key, ENGINE_EV_YIELDED);
	}
	for (size_t i = 0; i < n; i++) {
		if (prefixes_has(w->allowedips, w->n_allowedips, &want[i]))
			continue;
		if (!pc && !(pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY)))
			break;
		change_ip(c, &want[i]);
		if (prefixes_same(&want[i], &a))
			continue;
		moved = true;
		if (!engine_added_has(p, &want[i]) &&
		    array_grow((void **)&p->added, p->n_added, &p->cap_added, sizeof(*p->added))) {
			p->added[p->n_added++] = want[i];
			e->owned_gen++;
		}
	}
	if (moved)
		engine_emit(e, p->key, ENGINE_EV_ALLOWEDIPS_MOVED);
	p->moved |= moved;
	free(want);
}

/* Takes back the allowed IPs we added (traffic falls back through the
 * router); the auto-address and the administrator's stay. Returns whether
 * there was anything to take. */
static bool restrict_to_admin(struct engine *e, struct peer_entry *p, struct change_buf *c)
{
	const struct wg_peer *w = p->wg;
	bool any = false;
	for (size_t i = 0; i < w->n_allowedips; i++)
		any |= engine_added_has(p, &w->allowedips[i]);
	if (!any) {
		e->owned_gen += p->n_added > 0;
		p->n_added = 0;
		return false;
	}
	struct wg_peer_change *pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY | WG_CHANGE_REPLACE_ALLOWEDIPS);
	if (!pc)
		return false;
	struct wg_allowedip a = p->auto_ip;
	change_ip(c, &a);
	for (size_t i = 0; i < w->n_allowedips; i++)
		if (!engine_added_has(p, &w->allowedips[i]) && !prefixes_same(&w->allowedips[i], &a))
			change_ip(c, &w->allowedips[i]);
	p->n_added = 0;
	e->owned_gen++;
	engine_emit(e, p->key, ENGINE_EV_RESTRICTED);
	p->moved = false;
	return true;
}

static void endpoint_of(const struct wire_fact *f, struct peer_endpoint *out)
{
	out->attr = f->attr;
	out->ep = f->v.endpoint;
}

static void to_wg_endpoint(const struct peer_endpoint *pe, union wg_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (pe->attr == WIRE_ENDPOINT_V4) {
		ep->addr4.sin_family = AF_INET;
		memcpy(&ep->addr4.sin_addr, pe->ep.addr, 4);
		ep->addr4.sin_port = htons(pe->ep.port);
	} else {
		ep->addr6.sin6_family = AF_INET6;
		memcpy(&ep->addr6.sin6_addr, pe->ep.addr, 16);
		ep->addr6.sin6_port = htons(pe->ep.port);
	}
}

size_t engine_peer_candidates(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN],
			      struct peer_endpoint *cand, size_t cap)
{
	size_t n = 0;
	/* Configured endpoints first: received ones cannot crowd them out. */
	const struct peer_config *cfg = engine_config_of(e, key);
	for (size_t i = 0; cfg && i < cfg->n_endpoints && n < cap; i++)
		cand[n++] = cfg->endpoints[i];
	for (const struct fact *f = facts_subject_first(e->received, key); f && n < cap; f = facts_subject_next(f))
		if ((f->f.attr == WIRE_ENDPOINT_V4 || f->f.attr == WIRE_ENDPOINT_V6) && !engine_endpoint_into_tunnel(e, &f->f))
			endpoint_of(&f->f, &cand[n++]);
	return n;
}

/* WireGuard sends a handshake initiation to a peer at most once per
 * REKEY_TIMEOUT (5 s), to whatever endpoint the peer has then, whether the
 * last one was answered, dropped on the way or never even left the host: a
 * new endpoint waits for that retry. A peer that never had a handshake has
 * no session to lose, so when its endpoint moves on from one already tried
 * it is made anew — removed and added back as it is, with the new endpoint —
 * and the hello that follows goes out at once. Only a peer we added
 * ourselves (the administrator's are never removed, even for a moment),
 * and not one with a preshared key, which the device does not tell us.
 * Returns the change that adds it back, or NULL: update it in place. */
static struct wg_peer_change *renew_peer(struct change_buf *c, const struct peer_entry *p)
{
	const struct wg_peer *w = p->wg;
	if (!p->ours || w->last_handshake_sec != 0 || w->endpoint.addr.sa_family == AF_UNSPEC ||
	    w->has_preshared_key || !change_new(c, w->public_key, WG_CHANGE_REMOVE))
		return NULL;
	struct wg_peer_change *pc = change_new(c, w->public_key, 0);
	if (!pc) {
		c->n--; /* never the removal alone */
		return NULL;
	}
	if (w->keepalive) {
		pc->flags |= WG_CHANGE_KEEPALIVE;
		pc->keepalive = w->keepalive;
	}
	for (size_t i = 0; i < w->n_allowedips; i++)
		change_ip(c, &w->allowedips[i]);
	if (pc->n_allowedips != w->n_allowedips) { /* out of memory: as it was */
		c->n_ips = c->ip_start[c->n - 1];
		c->n -= 2;
		return NULL;
	}
	return pc;
}

/* Returns whether the change replaces the peer's allowed IPs. */
static bool reconcile_unhealthy(struct engine *e, struct peer_entry *p, bool deconf, int64_t now,
				struct change_buf *c)
{
	const struct wg_peer *w = p->wg;
	struct peer_endpoint cand[64];
	enum endpoint_rank rank[64];
	size_t n = engine_peer_candidates(e, p->key, cand, 64);
	for (size_t i = 0; i < n; i++)
		rank[i] = peerstate_rank(&cand[i], e->host);
	unsigned ev = 0;
	/* Quick: renew_peer can make it anew, so a new endpoint hears a
	 * handshake initiation at once (see peerstate_next_endpoint). */
	bool quick = p->ours && w->last_handshake_sec == 0 && !w->has_preshared_key;
	int pick = peerstate_next_endpoint(&p->ps, cand, rank, n, now, quick, &ev);
	if (ev & PEER_EV_NO_DIRECT)
		engine_emit(e, p->key, ENGINE_EV_NO_DIRECT);
	struct peer_endpoint cur;
	peerstate_endpoint_from_wg(&w->endpoint, &cur);
	bool moved = pick >= 0 && !peerstate_same_endpoint(&cand[pick], &cur);
	if (pick >= 0)
		p->probe_now = true; /* say hello (and ask) through it at once */
	/* A new try while we still hold our first packet (our host's
	 * addresses changed, a new pass began): it starts when we may speak,
	 * or it passes with nothing sent (behind a NAT our send is the one
	 * that opens the way; deadlan took 3.7 s in six starts of ten). */
	if (pick >= 0 && now < p->hold_until)
		peerstate_try_held(&p->ps, p->hold_until - now);
	bool restrict_ips = deconf && restrict_to_admin(e, p, c);
	if (!moved)
		return restrict_ips;
	/* The endpoint rides on the restricting change, if there is one. */
	struct wg_peer_change *pc = restrict_ips ? &c->peers[c->n - 1] : renew_peer(c, p);
	if (!pc)
		pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY);
	if (!pc)
		return false;
	pc->flags |= WG_CHANGE_ENDPOINT;
	to_wg_endpoint(&cand[pick], &pc->endpoint);
	/* A peer we never had a handshake with learns about us at the same
	 * moment we learn about it: if both sides initiate at once the
	 * handshakes cross, WireGuard rejects both responses, and the retry
	 * comes 5 s later. The higher key lets the lower one initiate, and
	 * speaks once the session is up. */
	if (w->last_handshake_sec == 0 && memcmp(e->self, p->key, WIRE_KEY_LEN) > 0 && !p->hold_until) {
		int64_t hold = rank[pick] == EP_RANK_LAN ? FIRST_CONTACT_HOLD_LAN_MS : FIRST_CONTACT_HOLD_MS;
		p->hold_until = now + hold; /* first contact only: not each quick try */
		peerstate_try_held(&p->ps, hold);
	}
	engine_emit(e, p->key, ENGINE_EV_ENDPOINT_TRIED);
	return restrict_ips;
}

static bool has_membership(const struct engine *e, const uint8_t key[static 32])
{
	for (const struct fact *f = facts_subject_first(e->received, key); f; f = facts_subject_next(f))
		if (f->f.attr == WIRE_MEMBER || f->f.attr == WIRE_MEMBER_META)
			return true;
	return false;
}

/* A Membership source (or, with none configured, a router) that has been
 * healthy and alive long enough for its silence about a peer to mean something. */
static bool membership_settled(const struct engine *e, int64_t now)
{
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		const struct peer_config *c = engine_config_of(e, p->key);
		bool source = e->membership_configured ? c && c->has_trust && c->trust >= TRUST_MEMBERSHIP
						       : p->wg && engine_peer_is_router(e, p->wg);
		if (source && p->ps.healthy &&
		    peerstate_alive_since(&p->ps, now, FACT_TTL_MS + CHUNK_PERIOD_MS) &&
		    peerstate_alive_for(&p->ps, now, CHUNK_PERIOD_MS * 3 / 2))
			return true;
	}
	return false;
}

static void add_members(struct engine *e, struct change_buf *c)
{
	size_t added = 0, start = c->n;
	for (const struct fact *f = facts_first(e->received); f && added < e->lim.members_per_round;
	     f = facts_next(f)) {
		if (f->f.attr != WIRE_MEMBER && f->f.attr != WIRE_MEMBER_META)
			continue;
		const struct peer_entry *p = engine_entry(e, f->f.subject, false);
		if ((p && p->wg) || !memcmp(f->f.subject, e->self, WIRE_KEY_LEN))
			continue;
		bool queued = false;
		for (size_t i = start; i < c->n; i++) /* only members added here can match */
			queued |= !memcmp(c->peers[i].public_key, f->f.subject, WIRE_KEY_LEN);
		if (queued)
			continue;
		struct wg_allowedip a = engine_auto_ip(f->f.subject);
		struct peer_entry *np = engine_entry(e, f->f.subject, true);
		if (np && change_new(c, f->f.subject, 0)) {
			change_ip(c, &a);
			engine_emit(e, f->f.subject, ENGINE_EV_PEER_ADDED);
			np->ours = true;
			e->owned_gen++;
			added++;
		}
	}
	for (size_t i = 0; i < e->cfg.n_peers; i++) {
		const struct peer_config *pc = &e->cfg.peers[i];
		const struct peer_entry *p = engine_entry(e, pc->key, false);
		if ((p && p->wg) || !memcmp(pc->key, e->self, WIRE_KEY_LEN))
			continue;
		struct wg_allowedip a = engine_auto_ip(pc->key);
		if (change_new(c, pc->key, 0)) {
			change_ip(c, &a);
			engine_emit(e, pc->key, ENGINE_EV_PEER_ADDED);
		}
	}
}

static void remove_nonmembers(struct engine *e, int64_t now, struct change_buf *c)
{
	if (e->is_router || engine_own_trust(e) >= TRUST_MEMBERSHIP || now - e->started < FACT_TTL_MS ||
	    !membership_settled(e, now))
		return;
	for (size_t i = 0; i < e->dev->n_peers; i++) {
		const struct wg_peer *w = &e->dev->peers[i];
		const struct peer_entry *p = engine_entry(e, w->public_key, false);
		/* Only a peer we added ourselves is ours to remove. */
		if (!p || !p->ours || engine_config_of(e, w->public_key) || has_membership(e, w->public_key))
			continue;
		if (!e->membership_configured && engine_peer_is_router(e, w))
			continue;
		if (change_new(c, w->public_key, WG_CHANGE_REMOVE))
			engine_emit(e, w->public_key, ENGINE_EV_PEER_REMOVED);
	}
}

/* Sets the peer's endpoint again as it is, unless this round already
 * gives it one. */
static void reset_endpoint(struct change_buf *c, const struct peer_entry *p)
{
	struct wg_peer_change *pc = NULL;
	for (size_t k = 0; k < c->n; k++) /* the last: a renewed peer's is the adding one */
		if (!memcmp(c->peers[k].public_key, p->key, WIRE_KEY_LEN))
			pc = &c->peers[k];
	if (!pc)
		pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY);
	if (pc && !(pc->flags & WG_CHANGE_ENDPOINT)) {
		pc->flags |= WG_CHANGE_ENDPOINT;
		pc->endpoint = p->wg->endpoint;
	}
}

void engine_reconcile(struct engine *e, int64_t now, struct engine_round *out)
{
	struct change_buf c = { 0 };
	bool may_deconf = !e->is_router && engine_own_trust(e) < TRUST_ALLOWED_IPS;
	bool deconf = may_deconf && now - e->started >= FACT_TTL_MS;
	for (size_t i = 0; i < e->dev->n_peers; i++) {
		struct peer_entry *p = engine_entry(e, e->dev->peers[i].public_key, false);
		if (!p)
			continue;
		const struct peer_config *cfg = engine_config_of(e, p->key);
		bool basic = (cfg && cfg->basic) || p->ps.basic;
		/* A router peer only ever gains allowed IPs: what the administrator
		 * routed through it (a default route, other sites) stays. */
		bool deconf_peer = deconf && !engine_peer_is_router(e, p->wg), replaced = false;
		if (p->ps.healthy && (peerstate_alive_for(&p->ps, now, CHUNK_PERIOD_MS / 2) || basic))
			reconcile_healthy(e, p, &c);
		else if (!p->ps.healthy)
			/* What we moved onto a direct link ourselves falls back at
			 * once, FactTTL or not (beyond the original). */
			replaced = reconcile_unhealthy(
				e, p, deconf_peer || (may_deconf && p->moved && !engine_peer_is_router(e, p->wg)),
				now, &c);
		if (p->reset_endpoint && p->wg->endpoint.addr.sa_family != AF_UNSPEC)
			reset_endpoint(&c, p);
		p->reset_endpoint = false;
		/* Always keep the auto-address (a replacement includes it). */
		struct wg_allowedip a = p->auto_ip;
		if (!replaced && !prefixes_has(p->wg->allowedips, p->wg->n_allowedips, &a) &&
		    change_new(&c, p->key, WG_CHANGE_UPDATE_ONLY))
			change_ip(&c, &a);
	}
	add_members(e, &c);
	remove_nonmembers(e, now, &c);
	for (size_t i = 0; i < c.n; i++)
		c.peers[i].allowedips = c.ips + c.ip_start[i];
	free(c.ip_start);
	out->peer_changes = c.peers;
	out->ips = c.ips;
	out->change = (struct wg_change){ c.peers, c.n };
}
