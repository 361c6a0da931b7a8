/* The engine: receive, send decisions and reconcile, over the fact table,
 * knowledge, trust, peer state and local facts. */
#include "core/engine.h"

#include "core/facts.h"
#include "core/knowledge.h"
#include "core/trust.h"
#include "proto/autoaddr.h"
#include "util/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct peer_entry {
	uint8_t key[WIRE_KEY_LEN];
	struct peerstate ps;
	const struct wg_peer *wg; /* in the latest snapshot, or NULL */
	bool alive_now;		  /* send it an Alive this round */
	bool probe_now, answer_now; /* ...as a probe, or as the answer to its probe */
	bool reset_endpoint;	    /* we moved: set its endpoint again (see engine_host_changed) */
	struct known *kn;	  /* what it knows */
	/* Its last scan for facts to send: the candidates' signature, whether
	 * it wanted facts, and when something it knows next needs a re-send. */
	uint64_t seen_sig;
	bool seen_wants;
	int64_t due;
	/* We put allowed IPs on its direct link in this run: we may take them
	 * back when the link dies, even before FactTTL has passed. */
	bool moved;
	int64_t hold_until; /* send it nothing before then (see FIRST_CONTACT_HOLD_MS) */
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
	const struct netif_list *host;
	int64_t wall_ms;
	bool any_config_trust, membership_configured, is_router;
	struct local_facts local;
	struct engine_event *events;
	size_t n_events, cap_events;
	uint64_t alive_id;
	const struct peer_config **by_key; /* the config's peers sorted by key */
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

static struct peer_entry *peer_get(struct engine *e, const uint8_t key[static 32], bool create)
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	if (!p && create && (p = calloc(1, sizeof(*p)))) {
		if (!(p->kn = knowledge_peer(e->knows, key))) {
			free(p);
			return NULL;
		}
		memcpy(p->key, key, WIRE_KEY_LEN);
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

struct engine *engine_new(const struct engine_config *cfg, const uint8_t self[static WIRE_KEY_LEN],
			  int64_t now)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	memcpy(e->self, self, WIRE_KEY_LEN);
	cfg->random(e->boot_id, sizeof(e->boot_id));
	e->started = now;
	e->received = facts_new();
	e->knows = knowledge_new();
	e->by_key = calloc(cfg->n_peers + 1, sizeof(*e->by_key));
	for (size_t i = 0; e->by_key && i < cfg->n_peers; i++)
		e->by_key[i] = &cfg->peers[i];
	if (e->by_key)
		qsort(e->by_key, cfg->n_peers, sizeof(*e->by_key), cmp_config);
	for (size_t i = 0; i < cfg->n_peers; i++) {
		e->any_config_trust |= cfg->peers[i].has_trust;
		e->membership_configured |=
			cfg->peers[i].has_trust && cfg->peers[i].trust >= TRUST_MEMBERSHIP;
	}
	struct wire_fact a = alive_fact(e);
	e->alive_id = fact_id(&a);
	if (!e->received || !e->knows || !e->by_key) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		HASH_DEL(e->peers, p);
		free(p);
	}
	facts_free(e->received);
	knowledge_free(e->knows);
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

void engine_set_device(struct engine *e, const struct wg_device *dev, int64_t wall_ms)
{
	e->dev = dev;
	e->wall_ms = wall_ms;
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		p->wg = NULL;
	for (size_t i = 0; i < dev->n_peers; i++) {
		p = peer_get(e, dev->peers[i].public_key, true);
		if (!p)
			continue;
		p->wg = &dev->peers[i];
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
	e->is_router = trust_device_is_router(dev, e->cfg.router);
}

void engine_set_host(struct engine *e, const struct netif_list *host) { e->host = host; }
const struct netif_list *engine_host(const struct engine *e) { return e->host; }

static const struct netif *device_netif(const struct engine *e)
{
	for (size_t i = 0; e->host && e->dev && i < e->host->n; i++)
		if (e->host->ifs[i].index == e->dev->ifindex)
			return &e->host->ifs[i];
	return NULL;
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
		.is_router = p && p->wg && trust_peer_is_router(p->wg),
		.is_peer = p && p->wg,
	};
	return trust_evaluate(&s);
}

int engine_receive(struct engine *e, const uint8_t sender[static WIRE_KEY_LEN],
		   const struct wire_fact *facts, size_t n, int64_t now)
{
	struct peer_entry *from = peer_get(e, sender, true);
	if (!from)
		return -ENOMEM;
	from->ps.fact_rx++; /* explains its rx bytes: no user traffic */
	int news = 0;
	/* A new boot id first: what it knew before is gone. */
	for (size_t i = 0; i < n; i++) {
		const struct wire_fact *f = &facts[i];
		if (f->attr != WIRE_ALIVE || memcmp(f->subject, sender, WIRE_KEY_LEN))
			continue;
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
			knowledge_forget_peer(e->knows, from->kn);
			from->due = INT64_MIN;
		}
		/* It just came up: it may have missed our Alive while starting. */
		if (ev & (PEER_EV_REBOOTED | PEER_EV_ALIVE))
			from->alive_now = true;
		emit(e, sender, ev);
		/* News worth a prompt round, like a new fact. */
		news += (ev & (PEER_EV_REBOOTED | PEER_EV_ALIVE | PEER_EV_HEALTHY)) != 0;
	}
	enum trust_level level = sender_trust(e, from, sender);
	int accepted = news;
	for (size_t i = 0; i < n; i++) {
		const struct wire_fact *f = &facts[i];
		int64_t expires = now + f->ttl * 1000;
		uint32_t slot = knowledge_slot(e->knows, fact_id(f));
		if (slot == KNOW_NO_SLOT || knowledge_record(e->knows, from->kn, slot, expires) != 0)
			return -ENOMEM;
		if (f->ttl == 0 || f->attr == WIRE_ALIVE || endpoint_into_tunnel(e, f))
			continue;
		const struct peer_entry *subj = peer_get(e, f->subject, false);
		if (!trust_accepts(level, f->attr, subj && subj->wg))
			continue;
		int r = facts_merge_from(e->received, f, expires, sender);
		if (r == -ENOMEM)
			return r;
		accepted += r > 0;
		struct peer_entry *about;
		if (r > 0 && f->attr == WIRE_MEMBER_META && (about = peer_get(e, f->subject, true)))
			peerstate_set_meta(&about->ps, &f->v.meta);
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
	uint32_t slot;
	bool about_self, subject_up;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Every fact we could send this round, and a signature of the set (ids and
 * whether their subject is up) that tells a peer's scan whether anything
 * but time could have changed its needs. */
static int candidates(struct engine *e, int64_t now, struct candidate **out, size_t *n,
		      uint64_t *sig)
{
	size_t cap = e->local.n + facts_count(e->received), k = 0;
	struct candidate *c = calloc(cap ? cap : 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < e->local.n; i++, k++) {
		c[k].f = e->local.facts[i].f;
		c[k].f.ttl = FACT_TTL_MS / 1000;
		c[k].expires = now + FACT_TTL_MS;
	}
	for (const struct fact *f = facts_first(e->received); f; f = facts_next(f)) {
		fact_to_wire(f, now, &c[k].f);
		if (c[k].f.ttl > 0)
			c[k++].expires = f->expires;
	}
	*sig = k;
	for (size_t i = 0; i < k; i++) {
		uint64_t id = fact_id(&c[i].f);
		c[i].slot = knowledge_slot(e->knows, id);
		if (c[i].slot == KNOW_NO_SLOT) {
			free(c);
			return -ENOMEM;
		}
		c[i].about_self = !memcmp(c[i].f.subject, e->self, WIRE_KEY_LEN);
		c[i].subject_up = c[i].about_self || subject_is_up(e, c[i].f.subject);
		*sig += mix64(id ^ c[i].subject_up);
	}
	*out = c;
	*n = k;
	return 0;
}

static bool wants_facts(const struct engine *e, const struct peer_entry *p)
{
	/* Facts go only to a peer whose Alive we have: its daemon is listening,
	 * so what we send is not lost while it starts (knowledge would then
	 * say it knows them for minutes). Basic peers run no daemon at all. */
	if (!p->ps.alive)
		return false;
	const struct peer_config *c = config_for(e, p->key);
	if ((c && c->has_trust && c->trust >= TRUST_ALLOWED_IPS) || trust_peer_is_router(p->wg) ||
	    (c && c->fact_exchanger))
		return true;
	if (!e->cfg.chatty && !e->is_router)
		return false;
	return p->ps.healthy;
}

/* The facts `to` needs now, noting that it will know them. Also works out
 * when it next needs anything if nothing else changes (to->due). */
static int facts_for(struct engine *e, struct peer_entry *to, const struct candidate *cand,
		     size_t n, int64_t now, struct fact_buf *b)
{
	int64_t due = INT64_MAX;
	for (size_t k = 0; k < n; k++) {
		const struct candidate *c = &cand[k];
		bool about_to = !memcmp(c->f.subject, to->key, WIRE_KEY_LEN);
		if (about_to ? c->f.attr != WIRE_MEMBER_META : !c->subject_up)
			continue;
		int64_t until = knowledge_until(e->knows, to->kn, c->slot);
		if (until <= now + RESEND_MARGIN_MS) {
			until = knowledge_sent(e->knows, to->kn, c->slot, now, c->expires,
					       RESEND_MARGIN_MS, false);
			if (until == INT64_MIN || !push(b, &c->f))
				return -ENOMEM;
		}
		if (until - RESEND_MARGIN_MS < due)
			due = until - RESEND_MARGIN_MS;
	}
	to->due = due;
	return 0;
}

/* Sends: facts to each peer with an endpoint, then our Alive (a "fill" fact
 * riding along unless it is due). A peer whose needs cannot have changed
 * since its last scan (same candidates, same wish for facts, nothing due
 * yet) is not scanned again: a steady round costs O(peers), not
 * O(peers x facts). */
static int plan_sends(struct engine *e, int64_t now, engine_send_fn *fn, void *arg)
{
	struct wire_fact alive = alive_fact(e);
	alive.ttl = FACT_TTL_MS / 1000;
	uint32_t alive_slot = knowledge_slot(e->knows, e->alive_id);
	struct candidate *cand = NULL;
	size_t n_cand = 0;
	uint64_t sig = 0;
	if (alive_slot == KNOW_NO_SLOT || candidates(e, now, &cand, &n_cand, &sig) != 0)
		return -ENOMEM;
	struct fact_buf b = { 0 };
	int err = 0;
	for (size_t i = 0; !err && i < e->dev->n_peers; i++) {
		struct peer_entry *p = peer_get(e, e->dev->peers[i].public_key, false);
		if (!p || p->wg->endpoint.addr.sa_family == AF_UNSPEC ||
		    (now < p->hold_until && p->wg->last_handshake_sec == 0))
			continue;
		b.n = 0;
		bool wants = wants_facts(e, p);
		if (wants && (sig != p->seen_sig || !p->seen_wants || now >= p->due))
			err = facts_for(e, p, cand, n_cand, now, &b);
		p->seen_sig = sig;
		p->seen_wants = wants;
		/* A hello (a new peer, endpoint or life) counts as a first send. */
		bool hello = p->alive_now;
		/* A probe asks for an answer at once: a hello to a peer not yet
		 * known to answer is one (that is how we learn it answers). */
		bool probe = p->probe_now || (hello && !p->ps.answers);
		bool answer = p->answer_now;
		bool alive_due = hello || probe || answer ||
				 knowledge_needs_alive(e->knows, p->kn, alive_slot, now);
		p->alive_now = p->probe_now = p->answer_now = false;
		struct wire_fact a = alive;
		if (probe || answer)
			a.ttl = probe ? PROBE_TTL : PROBE_ANSWER_TTL;
		if (probe)
			peerstate_probe_sent(&p->ps, e->wall_ms);
		/* Both: the answer rides first, then our own probe. */
		struct wire_fact ans = alive;
		ans.ttl = PROBE_ANSWER_TTL;
		if (!err && probe && answer && !push(&b, &ans)) {
			err = -ENOMEM;
			break;
		}
		if (err || (alive_due && knowledge_sent(e->knows, p->kn, alive_slot, now,
							now + FACT_TTL_MS, ALIVE_MARGIN_MS,
							hello || probe) == INT64_MIN) ||
		    !push(&b, &a)) {
			err = -ENOMEM;
			break;
		}
		struct engine_send s = { .facts = b.facts, .n = b.n - !alive_due };
		if (s.n)
			p->ps.fact_tx++; /* explains our tx bytes */
		memcpy(s.peer, p->key, WIRE_KEY_LEN);
		if (!alive_due) {
			s.fill = &b.facts[b.n - 1];
			s.n_fill = 1;
		}
		fn(arg, &s);
	}
	free(b.facts);
	free(cand);
	return err;
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

static struct wg_allowedip auto_ip(const uint8_t key[static 32])
{
	struct wg_allowedip ip = { .family = AF_INET6, .cidr = 128 };
	autoaddr_from_key(key, &ip.ip6);
	return ip;
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
	struct wg_allowedip a = auto_ip(p->key);
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

/* Returns whether the change replaces the peer's allowed IPs. */
static bool reconcile_healthy(struct engine *e, struct peer_entry *p, bool deconf, struct change_buf *c)
{
	struct wg_allowedip *want = NULL;
	size_t n = wanted_ips(e, p, &want);
	const struct wg_peer *w = p->wg;
	bool missing = false, extra = false;
	for (size_t i = 0; i < n; i++)
		missing |= !has_ip(w->allowedips, w->n_allowedips, &want[i]);
	for (size_t i = 0; i < w->n_allowedips; i++)
		extra |= !has_ip(want, n, &w->allowedips[i]);
	bool replaced = false;
	if (missing || (deconf && extra)) {
		struct wg_peer_change *pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY);
		if (pc) {
			if (deconf)
				pc->flags |= WG_CHANGE_REPLACE_ALLOWEDIPS;
			replaced = deconf;
			for (size_t i = 0; i < n; i++)
				if (deconf || !has_ip(w->allowedips, w->n_allowedips, &want[i]))
					change_ip(c, &want[i]);
			if (missing && n > 1)
				emit(e, p->key, ENGINE_EV_ALLOWEDIPS_MOVED);
			p->moved |= missing;
		}
	}
	free(want);
	return replaced;
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
	for (const struct fact *f = facts_subject_first(e->received, key); f && n < cap; f = facts_subject_next(f))
		if ((f->f.attr == WIRE_ENDPOINT_V4 || f->f.attr == WIRE_ENDPOINT_V6) && !endpoint_into_tunnel(e, &f->f))
			endpoint_of(&f->f, &cand[n++]);
	const struct peer_config *cfg = config_for(e, key);
	for (size_t i = 0; cfg && i < cfg->n_endpoints && n < cap; i++)
		cand[n++] = cfg->endpoints[i];
	return n;
}

/* Returns whether the change replaces the peer's allowed IPs. */
static bool reconcile_unhealthy(struct engine *e, struct peer_entry *p, bool deconf, int64_t now,
				struct change_buf *c)
{
	const struct wg_peer *w = p->wg;
	struct wg_allowedip a = auto_ip(p->key);
	bool restrict_ips = deconf && (w->n_allowedips != 1 || !same_ip(&w->allowedips[0], &a));
	struct peer_endpoint cand[64];
	enum endpoint_rank rank[64];
	size_t n = engine_peer_candidates(e, p->key, cand, 64);
	for (size_t i = 0; i < n; i++)
		rank[i] = peerstate_rank(&cand[i], e->host);
	unsigned ev = 0;
	int pick = peerstate_next_endpoint(&p->ps, cand, rank, n, now, &ev);
	if (ev & PEER_EV_NO_DIRECT)
		emit(e, p->key, ENGINE_EV_NO_DIRECT);
	struct peer_endpoint cur;
	peerstate_endpoint_from_wg(&w->endpoint, &cur);
	bool moved = pick >= 0 && !peerstate_same_endpoint(&cand[pick], &cur);
	if (pick >= 0)
		p->probe_now = true; /* say hello (and ask) through it at once */
	if (!restrict_ips && !moved)
		return false;
	struct wg_peer_change *pc = change_new(c, p->key, WG_CHANGE_UPDATE_ONLY);
	if (!pc)
		return false;
	if (restrict_ips) {
		pc->flags |= WG_CHANGE_REPLACE_ALLOWEDIPS;
		change_ip(c, &a);
		emit(e, p->key, ENGINE_EV_RESTRICTED);
		p->moved = false;
	}
	if (moved) {
		pc->flags |= WG_CHANGE_ENDPOINT;
		to_wg_endpoint(&cand[pick], &pc->endpoint);
		/* A peer we never had a handshake with learns about us at the
		 * same moment we learn about it: if both sides initiate at once
		 * the handshakes cross, WireGuard rejects both responses, and the
		 * retry comes 5 s later. The higher key lets the lower one
		 * initiate, and speaks once the session is up. */
		if (w->last_handshake_sec == 0 && memcmp(e->self, p->key, WIRE_KEY_LEN) > 0)
			p->hold_until = now + FIRST_CONTACT_HOLD_MS;
		emit(e, p->key, ENGINE_EV_ENDPOINT_TRIED);
	}
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
						       : p->wg && trust_peer_is_router(p->wg);
		if (source && p->ps.healthy &&
		    peerstate_alive_since(&p->ps, now, FACT_TTL_MS + CHUNK_PERIOD_MS) &&
		    peerstate_alive_for(&p->ps, now, CHUNK_PERIOD_MS * 3 / 2))
			return true;
	}
	return false;
}

static void add_members(struct engine *e, struct change_buf *c)
{
	for (const struct fact *f = facts_first(e->received); f; f = facts_next(f)) {
		if (f->f.attr != WIRE_MEMBER && f->f.attr != WIRE_MEMBER_META)
			continue;
		const struct peer_entry *p = peer_get(e, f->f.subject, false);
		if ((p && p->wg) || !memcmp(f->f.subject, e->self, WIRE_KEY_LEN))
			continue;
		bool queued = false;
		for (size_t i = 0; i < c->n; i++)
			queued |= !memcmp(c->peers[i].public_key, f->f.subject, WIRE_KEY_LEN);
		if (queued)
			continue;
		struct wg_allowedip a = auto_ip(f->f.subject);
		if (change_new(c, f->f.subject, 0)) {
			change_ip(c, &a);
			emit(e, f->f.subject, ENGINE_EV_PEER_ADDED);
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
		if (config_for(e, w->public_key) || has_membership(e, w->public_key))
			continue;
		if (!e->membership_configured && trust_peer_is_router(w))
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
	for (size_t k = 0; k < c->n && !pc; k++)
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
		bool deconf_peer = deconf && !trust_peer_is_router(p->wg), replaced = false;
		if (p->ps.healthy && (peerstate_alive_for(&p->ps, now, CHUNK_PERIOD_MS / 2) || basic))
			replaced = reconcile_healthy(e, p, deconf_peer, &c);
		else if (!p->ps.healthy)
			/* What we moved onto a direct link ourselves falls back at
			 * once, FactTTL or not (beyond the original). */
			replaced = reconcile_unhealthy(
				e, p, deconf_peer || (may_deconf && p->moved && !trust_peer_is_router(p->wg)),
				now, &c);
		if (p->reset_endpoint && p->wg->endpoint.addr.sa_family != AF_UNSPEC)
			reset_endpoint(&c, p);
		p->reset_endpoint = false;
		/* Always keep the auto-address (a replacement includes it). */
		struct wg_allowedip a = auto_ip(p->key);
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

static bool config_peer_up(void *arg, const uint8_t key[static WIRE_KEY_LEN])
{
	return subject_is_up(arg, key);
}

/* engine_run's sink: every peer's facts gathered into the round. */
struct collector {
	struct fact_buf b;
	struct engine_send *sends;
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
	struct engine_send *d = &c->sends[c->n++];
	*d = *s;
	/* Offsets for now: the buffer moves as it grows. */
	d->facts = (void *)(uintptr_t)c->b.n;
	for (size_t i = 0; i < s->n; i++)
		c->failed |= !push(&c->b, &s->facts[i]);
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
	facts_expire(e->received, now, NULL, NULL);
	if (facts_take_changes(e->received).critical_expired) {
		/* Critical facts ran out: tell everyone to re-send all. */
		engine_new_boot_id(e);
		out->new_boot_id = true;
	}
	knowledge_expire(e->knows, now);
	localfacts_free(&e->local);
	struct local_input in = {
		.self = e->self, .dev = e->dev, .host = e->host,
		.report_ifaces = e->cfg.report_ifaces, .hide_ifaces = e->cfg.hide_ifaces,
		.config = e->cfg.peers, .n_config = e->cfg.n_peers, .is_router = e->is_router,
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
	e->cfg.random(e->boot_id, sizeof(e->boot_id));
	knowledge_forget_fact(e->knows, e->alive_id);
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

int64_t engine_next_deadline(const struct engine *e, int64_t now)
{
	/* Alive re-sends and fact expiry fall on this grid; expiry, the end
	 * of an endpoint try and a link being watched may come sooner. */
	int64_t next = now + CHUNK_PERIOD_MS;
	int64_t exp = facts_next_expiry(e->received);
	if (exp < next)
		next = exp;
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (!p->wg)
			continue;
		if (peerstate_watching(&p->ps, e->wall_ms) && now + LINK_WATCH_MS < next)
			next = now + LINK_WATCH_MS;
		if (!p->ps.healthy && p->ps.attempt_until != INT64_MIN && p->ps.attempt_until < next)
			next = p->ps.attempt_until;
		if (!p->ps.healthy && p->ps.retry_at != INT64_MIN && p->ps.retry_at < next)
			next = p->ps.retry_at;
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
