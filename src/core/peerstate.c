/* Peer health, liveness, link probes and endpoint choice. */
#include "core/peerstate.h"

#include "proto/meta.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void peerstate_init(struct peerstate *ps, const uint8_t key[static WIRE_KEY_LEN])
{
	memset(ps, 0, sizeof(*ps));
	memcpy(ps->key, key, WIRE_KEY_LEN);
	ps->attempt_until = ps->round_start = ps->pass_start = ps->retry_at = INT64_MIN;
	ps->current = -1;
}

void peerstate_endpoint_from_wg(const union wg_endpoint *w, struct peer_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	if (w->addr.sa_family == AF_INET) {
		out->attr = WIRE_ENDPOINT_V4;
		memcpy(out->ep.addr, &w->addr4.sin_addr, 4);
		out->ep.port = ntohs(w->addr4.sin_port);
	} else if (w->addr.sa_family == AF_INET6) {
		out->attr = WIRE_ENDPOINT_V6;
		memcpy(out->ep.addr, &w->addr6.sin6_addr, 16);
		out->ep.port = ntohs(w->addr6.sin6_port);
	}
}

bool peerstate_same_endpoint(const struct peer_endpoint *a, const struct peer_endpoint *b)
{
	size_t alen = a->attr == WIRE_ENDPOINT_V4 ? 4 : 16;
	return a->attr == b->attr && a->ep.port == b->ep.port && !memcmp(a->ep.addr, b->ep.addr, alen);
}

static int find_try(const struct peerstate *ps, const struct peer_endpoint *e)
{
	for (size_t i = 0; i < ps->n_tried; i++)
		if (peerstate_same_endpoint(&ps->tried[i].e, e))
			return (int)i;
	return -1;
}

/* The link works (again): the current try succeeded, the next outage
 * starts a fresh round with this endpoint first. */
static void link_works(struct peerstate *ps, const union wg_endpoint *w)
{
	if (w->addr.sa_family != AF_UNSPEC) {
		peerstate_endpoint_from_wg(w, &ps->good);
		ps->has_good = true;
		int i = find_try(ps, &ps->good);
		if (i >= 0)
			ps->tried[i].result = TRY_ANSWERED;
	}
	ps->attempt_until = ps->round_start = ps->retry_at = INT64_MIN;
	ps->retry_ms = 0;
	ps->said_no_direct = false;
	ps->current = -1;
}

/* Bytes WireGuard moves by itself: up to three keepalives (32 bytes each),
 * perhaps with a handshake initiation (148), response (92) or both. */
static bool wireguard_only(uint64_t n)
{
	static const uint64_t handshakes[] = { 0, 92, 148, 240 };
	for (size_t i = 0; i < sizeof(handshakes) / sizeof(handshakes[0]); i++)
		if (n >= handshakes[i] && (n - handshakes[i]) % 32 == 0 && n - handshakes[i] <= 3 * 32)
			return true;
	return false;
}

/* How long sent data may go unanswered before we probe. */
static int64_t answer_wait(const struct peerstate *ps)
{
	return ps->answer_wait ? ps->answer_wait : LINK_ANSWER_MIN_MS;
}

/* How long a dead link waits before its next probe: REVIVE_MS, doubling
 * up to REVIVE_MAX_MS, or REVIVE_SLOW_MS once the outage is old. */
static int64_t revive_wait(const struct peerstate *ps, int64_t wall_ms)
{
	int64_t w = ps->revive_ms ? ps->revive_ms : REVIVE_MS;
	return wall_ms - ps->dead_at >= REVIVE_FAST_FOR_MS && w < REVIVE_SLOW_MS ? REVIVE_SLOW_MS : w;
}

/* The link is dead: unhealthy until a probe is answered or a handshake
 * advances, probed now and then meanwhile. */
static void link_dies(struct peerstate *ps, int64_t wall_ms, const char *why)
{
	ps->down_why = why;
	ps->dead = true;
	ps->dead_at = wall_ms;
	ps->probe_at = 0;
	ps->answer_probe = false;
}

/* A probe is due, and why (until it is sent: peerstate_probe_sent). */
static unsigned probe_for(struct peerstate *ps, const char *why)
{
	ps->probe_why = why;
	return PEER_EV_PROBE;
}

unsigned peerstate_data_on_dead(struct peerstate *ps, int64_t wall_ms)
{
	if (!ps->answers || !ps->dead || !ps->has_endpoint || wall_ms - ps->probe_last < REVIVE_MS)
		return 0;
	return probe_for(ps, "its data arrives on the direct link");
}

/* Probe bookkeeping on each look at the device (peers that answer). */
static unsigned watch_link(struct peerstate *ps, bool heard, bool rx_moved, bool tx_moved,
			   bool advanced, int64_t wall_ms)
{
	if (rx_moved) {
		ps->rx_run = ps->user_rx_at && wall_ms - ps->user_rx_at <= LINK_FLOW_MS ? ps->rx_run + 1 : 1;
		ps->user_rx_at = wall_ms;
	}
	if (heard)
		ps->rx_at = wall_ms;
	if (tx_moved) {
		ps->tx_run = ps->tx_at && wall_ms - ps->tx_at <= LINK_FLOW_MS ? ps->tx_run + 1 : 1;
		ps->tx_at = wall_ms;
	}
	if (advanced) { /* a handshake needs both directions */
		ps->dead = false;
		ps->revive_ms = 0;
		ps->probe_at = 0;
	}
	if (rx_moved)
		ps->answer_wait = 0; /* data comes back: the next silence is news */
	if (ps->dead) {
		/* Its data reaches us on its own link while we send it through
		 * the router (WireGuard drops it: we hold its addresses there):
		 * it holds us directly, so the path works at least this way.
		 * Ask at once (at most every REVIVE_MS), not at the next
		 * revive, which may be a minute away (the chaos run: a leaf
		 * back from a move, its peer behind a symmetric NAT). */
		unsigned ev = ps->got_data ? peerstate_data_on_dead(ps, wall_ms) : 0;
		if (ev)
			return ev;
		/* Ask now and then whether the path works again (a healed cut
		 * goes direct within seconds; if the session is gone, the probe
		 * makes WireGuard shake hands), less often while it does not. */
		return ps->has_endpoint && wall_ms - ps->probe_last >= revive_wait(ps, wall_ms)
			       ? probe_for(ps, "is the path back?")
			       : 0;
	}
	if (!ps->hs_ok)
		return 0;
	if (ps->probe_at) {
		/* Data still comes and ours goes out (no failed send here): the
		 * link works, only its daemon is silent (stopped, busy). */
		if (rx_moved && wall_ms - ps->send_failed_at >= PROBE_WAIT_MS) {
			ps->probe_at = 0;
			return 0;
		}
		/* WireGuard sends at once what we give it (a handshake first if
		 * the session is old): nothing went out at all since our probe,
		 * so the host refused it (a local firewall, no route). */
		bool refused = !ps->probe_tx_seen && wall_ms - ps->probe_at >= PROBE_SENT_MS;
		bool unanswered = wall_ms - ps->probe_at >= PROBE_WAIT_MS &&
				  wall_ms - ps->probe_last >= PROBE_LAST_WAIT_MS;
		if (refused || unanswered) {
			/* (The kernel counts a refused probe as sent, and the
			 * refusal on its interface: peerstate_suspect.) */
			link_dies(ps, wall_ms,
				  refused ? "this host refused the probe"
				  : ps->send_failed_at >= ps->probe_at ? "sends were refused here, and the probe went unanswered"
									: "the probe went unanswered");
			return 0;
		}
		return ps->probes < PROBE_COUNT && wall_ms - ps->probe_last >= PROBE_REPEAT_MS
			       ? probe_for(ps, "no answer yet, again")
			       : 0;
	}
	/* We sent data and nothing came back: ask at once (this catches
	 * links whose traffic was too short to be a flow). */
	if (ps->data_unanswered_since && wall_ms - ps->data_unanswered_since >= answer_wait(ps)) {
		ps->answer_probe = true;
		return probe_for(ps, "our data got no answer");
	}
	/* We sent anything (our facts) and nothing came back: WireGuard
	 * answers with a keepalive within 10 s. */
	if (ps->unanswered_since && wall_ms - ps->unanswered_since >= LINK_ANSWER_MS)
		return probe_for(ps, "nothing came back for 10 s");
	/* Traffic was flowing (either way) and nothing came for a while. */
	bool flowing = ps->rx_run >= LINK_FLOW_COUNT ||
		       (ps->tx_run >= LINK_FLOW_COUNT && wall_ms - ps->tx_at < LINK_FLOW_MS);
	if (flowing && wall_ms - ps->rx_at >= LINK_QUIET_MS)
		return probe_for(ps, "its traffic stopped");
	return 0;
}

/* Of `got` rx bytes, those beyond what our fact packets from the peer
 * took (`facts`). */
static uint64_t unexplained(uint64_t got, uint64_t facts)
{
	return got > facts ? got - facts : 0;
}

void peerstate_fact_in(struct peerstate *ps, size_t len)
{
	/* WireGuard's data message: a 16-byte header and tag around the
	 * inner packet (IPv6 and UDP headers and the payload) padded to 16
	 * bytes. Ours fit the minimum IPv6 MTU; a larger one (another
	 * implementation's) may go in two fragments. */
	uint64_t inner = 40 + 8 + (uint64_t)len;
	ps->fact_rx_bytes += 32 + (inner + 15) / 16 * 16 + (len > WIRE_MAX_PACKET ? 96 : 0);
}

bool peerstate_glance(struct peerstate *ps, const struct wg_peer *p)
{
	if (!ps->observed)
		return false;
	/* Counters that went back: a peer made anew, worth a look. */
	bool renewed = p->rx_bytes < ps->glance_rx;
	uint64_t got = renewed ? 0 : p->rx_bytes - ps->glance_rx;
	uint64_t data = unexplained(got, ps->fact_rx_bytes - ps->glance_fact_bytes);
	ps->glance_rx = p->rx_bytes;
	ps->glance_fact_bytes = ps->fact_rx_bytes;
	return renewed || (data && !wireguard_only(data));
}

static unsigned transition(bool *flag, bool now, unsigned on, unsigned off)
{
	if (*flag == now)
		return 0;
	*flag = now;
	return now ? on : off;
}

unsigned peerstate_observe(struct peerstate *ps, const struct wg_peer *p, int64_t wall_ms)
{
	/* The first look has nothing to compare with: an old handshake seen at
	 * start-up has not "advanced". */
	/* Counters that went back belong to a peer made anew (see renew_peer
	 * in engine.c): count from there. */
	if (p->rx_bytes < ps->rx_bytes || p->tx_bytes < ps->tx_bytes) {
		ps->rx_bytes = p->rx_bytes;
		ps->tx_bytes = p->tx_bytes;
	}
	bool advanced = ps->observed && (p->last_handshake_sec > ps->handshake_sec ||
					 (p->last_handshake_sec == ps->handshake_sec &&
					  p->last_handshake_nsec > ps->handshake_nsec));
	/* Keepalives (32 bytes each, e.g. a persistent keepalive) get no
	 * answer from a live peer: they do not count as sending. */
	uint64_t sent = p->tx_bytes - ps->tx_bytes;
	bool keepalives = sent % 32 == 0 && sent <= 3 * 32;
	if (!ps->observed || p->rx_bytes != ps->rx_bytes)
		ps->unanswered_since = 0;
	else if (!keepalives && !ps->unanswered_since)
		ps->unanswered_since = wall_ms;
	bool stalled = !ps->answers && ps->unanswered_since &&
		       wall_ms - ps->unanswered_since >= LINK_STALL_MS;
	/* User traffic: moved, and not only by fact packets, keepalives or
	 * handshakes. */
	uint64_t got = p->rx_bytes - ps->rx_bytes;
	bool user = ps->observed && !ps->tunnel_quiet;
	bool rx_moved = user && !ps->fact_rx && !wireguard_only(got);
	bool tx_moved = user && !ps->fact_tx && !wireguard_only(sent);
	ps->sent_data = tx_moved;
	ps->sent_any = sent > 0;
	ps->probe_tx_seen |= sent > 0;
	uint64_t data = unexplained(got, ps->fact_rx_bytes);
	ps->got_data = ps->observed && data && !wireguard_only(data);
	ps->got_any = got > 0;
	/* Our data is answered by anything but its fact packets (its data,
	 * WireGuard's keepalive or handshake): its facts and probes come on
	 * their own, and prove only their own direction (a one-way cut). */
	if (data)
		ps->data_unanswered_since = 0;
	else if (tx_moved && !ps->data_unanswered_since)
		ps->data_unanswered_since = wall_ms ? wall_ms : 1;
	ps->fact_rx = ps->fact_tx = 0;
	ps->tunnel_quiet = false;
	ps->rx_bytes = ps->glance_rx = p->rx_bytes;
	ps->fact_rx_bytes = ps->glance_fact_bytes = 0;
	ps->tx_bytes = p->tx_bytes;
	ps->observed = true;
	ps->handshake_sec = p->last_handshake_sec;
	ps->handshake_nsec = p->last_handshake_nsec;
	int64_t hs_ms = p->last_handshake_sec * 1000 + p->last_handshake_nsec / 1000000;
	bool recent = p->last_handshake_sec != 0 && wall_ms - hs_ms < HANDSHAKE_VALIDITY_MS;
	ps->has_endpoint = p->endpoint.addr.sa_family != AF_UNSPEC;
	ps->hs_ok = ps->has_endpoint && (recent || advanced);
	unsigned probe = ps->answers ? watch_link(ps, got && ps->observed, rx_moved, tx_moved, advanced, wall_ms) : 0;
	bool healthy = ps->hs_ok && !stalled && !(ps->answers && ps->dead);
	unsigned ev = transition(&ps->healthy, healthy, PEER_EV_HEALTHY, PEER_EV_UNHEALTHY);
	if (ev & PEER_EV_HEALTHY)
		link_works(ps, &p->endpoint);
	else if (healthy && p->endpoint.addr.sa_family != AF_UNSPEC) /* it roamed */
		peerstate_endpoint_from_wg(&p->endpoint, &ps->good);
	return ev | probe;
}

const char *peerstate_down_why(const struct peerstate *ps)
{
	if (!ps)
		return "gone";
	if (ps->answers && ps->dead && ps->down_why)
		return ps->down_why;
	if (!ps->has_endpoint)
		return "no endpoint";
	return ps->hs_ok ? "nothing came back" : "no recent handshake";
}

unsigned peerstate_suspect(struct peerstate *ps, int64_t wall_ms)
{
	ps->send_failed_at = wall_ms ? wall_ms : 1;
	if (!ps->answers || !ps->healthy || ps->dead || ps->probe_at ||
	    (ps->suspect_at && wall_ms - ps->suspect_at < SUSPECT_MIN_MS))
		return 0;
	ps->suspect_at = wall_ms ? wall_ms : 1;
	return probe_for(ps, "this host refused sends into the tunnel");
}

unsigned peerstate_dropped(struct peerstate *ps, int64_t wall_ms)
{
	if (!ps->answers || !ps->healthy || ps->dead)
		return 0;
	/* It sends to us through the router: it fell back, so this link is
	 * no use now. A probe at once brings it back if that was wrong. */
	link_dies(ps, wall_ms, "arrivals were dropped: it may have fallen back");
	ps->healthy = false;
	return PEER_EV_UNHEALTHY | probe_for(ps, "arrivals were dropped");
}

void peerstate_probe_sent(struct peerstate *ps, int64_t wall_ms)
{
	if (ps->dead) {
		int64_t w = (ps->revive_ms ? ps->revive_ms : REVIVE_MS) * 2;
		ps->revive_ms = w < REVIVE_MAX_MS ? w : REVIVE_MAX_MS;
	}
	if (!ps->probe_at) {
		ps->probe_at = wall_ms ? wall_ms : 1;
		ps->probes = 0;
		ps->probe_tx_seen = false;
	}
	ps->probe_last = wall_ms;
	ps->probes++;
	ps->probe_why = NULL; /* said; a probe asked elsewhere has its own log */
	ps->rx_run = ps->tx_run = 0; /* the probe and its answer are no flow */
}

unsigned peerstate_heard(struct peerstate *ps, unsigned ttl)
{
	if (ttl != PROBE_TTL && ttl != PROBE_ANSWER_TTL)
		return 0;
	ps->answers = true;
	if (ttl == PROBE_TTL)
		return 0; /* a probe of its own proves only its direction */
	if (ps->answer_probe && ps->probe_at) {
		/* Our data gets no answer but our probe does: a one-way
		 * stream. Ask less often while it lasts. */
		int64_t w = answer_wait(ps) * 2;
		ps->answer_wait = w < LINK_ANSWER_MS ? w : LINK_ANSWER_MS;
		ps->data_unanswered_since = 0;
	}
	ps->answer_probe = false;
	ps->probe_at = 0;
	ps->dead = false;
	ps->revive_ms = 0;
	ps->rx_run = ps->tx_run = 0;
	unsigned ev = transition(&ps->healthy, ps->hs_ok, PEER_EV_HEALTHY, PEER_EV_UNHEALTHY);
	if (ev & PEER_EV_HEALTHY) {
		if (ps->current >= 0)
			ps->tried[ps->current].result = TRY_ANSWERED;
		link_works(ps, &(union wg_endpoint){ .addr.sa_family = AF_UNSPEC });
	}
	return ev;
}

int64_t peerstate_next_look(const struct peerstate *ps)
{
	int64_t at = INT64_MAX;
	/* The handshake ages out: healthy turns unhealthy by time alone. */
	if (ps->hs_ok && ps->handshake_sec != 0) {
		int64_t hs_ms = ps->handshake_sec * 1000 + ps->handshake_nsec / 1000000;
		at = hs_ms + HANDSHAKE_VALIDITY_MS;
	}
	/* We sent and heard nothing: a probe (or, for the original, a stall)
	 * is due when that has lasted long enough. */
	/* A dead link's next probe. */
	if (ps->answers && ps->dead && ps->has_endpoint) {
		int64_t due = ps->probe_last + revive_wait(ps, ps->probe_last);
		if (due < at)
			at = due;
	}
	if (ps->answers && ps->data_unanswered_since && ps->data_unanswered_since + answer_wait(ps) < at)
		at = ps->data_unanswered_since + answer_wait(ps);
	if (ps->unanswered_since) {
		int64_t due = ps->unanswered_since + (ps->answers ? LINK_ANSWER_MS : LINK_STALL_MS);
		if (due < at)
			at = due;
	}
	return at;
}

bool peerstate_watching(const struct peerstate *ps, int64_t wall_ms)
{
	return ps->answers && ps->healthy &&
	       (ps->probe_at || (ps->rx_run && wall_ms - ps->user_rx_at <= LINK_FLOW_MS + LINK_QUIET_MS) ||
		(ps->tx_run && wall_ms - ps->tx_at <= LINK_FLOW_MS));
}

void peerstate_host_moved(struct peerstate *ps)
{
	if (ps->healthy)
		return;
	ps->attempt_until = ps->round_start = ps->retry_at = INT64_MIN;
	ps->retry_ms = 0;
}

unsigned peerstate_alive(struct peerstate *ps, const uint8_t boot_id[static WIRE_BOOT_ID_LEN],
			 int64_t expires, int64_t now)
{
	unsigned ev = 0;
	if (expires <= now)
		return peerstate_tick(ps, now);
	if (ps->has_boot_id && memcmp(ps->boot_id, boot_id, WIRE_BOOT_ID_LEN) != 0) {
		ev |= PEER_EV_REBOOTED;
		ps->alive_since = now; /* a new life */
	}
	memcpy(ps->boot_id, boot_id, WIRE_BOOT_ID_LEN);
	ps->has_boot_id = true;
	if (!ps->alive)
		ps->alive_since = now;
	if (expires > ps->alive_until || (ev & PEER_EV_REBOOTED))
		ps->alive_until = expires;
	return ev | transition(&ps->alive, true, PEER_EV_ALIVE, PEER_EV_DEAD);
}

unsigned peerstate_tick(struct peerstate *ps, int64_t now)
{
	return transition(&ps->alive, ps->alive && now < ps->alive_until, PEER_EV_ALIVE, PEER_EV_DEAD);
}

static bool loggable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

void peerstate_set_meta(struct peerstate *ps, const struct wire_view *meta)
{
	struct meta_entries m;
	if (meta_parse(meta->data, meta->len, &m) != WIRE_OK)
		return;
	struct wire_view name = meta_get(&m, META_NAME), basic = meta_get(&m, META_BASIC);
	if (name.len > 0 && name.len < sizeof(ps->name) && loggable(name.data, name.len)) {
		memcpy(ps->name, name.data, name.len);
		ps->name[name.len] = '\0';
	}
	if (basic.len == 1)
		ps->basic = basic.data[0] == 1;
}

bool peerstate_alive_for(const struct peerstate *ps, int64_t now, int64_t ms)
{
	return ps->alive && now < ps->alive_until && ps->alive_until - now >= ms;
}

bool peerstate_alive_since(const struct peerstate *ps, int64_t now, int64_t ms)
{
	return ps->alive && now < ps->alive_until && now - ps->alive_since >= ms;
}

static bool v4_in(const uint8_t *a, uint8_t b0, uint8_t b1, unsigned bits)
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16;
	uint32_t n = (uint32_t)b0 << 24 | (uint32_t)b1 << 16;
	uint32_t mask = ~UINT32_C(0) << (32 - bits);
	return (v & mask) == (n & mask);
}

static bool on_subnet(const struct peer_endpoint *e, const struct netif_addr *a)
{
	int family = e->attr == WIRE_ENDPOINT_V4 ? AF_INET : AF_INET6;
	if (a->family != family)
		return false;
	const uint8_t *n = a->family == AF_INET ? (const uint8_t *)&a->ip4 : (const uint8_t *)&a->ip6;
	unsigned width = family == AF_INET ? 32 : 128, bits = a->prefix;
	if (bits >= width)
		return false; /* a host route names no LAN */
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(e->ep.addr, n, full))
		return false;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return !rest || (e->ep.addr[full] & mask) == (n[full] & mask);
}

static bool same_addr(const struct peer_endpoint *e, const struct netif_addr *a)
{
	int family = e->attr == WIRE_ENDPOINT_V4 ? AF_INET : AF_INET6;
	const void *n = family == AF_INET ? (const void *)&a->ip4 : (const void *)&a->ip6;
	return a->family == family && !memcmp(e->ep.addr, n, family == AF_INET ? 4 : 16);
}

/* Global unicast IPv6 (2000::/3): a way out without NAT. */
static bool global6(const uint8_t *a)
{
	return (a[0] & 0xe0) == 0x20;
}

/* What our host's interfaces say about e: one of ours, on one of our
 * subnets (up interfaces only), and whether we have a global IPv6 address. */
static void host_view(const struct peer_endpoint *e, const struct netif_list *host, bool link_local,
		      bool *own, bool *lan, bool *have6)
{
	*own = *lan = *have6 = false;
	for (size_t i = 0; i < host->n; i++)
		for (size_t k = 0; k < host->ifs[i].n_addrs; k++) {
			const struct netif_addr *a = &host->ifs[i].addrs[k];
			*own |= same_addr(e, a);
			if (!host->ifs[i].up)
				continue;
			*lan |= !link_local && on_subnet(e, a);
			*have6 |= a->family == AF_INET6 && global6((const uint8_t *)&a->ip6);
		}
}

enum endpoint_rank peerstate_rank(const struct peer_endpoint *e, const struct netif_list *host)
{
	const uint8_t *a = e->ep.addr;
	bool v4 = e->attr == WIRE_ENDPOINT_V4;
	/* Link-local (IPv6 fe80::/10, IPv4 169.254/16) has no LAN meaning
	 * without a scope: never ranked as LAN. */
	bool link_local = v4 ? a[0] == 169 && a[1] == 254 : a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
	bool own = false, lan = false, have6 = true; /* no host: no news */
	if (host)
		host_view(e, host, link_local, &own, &lan, &have6);
	if (own)
		return EP_RANK_OWN;
	if (lan)
		return EP_RANK_LAN;
	if (v4)
		return v4_in(a, 10, 0, 8) || v4_in(a, 172, 16, 12) || v4_in(a, 192, 168, 16) ||
				       v4_in(a, 100, 64, 10) || link_local
			       ? EP_RANK_PRIVATE
			       : EP_RANK_PUBLIC4;
	if ((a[0] & 0xfe) == 0xfc || link_local)
		return EP_RANK_PRIVATE;
	return have6 ? EP_RANK_GLOBAL6 : EP_RANK_NO_ROUTE;
}

void peerstate_try_held(struct peerstate *ps, int64_t ms)
{
	if (ps->current >= 0 && ps->attempt_until != INT64_MIN) {
		ps->attempt_until += ms;
		ps->cut_at += ms;
	}
}

const char *peerstate_rank_name(enum endpoint_rank r)
{
	static const char *const names[EP_RANK_COUNT] = {
		[EP_RANK_LAN] = "lan",		   [EP_RANK_GLOBAL6] = "global-ipv6",
		[EP_RANK_PUBLIC4] = "public-ipv4", [EP_RANK_PRIVATE] = "private",
		[EP_RANK_NO_ROUTE] = "no-route",   [EP_RANK_OWN] = "own-address",
	};
	return (unsigned)r < EP_RANK_COUNT ? names[r] : "?";
}

int peerstate_tried(const struct peerstate *ps, const struct peer_endpoint *e, int64_t *at,
		    enum try_result *result)
{
	int i = find_try(ps, e);
	if (i < 0)
		return 0;
	*at = ps->tried[i].at;
	*result = (enum try_result)ps->tried[i].result;
	return 1;
}

static int record_try(struct peerstate *ps, const struct peer_endpoint *e, int64_t now)
{
	int slot = find_try(ps, e);
	if (slot < 0 && ps->n_tried < PEERSTATE_MAX_TRIED) {
		slot = (int)ps->n_tried++;
	} else if (slot < 0) {
		slot = 0; /* forget the longest-ago try */
		for (size_t i = 1; i < ps->n_tried; i++)
			if (ps->tried[i].at < ps->tried[slot].at)
				slot = (int)i;
	}
	ps->tried[slot].e = *e;
	ps->tried[slot].at = now;
	ps->tried[slot].result = TRY_PENDING;
	ps->current = slot;
	return slot;
}

/* Whether the candidate went unanswered at its last try. */
static bool unanswered(const struct peerstate *ps, const struct peer_endpoint *e)
{
	int t = find_try(ps, e);
	return t >= 0 && ps->tried[t].result == TRY_UNANSWERED;
}

/* Whether candidate i goes before candidate j: the endpoint of the last
 * healthy link, then what did not go unanswered, then by rank. */
static bool better(const struct peerstate *ps, const struct peer_endpoint *c,
		   const enum endpoint_rank *ranks, size_t i, size_t j)
{
	bool gi = ps->has_good && peerstate_same_endpoint(&c[i], &ps->good);
	bool gj = ps->has_good && peerstate_same_endpoint(&c[j], &ps->good);
	if (gi != gj)
		return gi;
	bool ui = unanswered(ps, &c[i]), uj = unanswered(ps, &c[j]);
	if (ui != uj)
		return uj;
	if (ranks && ranks[i] != ranks[j])
		return ranks[i] < ranks[j];
	return i < j;
}

/* The best candidate not yet tried in this pass (only_new: never tried),
 * or -1; *fresh gets how many there are. */
static int best_fresh(const struct peerstate *ps, const struct peer_endpoint *c,
		      const enum endpoint_rank *ranks, size_t n, bool only_new, bool retry_best,
		      size_t *fresh)
{
	int pick = -1;
	*fresh = 0;
	for (size_t i = 0; i < n; i++) {
		int t = find_try(ps, &c[i]);
		if (only_new ? t >= 0 : !retry_best && t >= 0 && ps->tried[t].at >= ps->pass_start)
			continue;
		(*fresh)++;
		if (pick < 0 || better(ps, c, ranks, i, (size_t)pick))
			pick = (int)i;
	}
	return pick;
}

/* A new round: everything is fresh; a quick pass first when it helps. */
static void new_round(struct peerstate *ps, int64_t now, bool quick)
{
	ps->round_start = ps->pass_start = now;
	ps->retry_at = INT64_MIN;
	ps->retry_ms = 0;
	ps->quick_pass = quick;
	ps->quick_left = ENDPOINT_QUICK_MAX;
}

/* Every candidate of this round failed: back off, quietly. */
static void round_failed(struct peerstate *ps, int64_t now, unsigned *events)
{
	ps->retry_ms = ENDPOINT_RETRY_MS;
	ps->retry_at = now + ps->retry_ms;
	ps->attempt_until = INT64_MIN;
	if (events && !ps->said_no_direct)
		*events |= PEER_EV_NO_DIRECT;
	ps->said_no_direct = true;
}

/* A new candidate never tried, while a quick peer's try has had its quick
 * time: it need not wait out a slow try (the candidates of a peer come in
 * one by one, the router's observation first). */
static bool newcomer(const struct peerstate *ps, const struct peer_endpoint *c, size_t n, int64_t now,
		     bool quick)
{
	if (!quick || ps->current < 0 || ps->retry_at != INT64_MIN || now < ps->cut_at || n <= ps->n_cand)
		return false;
	for (size_t i = 0; i < n; i++)
		if (find_try(ps, &c[i]) < 0)
			return true;
	return false;
}

int peerstate_next_endpoint(struct peerstate *ps, const struct peer_endpoint *c,
			    const enum endpoint_rank *ranks, size_t n, int64_t now, bool quick,
			    unsigned *events)
{
	bool restart = n > 0 && now < ps->attempt_until && newcomer(ps, c, n, now, quick);
	if (n == 0 || (now < ps->attempt_until && !restart))
		return -1;
	/* The try that just ended went unanswered (an answer would have made
	 * the peer healthy and ended the round). */
	if (ps->current >= 0 && ps->tried[ps->current].result == TRY_PENDING)
		ps->tried[ps->current].result = TRY_UNANSWERED;
	ps->current = -1;
	bool never_tried = false;
	for (size_t i = 0; i < n; i++)
		never_tried |= find_try(ps, &c[i]) < 0;
	/* After a failed round: a candidate never tried goes at once, the
	 * best is tried again when the back-off ends, all of them again after
	 * ENDPOINT_ROUND_MS. */
	bool failed = ps->retry_at != INT64_MIN, only_new = false, retry_best = false;
	if (failed && never_tried)
		only_new = true;
	else if (failed && now - ps->round_start >= ENDPOINT_ROUND_MS)
		failed = false;
	else if (failed && now >= ps->retry_at)
		retry_best = true;
	else if (failed)
		return -1;
	bool first = ps->round_start == INT64_MIN || (ps->retry_at != INT64_MIN && !failed) || restart;
	if (first)
		new_round(ps, now, quick);
	size_t fresh;
	int pick = best_fresh(ps, c, ranks, n, only_new, retry_best, &fresh);
	/* The quick pass: while it may, and while two or more are left (the
	 * last one left goes on to the slow pass, which starts with the best). */
	bool was_quick = ps->quick_pass;
	ps->quick_pass = was_quick && quick && !only_new && !retry_best && ps->quick_left > 0 &&
			 (fresh >= 2 || (pick >= 0 && !first));
	if (was_quick && !ps->quick_pass && !only_new && !retry_best) {
		ps->pass_start = now; /* the slow pass: everything is fresh again */
		pick = best_fresh(ps, c, ranks, n, false, false, &fresh);
		first = true;
	}
	if (pick < 0) {
		round_failed(ps, now, events);
		return -1;
	}
	if (retry_best) {
		ps->retry_ms = ps->retry_ms * 2 > ENDPOINT_RETRY_MAX_MS ? ENDPOINT_RETRY_MAX_MS : ps->retry_ms * 2;
		ps->retry_at = now + ps->retry_ms;
	}
	int64_t ms = ps->quick_pass ? ENDPOINT_QUICK_MS
		     : first || retry_best || only_new ? ENDPOINT_FIRST_TRY_MS
						       : ENDPOINT_TRY_MS;
	if (ps->quick_pass)
		ps->quick_left--;
	ps->attempt_until = now + ms;
	ps->cut_at = now + ENDPOINT_QUICK_MS;
	ps->n_cand = n;
	record_try(ps, &c[pick], now);
	return pick;
}

const char *peerstate_event_text(unsigned ev, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *text;
	} words[] = {
		{ PEER_EV_REBOOTED, "restarted" }, { PEER_EV_HEALTHY, "healthy" },
		{ PEER_EV_UNHEALTHY, "unhealthy" }, { PEER_EV_ALIVE, "alive" },
		{ PEER_EV_DEAD, "no longer alive" },
	};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!(ev & words[i].bit))
			continue;
		int n = snprintf(buf + used, cap - used, "%s%s", used ? " and " : "", words[i].text);
		if (n < 0 || (size_t)n >= cap - used) {
			buf[used] = '\0'; /* whole words only */
			break;
		}
		used += (size_t)n;
	}
	return buf;
}
