/* The engine's round: its state, the device and host snapshots, and the
 * round that ties the rooms together (see engine_int.h for the rooms). */
#include "core/engine_int.h"

#include "core/facts.h"
#include "core/trust.h"
#include "proto/autoaddr.h"
#include "util/array.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_config(const void *a, const void *b)
{
	const struct peer_config *const *x = a, *const *y = b;
	return memcmp((*x)->key, (*y)->key, WIRE_KEY_LEN);
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
		e->is_router = trust_device_is_router_for(e->dev, e->cfg.router, engine_devif(e));
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
	engine_claims_free(e);
	free(e->by_key);
	localfacts_free(&e->local);
	free(e->events);
	free(e);
}




void engine_tunnel_quiet(struct engine *e)
{
	e->tunnel_quiet = true;
}

bool engine_round_news(const struct engine_round *r)
{
	for (size_t i = 0; i < r->n_events; i++)
		if (r->events[i].events & ~(unsigned)ENGINE_EV_PROBING)
			return true;
	return false;
}

void engine_tunnel_losses(struct engine *e, uint64_t refused, uint64_t dropped)
{
	e->tunnel_refused = refused;
	e->tunnel_dropped = dropped;
	e->losses = true;
}

void engine_tunnel_counted(struct engine *e, uint64_t tx, uint64_t rx)
{
	e->tunnel_tx = tx;
	e->tunnel_rx = rx;
	e->counted = true;
}

bool engine_worth_glance(const struct engine *e)
{
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		if (p->wg && ((p->moved && p->ps.healthy) || (p->ps.dead && p->ps.hs_ok)))
			return true;
	return false;
}

/* A suspected loss opened at `at` (0: none) is still open at `wall_ms`. */
static bool pending(int64_t at, int64_t wall_ms)
{
	return at && wall_ms >= at && wall_ms - at <= SETTLE_WITHIN_MS;
}

bool engine_loss_pending(const struct engine *e, int64_t wall_ms)
{
	return pending(e->send_pending, wall_ms) || pending(e->drop_pending, wall_ms);
}

bool engine_drop_pending(const struct engine *e, int64_t wall_ms)
{
	return pending(e->drop_pending, wall_ms);
}

void engine_fact_packet(struct engine *e, const uint8_t key[static WIRE_KEY_LEN], size_t len)
{
	struct peer_entry *p = engine_entry(e, key, false);
	if (p)
		peerstate_fact_in(&p->ps, len);
}

bool engine_glance(struct engine *e, const struct wg_device *dev)
{
	bool news = !e->dev || dev->n_peers != e->dev->n_peers;
	for (size_t i = 0; i < dev->n_peers; i++) {
		struct peer_entry *p = engine_entry(e, dev->peers[i].public_key, false);
		if (!p || !p->wg)
			news = true;
		else
			news |= peerstate_glance(&p->ps, &dev->peers[i]);
	}
	return news;
}

/* A loss that one read suggests (`starts`) and a later one settles (it
 * shows again): a packet on its way shows up by then. Reads that saw no
 * traffic at all (`quiet`: a user's ping is not sent every second; on the
 * kernel, reads with no loss) keep it open for SETTLE_WITHIN_MS; anything
 * else closes it. */
static bool settled(int64_t *pending_at, bool starts, bool quiet, int64_t wall_ms)
{
	int64_t at = *pending_at;
	if (at && !pending(at, wall_ms))
		at = 0; /* long ago: this read starts afresh */
	if (at && starts) {
		*pending_at = 0;
		return true;
	}
	if (at && quiet && wall_ms - at < SETTLE_WITHIN_MS)
		return false;
	*pending_at = starts ? (wall_ms ? wall_ms : 1) : 0;
	return false;
}

/* A peer's events from its link watch: a probe is sent this round. */
static void probe_if(struct engine *e, struct peer_entry *p, unsigned ev)
{
	if (ev & PEER_EV_PROBE) {
		p->probe_now = true;
		ev = (ev & ~(unsigned)PEER_EV_PROBE) | ENGINE_EV_PROBING;
	}
	engine_emit(e, p->key, ev);
}

/* What one device read saw, for the loss watch. */
struct read_seen {
	bool sent, got;	     /* data sent to, or got from, some peer */
	bool got_unexplained; /* got on a link that explains no drop */
	bool dead_direct;     /* some link is dead (we send through the router) */
};

/* A leaf's link that died: we send its peer's traffic through the router,
 * but the peer may still send to us on it. */
static bool dead_direct(const struct engine *e, const struct peer_entry *p)
{
	return p->ps.dead && p->ps.has_endpoint && !engine_peer_is_router(e, p->wg);
}

/* Sends failed, or arrivals were dropped: each healthy link that carried
 * nothing that way (userspace WireGuard), or sent (a refusal on the
 * kernel), may be the one. A leaf asks so that it can fall back through
 * the router; a router has nowhere to fall back to, and its probes would
 * only find the peers that run no daemon (two-hubs: a leaf whose daemon
 * stopped, probed for minutes). */
static void watch_losses(struct engine *e, const struct wg_device *dev, const struct read_seen *seen,
			 int64_t wall_ms)
{
	bool kernel = e->losses, watch = !e->is_router && (e->counted || kernel), failed, dropped;
	if (kernel) {
		/* Two reads must show it (a packet in flight when a link
		 * moved is dropped once); reads with no loss keep it open. A
		 * drop while a dead link's peer may still send to us on it is
		 * most likely that peer's: it is asked at once (as its data
		 * on userspace WireGuard), no other link ends. */
		bool drop = watch && e->tunnel_dropped;
		failed = settled(&e->send_pending, watch && e->tunnel_refused, watch && !e->tunnel_refused, wall_ms);
		dropped = settled(&e->drop_pending, drop && !seen->dead_direct, watch && !drop, wall_ms);
		for (size_t i = 0; drop && seen->dead_direct && i < dev->n_peers; i++) {
			struct peer_entry *p = engine_entry(e, dev->peers[i].public_key, false);
			if (p && dead_direct(e, p))
				probe_if(e, p, peerstate_data_on_dead(&p->ps, wall_ms));
		}
	} else {
		bool tx = watch && e->tunnel_tx > 0, rx_none = watch && e->tunnel_rx == 0;
		/* Both reads must show it: a lone packet of the host's own
		 * (IPv6 neighbour discovery) or a fact packet taken between
		 * the counters and the device is no loss; a firewall refuses,
		 * and WireGuard drops, what keeps coming. */
		bool quiet = watch && e->tunnel_tx == 0 && e->tunnel_rx == 0;
		failed = settled(&e->send_pending, tx && !seen->sent, quiet && !seen->sent, wall_ms);
		dropped = settled(&e->drop_pending, seen->got_unexplained && rx_none, quiet && !seen->got, wall_ms);
	}
	e->counted = e->losses = false;
	for (size_t i = 0; (failed || dropped) && i < dev->n_peers; i++) {
		struct peer_entry *p = engine_entry(e, dev->peers[i].public_key, false);
		if (!p)
			continue;
		/* The kernel counts a refused send at its peer, userspace at
		 * none; a router holds no leaf's source. */
		bool router = engine_peer_is_router(e, p->wg);
		unsigned ev = 0;
		if (failed && p->ps.sent_any == kernel && !(kernel && router))
			ev = peerstate_suspect(&p->ps, wall_ms);
		else if (dropped && !p->ps.got_any && !router)
			ev = peerstate_dropped(&p->ps, wall_ms);
		probe_if(e, p, ev);
	}
}

void engine_set_device(struct engine *e, const struct wg_device *dev, int64_t wall_ms)
{
	e->dev = dev;
	e->wall_ms = wall_ms;
	e->held_ok = prefixes_build(&e->held, dev) == 0;
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		p->wg = NULL;
	struct read_seen seen = { 0 };
	for (size_t i = 0; i < dev->n_peers; i++) {
		p = engine_entry(e, dev->peers[i].public_key, true);
		if (!p)
			continue;
		p->wg = &dev->peers[i];
		p->ps.tunnel_quiet = e->tunnel_quiet;
		unsigned ev = peerstate_observe(&p->ps, p->wg, wall_ms);
		seen.sent |= p->ps.sent_data;
		seen.got |= p->ps.got_data;
		/* Data on the own link of a peer whose link died (we send it
		 * through the router) explains a drop by itself: watch_link
		 * probes that peer at once. Data from a router does not: a
		 * peer that fell back sends through it. Data a leaf sent us on
		 * its own link from a source it may not use says nothing of
		 * the other links (a peer that lies took them all down, one
		 * glance after another). */
		bool on_dead_link = dead_direct(e, p);
		seen.got_unexplained |= p->ps.got_data && !on_dead_link && engine_peer_is_router(e, p->wg);
		seen.dead_direct |= on_dead_link;
		/* A link just came up: say hello through it at once (what we
		 * sent while the handshake was failing may be lost). */
		if (ev & PEER_EV_HEALTHY)
			p->alive_now = true;
		/* Traffic stopped, or a probe is unanswered: (again) ask. */
		probe_if(e, p, ev);
	}
	e->tunnel_quiet = false;
	e->is_router = trust_device_is_router_for(dev, e->cfg.router, engine_devif(e));
	watch_losses(e, dev, &seen, wall_ms);
	/* Gone from the device: what we had there went with it. */
	HASH_ITER(hh, e->peers, p, tmp)
		if (!p->wg && (p->ours || p->n_added)) {
			p->ours = false;
			p->n_added = 0;
			e->owned_gen++;
		}
}

const struct netif_list *engine_host(const struct engine *e) { return e->host; }

void engine_set_host(struct engine *e, const struct netif_list *host)
{
	e->host = host;
	if (e->dev)
		e->is_router = trust_device_is_router_for(e->dev, e->cfg.router, engine_devif(e));
}



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

/* Frees what we hold about keys that left: not a peer, nothing said about
 * them, not alive, not a source of stored facts, not in the config. */
static void forget_gone(struct engine *e)
{
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (p->wg || p->ps.alive || p->stored || p->ours || engine_config_of(e, p->key) ||
		    facts_subject_count(e->received, p->key))
			continue;
		HASH_DEL(e->peers, p);
		free(p->added);
		free(p);
	}
}

static bool config_peer_up(void *arg, const uint8_t key[static WIRE_KEY_LEN])
{
	return engine_subject_is_up(arg, key);
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


/* Marks the round's events of flapping links (flap.h), and says
 * when one holds again or still flaps. So a peer on a bad path costs the
 * log a few lines per episode, not three per fall. */
static void damp_flaps(struct engine *e, int64_t now)
{
	for (size_t i = 0; i < e->n_events; i++) {
		unsigned *ev = &e->events[i].events;
		struct peer_entry *p = engine_entry(e, e->events[i].peer, false);
		enum flap_mark m = p ? flap_change(&p->ps.flap, *ev & PEER_EV_HEALTHY, *ev & PEER_EV_UNHEALTHY,
						   *ev & ENGINE_EV_LINK, now)
				     : FLAP_NONE;
		if (m == FLAP_START)
			*ev |= ENGINE_EV_FLAPPING | ENGINE_EV_QUIET;
		else if (m == FLAP_QUIET)
			*ev |= ENGINE_EV_QUIET;
	}
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		enum flap_mark m = flap_tick(&p->ps.flap, p->wg != NULL, now);
		if (m == FLAP_STEADY || m == FLAP_STILL)
			engine_emit(e, p->key, m == FLAP_STEADY ? ENGINE_EV_STEADY : ENGINE_EV_STILL);
	}
}

unsigned engine_debug_only(unsigned ev)
{
	unsigned health = ev & (PEER_EV_HEALTHY | PEER_EV_UNHEALTHY);
	if (ev & ENGINE_EV_QUIET)
		return ev & ENGINE_EV_LINK;
	bool told = ((ev & PEER_EV_UNHEALTHY) && (ev & ENGINE_EV_RESTRICTED)) ||
		    ((ev & PEER_EV_HEALTHY) && (ev & ENGINE_EV_ALLOWEDIPS_MOVED));
	return told ? health : 0;
}

int engine_decide(struct engine *e, int64_t now, struct engine_round *out)
{
	memset(out, 0, sizeof(*out));
	if (!e->dev)
		return 0;
	struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp)
		engine_emit(e, p->key, peerstate_tick(&p->ps, now));
	facts_expire(e->received, now, engine_unstore, e);
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
	if (localfacts_build(&in, &e->local) != 0 || engine_claims_refresh(e) != 0)
		return -ENOMEM;
	engine_reconcile(e, now, out);
	damp_flaps(e, now);
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


struct engine_stats engine_stats(const struct engine *e) { return e->stats; }

void engine_adopt(struct engine *e, const uint8_t key[static WIRE_KEY_LEN], bool peer,
		  const struct wg_allowedip *ip)
{
	struct peer_entry *p = engine_entry(e, key, true);
	if (!p)
		return;
	p->ours |= peer;
	if (ip && !engine_added_has(p, ip) &&
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
	const struct peer_config *c = engine_config_of(e, key);
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
	return engine_sender_trust(e, p, key);
}

int64_t engine_started(const struct engine *e) { return e->started; }

const struct peerstate *engine_peer(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN])
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	return p ? &p->ps : NULL;
}
