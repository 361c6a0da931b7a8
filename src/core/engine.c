/* The engine: receive, send decisions and reconcile, over the fact table,
 * knowledge, trust, peer state and local facts. */
#include "core/engine.h"

#include "core/facts.h"
#include "core/knowledge.h"
#include "core/prefixes.h"
#include "core/trust.h"
#include "proto/autoaddr.h"
#include "util/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct peer_entry {
	uint8_t key[WIRE_KEY_LEN];
	struct wg_allowedip auto_ip; /* its auto-address: a SHA-1, so made once */
	struct peerstate ps;
	const struct wg_peer *wg; /* in the latest snapshot, or NULL */
	bool alive_now;		  /* send it an Alive this round */
	bool probe_now, answer_now; /* ...as a probe, or as the answer to its probe */
	bool reset_endpoint;	    /* we moved: set its endpoint again (see engine_host_changed) */
	struct known kn;	    /* what it knows */
	/* We put allowed IPs on its direct link in this run: we may take them
	 * back when the link dies, even before FactTTL has passed. */
	bool moved;
	int64_t hold_until; /* send it nothing before then (see FIRST_CONTACT_HOLD_MS) */
	int64_t forgot_at;  /* when a new boot id last cleared its knowledge */
	int64_t budget_said, hijack_said; /* when we last logged its cap or claim */
	size_t stored;	    /* facts in the table with it as their source */
	/* What we put on the device ourselves, and so may take back: the peer
	 * itself (added as a member) and allowed IPs beyond its auto-address.
	 * Everything else there is the administrator's and stays. */
	bool ours;
	struct wg_allowedip *added;
	size_t n_added, cap_added;
	UT_hash_handle hh;
};

struct engine {
	struct engine_config cfg;
	uint8_t self[WIRE_KEY_LEN];
	uint8_t boot_id[WIRE_BOOT_ID_LEN];
	int64_t started;
	struct facts *received;
	struct knowledge *knows;
	struct peer_entry *peers;
	const struct wg_device *dev;
	struct prefixes held; /* the device's allowed IPs, indexed */
	bool tunnel_quiet;    /* for the next engine_set_device */
	bool held_ok;	      /* (false: out of memory; every prefix counts as taken) */
	const struct netif_list *host;
	int64_t wall_ms;
	bool any_config_trust, membership_configured, is_router;
	struct local_facts local;
	struct engine_event *events;
	size_t n_events, cap_events;
	const struct peer_config **by_key; /* the config's peers sorted by key */
	struct engine_limits lim;
	struct engine_stats stats;
	uint64_t owned_gen; /* changes whenever what we own on the device does */
	const struct netif *devif; /* the device among the host interfaces */
};

enum {
	/* A new boot id from one peer clears what it knows at most this often:
	 * a replayed or flapping Alive cannot force full re-sends. */
	RESTART_MIN_INTERVAL_MS = 10000,
	/* A cap or a hijack attempt is logged once a minute per peer. */
	SAY_INTERVAL_MS = 60000,
};

static int cmp_config(const void *a, const void *b)
{
	const struct peer_config *const *x = a, *const *y = b;
	return memcmp((*x)->key, (*y)->key, WIRE_KEY_LEN);
}

static int cmp_key_config(const void *key, const void *b)
{
	const struct peer_config *const *y = b;
	return memcmp(key, (*y)->key, WIRE_KEY_LEN);
}

static struct wg_allowedip auto_ip(const uint8_t key[static 32])
{
	struct wg_allowedip ip = { .family = AF_INET6, .cidr = 128 };
	autoaddr_from_key(key, &ip.ip6);
	return ip;
}

static struct peer_entry *peer_get(struct engine *e, const uint8_t key[static 32], bool create)
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	if (!p && create && (p = calloc(1, sizeof(*p)))) {
		known_reset(&p->kn);
		memcpy(p->key, key, WIRE_KEY_LEN);
		p->auto_ip = auto_ip(key);
		peerstate_init(&p->ps, key);
		HASH_ADD(hh, e->peers, key, WIRE_KEY_LEN, p);
	}
	return p;
}

static void emit(struct engine *e, const uint8_t key[static 32], unsigned ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < e->n_events; i++)
		if (!memcmp(e->events[i].peer, key, WIRE_KEY_LEN)) {
			e->events[i].events |= ev;
			return;
		}
	if (!array_grow((void **)&e->events, e->n_events, &e->cap_events, sizeof(*e->events)))
		return; /* losing a log line beats failing the round */
	memcpy(e->events[e->n_events].peer, key, WIRE_KEY_LEN);
	e->events[e->n_events++].events = ev;
}

static struct wire_fact alive_fact(const struct engine *e)
{
	struct wire_fact f = { .attr = WIRE_ALIVE };
	memcpy(f.subject, e->self, WIRE_KEY_LEN);
	memcpy(f.v.boot_id, e->boot_id, WIRE_BOOT_ID_LEN);
	return f;
}

/* A random RFC 4122 version-4 UUID, as PROTOCOL.md says boot ids are. */
static void new_boot_id(struct engine *e)
{
	e->cfg.random(e->boot_id, sizeof(e->boot_id));
	e->boot_id[6] = (uint8_t)((e->boot_id[6] & 0x0f) | 0x40);
	e->boot_id[8] = (uint8_t)((e->boot_id[8] & 0x3f) | 0x80);
}

struct engine *engine_new(const struct engine_config *cfg, const uint8_t self[static WIRE_KEY_LEN],
			  int64_t now)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	memcpy(e->self, self, WIRE_KEY_LEN);
	new_boot_id(e);
	e->started = now;
	e->received = facts_new();
	e->knows = knowledge_new();
	if (!e->received || !e->knows || engine_set_config(e, cfg) != 0) {
		engine_free(e);
		return NULL;
	}
	return e;
}

static const struct netif *device_netif(const struct engine *e);

int engine_set_config(struct engine *e, const struct engine_config *cfg)
{
	const struct peer_config **by_key = calloc(cfg->n_peers + 1, sizeof(*by_key));
	if (!by_key)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_peers; i++)
		by_key[i] = &cfg->peers[i];
	qsort(by_key, cfg->n_peers, sizeof(*by_key), cmp_config);
	free(e->by_key);
	e->by_key = by_key;
	e->cfg = *cfg;
	e->lim = cfg->limits;
	if (!e->lim.max_facts)
		e->lim.max_facts = 100000;
	if (!e->lim.max_subjects)
		e->lim.max_subjects = 20000;
	if (!e->lim.endpoints_per_peer)
		e->lim.endpoints_per_peer = 16;
	if (!e->lim.cidrs_per_peer)
		e->lim.cidrs_per_peer = 256;
	if (!e->lim.facts_per_source)
		e->lim.facts_per_source = e->lim.max_facts;
	if (!e->lim.members_per_round)
		e->lim.members_per_round = 64;
	e->any_config_trust = e->membership_configured = false;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		e->any_config_trust |= cfg->peers[i].has_trust;
		e->membership_configured |=
			cfg->peers[i].has_trust && cfg->peers[i].trust >= TRUST_MEMBERSHIP;
	}
	if (e->dev)
		e->is_router = trust_device_is_router_for(e->dev, e->cfg.router, device_netif(e));
	return 0;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		HASH_DEL(e->peers, p);
		free(p->added);
		free(p);
	}
	facts_free(e->received);
	knowledge_free(e->knows);
	prefixes_free(&e->held);
	free(e->by_key);
	localfacts_free(&e->local);
	free(e->events);
	free(e);
}

static const struct peer_config *config_for(const struct engine *e, const uint8_t key[static 32])
{
	const struct peer_config **c =
		bsearch(key, e->by_key, e->cfg.n_peers, sizeof(*e->by_key), cmp_key_config);
	return c ? *c : NULL;
}

static enum trust_level own_trust(const struct engine *e)
{
	const struct peer_config *c = config_for(e, e->self);
	return c && c->has_trust ? c->trust : TRUST_UNTRUSTED;
}

static const struct netif *device_netif(const struct engine *e)
{
	for (size_t i = 0; e->host && e->dev && i < e->host->n; i++)
		if (e->host->ifs[i].index == e->dev->ifindex)
			return &e->host->ifs[i];
	return NULL;
}

void engine_tunnel_quiet(struct engine *e)
{
	e->tunnel_quiet = true;
}

void engine_set_device(struct engine *e, const struct wg_device *dev, int64_t wall_ms)
{
	e->dev = dev;
	e->wall_ms = wall_ms;
	e->held_ok = prefixes_build(&e->held, dev) == 0;
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		p->wg = NULL;
	for (size_t i = 0; i < dev->n_peers; i++) {
		p = peer_get(e, dev->peers[i].public_key, true);
		if (!p)
			continue;
		p->wg = &dev->peers[i];
		p->ps.tunnel_quiet = e->tunnel_quiet;
		unsigned ev = peerstate_observe(&p->ps, p->wg, wall_ms);
		/* A link just came up: say hello through it at once (what we
		 * sent while the handshake was failing may be lost). */
		if (ev & PEER_EV_HEALTHY)
			p->alive_now = true;
		/* Traffic stopped, or a probe is unanswered: (again) ask. */
		if (ev & PEER_EV_PROBE)
			p->probe_now = true;
		emit(e, p->key, ev & ~(unsigned)PEER_EV_PROBE);
	}
	e->tunnel_quiet = false;
	/* Gone from the device: what we had there went with it. */
	HASH_ITER(hh, e->peers, p, tmp)
		if (!p->wg && (p->ours || p->n_added)) {
			p->ours = false;
			p->n_added = 0;
			e->owned_gen++;
		}
	e->is_router = trust_device_is_router_for(dev, e->cfg.router, device_netif(e));
}

const struct netif_list *engine_host(const struct engine *e) { return e->host; }

void engine_set_host(struct engine *e, const struct netif_list *host)
{
	e->host = host;
	if (e->dev)
		e->is_router = trust_device_is_router_for(e->dev, e->cfg.router, device_netif(e));
}


static bool endpoint_into_tunnel(const struct engine *e, const struct wire_fact *f)
{
	if (f->attr != WIRE_ENDPOINT_V4 && f->attr != WIRE_ENDPOINT_V6)
		return false;
	return trust_routes_into_tunnel(f->attr == WIRE_ENDPOINT_V4 ? AF_INET : AF_INET6,
					f->v.endpoint.addr, device_netif(e), e->host);
}

static enum trust_level sender_trust(const struct engine *e, const struct peer_entry *p,
				     const uint8_t key[static 32])
{
	const struct peer_config *c = config_for(e, key);
	struct trust_sender s = {
		.has_config_trust = c && c->has_trust,
		.config_trust = c && c->has_trust ? c->trust : TRUST_UNTRUSTED,
		.any_config_trust = e->any_config_trust,
		.is_router = p && p->wg && engine_peer_is_router(e, p->wg),
		.is_peer = p && p->wg,
	};
	return trust_evaluate(&s);
}

static void say_once(struct engine *e, struct peer_entry *p, int64_t *said, unsigned ev, int64_t now)
{
	if (*said && now - *said < SAY_INTERVAL_MS)
		return;
	*said = now ? now : 1;
	emit(e, p->key, ev);
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

static struct wg_allowedip cidr_ip(const struct wire_fact *f);
static bool has_ip(const struct wg_allowedip *set, size_t n, const struct wg_allowedip *ip);

struct leaf_overlap {
	const struct engine *e;
	const uint8_t *subject;
};

/* A held prefix that is a leaf's (not the subject's, not a router's). */
static bool leaf_prefix(void *arg, const struct prefix_entry *h)
{
	const struct leaf_overlap *lo = arg;
	const struct wg_peer *w = &lo->e->dev->peers[h->peer];
	return trust_is_global_unicast(h->ip.family, &h->ip.ip6) &&
	       memcmp(w->public_key, lo->subject, WIRE_KEY_LEN) && !engine_peer_is_router(lo->e, w);
}

/* Whether an AllowedCidr fact about its subject would take traffic from
 * another peer (WireGuard gives a prefix to exactly one peer): one that
 * would carry our own tunnel (the hub's /24 at a leaf, 0.0.0.0/0), or one
 * that lies inside or around what a leaf holds, on the device or in the
 * config. Moving a leaf's address or LAN off a router is what we do; taking
 * another leaf's is a hijack. A prefix the subject already holds is fine. */
static bool cidr_hijacks(const struct engine *e, const struct wire_fact *f)
{
	struct wg_allowedip ip = cidr_ip(f);
	const struct peer_entry *subj = peer_get((struct engine *)e, f->subject, false);
	if (subj && subj->wg && has_ip(subj->wg->allowedips, subj->wg->n_allowedips, &ip))
		return false;
	const struct netif *own = device_netif(e);
	if (trust_covers_device(&ip, own) || (ip.cidr == 0 && own))
		return true;
	struct leaf_overlap lo = { e, f->subject };
	if (e->dev && (!e->held_ok || prefixes_overlapping(&e->held, &ip, leaf_prefix, &lo)))
		return true;
	for (size_t i = 0; i < e->cfg.n_peers; i++) {
		const struct peer_config *c = &e->cfg.peers[i];
		if (!memcmp(c->key, f->subject, WIRE_KEY_LEN))
			continue;
		const struct peer_entry *cp = peer_get((struct engine *)e, c->key, false);
		bool router = cp && cp->wg && engine_peer_is_router(e, cp->wg);
		for (size_t j = 0; j < c->n_allowed_ips; j++) {
			struct wg_allowedip have = c->allowed_ips[j];
			trust_mask_allowedip(&have);
			bool routes = router || trust_covers_device(&have, own);
			if (trust_prefix_within(&ip, &have) && (!routes || have.cidr == ip.cidr))
				return true;
		}
	}
	return false;
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

static void unstore(void *arg, const struct fact *f) { source_less(arg, f->source); }

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

/* Why a received fact is not stored, checked in order: trust first, so
 * that nothing from an untrusted sender is remembered beyond a counter. */
enum verdict { TAKE, UNTRUSTED, INVALID, HIJACK };

static enum verdict judge(const struct engine *e, enum trust_level level, bool configured_membership,
			  const struct wire_fact *f)
{
	const struct peer_entry *subj = peer_get((struct engine *)e, f->subject, false);
	if (!trust_accepts(level, f->attr, subj && subj->wg))
		return UNTRUSTED;
	if (f->ttl == 0 || wire_fact_size(f) == 0 || wire_fact_size(f) > WIRE_MAX_INNER ||
	    !memcmp(f->subject, e->self, WIRE_KEY_LEN))
		return INVALID;
	if ((f->attr == WIRE_ENDPOINT_V4 || f->attr == WIRE_ENDPOINT_V6) &&
	    (!trust_endpoint_usable(f->attr == WIRE_ENDPOINT_V4 ? AF_INET : AF_INET6,
				    f->v.endpoint.addr, f->v.endpoint.port) ||
	     endpoint_into_tunnel(e, f)))
		return INVALID;
	if (f->attr == WIRE_CIDR_V4 || f->attr == WIRE_CIDR_V6) {
		if ((f->attr == WIRE_CIDR_V4 && f->v.cidr.prefix > 32) || f->v.cidr.prefix > 128 ||
		    (f->v.cidr.prefix > 0 &&
		     !trust_is_global_unicast(f->attr == WIRE_CIDR_V4 ? AF_INET : AF_INET6, f->v.cidr.addr)))
			return INVALID; /* link-local, loopback, multicast: not for a peer */
		if (!configured_membership && cidr_hijacks(e, f))
			return HIJACK;
	}
	return TAKE;
}

int engine_receive(struct engine *e, const uint8_t sender[static WIRE_KEY_LEN],
		   const struct wire_fact *facts, size_t n, int64_t now)
{
	struct peer_entry *from = peer_get(e, sender, false);
	enum trust_level level = sender_trust(e, from, sender);
	if (level == TRUST_UNTRUSTED) {
		/* Not a peer of ours, nor trusted by the config: nothing of
		 * what it says is kept, not even a record of who it is. */
		e->stats.untrusted += n;
		return 0;
	}
	if (!from && !(from = peer_get(e, sender, true)))
		return -ENOMEM;
	const struct peer_config *sc = config_for(e, sender);
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
		emit(e, sender, ev);
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
		enum verdict v = judge(e, level, configured_membership, &f);
		const struct fact *have = v == TAKE ? facts_find(e->received, &f) : NULL;
		if (v == TAKE && !have && !within_budget(e, from, &f)) {
			e->stats.over_budget++;
			say_once(e, from, &from->budget_said, ENGINE_EV_BUDGET, now);
			continue;
		}
		if (v != TAKE) {
			if (v == UNTRUSTED)
				e->stats.untrusted++;
			else if (v == INVALID)
				e->stats.invalid++;
			else {
				e->stats.hijack++;
				say_once(e, from, &from->hijack_said, ENGINE_EV_HIJACK, now);
			}
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
		if (r == FACTS_NEW) {
			from->stored++;
		} else if (renew && memcmp(old_source, sender, WIRE_KEY_LEN)) {
			source_less(e, old_source);
			from->stored++;
		}
		/* Only a new fact is news worth a prompt round: a refresh is
		 * relayed when due, and counting it lets one peer force 50
		 * rounds a second by re-sending the same fact. */
		accepted += r == FACTS_NEW || r == FACTS_REPLACED;
		struct peer_entry *about;
		if (r != FACTS_UNCHANGED && f.attr == WIRE_MEMBER_META &&
		    (about = peer_get(e, f.subject, true)))
			peerstate_set_meta(&about->ps, &f.v.meta);
	}
	return accepted;
}

/* ---- sending ---- */

struct fact_buf {
	struct wire_fact *facts;
	size_t n, cap;
};

static bool push(struct fact_buf *b, const struct wire_fact *f)
{
	if (!array_grow((void **)&b->facts, b->n, &b->cap, sizeof(*b->facts)))
		return false;
	b->facts[b->n++] = *f;
	return true;
}

static bool subject_is_up(const struct engine *e, const uint8_t key[static 32])
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	return p && (p->ps.alive || p->ps.healthy);
}

/* A fact we could send this round, with what every peer's decision needs
 * computed once. */
struct candidate {
	struct wire_fact f;
	int64_t expires;
	const struct fact_version *v;
	const uint8_t *source;		  /* who told us (NULL: our own) */
	uint64_t subject_tag, source_tag; /* keys' first bytes: a quick first test */
};

/* This round's candidates, the sendable ones by version, and room for one
 * peer's send (pointers into the candidates). */
struct plan {
	struct candidate *cand;
	const struct candidate **order;
	size_t n_order;
	const struct wire_fact **out;
};

static uint64_t key_tag(const uint8_t *key)
{
	uint64_t t;
	memcpy(&t, key, sizeof(t));
	return t;
}

static int cmp_version(const void *a, const void *b)
{
	const struct candidate *const *x = a, *const *y = b;
	uint64_t u = (*x)->v->ver, w = (*y)->v->ver;
	return (u > w) - (u < w);
}

static void plan_free(struct plan *p)
{
	free(p->cand);
	free(p->order);
	free(p->out);
}

/* Every fact we could send this round, each offered to knowledge for its
 * version; those whose subject is up go in `order`, by version. */
static int plan_round(struct engine *e, int64_t now, struct plan *p)
{
	size_t cap = e->local.n + facts_count(e->received) + 1, n = 0;
	*p = (struct plan){ .cand = calloc(cap, sizeof(*p->cand)),
			    .order = calloc(cap, sizeof(*p->order)),
			    .out = calloc(cap + 2, sizeof(*p->out)) }; /* + probe answer, Alive */
	if (!p->cand || !p->order || !p->out) {
		plan_free(p);
		return -ENOMEM;
	}
	struct candidate *c = p->cand;
	static const uint8_t nobody[WIRE_KEY_LEN];
	for (size_t i = 0; i < e->local.n; i++, n++) {
		c[n].f = e->local.facts[i].f;
		c[n].f.ttl = FACT_TTL_MS / 1000;
		c[n].expires = now + FACT_TTL_MS;
	}
	for (const struct fact *f = facts_first(e->received); f; f = facts_next(f)) {
		fact_to_wire(f, now, &c[n].f);
		if (c[n].f.ttl == 0)
			continue;
		c[n].expires = f->expires;
		c[n++].source = memcmp(f->source, nobody, WIRE_KEY_LEN) ? f->source : NULL;
	}
	knowledge_begin(e->knows);
	for (size_t i = 0; i < n; i++) {
		bool up = !memcmp(c[i].f.subject, e->self, WIRE_KEY_LEN) ||
			  subject_is_up(e, c[i].f.subject);
		bool again = false;
		c[i].v = knowledge_offer(e->knows, fact_id(&c[i].f), c[i].expires, up, now, &again);
		if (!c[i].v) {
			plan_free(p);
			return -ENOMEM;
		}
		/* One fact both ours and received (two hubs' Members): ours,
		 * first, speaks for both. */
		if (!up || again)
			continue;
		c[i].subject_tag = key_tag(c[i].f.subject);
		c[i].source_tag = c[i].source ? key_tag(c[i].source) : 0;
		p->order[p->n_order++] = &c[i];
	}
	knowledge_end(e->knows);
	qsort(p->order, p->n_order, sizeof(*p->order), cmp_version);
	return 0;
}

/* The first of p's candidates with a version at or above ver. */
static size_t from_version(const struct plan *p, uint64_t ver)
{
	size_t lo = 0, hi = p->n_order;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->order[mid]->v->ver < ver)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether c goes to the peer with this key at all: never a fact about it
 * (but its MemberMetadata, which tells it its name), never back to who told
 * us (it knows it as long as we do). */
static bool for_peer(const struct candidate *c, const uint8_t key[static 32], uint64_t tag)
{
	if (c->subject_tag == tag && !memcmp(c->f.subject, key, WIRE_KEY_LEN) &&
	    c->f.attr != WIRE_MEMBER_META)
		return false;
	return !(c->source_tag == tag && c->source && !memcmp(c->source, key, WIRE_KEY_LEN));
}

static bool wants_facts(const struct engine *e, const struct peer_entry *p)
{
	/* Facts go only to a peer whose Alive we have: its daemon is listening,
	 * so what we send is not lost while it starts (knowledge would then
	 * say it knows them for minutes). Basic peers run no daemon at all. */
	if (!p->ps.alive)
		return false;
	const struct peer_config *c = config_for(e, p->key);
	if ((c && c->has_trust && c->trust >= TRUST_ALLOWED_IPS) || engine_peer_is_router(e, p->wg) ||
	    (c && c->fact_exchanger))
		return true;
	if (!e->cfg.chatty && !e->is_router)
		return false;
	return p->ps.healthy;
}

/* The facts `to` needs now, into plan->out, noting that it will know them:
 * the versions it has not had, and first sends due to go once more. A
 * fact its source stopped refreshing gets no new version, so it goes to
 * each peer at most once more, and never back where it came from. */
static size_t facts_for(struct engine *e, struct peer_entry *to, const struct plan *p,
			int64_t now)
{
	struct known *kn = &to->kn;
	uint64_t tag = key_tag(to->key);
	size_t m = 0;
	bool repeat = kn->rep_at <= now, first = false;
	for (size_t i = repeat ? from_version(p, kn->rep_from) : p->n_order;
	     i < p->n_order && p->order[i]->v->ver < kn->rep_to; i++) {
		const struct candidate *c = p->order[i];
		if (known_repeat(kn, c->v, now) && for_peer(c, to->key, tag))
			p->out[m++] = &c->f;
	}
	for (size_t i = from_version(p, kn->mark); i < p->n_order; i++) {
		const struct candidate *c = p->order[i];
		if (!for_peer(c, to->key, tag))
			continue;
		p->out[m++] = &c->f;
		first = first || known_first(kn, c->v, now);
	}
	known_scanned(kn, e->knows, now, repeat, first);
	return m;
}

/* Whether this round may send to p: it has an endpoint and is not held. */
static bool sends_to(const struct peer_entry *p, int64_t now)
{
	return p && p->wg->endpoint.addr.sa_family != AF_UNSPEC &&
	       !(now < p->hold_until && p->wg->last_handshake_sec == 0);
}

/* Sends: facts to each peer with an endpoint, then our Alive (a "fill" fact
 * riding along unless it is due). A peer is scanned only when a version it
 * has not had exists or a repeat is due: a steady round costs O(peers),
 * and no send copies a fact. */
static int plan_sends(struct engine *e, int64_t now, engine_send_fn *fn, void *arg)
{
	struct wire_fact alive = alive_fact(e);
	alive.ttl = FACT_TTL_MS / 1000;
	struct plan plan;
	if (plan_round(e, now, &plan) != 0)
		return -ENOMEM;
	/* Does any peer's Alive re-send fall due? Then those due soon go too. */
	bool alive_round = false;
	for (size_t i = 0; i < e->dev->n_peers && !alive_round; i++) {
		struct peer_entry *p = peer_get(e, e->dev->peers[i].public_key, false);
		alive_round = sends_to(p, now) && !p->kn.alive_first && known_alive_due(&p->kn, now);
	}
	for (size_t i = 0; i < e->dev->n_peers; i++) {
		struct peer_entry *p = peer_get(e, e->dev->peers[i].public_key, false);
		if (!sends_to(p, now))
			continue;
		size_t m = 0;
		if (wants_facts(e, p) && known_pending(&p->kn, e->knows, now))
			m = facts_for(e, p, &plan, now);
		/* A hello (a new peer, endpoint or life) counts as a first send. */
		bool hello = p->alive_now;
		/* A probe asks for an answer at once: a hello to a peer not yet
		 * known to answer is one (that is how we learn it answers). */
		bool probe = p->probe_now || (hello && !p->ps.answers);
		bool answer = p->answer_now;
		bool alive_due = hello || probe || answer || known_alive_due(&p->kn, now) ||
				 (alive_round && known_alive_soon(&p->kn, now));
		p->alive_now = p->probe_now = p->answer_now = false;
		struct wire_fact a = alive, ans = alive;
		if (probe || answer)
			a.ttl = probe ? PROBE_TTL : PROBE_ANSWER_TTL;
		if (probe)
			peerstate_probe_sent(&p->ps, e->wall_ms);
		/* Both: the answer rides first, then our own probe. */
		ans.ttl = PROBE_ANSWER_TTL;
		if (probe && answer)
			plan.out[m++] = &ans;
		if (alive_due)
			known_alive_sent(&p->kn, now, hello || probe);
		plan.out[m++] = &a;
		struct engine_send s = { .facts = plan.out, .n = m - !alive_due };
		if (s.n)
			p->ps.fact_tx++; /* explains our tx bytes */
		memcpy(s.peer, p->key, WIRE_KEY_LEN);
		if (!alive_due) {
			s.fill = &a;
			s.n_fill = 1;
		}
		fn(arg, &s);
	}
	plan_free(&plan);
	return 0;
}

/* ---- reconcile ---- */

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

static bool same_ip(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	return a->family == b->family && a->cidr == b->cidr &&
	       !memcmp(&a->ip6, &b->ip6, a->family == AF_INET ? 4 : 16);
}

static bool has_ip(const struct wg_allowedip *set, size_t n, const struct wg_allowedip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (same_ip(&set[i], ip))
			return true;
	return false;
}

static struct wg_allowedip cidr_ip(const struct wire_fact *f)
{
	struct wg_allowedip ip = { .family = f->attr == WIRE_CIDR_V4 ? AF_INET : AF_INET6,
				   .cidr = f->v.cidr.prefix };
	memcpy(&ip.ip6, f->v.cidr.addr, ip.family == AF_INET ? 4 : 16);
	return ip;
}

/* The allowed IPs a healthy, alive peer should have: its auto-address and
 * every AllowedCidr fact about it (received or from our config). */
static size_t wanted_ips(const struct engine *e, const struct peer_entry *p, struct wg_allowedip **out)
{
	size_t n = 0, cap = 0;
	struct wg_allowedip a = p->auto_ip;
	*out = NULL;
	if (array_grow((void **)out, n, &cap, sizeof(**out)))
		(*out)[n++] = a;
	for (const struct fact *f = facts_subject_first(e->received, p->key); f; f = facts_subject_next(f))
		if ((f->f.attr == WIRE_CIDR_V4 || f->f.attr == WIRE_CIDR_V6)) {
			struct wg_allowedip ip = cidr_ip(&f->f);
			if (!has_ip(*out, n, &ip) && array_grow((void **)out, n, &cap, sizeof(**out)))
				(*out)[n++] = ip;
		}
	const struct peer_config *c = config_for(e, p->key);
	for (size_t i = 0; c && i < c->n_allowed_ips; i++)
		if (!has_ip(*out, n, &c->allowed_ips[i]) && array_grow((void **)out, n, &cap, sizeof(**out)))
			(*out)[n++] = c->allowed_ips[i];
	return n;
}

static bool added_has(const struct peer_entry *p, const struct wg_allowedip *ip)
{
	return has_ip(p->added, p->n_added, ip);
}

/* WireGuard gives a prefix to exactly one peer. Another peer's prefix may
 * move onto p only when that peer is our router and the prefix is not the
 * one that carries our own tunnel (a leaf's address off the hub: the direct
 * link). Never off a leaf, never between hubs: no flapping. */
static bool taken_elsewhere(const struct engine *e, const struct peer_entry *p,
			    const struct wg_allowedip *ip)
{
	if (!e->held_ok)
		return true;
	size_t i = prefixes_owner(&e->held, ip);
	if (i == SIZE_MAX || &e->dev->peers[i] == p->wg)
		return false;
	return !engine_peer_is_router(e, &e->dev->peers[i]) || trust_covers_device(ip, device_netif(e));
}

/* A healthy, alive peer gains the allowed IPs that facts give it. Nothing
 * is taken from a working link (beyond the original, which replaces the
 * set): what we added goes back only when the link dies. */
static void reconcile_healthy(struct engine *e, struct peer_entry *p, struct change_buf *c)
{
	struct wg_allowedip *want = NULL;
	size_t n = wanted_ips(e, p, &want);
	const struct wg_peer *w = p->wg;
	struct wg_allowedip a = p->auto_ip;
	struct wg_peer_change *pc = NULL;
	bool moved = false;
	for (size_t i = 0; i < n; i++) {
		if (has_ip(w->allowedips, w->n_allowedips, &want[i]) || taken_elsewhere(e, p, &want[i]))
			continue;
		if (!pc && !(pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY)))
			break;
		change_ip(c, &want[i]);
		if (same_ip(&want[i], &a))
			continue;
		moved = true;
		if (!added_has(p, &want[i]) &&
		    array_grow((void **)&p->added, p->n_added, &p->cap_added, sizeof(*p->added))) {
			p->added[p->n_added++] = want[i];
			e->owned_gen++;
		}
	}
	if (moved)
		emit(e, p->key, ENGINE_EV_ALLOWEDIPS_MOVED);
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
		any |= added_has(p, &w->allowedips[i]);
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
		if (!added_has(p, &w->allowedips[i]) && !same_ip(&w->allowedips[i], &a))
			change_ip(c, &w->allowedips[i]);
	p->n_added = 0;
	e->owned_gen++;
	emit(e, p->key, ENGINE_EV_RESTRICTED);
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
	const struct peer_config *cfg = config_for(e, key);
	for (size_t i = 0; cfg && i < cfg->n_endpoints && n < cap; i++)
		cand[n++] = cfg->endpoints[i];
	for (const struct fact *f = facts_subject_first(e->received, key); f && n < cap; f = facts_subject_next(f))
		if ((f->f.attr == WIRE_ENDPOINT_V4 || f->f.attr == WIRE_ENDPOINT_V6) && !endpoint_into_tunnel(e, &f->f))
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
		emit(e, p->key, ENGINE_EV_NO_DIRECT);
	struct peer_endpoint cur;
	peerstate_endpoint_from_wg(&w->endpoint, &cur);
	bool moved = pick >= 0 && !peerstate_same_endpoint(&cand[pick], &cur);
	if (pick >= 0)
		p->probe_now = true; /* say hello (and ask) through it at once */
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
	if (w->last_handshake_sec == 0 && memcmp(e->self, p->key, WIRE_KEY_LEN) > 0 && !p->hold_until)
		p->hold_until = now + FIRST_CONTACT_HOLD_MS; /* first contact only: not each quick try */
	emit(e, p->key, ENGINE_EV_ENDPOINT_TRIED);
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
		const struct peer_config *c = config_for(e, p->key);
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
		const struct peer_entry *p = peer_get(e, f->f.subject, false);
		if ((p && p->wg) || !memcmp(f->f.subject, e->self, WIRE_KEY_LEN))
			continue;
		bool queued = false;
		for (size_t i = start; i < c->n; i++) /* only members added here can match */
			queued |= !memcmp(c->peers[i].public_key, f->f.subject, WIRE_KEY_LEN);
		if (queued)
			continue;
		struct wg_allowedip a = auto_ip(f->f.subject);
		struct peer_entry *np = peer_get(e, f->f.subject, true);
		if (np && change_new(c, f->f.subject, 0)) {
			change_ip(c, &a);
			emit(e, f->f.subject, ENGINE_EV_PEER_ADDED);
			np->ours = true;
			e->owned_gen++;
			added++;
		}
	}
	for (size_t i = 0; i < e->cfg.n_peers; i++) {
		const struct peer_config *pc = &e->cfg.peers[i];
		const struct peer_entry *p = peer_get(e, pc->key, false);
		if ((p && p->wg) || !memcmp(pc->key, e->self, WIRE_KEY_LEN))
			continue;
		struct wg_allowedip a = auto_ip(pc->key);
		if (change_new(c, pc->key, 0)) {
			change_ip(c, &a);
			emit(e, pc->key, ENGINE_EV_PEER_ADDED);
		}
	}
}

static void remove_nonmembers(struct engine *e, int64_t now, struct change_buf *c)
{
	if (e->is_router || own_trust(e) >= TRUST_MEMBERSHIP || now - e->started < FACT_TTL_MS ||
	    !membership_settled(e, now))
		return;
	for (size_t i = 0; i < e->dev->n_peers; i++) {
		const struct wg_peer *w = &e->dev->peers[i];
		const struct peer_entry *p = peer_get(e, w->public_key, false);
		/* Only a peer we added ourselves is ours to remove. */
		if (!p || !p->ours || config_for(e, w->public_key) || has_membership(e, w->public_key))
			continue;
		if (!e->membership_configured && engine_peer_is_router(e, w))
			continue;
		if (change_new(c, w->public_key, WG_CHANGE_REMOVE))
			emit(e, w->public_key, ENGINE_EV_PEER_REMOVED);
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

static void reconcile(struct engine *e, int64_t now, struct engine_round *out)
{
	struct change_buf c = { 0 };
	bool may_deconf = !e->is_router && own_trust(e) < TRUST_ALLOWED_IPS;
	bool deconf = may_deconf && now - e->started >= FACT_TTL_MS;
	for (size_t i = 0; i < e->dev->n_peers; i++) {
		struct peer_entry *p = peer_get(e, e->dev->peers[i].public_key, false);
		if (!p)
			continue;
		const struct peer_config *cfg = config_for(e, p->key);
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
		if (!replaced && !has_ip(p->wg->allowedips, p->wg->n_allowedips, &a) &&
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

/* ---- the round ---- */

/* Frees what we hold about keys that left: not a peer, nothing said about
 * them, not alive, not a source of stored facts, not in the config. */
static void forget_gone(struct engine *e)
{
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (p->wg || p->ps.alive || p->stored || p->ours || config_for(e, p->key) ||
		    facts_subject_count(e->received, p->key))
			continue;
		HASH_DEL(e->peers, p);
		free(p->added);
		free(p);
	}
}

static bool config_peer_up(void *arg, const uint8_t key[static WIRE_KEY_LEN])
{
	return subject_is_up(arg, key);
}

/* engine_run's sink: every peer's facts gathered into the round. */
struct collector {
	struct fact_buf b;
	struct engine_sent *sends;
	size_t n, cap;
	bool failed;
};

static void collect(void *arg, const struct engine_send *s)
{
	struct collector *c = arg;
	if (!array_grow((void **)&c->sends, c->n, &c->cap, sizeof(*c->sends))) {
		c->failed = true;
		return;
	}
	struct engine_sent *d = &c->sends[c->n++];
	memcpy(d->peer, s->peer, WIRE_KEY_LEN);
	d->n = s->n;
	d->n_fill = s->n_fill;
	/* Offsets for now: the buffer moves as it grows. */
	d->facts = (void *)(uintptr_t)c->b.n;
	for (size_t i = 0; i < s->n; i++)
		c->failed |= !push(&c->b, s->facts[i]);
	d->fill = (void *)(uintptr_t)c->b.n;
	for (size_t i = 0; i < s->n_fill; i++)
		c->failed |= !push(&c->b, &s->fill[i]);
}

int engine_run(struct engine *e, int64_t now, struct engine_round *out)
{
	struct collector c = { 0 };
	int err = engine_decide(e, now, out);
	if (!err)
		err = engine_send(e, now, collect, &c);
	if (!err && c.failed)
		err = -ENOMEM;
	if (err) {
		free(c.sends);
		free(c.b.facts);
		engine_round_free(out);
		return err;
	}
	for (size_t i = 0; i < c.n; i++) {
		c.sends[i].facts = c.b.facts + (uintptr_t)c.sends[i].facts;
		c.sends[i].fill = c.b.facts + (uintptr_t)c.sends[i].fill;
	}
	out->sends = c.sends;
	out->n_sends = c.n;
	out->facts = c.b.facts;
	return 0;
}

int engine_send(struct engine *e, int64_t now, engine_send_fn *fn, void *arg)
{
	return e->dev ? plan_sends(e, now, fn, arg) : 0;
}

int engine_decide(struct engine *e, int64_t now, struct engine_round *out)
{
	memset(out, 0, sizeof(*out));
	if (!e->dev)
		return 0;
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		emit(e, p->key, peerstate_tick(&p->ps, now));
	facts_expire(e->received, now, unstore, e);
	forget_gone(e);
	if (facts_take_changes(e->received).critical_expired) {
		/* Critical facts ran out: tell everyone to re-send all. */
		engine_new_boot_id(e);
		out->new_boot_id = true;
	}
	localfacts_free(&e->local);
	struct local_input in = {
		.self = e->self, .dev = e->dev, .host = e->host,
		.report_ifaces = e->cfg.report_ifaces, .hide_ifaces = e->cfg.hide_ifaces,
		.config = e->cfg.peers, .n_config = e->cfg.n_peers, .by_key = e->by_key,
		.is_router = e->is_router,
		.wall_ms = e->wall_ms, .peer_is_up = config_peer_up, .arg = e,
	};
	if (localfacts_build(&in, &e->local) != 0)
		return -ENOMEM;
	reconcile(e, now, out);
	out->events = e->events;
	out->n_events = e->n_events;
	e->events = NULL;
	e->n_events = e->cap_events = 0;
	return 0;
}

void engine_new_boot_id(struct engine *e)
{
	new_boot_id(e);
	/* Nobody knows our new Alive. */
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		p->kn.alive_until = INT64_MIN;
}

void engine_round_free(struct engine_round *r)
{
	free(r->peer_changes);
	free(r->ips);
	free(r->sends);
	free(r->facts);
	free(r->events);
	memset(r, 0, sizeof(*r));
}

/* `at`, if it is later than now and sooner than *next. */
static void sooner(int64_t *next, int64_t at, int64_t now)
{
	if (at > now && at < *next)
		*next = at;
}

int64_t engine_next_due(const struct engine *e, int64_t now, int64_t *soft)
{
	/* On time: a first send's repeat, a hello, probe or answer, a
	 * first-contact hold ending, an endpoint try, a watched link. */
	int64_t hard = INT64_MAX;
	/* May wait for the caller's next wake-up: an Alive re-sent, a fact
	 * expiring or getting a new version, what only time changes (a peer's
	 * Alive running out, the settling of membership, our own start
	 * ageing), and a look at least every QUIET_ROUND_MS. */
	int64_t late = now + QUIET_ROUND_MS;
	int64_t exp = facts_next_expiry(e->received), bump = knowledge_next_bump(e->knows);
	if (exp < late)
		late = exp;
	if (bump < late)
		late = bump;
	sooner(&late, e->started + FACT_TTL_MS, now);
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (p->ps.alive) {
			sooner(&late, p->ps.alive_until - CHUNK_PERIOD_MS * 3 / 2, now);
			sooner(&late, p->ps.alive_until - CHUNK_PERIOD_MS / 2, now);
			sooner(&late, p->ps.alive_until, now);
			sooner(&late, p->ps.alive_since + FACT_TTL_MS + CHUNK_PERIOD_MS, now);
		}
		if (!p->wg)
			continue;
		if (p->wg->endpoint.addr.sa_family != AF_UNSPEC) {
			bool held = now < p->hold_until && p->wg->last_handshake_sec == 0;
			if (held) {
				if (p->hold_until < hard)
					hard = p->hold_until;
			} else {
				int64_t alive = known_alive_at(&p->kn);
				if (p->alive_now || p->probe_now || p->answer_now)
					hard = now;
				if (p->kn.rep_at < hard)
					hard = p->kn.rep_at;
				/* Nobody knows it yet, or the first send's repeat. */
				bool first = alive == INT64_MIN || p->kn.alive_first;
				int64_t *at = first ? &hard : &late;
				if (alive < *at)
					*at = alive;
			}
		}
		if (peerstate_watching(&p->ps, e->wall_ms) && now + LINK_WATCH_MS < hard)
			hard = now + LINK_WATCH_MS;
		if (!p->ps.healthy && p->ps.attempt_until != INT64_MIN && p->ps.attempt_until < hard)
			hard = p->ps.attempt_until;
		if (!p->ps.healthy && p->ps.retry_at != INT64_MIN && p->ps.retry_at < hard)
			hard = p->ps.retry_at;
	}
	*soft = late > now ? late : now;
	return hard > now ? hard : now;
}

int64_t engine_next_deadline(const struct engine *e, int64_t now)
{
	int64_t soft, hard = engine_next_due(e, now, &soft);
	return hard < soft ? hard : soft;
}

int64_t engine_next_look(const struct engine *e, int64_t now, int64_t wall_ms, int64_t idle_ms)
{
	int64_t next = now + idle_ms;
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (!p->wg)
			continue;
		int64_t at = peerstate_watching(&p->ps, wall_ms) ? now + LINK_WATCH_MS : INT64_MAX;
		int64_t wall = peerstate_next_look(&p->ps);
		if (wall != INT64_MAX && now + (wall - wall_ms) < at)
			at = now + (wall - wall_ms);
		/* An endpoint try ends, or a failed peer is tried again: was
		 * there a handshake? */
		if (!p->ps.healthy && p->ps.attempt_until != INT64_MIN && p->ps.attempt_until < at)
			at = p->ps.attempt_until;
		if (!p->ps.healthy && p->ps.retry_at != INT64_MIN && p->ps.retry_at < at)
			at = p->ps.retry_at;
		if (at < next)
			next = at;
	}
	return next > now ? next : now;
}

void engine_host_changed(struct engine *e)
{
	/* Our addresses changed: ask every peer that answers whether the link
	 * still works from where we are now (and let WireGuard carry our new
	 * source address to it); try again the endpoints that failed. Each
	 * endpoint is set again as it is: WireGuard keeps the source address
	 * it last used per peer (wireguard-go's sticky sockets), and a source
	 * that is gone makes every send fail until it forgets it. */
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (p->wg && p->ps.answers && p->ps.healthy)
			p->probe_now = true;
		p->reset_endpoint = p->wg && p->wg->endpoint.addr.sa_family != AF_UNSPEC;
		peerstate_host_moved(&p->ps);
	}
}

bool engine_is_router(const struct engine *e) { return e->is_router; }

bool engine_peer_is_router(const struct engine *e, const struct wg_peer *peer)
{
	return trust_peer_is_router_for(peer, device_netif(e));
}

struct engine_stats engine_stats(const struct engine *e) { return e->stats; }

void engine_adopt(struct engine *e, const uint8_t key[static WIRE_KEY_LEN], bool peer,
		  const struct wg_allowedip *ip)
{
	struct peer_entry *p = peer_get(e, key, true);
	if (!p)
		return;
	p->ours |= peer;
	if (ip && !added_has(p, ip) &&
	    array_grow((void **)&p->added, p->n_added, &p->cap_added, sizeof(*p->added))) {
		p->added[p->n_added++] = *ip;
		p->moved = true;
	}
	e->owned_gen++;
}

uint64_t engine_owned_gen(const struct engine *e) { return e->owned_gen; }

void engine_each_owned(const struct engine *e,
		       void (*fn)(void *arg, const uint8_t key[static WIRE_KEY_LEN], bool peer,
				  const struct wg_allowedip *ips, size_t n),
		       void *arg)
{
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		if (p->ours || p->n_added)
			fn(arg, p->key, p->ours, p->added, p->n_added);
}
size_t engine_peer_entries(const struct engine *e) { return HASH_COUNT(e->peers); }

const char *engine_peer_name(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN])
{
	const struct peer_config *c = config_for(e, key);
	if (c && c->name[0])
		return c->name;
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	return p && p->ps.name[0] ? p->ps.name : NULL;
}
const uint8_t *engine_boot_id(const struct engine *e) { return e->boot_id; }
size_t engine_fact_count(const struct engine *e) { return facts_count(e->received); }

void engine_each_fact(const struct engine *e, void (*fn)(void *arg, const struct fact *f), void *arg)
{
	for (const struct fact *f = facts_first(e->received); f; f = facts_next(f))
		fn(arg, f);
}

void engine_each_local_fact(const struct engine *e, void (*fn)(void *arg, const struct wire_fact *f),
			    void *arg)
{
	for (size_t i = 0; i < e->local.n; i++)
		fn(arg, &e->local.facts[i].f);
}

void engine_each_subject_fact(const struct engine *e, const uint8_t subject[static WIRE_KEY_LEN],
			      void (*fn)(void *arg, const struct fact *f), void *arg)
{
	for (const struct fact *f = facts_subject_first(e->received, subject); f; f = facts_subject_next(f))
		fn(arg, f);
}

enum trust_level engine_peer_trust(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN])
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	return sender_trust(e, p, key);
}

int64_t engine_started(const struct engine *e) { return e->started; }

const struct peerstate *engine_peer(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN])
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	return p ? &p->ps : NULL;
}
