/* A received fact is judged once, in order: the sender's trust, then the
 * fact's own validity, then who owns the prefix it claims (owner.c), then
 * the sender's budget. Only then is it stored. */
#include "core/engine_int.h"

#include "core/facts.h"
#include "core/trust.h"

#include <errno.h>
#include <string.h>

enum {
	/* A new boot id from one peer clears what it knows at most this often:
	 * a replayed or flapping Alive cannot force full re-sends. */
	RESTART_MIN_INTERVAL_MS = 10000,
	/* A cap or a hijack attempt is logged once a minute per peer. */
	SAY_INTERVAL_MS = 60000,
};



static void say_once(struct engine *e, struct peer_entry *p, int64_t *said, unsigned ev, int64_t now)
{
	if (*said && now - *said < SAY_INTERVAL_MS)
		return;
	*said = now ? now : 1;
	engine_emit(e, p->key, ev);
}

/* Masks an AllowedCidr's host bits in place (10.0.0.5/24 is 10.0.0.0/24). */
static void mask_cidr(struct wire_fact *f)
{
	if (f->attr != WIRE_CIDR_V4 && f->attr != WIRE_CIDR_V6)
		return;
	struct wg_allowedip ip = { .family = f->attr == WIRE_CIDR_V4 ? AF_INET : AF_INET6,
				   .cidr = f->v.cidr.prefix };
	memcpy(&ip.ip6, f->v.cidr.addr, ip.family == AF_INET ? 4 : 16);
	trust_mask_allowedip(&ip);
	memcpy(f->v.cidr.addr, &ip.ip6, ip.family == AF_INET ? 4 : 16);
}

/* Counts one stored fact less for a source (it expired, or another sender
 * renewed it). */
static void source_less(struct engine *e, const uint8_t source[static WIRE_KEY_LEN])
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, source, WIRE_KEY_LEN, p);
	if (p && p->stored)
		p->stored--;
}

void engine_unstore(void *arg, const struct fact *f)
{
	source_less(arg, f->source);
	if (f->f.attr == WIRE_CIDR_V4 || f->f.attr == WIRE_CIDR_V6)
		engine_claims_changed(arg);
}

/* Endpoint, AllowedCidr and membership facts, either family. */
static int attr_class(uint8_t attr)
{
	switch (attr) {
	case WIRE_ENDPOINT_V4:
	case WIRE_ENDPOINT_V6: return 1;
	case WIRE_CIDR_V4:
	case WIRE_CIDR_V6: return 2;
	default: return 3;
	}
}

/* The caps of the per-peer budget, checked before a new fact is stored. */
static bool within_budget(const struct engine *e, const struct peer_entry *from,
			  const struct wire_fact *f)
{
	if (facts_count(e->received) >= e->lim.max_facts || from->stored >= e->lim.facts_per_source)
		return false;
	size_t about = facts_subject_count(e->received, f->subject);
	if (about == 0 && facts_subjects(e->received) >= e->lim.max_subjects)
		return false;
	size_t cap = attr_class(f->attr) == 1 ? e->lim.endpoints_per_peer
		     : attr_class(f->attr) == 2 ? e->lim.cidrs_per_peer
						: 4;
	if (about < cap)
		return true;
	/* The cap is per sender: one peer filling a subject's slots must not
	 * crowd out what the subject (or the hub) says about it. */
	size_t same = 0;
	for (const struct fact *g = facts_subject_first(e->received, f->subject); g; g = facts_subject_next(g))
		same += attr_class(g->f.attr) == attr_class(f->attr) &&
			!memcmp(g->source, from->key, WIRE_KEY_LEN);
	return same < cap;
}

/* Whether a received fact is stored, and if not why, judged once and in
 * this order: the sender's trust (nothing from an untrusted sender is
 * remembered beyond a counter), the fact's validity, the sender's budget
 * (a fact we hold already costs none), then who owns the prefix it claims. */
enum verdict { TAKE, UNTRUSTED, INVALID, OVER_BUDGET, HIJACK };

static enum verdict judge(const struct engine *e, const struct peer_entry *from, enum trust_level level,
			  bool configured_membership, const struct wire_fact *f, const struct fact **have)
{
	*have = NULL;
	const struct peer_entry *subj = engine_entry_of(e, f->subject);
	if (!trust_accepts(level, f->attr, subj && subj->wg))
		return UNTRUSTED;
	if (f->ttl == 0 || wire_fact_size(f) == 0 || wire_fact_size(f) > WIRE_MAX_INNER ||
	    !memcmp(f->subject, e->self, WIRE_KEY_LEN))
		return INVALID;
	if ((f->attr == WIRE_ENDPOINT_V4 || f->attr == WIRE_ENDPOINT_V6) &&
	    (!trust_endpoint_usable(f->attr == WIRE_ENDPOINT_V4 ? AF_INET : AF_INET6,
				    f->v.endpoint.addr, f->v.endpoint.port) ||
	     engine_endpoint_into_tunnel(e, f)))
		return INVALID;
	bool cidr = f->attr == WIRE_CIDR_V4 || f->attr == WIRE_CIDR_V6;
	struct wg_allowedip ip = { 0 };
	if (cidr) {
		if ((f->attr == WIRE_CIDR_V4 && f->v.cidr.prefix > 32) || f->v.cidr.prefix > 128)
			return INVALID;
		/* Link-local, loopback, multicast: not for a peer. A prefix is
		 * judged by the range it covers (0.0.0.0/1 is half the world). */
		ip = prefixes_of_fact(f);
		bool host = ip.cidr == (ip.family == AF_INET ? 32 : 128);
		if (host ? !trust_is_global_unicast(ip.family, &ip.ip6) : !trust_allowedip_is_routed(&ip))
			return INVALID;
	}
	*have = facts_find(e->received, f);
	if (!*have && !within_budget(e, from, f))
		return OVER_BUDGET;
	if (cidr && !configured_membership && engine_claim(e, f->subject, &ip, level, false) != CLAIM_OK)
		return HIJACK;
	return TAKE;
}

int engine_receive(struct engine *e, const uint8_t sender[static WIRE_KEY_LEN],
		   const struct wire_fact *facts, size_t n, int64_t now)
{
	struct peer_entry *from = engine_entry(e, sender, false);
	enum trust_level level = engine_sender_trust(e, from, sender);
	if (level == TRUST_UNTRUSTED) {
		/* Not a peer of ours, nor trusted by the config: nothing of
		 * what it says is kept, not even a record of who it is. */
		e->stats.untrusted += n;
		return 0;
	}
	if (!from && !(from = engine_entry(e, sender, true)))
		return -ENOMEM;
	const struct peer_config *sc = engine_config_of(e, sender);
	bool configured_membership = sc && sc->has_trust && sc->trust >= TRUST_MEMBERSHIP;
	from->ps.fact_rx++; /* explains its rx bytes: no user traffic */
	int news = 0;
	/* A new boot id first: what it knew before is gone. */
	for (size_t i = 0; i < n; i++) {
		const struct wire_fact *f = &facts[i];
		if (f->attr != WIRE_ALIVE || memcmp(f->subject, sender, WIRE_KEY_LEN) || f->ttl == 0)
			continue;
		bool new_life = from->ps.has_boot_id &&
				memcmp(from->ps.boot_id, f->v.boot_id, WIRE_BOOT_ID_LEN) != 0;
		if (new_life && from->forgot_at && now - from->forgot_at < RESTART_MIN_INTERVAL_MS) {
			/* Too soon after the last: a replay or a flapping peer.
			 * A real restart's Alive comes again within a minute. */
			e->stats.restarts_ignored++;
			continue;
		}
		unsigned ev = peerstate_alive(&from->ps, f->v.boot_id, now + f->ttl * 1000, now);
		/* A probe wants an answer at once; an answer revives the link. */
		ev |= peerstate_heard(&from->ps, f->ttl);
		if (f->ttl == PROBE_TTL) {
			from->answer_now = true;
			/* We think the link is down, yet its probe came: ask back,
			 * so both sides see it work at once. */
			if (from->ps.dead)
				from->probe_now = true;
			news++;
		}
		if (ev & PEER_EV_REBOOTED) {
			known_reset(&from->kn);
			from->forgot_at = now ? now : 1;
		}
		/* It just came up: it may have missed our Alive while starting. */
		if (ev & (PEER_EV_REBOOTED | PEER_EV_ALIVE))
			from->alive_now = true;
		engine_emit(e, sender, ev);
		/* News worth a prompt round, like a new fact. */
		news += (ev & (PEER_EV_REBOOTED | PEER_EV_ALIVE | PEER_EV_HEALTHY)) != 0;
	}
	int accepted = news;
	for (size_t i = 0; i < n; i++) {
		if (facts[i].attr == WIRE_ALIVE)
			continue;
		struct wire_fact f = facts[i];
		mask_cidr(&f);
		int64_t expires = now + f.ttl * 1000;
		const struct fact *have;
		switch (judge(e, from, level, configured_membership, &f, &have)) {
		case TAKE: break;
		case UNTRUSTED: e->stats.untrusted++; continue;
		case INVALID: e->stats.invalid++; continue;
		case OVER_BUDGET:
			e->stats.over_budget++;
			say_once(e, from, &from->budget_said, ENGINE_EV_BUDGET, now);
			continue;
		case HIJACK:
			e->stats.hijack++;
			say_once(e, from, &from->hijack_said, ENGINE_EV_HIJACK, now);
			continue;
		}
		uint8_t old_source[WIRE_KEY_LEN];
		bool renew = have && expires > have->expires;
		if (renew)
			memcpy(old_source, have->source, WIRE_KEY_LEN);
		int r = facts_merge_from(e->received, &f, expires, sender);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			e->stats.invalid++;
			continue;
		}
		if ((f.attr == WIRE_CIDR_V4 || f.attr == WIRE_CIDR_V6) && r == FACTS_NEW)
			engine_claims_added(e, &f, sender);
		if (r == FACTS_NEW) {
			from->stored++;
		} else if (renew && memcmp(old_source, sender, WIRE_KEY_LEN)) {
			source_less(e, old_source);
			from->stored++;
			if (f.attr == WIRE_CIDR_V4 || f.attr == WIRE_CIDR_V6)
				engine_claims_changed(e); /* its standing may differ */
		}
		/* Only a new fact is news worth a prompt round: a refresh is
		 * relayed when due, and counting it lets one peer force 50
		 * rounds a second by re-sending the same fact. */
		accepted += r == FACTS_NEW || r == FACTS_REPLACED;
		struct peer_entry *about;
		if (r != FACTS_UNCHANGED && f.attr == WIRE_MEMBER_META &&
		    (about = engine_entry(e, f.subject, true)))
			peerstate_set_meta(&about->ps, &f.v.meta);
	}
	return accepted;
}
