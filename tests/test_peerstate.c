/* Peer state with a fake clock: health exactly at the validity edge, the
 * "handshake advanced" rule, alive edges and boot ids, endpoint choice and
 * link probes. */
#include "helpers.h"

#include "core/peerstate.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t key[32] = { 7 };

static struct wg_peer peer_with(int64_t hs_sec, bool endpoint)
{
	struct wg_peer p = { .last_handshake_sec = hs_sec };
	if (endpoint) {
		p.endpoint.addr4.sin_family = AF_INET;
		p.endpoint.addr4.sin_port = htons(51820);
	}
	return p;
}

/* A peer with a fresh handshake (hs) whose daemon answers probes, seen at t. */
static void answering(struct peerstate *ps, struct wg_peer *p, int64_t hs, int64_t t)
{
	peerstate_init(ps, key);
	*p = peer_with(hs, true);
	assert_int_equal(peerstate_observe(ps, p, t), PEER_EV_HEALTHY);
	peerstate_heard(ps, PROBE_ANSWER_TTL);
}

/* A peer that answers probes, suspected (a failed send) at T + 40 s and
 * probed then; the probe's time. */
static int64_t suspect_probed(struct peerstate *ps, struct wg_peer *p, int64_t hs, int64_t t)
{
	answering(ps, p, hs, t);
	assert_int_equal(peerstate_suspect(ps, t + 40000), PEER_EV_PROBE);
	peerstate_probe_sent(ps, t + 40000);
	return t + 40000;
}

/* A link that stops answering is unhealthy after LINK_STALL_MS, long before
 * its handshake runs out; anything received clears it. Idle links (nothing
 * sent) are judged by the handshake alone. */
static void test_stalled_link(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	const int64_t hs = 1700000000, t = hs * 1000;
	struct wg_peer p = peer_with(hs, true);
	p.rx_bytes = 1000;
	p.tx_bytes = 1000;
	assert_int_equal(peerstate_observe(&ps, &p, t), PEER_EV_HEALTHY);
	/* Idle: nothing sent, nothing received. */
	assert_int_equal(peerstate_observe(&ps, &p, t + 60000), 0);
	/* Keepalives (32 bytes) get no answer from a live peer: not counted. */
	for (int i = 1; i <= 20; i++) {
		p.tx_bytes += 32;
		assert_int_equal(peerstate_observe(&ps, &p, t + 60000 + i * 5000 / 2), 0);
	}
	/* Sent, answered within the stall time: still healthy. */
	p.tx_bytes += 100;
	assert_int_equal(peerstate_observe(&ps, &p, t + 61000), 0);
	p.rx_bytes += 32;
	assert_int_equal(peerstate_observe(&ps, &p, t + 61000 + LINK_STALL_MS), 0);
	/* Sent, never answered (and sending again does not restart the wait). */
	p.tx_bytes += 100;
	assert_int_equal(peerstate_observe(&ps, &p, t + 100000), 0);
	p.tx_bytes += 100;
	assert_int_equal(peerstate_observe(&ps, &p, t + 100000 + LINK_STALL_MS - 1), 0);
	assert_int_equal(peerstate_observe(&ps, &p, t + 100000 + LINK_STALL_MS), PEER_EV_UNHEALTHY);
	/* Something comes back: healthy again (the handshake is still valid). */
	p.rx_bytes += 92;
	assert_int_equal(peerstate_observe(&ps, &p, t + 140000), PEER_EV_HEALTHY);
}

static void test_health_edges(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	const int64_t hs = 1700000000; /* wall seconds */
	struct wg_peer p = peer_with(hs, true);
	/* Younger than 165.334 s: healthy; at exactly the validity: not. */
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000 + HANDSHAKE_VALIDITY_MS - 1),
			 PEER_EV_HEALTHY);
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000 + HANDSHAKE_VALIDITY_MS),
			 PEER_EV_UNHEALTHY);
	assert_false(ps.healthy);
	/* The handshake advanced since we last looked: healthy even if the
	 * wall clock says it is old (clock jumped). */
	p.last_handshake_nsec = 1;
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000 + 10 * HANDSHAKE_VALIDITY_MS),
			 PEER_EV_HEALTHY);
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000 + 10 * HANDSHAKE_VALIDITY_MS),
			 PEER_EV_UNHEALTHY); /* no further advance */
	/* No endpoint: never healthy. */
	struct wg_peer none = peer_with(hs + 100, false);
	assert_int_equal(peerstate_observe(&ps, &none, hs * 1000 + 100000), 0);
	assert_false(ps.healthy);
	/* Never a handshake: not healthy. */
	struct peerstate fresh;
	peerstate_init(&fresh, key);
	struct wg_peer never = peer_with(0, true);
	assert_int_equal(peerstate_observe(&fresh, &never, 1000), 0);
	/* A handshake that appears after we saw none did advance. */
	struct wg_peer old = peer_with(hs, true);
	assert_int_equal(peerstate_observe(&fresh, &old, (hs + 3600) * 1000), PEER_EV_HEALTHY);
	/* But an old handshake seen on the very first look did not. */
	struct peerstate first;
	peerstate_init(&first, key);
	assert_int_equal(peerstate_observe(&first, &old, (hs + 3600) * 1000), 0);
	assert_false(first.healthy);
}

/* When a look at the device is next due by time alone: the handshake
 * ageing out (exactly when healthy would turn unhealthy), or an unanswered
 * send due for a probe (answering peers) or a stall (the original). */
static void test_next_look(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	assert_int_equal(peerstate_next_look(&ps), INT64_MAX); /* never looked */
	const int64_t hs = 1700000000, t = hs * 1000;
	struct wg_peer p = peer_with(hs, true);
	p.rx_bytes = p.tx_bytes = 1000;
	assert_int_equal(peerstate_observe(&ps, &p, t + 1000), PEER_EV_HEALTHY);
	int64_t at = peerstate_next_look(&ps);
	assert_int_equal(at, t + HANDSHAKE_VALIDITY_MS);
	assert_int_equal(peerstate_observe(&ps, &p, at - 1), 0);
	assert_int_equal(peerstate_observe(&ps, &p, at), PEER_EV_UNHEALTHY);
	/* Sent and heard nothing: the stall is due LINK_STALL_MS on. */
	p.last_handshake_sec = hs + 200;
	assert_int_equal(peerstate_observe(&ps, &p, t + 201000), PEER_EV_HEALTHY);
	p.tx_bytes += 100;
	assert_int_equal(peerstate_observe(&ps, &p, t + 202000), 0);
	assert_int_equal(peerstate_next_look(&ps), t + 202000 + LINK_STALL_MS);
	/* A peer that answers probes: user data unanswered is asked about
	 * LINK_ANSWER_MIN_MS on (our own facts, LINK_ANSWER_MS on). */
	peerstate_heard(&ps, PROBE_TTL);
	assert_int_equal(peerstate_next_look(&ps), t + 202000 + LINK_ANSWER_MIN_MS);
	ps.data_unanswered_since = 0;
	assert_int_equal(peerstate_next_look(&ps), t + 202000 + LINK_ANSWER_MS);
	/* No endpoint: nothing ages. */
	struct peerstate none;
	peerstate_init(&none, key);
	struct wg_peer q = peer_with(hs, false);
	assert_int_equal(peerstate_observe(&none, &q, t + 1000), 0);
	assert_int_equal(peerstate_next_look(&none), INT64_MAX);
}

static void test_alive_edges(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	uint8_t boot1[16] = { 1 }, boot2[16] = { 2 };
	assert_int_equal(peerstate_alive(&ps, boot1, 10000, 1000), PEER_EV_ALIVE);
	assert_int_equal(ps.alive_since, 1000);
	assert_int_equal(peerstate_alive(&ps, boot1, 12000, 2000), 0);
	assert_int_equal(ps.alive_until, 12000);
	assert_int_equal(peerstate_alive(&ps, boot1, 11000, 3000), 0); /* earlier: kept */
	assert_int_equal(ps.alive_until, 12000);
	assert_true(peerstate_alive_for(&ps, 2000, 10000));
	assert_false(peerstate_alive_for(&ps, 2001, 10000));
	assert_true(peerstate_alive_since(&ps, 6000, 5000));
	assert_false(peerstate_alive_since(&ps, 5999, 5000));
	assert_int_equal(peerstate_tick(&ps, 11999), 0);
	assert_int_equal(peerstate_tick(&ps, 12000), PEER_EV_DEAD); /* exactly at expiry */
	assert_false(peerstate_alive_for(&ps, 12000, 0));
	/* Back with the same boot id: alive again, no restart. */
	assert_int_equal(peerstate_alive(&ps, boot1, 30000, 20000), PEER_EV_ALIVE);
	assert_int_equal(ps.alive_since, 20000);
	/* A new boot id: restarted (knowledge must be forgotten), a new life. */
	assert_int_equal(peerstate_alive(&ps, boot2, 25000, 21000), PEER_EV_REBOOTED);
	assert_int_equal(ps.alive_since, 21000);
	assert_int_equal(ps.alive_until, 25000);
	/* An Alive that has already expired does not make it alive. */
	struct peerstate other;
	peerstate_init(&other, key);
	assert_int_equal(peerstate_alive(&other, boot1, 500, 500), 0);
	assert_false(other.alive);
}

static struct peer_endpoint ep6(uint8_t first, uint8_t last, uint16_t port)
{
	struct peer_endpoint e = { .attr = WIRE_ENDPOINT_V6 };
	e.ep.addr[0] = first;
	e.ep.addr[1] = first == 0x20 ? 0x01 : 0;
	e.ep.addr[15] = last;
	e.ep.port = port;
	return e;
}

static struct peer_endpoint ep4at(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct peer_endpoint e = { .attr = WIRE_ENDPOINT_V4 };
	memcpy(e.ep.addr, (uint8_t[]){ a, b, c, d }, 4);
	e.ep.port = port;
	return e;
}

/* Our host: eth0 up with 192.168.1.5/24, fd00:1::5/64 and
 * 2001:db8:1::5/64; a down interface on 10.9.0.1/24 names no LAN. */
static struct netif_list *host_fixture(struct netif *ifs, struct netif_addr *addrs)
{
	static struct netif_list l;
	static const struct {
		int family;
		const char *ip;
		uint8_t prefix;
	} a[4] = { { AF_INET, "192.168.1.5", 24 },
		   { AF_INET6, "fd00:1::5", 64 },
		   { AF_INET6, "2001:db8:1::5", 64 },
		   { AF_INET, "10.9.0.1", 24 } };
	for (size_t i = 0; i < 4; i++) {
		addrs[i] = (struct netif_addr){ .family = a[i].family, .prefix = a[i].prefix };
		inet_pton(a[i].family, a[i].ip, &addrs[i].ip6);
	}
	ifs[0] = (struct netif){ .name = "eth0", .index = 2, .up = true, .addrs = addrs, .n_addrs = 3 };
	ifs[1] = (struct netif){ .name = "eth1", .index = 3, .up = false, .addrs = addrs + 3, .n_addrs = 1 };
	l = (struct netif_list){ .ifs = ifs, .n = 2 };
	return &l;
}

static void test_endpoint_rank(void **state)
{
	(void)state;
	struct netif ifs[2];
	struct netif_addr addrs[4];
	struct netif_list *host = host_fixture(ifs, addrs);
	struct peer_endpoint lan = ep4at(192, 168, 1, 9, 1), lan6 = ep6(0xfd, 9, 1);
	lan6.ep.addr[3] = 1; /* fd00:1::9 */
	assert_int_equal(peerstate_rank(&lan, host), EP_RANK_LAN);
	assert_int_equal(peerstate_rank(&lan6, host), EP_RANK_LAN);
	/* Private but not on our subnets (the down interface does not count). */
	struct peer_endpoint other = ep4at(10, 9, 0, 7, 1), cgnat = ep4at(100, 64, 3, 3, 1),
			     rfc = ep4at(172, 20, 0, 1, 1), ula = ep6(0xfc, 1, 1);
	assert_int_equal(peerstate_rank(&other, host), EP_RANK_PRIVATE);
	assert_int_equal(peerstate_rank(&cgnat, host), EP_RANK_PRIVATE);
	assert_int_equal(peerstate_rank(&rfc, host), EP_RANK_PRIVATE);
	assert_int_equal(peerstate_rank(&ula, host), EP_RANK_PRIVATE);
	struct peer_endpoint g6 = ep6(0x20, 1, 1), pub = ep4at(203, 0, 113, 7, 1);
	assert_int_equal(peerstate_rank(&g6, host), EP_RANK_GLOBAL6);
	assert_int_equal(peerstate_rank(&pub, host), EP_RANK_PUBLIC4);
	/* Without host information nothing is LAN. */
	assert_int_equal(peerstate_rank(&lan, NULL), EP_RANK_PRIVATE);
	assert_int_equal(peerstate_rank(&g6, NULL), EP_RANK_GLOBAL6);
	/* Our own address (docker0's 172.17.0.1 on both hosts): it is us, even
	 * on a down interface. */
	struct peer_endpoint self = ep4at(192, 168, 1, 5, 1), self_down = ep4at(10, 9, 0, 1, 1);
	assert_int_equal(peerstate_rank(&self, host), EP_RANK_OWN);
	assert_int_equal(peerstate_rank(&self_down, host), EP_RANK_OWN);
	/* Global IPv6 with no global IPv6 address of ours: no way there. */
	ifs[0].n_addrs = 2;
	assert_int_equal(peerstate_rank(&g6, host), EP_RANK_NO_ROUTE);
	assert_int_equal(peerstate_rank(&ula, host), EP_RANK_PRIVATE);
	ifs[0].n_addrs = 3;
	/* Our LAN even when it uses public addresses. */
	memcpy(&addrs[0].ip4, pub.ep.addr, 4);
	assert_int_equal(peerstate_rank(&pub, host), EP_RANK_OWN);
	pub.ep.addr[3]++;
	assert_int_equal(peerstate_rank(&pub, host), EP_RANK_LAN);
	/* Best first: LAN, global IPv6, public IPv4, another site's private
	 * address, unroutable, ourselves. */
	assert_true(EP_RANK_LAN < EP_RANK_GLOBAL6 && EP_RANK_GLOBAL6 < EP_RANK_PUBLIC4 &&
		    EP_RANK_PUBLIC4 < EP_RANK_PRIVATE && EP_RANK_PRIVATE < EP_RANK_NO_ROUTE &&
		    EP_RANK_NO_ROUTE < EP_RANK_OWN);
	assert_string_equal(peerstate_rank_name(EP_RANK_PRIVATE), "private");
	assert_string_equal(peerstate_rank_name(EP_RANK_OWN), "own-address");
	assert_string_equal(peerstate_rank_name(EP_RANK_COUNT), "?");
}

static int next_q(struct peerstate *ps, const struct peer_endpoint *c, size_t n,
		  const struct netif_list *host, int64_t now, bool quick, unsigned *ev)
{
	enum endpoint_rank r[32];
	assert_true(n <= 32);
	for (size_t i = 0; i < n; i++)
		r[i] = peerstate_rank(&c[i], host);
	*ev = 0;
	return peerstate_next_endpoint(ps, c, r, n, now, quick, ev);
}

/* A peer whose endpoint moves in place (it had a handshake): no quick pass. */
static int next(struct peerstate *ps, const struct peer_endpoint *c, size_t n,
		const struct netif_list *host, int64_t now, unsigned *ev)
{
	return next_q(ps, c, n, host, now, false, ev);
}

static enum try_result result_of(const struct peerstate *ps, const struct peer_endpoint *e)
{
	int64_t at;
	enum try_result r;
	assert_int_equal(peerstate_tried(ps, e, &at, &r), 1);
	return r;
}

/* Candidates in the order the facts give them (the router's observation
 * first): the LAN address goes first, then global IPv6, public IPv4,
 * another site's private address; each try is cut as soon as it failed;
 * then quiet back-off. */
static void test_endpoint_choice(void **state)
{
	(void)state;
	struct netif ifs[2];
	struct netif_addr addrs[4];
	struct netif_list *host = host_fixture(ifs, addrs);
	struct peerstate ps;
	peerstate_init(&ps, key);
	unsigned ev;
	struct peer_endpoint c[5] = { ep4at(203, 0, 113, 7, 40000), ep4at(10, 9, 0, 7, 51820),
				      ep4at(192, 168, 1, 9, 51820), ep6(0x20, 9, 51820),
				      ep4at(198, 51, 100, 9, 51820) };
	assert_int_equal(next(&ps, c, 0, host, 0, &ev), -1);
	assert_int_equal(next(&ps, c, 4, host, 0, &ev), 2); /* LAN */
	assert_int_equal(result_of(&ps, &c[2]), TRY_PENDING);
	assert_int_equal(next(&ps, c, 4, host, ENDPOINT_FIRST_TRY_MS - 1, &ev), -1);
	int64_t t = ENDPOINT_FIRST_TRY_MS;
	assert_int_equal(next(&ps, c, 4, host, t, &ev), 3); /* global IPv6 */
	assert_int_equal(result_of(&ps, &c[2]), TRY_UNANSWERED);
	assert_int_equal(next(&ps, c, 4, host, t + ENDPOINT_TRY_MS - 1, &ev), -1);
	t += ENDPOINT_TRY_MS;
	assert_int_equal(next(&ps, c, 4, host, t, &ev), 0); /* public IPv4 */
	t += ENDPOINT_TRY_MS;
	assert_int_equal(next(&ps, c, 4, host, t, &ev), 1); /* another site's private */
	t += ENDPOINT_TRY_MS;
	/* All failed: said once, then quiet until the back-off ends. */
	assert_int_equal(next(&ps, c, 4, host, t, &ev), -1);
	assert_int_equal(ev, PEER_EV_NO_DIRECT);
	assert_true(ps.retry_at != INT64_MIN); /* backing off: "no answer from 4 endpoints tried" */
	assert_int_equal(next(&ps, c, 4, host, t + 1, &ev), -1);
	assert_int_equal(ev, 0);
	assert_int_equal(next(&ps, c, 4, host, t + ENDPOINT_RETRY_MS - 1, &ev), -1);
	/* The retry tries the best one only, with a doubling back-off. */
	int64_t r = t + ENDPOINT_RETRY_MS;
	assert_int_equal(next(&ps, c, 4, host, r, &ev), 2);
	assert_int_equal(ev, 0);
	assert_int_equal(next(&ps, c, 4, host, r + ENDPOINT_FIRST_TRY_MS, &ev), -1);
	assert_int_equal(next(&ps, c, 4, host, r + 2 * ENDPOINT_RETRY_MS - 1, &ev), -1);
	assert_int_equal(next(&ps, c, 4, host, r + 2 * ENDPOINT_RETRY_MS, &ev), 2);
	int64_t r2 = r + 2 * ENDPOINT_RETRY_MS;
	/* A new candidate (the peer roamed) is tried at once, alone. */
	assert_int_equal(next(&ps, c, 5, host, r2 + ENDPOINT_FIRST_TRY_MS, &ev), 4);
	assert_int_equal(next(&ps, c, 5, host, r2 + 2 * ENDPOINT_FIRST_TRY_MS, &ev), -1);
	assert_int_equal(ev, 0);
	/* After ENDPOINT_ROUND_MS, a whole round again (all went unanswered:
	 * by rank). */
	assert_int_equal(next(&ps, c, 5, host, ENDPOINT_ROUND_MS, &ev), 2);
	assert_int_equal(next(&ps, c, 5, host, ENDPOINT_ROUND_MS + ENDPOINT_FIRST_TRY_MS, &ev), 3);
	assert_int_equal(ev, 0);
}

/* Dead candidates first in rank (another site on our LAN's subnet, our own
 * docker0 address): a peer renewed at each move gets a quick pass, every
 * candidate within ENDPOINT_QUICK_MS of the last, then the slow pass from
 * the best, then the back-off. */
static void test_endpoint_quick(void **state)
{
	(void)state;
	struct netif ifs[2];
	struct netif_addr addrs[4];
	struct netif_list *host = host_fixture(ifs, addrs);
	struct peerstate ps;
	peerstate_init(&ps, key);
	unsigned ev;
	struct peer_endpoint c[5] = { ep4at(203, 0, 113, 7, 40000), ep4at(10, 9, 0, 7, 51820),
				      ep4at(172, 20, 0, 1, 51820), ep4at(192, 168, 1, 5, 51820),
				      ep4at(192, 168, 1, 9, 51820) };
	static const int order[5] = { 4, 0, 1, 2, 3 }; /* LAN, public, private x2, own */
	int64_t t = 1000;
	assert_int_equal(next_q(&ps, c, 5, host, t, true, &ev), order[0]);
	for (int i = 1; i < 5; i++) {
		t += ENDPOINT_QUICK_MS;
		assert_int_equal(next_q(&ps, c, 5, host, t - 1, true, &ev), -1);
		assert_int_equal(next_q(&ps, c, 5, host, t, true, &ev), order[i]);
		assert_int_equal(result_of(&ps, &c[order[i - 1]]), TRY_UNANSWERED);
		assert_int_equal(ps.retry_at, INT64_MIN); /* still trying: no back-off */
	}
	/* The whole quick pass took 5 x ENDPOINT_QUICK_MS; the slow pass starts
	 * with the best, each try long enough for WireGuard's retry. */
	t = 1000 + 5 * ENDPOINT_QUICK_MS;
	assert_int_equal(next_q(&ps, c, 5, host, t, true, &ev), 4);
	assert_int_equal(ps.attempt_until, t + ENDPOINT_FIRST_TRY_MS);
	t += ENDPOINT_FIRST_TRY_MS;
	for (int i = 1; i < 5; i++, t += ENDPOINT_TRY_MS)
		assert_int_equal(next_q(&ps, c, 5, host, t, true, &ev), order[i]);
	assert_int_equal(next_q(&ps, c, 5, host, t, true, &ev), -1);
	assert_int_equal(ev, PEER_EV_NO_DIRECT);
	/* The retry after the back-off is the best alone, not a quick pass. */
	t += ENDPOINT_RETRY_MS;
	assert_int_equal(next_q(&ps, c, 5, host, t, true, &ev), 4);
	assert_int_equal(ps.attempt_until, t + ENDPOINT_FIRST_TRY_MS);

	/* One candidate: nothing to be quick about. */
	peerstate_init(&ps, key);
	assert_int_equal(next_q(&ps, c + 3, 1, host, 0, true, &ev), 0);
	assert_int_equal(ps.attempt_until, ENDPOINT_FIRST_TRY_MS);
	/* ...until another comes in (the peer's own facts after the router's
	 * observation): once the lone try had its quick time, a new round,
	 * the newcomer first (the other went unanswered). */
	assert_int_equal(next_q(&ps, c + 3, 2, host, ENDPOINT_QUICK_MS - 1, true, &ev), -1);
	assert_int_equal(next_q(&ps, c + 3, 2, host, ENDPOINT_QUICK_MS, true, &ev), 1);
	assert_int_equal(result_of(&ps, &c[3]), TRY_UNANSWERED);
	assert_int_equal(ps.attempt_until, 2 * ENDPOINT_QUICK_MS);
	assert_int_equal(next_q(&ps, c + 3, 2, host, 2 * ENDPOINT_QUICK_MS, true, &ev), 0);
	/* Not for a peer whose endpoint moves in place: its try runs out. */
	peerstate_init(&ps, key);
	assert_int_equal(next_q(&ps, c, 1, host, 0, false, &ev), 0);
	assert_int_equal(next_q(&ps, c, 2, host, ENDPOINT_QUICK_MS, false, &ev), -1);
	assert_int_equal(next_q(&ps, c, 2, host, ENDPOINT_FIRST_TRY_MS, false, &ev), 1);

	/* A handshake on the way (the peer no longer renewed): the quick pass
	 * ends, the slow pass starts with the best of those not yet tried
	 * (what went unanswered comes last). */
	peerstate_init(&ps, key);
	assert_int_equal(next_q(&ps, c, 5, host, 0, true, &ev), 4);
	assert_int_equal(next_q(&ps, c, 5, host, ENDPOINT_QUICK_MS, true, &ev), 0);
	assert_int_equal(next_q(&ps, c, 5, host, 2 * ENDPOINT_QUICK_MS, false, &ev), 1);
	assert_int_equal(ps.attempt_until, 2 * ENDPOINT_QUICK_MS + ENDPOINT_FIRST_TRY_MS);
}

/* Many candidates: at most ENDPOINT_QUICK_MAX quick tries a round, then one
 * slow try each, then back-off: no flood. The answering one (the last in
 * rank, beyond the quick pass) wins and goes first the next time. */
static void test_endpoint_quick_bounded(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	unsigned ev;
	struct peer_endpoint c[20];
	for (int i = 0; i < 20; i++)
		c[i] = ep4at(10, 20, 0, (uint8_t)(i + 1), 51820);
	int quick = 0, slow = 0, tries = 0;
	int64_t t;
	for (t = 0; t < ENDPOINT_ROUND_MS; t += 50) {
		int pick = next_q(&ps, c, 20, NULL, t, true, &ev);
		if (pick < 0)
			continue;
		tries++;
		int64_t len = ps.attempt_until - t;
		quick += len == ENDPOINT_QUICK_MS;
		slow += len != ENDPOINT_QUICK_MS && ps.retry_at == INT64_MIN;
	}
	assert_int_equal(quick, ENDPOINT_QUICK_MAX);
	assert_int_equal(slow, 20);
	/* Retries after 10, 20, 40, 80, 160, 240 s: a few more in 10 minutes. */
	assert_true(tries - quick - slow <= 8);
	/* A fresh round: the 20th answers during the slow pass. */
	peerstate_init(&ps, key);
	for (t = 0; next_q(&ps, c, 20, NULL, t, true, &ev) != 19; t += 50)
		assert_true(t < 200000);
	/* The handshake on the device; WireGuard follows the answer. */
	const int64_t hs = 1700000000;
	struct wg_peer p = peer_with(hs, true);
	memcpy(&p.endpoint.addr4.sin_addr, c[19].ep.addr, 4);
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000), PEER_EV_HEALTHY);
	assert_int_equal(result_of(&ps, &c[19]), TRY_ANSWERED);
	assert_true(ps.healthy);
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000 + HANDSHAKE_VALIDITY_MS + 1), PEER_EV_UNHEALTHY);
	assert_int_equal(next_q(&ps, c, 20, NULL, t + 1000000, true, &ev), 19);
	/* The ones that went unanswered come after those never tried. */
	struct peer_endpoint d[3] = { c[0], ep4at(10, 30, 0, 1, 51820), c[19] };
	peerstate_init(&ps, key);
	assert_int_equal(next_q(&ps, d, 1, NULL, 0, false, &ev), 0);
	assert_int_equal(next_q(&ps, d, 2, NULL, ENDPOINT_FIRST_TRY_MS, false, &ev), 1);
	assert_int_equal(next_q(&ps, d, 2, NULL, ENDPOINT_FIRST_TRY_MS * 2, false, &ev), -1);
	assert_int_equal(next_q(&ps, d, 3, NULL, ENDPOINT_ROUND_MS, false, &ev), 2);
}

/* What worked last goes first; a link that comes up ends the round. */
static void test_endpoint_last_good(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	unsigned ev;
	struct peer_endpoint c[2] = { ep4at(192, 168, 1, 9, 51820), ep4at(203, 0, 113, 7, 40000) };
	struct netif ifs[2];
	struct netif_addr addrs[4];
	struct netif_list *host = host_fixture(ifs, addrs);
	assert_int_equal(next(&ps, c, 2, host, 0, &ev), 0);
	/* The peer answered from its public address (WireGuard roamed). */
	const int64_t hs = 1700000000;
	struct wg_peer p = peer_with(hs - 1000, true);
	p.endpoint.addr4.sin_port = htons(40000);
	memcpy(&p.endpoint.addr4.sin_addr, c[1].ep.addr, 4);
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000), 0);
	p.last_handshake_sec = hs;
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000 + 1000), PEER_EV_HEALTHY);
	assert_true(ps.has_good);
	/* It dies; the next outage tries the public address first. */
	assert_int_equal(peerstate_observe(&ps, &p, hs * 1000 + HANDSHAKE_VALIDITY_MS + 2000),
			 PEER_EV_UNHEALTHY);
	assert_int_equal(next(&ps, c, 2, host, 100000, &ev), 1);
	assert_int_equal(next(&ps, c, 2, host, 100000 + ENDPOINT_FIRST_TRY_MS, &ev), 0);
}

/* Link probes: traffic that stops gets a probe; unanswered, the link is
 * dead in PROBE_WAIT_MS, whatever dropped the packets; only an answer or a
 * new handshake revives it (one-way receipts do not). Idle links and
 * single receipts (Alives, keepalives) are not probed. */
/* Regression: counters that go back (the peer was removed and added back,
 * see renew_peer in engine.c) read as 2^64 bytes moved: user traffic that
 * never was, and a link watched for nothing. */
static void test_counters_go_back(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	const int64_t hs = 1700000000, t = hs * 1000;
	struct wg_peer p = peer_with(hs, true);
	p.rx_bytes = p.tx_bytes = 5000;
	assert_int_equal(peerstate_observe(&ps, &p, t), PEER_EV_HEALTHY);
	assert_int_equal(peerstate_heard(&ps, PROBE_TTL), 0); /* a daemon that answers */
	assert_int_equal(peerstate_observe(&ps, &p, t + 10000), 0);
	assert_false(peerstate_watching(&ps, t + 10000));
	p.rx_bytes = p.tx_bytes = 0;
	assert_int_equal(peerstate_observe(&ps, &p, t + 11000), 0);
	assert_false(peerstate_watching(&ps, t + 11000));
	assert_int_equal(ps.unanswered_since, 0);
}

/* A look the caller marks as tunnel-quiet (no user packet crossed the
 * interface) counts no flow, whatever moved: many keepalives over a long
 * quiet spell, or a fact packet counted before it was received. */
static void test_tunnel_quiet(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	const int64_t hs = 1700000000, t = hs * 1000;
	struct wg_peer p = peer_with(hs, true);
	assert_int_equal(peerstate_observe(&ps, &p, t), PEER_EV_HEALTHY);
	assert_int_equal(peerstate_heard(&ps, PROBE_TTL), 0);
	/* 30 s of 5 s keepalives (6 x 32 bytes) and an Alive not yet taken. */
	p.rx_bytes += 6 * 32 + 208;
	ps.tunnel_quiet = true;
	assert_int_equal(peerstate_observe(&ps, &p, t + 30000), 0);
	assert_false(peerstate_watching(&ps, t + 30000));
	assert_false(ps.tunnel_quiet); /* for one look only */
	/* The same bytes on a look that is not marked: traffic to watch. */
	p.rx_bytes += 6 * 32 + 208;
	assert_int_equal(peerstate_observe(&ps, &p, t + 60000), 0);
	assert_true(peerstate_watching(&ps, t + 60000));
}

static void test_probes(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	const int64_t hs = 1700000000, t = hs * 1000;
	struct wg_peer p = peer_with(hs, true);
	assert_int_equal(peerstate_observe(&ps, &p, t), PEER_EV_HEALTHY);
	/* Not a daemon that answers (yet): its own probe says it is. */
	assert_int_equal(peerstate_heard(&ps, 255), 0);
	assert_false(ps.answers);
	assert_int_equal(peerstate_heard(&ps, PROBE_TTL), 0);
	assert_true(ps.answers);
	/* Single receipts 10 s apart: no flow, no probe. */
	for (int i = 1; i <= 6; i++) {
		p.rx_bytes += 100;
		assert_int_equal(peerstate_observe(&ps, &p, t + i * 10000), 0);
		assert_int_equal(peerstate_observe(&ps, &p, t + i * 10000 + 4000), 0);
	}
	assert_false(peerstate_watching(&ps, t + 60000 + LINK_FLOW_MS + LINK_QUIET_MS + 1));
	/* Close together, its Alives (fact packets) and keepalives are no
	 * flow either. */
	for (int i = 0; i < 4; i++) {
		ps.fact_rx++;
		p.rx_bytes += 200;
		assert_int_equal(peerstate_observe(&ps, &p, t + 70000 + i * 1000), 0);
		p.rx_bytes += 32;
		assert_int_equal(peerstate_observe(&ps, &p, t + 70500 + i * 1000), 0);
	}
	assert_int_equal(peerstate_observe(&ps, &p, t + 80000), 0);
	assert_false(peerstate_watching(&ps, t + 80000));
	/* A rekey (initiation out, response in, keepalive) is no flow. */
	p.tx_bytes += 148;
	p.rx_bytes += 92;
	assert_int_equal(peerstate_observe(&ps, &p, t + 81000), 0);
	p.tx_bytes += 32;
	assert_int_equal(peerstate_observe(&ps, &p, t + 82000), 0);
	assert_false(peerstate_watching(&ps, t + 82000));
	/* A flow (every second), then it stops. */
	int64_t now = t + 100000;
	for (int i = 0; i < 5; i++, now += 1000) {
		p.rx_bytes += 100;
		assert_int_equal(peerstate_observe(&ps, &p, now), 0);
	}
	assert_true(peerstate_watching(&ps, now));
	int64_t last = now - 1000;
	assert_int_equal(peerstate_observe(&ps, &p, last + LINK_QUIET_MS - 1), 0);
	assert_int_equal(peerstate_observe(&ps, &p, last + LINK_QUIET_MS), PEER_EV_PROBE);
	int64_t probe = last + LINK_QUIET_MS;
	peerstate_probe_sent(&ps, probe);
	p.tx_bytes += 96; /* WireGuard sent it */
	/* Repeated each PROBE_REPEAT_MS, PROBE_COUNT times in all. */
	assert_int_equal(peerstate_observe(&ps, &p, probe + PROBE_REPEAT_MS - 1), 0);
	assert_int_equal(peerstate_observe(&ps, &p, probe + PROBE_REPEAT_MS), PEER_EV_PROBE);
	peerstate_probe_sent(&ps, probe + PROBE_REPEAT_MS);
	/* Receipts from it alone (it still reaches us) do not answer. */
	p.rx_bytes += 148;
	assert_int_equal(peerstate_observe(&ps, &p, probe + 2 * PROBE_REPEAT_MS), PEER_EV_PROBE);
	peerstate_probe_sent(&ps, probe + 2 * PROBE_REPEAT_MS);
	/* Dead PROBE_WAIT_MS after the first and PROBE_LAST_WAIT_MS after
	 * the last (a slow path's answer to it may be on its way). */
	int64_t dead = probe + 2 * PROBE_REPEAT_MS + PROBE_LAST_WAIT_MS;
	assert_true(dead > probe + PROBE_WAIT_MS);
	assert_int_equal(peerstate_observe(&ps, &p, probe + PROBE_WAIT_MS), 0);
	assert_int_equal(peerstate_observe(&ps, &p, dead - 1), 0);
	assert_int_equal(peerstate_observe(&ps, &p, dead), PEER_EV_UNHEALTHY);
	assert_true(ps.dead && !ps.healthy);
	/* Its own probe does not prove our direction; an answer does. */
	assert_int_equal(peerstate_heard(&ps, PROBE_TTL), 0);
	assert_false(ps.healthy);
	peerstate_probe_sent(&ps, probe + 5000);
	assert_int_equal(peerstate_heard(&ps, PROBE_ANSWER_TTL), PEER_EV_HEALTHY);
	/* The answer is no flow: no probe after it. */
	p.rx_bytes += 100;
	assert_int_equal(peerstate_observe(&ps, &p, probe + 6000), 0);
	assert_int_equal(peerstate_observe(&ps, &p, probe + 20000), 0);
	/* Dead again; a fresh handshake revives it too. */
	for (int i = 0; i < 3; i++) {
		p.rx_bytes += 100;
		assert_int_equal(peerstate_observe(&ps, &p, probe + 30000 + i * 1000), 0);
	}
	assert_int_equal(peerstate_observe(&ps, &p, probe + 32000 + LINK_QUIET_MS), PEER_EV_PROBE);
	peerstate_probe_sent(&ps, probe + 32000 + LINK_QUIET_MS);
	assert_int_equal(peerstate_observe(&ps, &p, probe + 32000 + LINK_QUIET_MS + PROBE_WAIT_MS),
			 PEER_EV_UNHEALTHY);
	p.last_handshake_sec = hs + 60;
	assert_int_equal(peerstate_observe(&ps, &p, (hs + 61) * 1000), PEER_EV_HEALTHY);
	/* Its probe, even crossing ours, is no answer (a one-way link). */
	peerstate_probe_sent(&ps, (hs + 62) * 1000);
	assert_int_equal(peerstate_heard(&ps, PROBE_TTL), 0);
	assert_int_not_equal(ps.probe_at, 0);

	/* Sending alone (a one-way stream) with nothing back is probed too;
	 * keepalives are not sending. */
	struct peerstate one;
	struct wg_peer q;
	answering(&one, &q, hs, t);
	for (int i = 1; i <= 4; i++) {
		q.tx_bytes += 32;
		assert_int_equal(peerstate_observe(&one, &q, t + i * 1000), 0);
	}
	/* Our fact packets are no flow. */
	for (int i = 5; i <= 8; i++) {
		one.fact_tx++;
		q.tx_bytes += 300;
		assert_int_equal(peerstate_observe(&one, &q, t + i * 1000), 0);
	}
	q.tx_bytes += 1000;
	assert_int_equal(peerstate_observe(&one, &q, t + 9000), 0);
	assert_true(peerstate_watching(&one, t + 9000));
	q.tx_bytes += 1000;
	assert_int_equal(peerstate_observe(&one, &q, t + 10000), PEER_EV_PROBE);

	/* Sent once (an Alive), nothing back, not even WireGuard's keepalive:
	 * probed after LINK_ANSWER_MS; the keepalive in time prevents it. */
	struct peerstate idle;
	struct wg_peer v;
	answering(&idle, &v, hs, t);
	idle.fact_tx++;
	v.tx_bytes += 200;
	assert_int_equal(peerstate_observe(&idle, &v, t + 1000), 0);
	v.rx_bytes += 32;
	assert_int_equal(peerstate_observe(&idle, &v, t + 11000), 0);
	assert_int_equal(peerstate_observe(&idle, &v, t + 1000 + LINK_ANSWER_MS), 0);
	idle.fact_tx++;
	v.tx_bytes += 200;
	assert_int_equal(peerstate_observe(&idle, &v, t + 30000), 0);
	assert_int_equal(peerstate_observe(&idle, &v, t + 30000 + LINK_ANSWER_MS - 1), 0);
	assert_int_equal(peerstate_observe(&idle, &v, t + 30000 + LINK_ANSWER_MS), PEER_EV_PROBE);
}

static void test_event_text(void **state)
{
	(void)state;
	char buf[128];
	assert_string_equal(peerstate_event_text(PEER_EV_HEALTHY | PEER_EV_ALIVE, buf, sizeof(buf)),
			    "healthy and alive");
	assert_string_equal(peerstate_event_text(PEER_EV_DEAD, buf, sizeof(buf)), "no longer alive");
	assert_string_equal(peerstate_event_text(0, buf, sizeof(buf)), "");
	assert_string_equal(peerstate_event_text(PEER_EV_HEALTHY | PEER_EV_ALIVE, buf, 10), "healthy");
}

/* Issue 23: failing sends on an idle link are probed at once (and the
 * probe's silence ends the link); data that gets no answer is asked about
 * within LINK_ANSWER_MIN_MS, less often while a one-way stream's probes are
 * answered; a peer whose daemon stopped keeps its link while data flows. */
static void test_fast_fallback(void **state)
{
	(void)state;
	const int64_t hs = 1700000000, t = hs * 1000;
	/* Suspected: probed once, not again within SUSPECT_MIN_MS. */
	struct peerstate ps;
	struct wg_peer p;
	suspect_probed(&ps, &p, hs, t);
	assert_int_equal(peerstate_suspect(&ps, t + 40500), 0);
	/* Its data still arrives, but our sends fail here: no reprieve; and
	 * nothing went out since the probe (the host refused it): dead at
	 * once, not after PROBE_WAIT_MS. */
	p.rx_bytes += 500;
	assert_false(peerstate_observe(&ps, &p, t + 40000 + PROBE_SENT_MS - 1) & PEER_EV_UNHEALTHY);
	assert_int_not_equal(ps.probe_at, 0);
	assert_int_equal(peerstate_observe(&ps, &p, t + 40000 + PROBE_SENT_MS), PEER_EV_UNHEALTHY);
	/* Dead, its session good: asked again after REVIVE_MS, then twice
	 * that; an answer revives it. */
	int64_t last = ps.probe_last;
	assert_int_equal(peerstate_next_look(&ps), last + REVIVE_MS);
	assert_int_equal(peerstate_observe(&ps, &p, last + REVIVE_MS - 1), 0);
	assert_int_equal(peerstate_observe(&ps, &p, last + REVIVE_MS), PEER_EV_PROBE);
	peerstate_probe_sent(&ps, last + REVIVE_MS);
	assert_int_equal(peerstate_next_look(&ps), last + 3 * REVIVE_MS);
	/* Its data arrives on this link (it holds us directly; WireGuard
	 * drops it here, its addresses being on the router): asked at once,
	 * not after the revive's wait; its keepalives alone ask nothing. */
	ps.dead_at -= REVIVE_FAST_FOR_MS; /* an old outage: the next revive is a minute away */
	int64_t now = last + 2 * REVIVE_MS;
	p.rx_bytes += 32;
	assert_int_equal(peerstate_observe(&ps, &p, now), 0);
	p.rx_bytes += 3 * 128;
	assert_int_equal(peerstate_observe(&ps, &p, now + 1), PEER_EV_PROBE);
	peerstate_probe_sent(&ps, now + 1);
	p.rx_bytes += 3 * 128; /* at most one probe per REVIVE_MS */
	assert_int_equal(peerstate_observe(&ps, &p, now + 2), 0);
	assert_int_equal(peerstate_heard(&ps, PROBE_ANSWER_TTL), PEER_EV_HEALTHY);

	/* Data unanswered: probed after LINK_ANSWER_MIN_MS; an answered probe
	 * doubles the wait; data back resets it. */
	struct peerstate one;
	struct wg_peer q;
	answering(&one, &q, hs, t);
	q.tx_bytes += 1000;
	assert_int_equal(peerstate_observe(&one, &q, t + 1000), 0);
	assert_int_equal(peerstate_observe(&one, &q, t + 1000 + LINK_ANSWER_MIN_MS - 1), 0);
	assert_int_equal(peerstate_observe(&one, &q, t + 1000 + LINK_ANSWER_MIN_MS), PEER_EV_PROBE);
	peerstate_probe_sent(&one, t + 2500);
	peerstate_heard(&one, PROBE_ANSWER_TTL);
	assert_int_equal(one.answer_wait, 2 * LINK_ANSWER_MIN_MS);
	q.rx_bytes += 100; /* the answer */
	one.fact_rx++;
	assert_int_equal(peerstate_observe(&one, &q, t + 3000), 0);
	q.tx_bytes += 1000;
	assert_int_equal(peerstate_observe(&one, &q, t + 4000), 0);
	assert_int_equal(peerstate_observe(&one, &q, t + 4000 + LINK_ANSWER_MIN_MS), 0);
	q.tx_bytes += 1000;
	q.rx_bytes += 1000; /* data back */
	assert_int_equal(peerstate_observe(&one, &q, t + 6000), 0);
	assert_int_equal(one.answer_wait, 0);

	/* A one-way cut (ours do not arrive, its do): its fact packets and
	 * probes keep coming, but they answer nothing of ours, and our data
	 * is asked about after LINK_ANSWER_MIN_MS all the same. */
	struct peerstate ow;
	struct wg_peer o;
	answering(&ow, &o, hs, t);
	for (int i = 1; i <= 2; i++) {
		o.tx_bytes += 1000;
		o.rx_bytes += 32 + 112; /* a 60-byte fact packet on the wire */
		peerstate_fact_in(&ow, 60);
		ow.fact_rx++;
		unsigned ev = peerstate_observe(&ow, &o, t + i * LINK_ANSWER_MIN_MS);
		assert_int_equal(ev, i == 2 ? PEER_EV_PROBE : 0);
	}
	assert_string_equal(ow.probe_why, "our data got no answer");

	/* Its daemon stopped, its WireGuard works: a probe goes unanswered
	 * but data keeps coming both ways, and the link stays. */
	struct peerstate st;
	struct wg_peer r;
	answering(&st, &r, hs, t);
	for (int i = 1; i <= 8; i++) {
		r.rx_bytes += 1000;
		r.tx_bytes += 1000;
		unsigned ev = peerstate_observe(&st, &r, t + i * 1000);
		assert_false(ev & PEER_EV_UNHEALTHY);
		if (i == 2) { /* a probe goes out, and is never answered */
			peerstate_probe_sent(&st, t + i * 1000);
		}
	}
	assert_true(st.healthy && !st.dead);
}

/* A glance between looks: data from the peer that neither WireGuard's own
 * packets nor a fact packet from it explain is news; a glance moves only
 * its own marks, so a look after it still sees everything. */
static void test_glance(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	const int64_t hs = 1700000000, t = hs * 1000;
	struct wg_peer p = peer_with(hs, true);
	p.rx_bytes = 1000;
	assert_false(peerstate_glance(&ps, &p)); /* never looked at: nothing to compare */
	assert_int_equal(peerstate_observe(&ps, &p, t), PEER_EV_HEALTHY);
	assert_false(peerstate_glance(&ps, &p));
	p.rx_bytes += 2 * 32 + 148; /* keepalives and a handshake */
	assert_false(peerstate_glance(&ps, &p));
	p.rx_bytes += 208; /* a fact packet of 128 bytes, taken already */
	peerstate_fact_in(&ps, 128);
	assert_false(peerstate_glance(&ps, &p));
	p.rx_bytes += 128; /* a ping dropped by WireGuard */
	assert_true(peerstate_glance(&ps, &p));
	assert_false(peerstate_glance(&ps, &p)); /* once */
	p.rx_bytes += 208 + 128; /* a fact packet does not hide a ping */
	peerstate_fact_in(&ps, 128);
	assert_true(peerstate_glance(&ps, &p));
	/* The look that follows sees all of it since itself: the pings are
	 * data, the fact packets are not. */
	assert_int_equal(ps.rx_bytes, 1000);
	peerstate_observe(&ps, &p, t + 2500);
	assert_true(ps.got_any);
	assert_true(ps.got_data);
	p.rx_bytes += 2 * 208 + 32;
	peerstate_fact_in(&ps, 120); /* 48 + 120 pads to 176, as 128 does */
	peerstate_fact_in(&ps, 128);
	peerstate_observe(&ps, &p, t + 5000);
	assert_true(ps.got_any);
	assert_false(ps.got_data);
	/* Counters that went back: a peer made anew. */
	p.rx_bytes = 10;
	assert_true(peerstate_glance(&ps, &p));
}

/* Issue 23: on the daemon's own schedule (a look every PROBE_LOOK_MS
 * while a probe is out), the probes go out at 0, 0.35 and 0.7 s and an
 * unanswered link is dead at 1.75 s: a review found the repeat between
 * two looks, which put the probes at 0, 0.7 and 1.4 s and the end at
 * 2.45 s. */
static void test_probe_schedule(void **state)
{
	(void)state;
	const int64_t hs = 1700000000, t = hs * 1000;
	struct peerstate ps;
	struct wg_peer p;
	int64_t first = suspect_probed(&ps, &p, hs, t), sent[PROBE_COUNT], dead = 0;
	size_t n = 0;
	sent[n++] = 0;
	for (int64_t at = first + PROBE_LOOK_MS; !dead && at < first + 5000; at += PROBE_LOOK_MS) {
		p.tx_bytes += 96; /* each probe went out */
		unsigned ev = peerstate_observe(&ps, &p, at);
		if (ev & PEER_EV_PROBE) {
			assert_true(n < PROBE_COUNT);
			peerstate_probe_sent(&ps, at);
			sent[n++] = at - first;
		}
		if (ev & PEER_EV_UNHEALTHY)
			dead = at - first;
	}
	assert_int_equal(n, PROBE_COUNT);
	assert_int_equal(sent[1], PROBE_LOOK_MS);
	assert_int_equal(sent[2], 2 * PROBE_LOOK_MS);
	assert_int_equal(dead, 5 * PROBE_LOOK_MS); /* 1.75 s */
	assert_true(dead - sent[2] >= PROBE_LAST_WAIT_MS && dead >= PROBE_WAIT_MS);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_edges),
		cmocka_unit_test(test_stalled_link),
		cmocka_unit_test(test_counters_go_back),
		cmocka_unit_test(test_next_look),
		cmocka_unit_test(test_alive_edges),
		cmocka_unit_test(test_endpoint_rank),
		cmocka_unit_test(test_endpoint_choice),
		cmocka_unit_test(test_endpoint_last_good),
		cmocka_unit_test(test_endpoint_quick),
		cmocka_unit_test(test_endpoint_quick_bounded),
		cmocka_unit_test(test_tunnel_quiet),
		cmocka_unit_test(test_glance),
		cmocka_unit_test(test_probes),
		cmocka_unit_test(test_fast_fallback),
		cmocka_unit_test(test_probe_schedule),
		cmocka_unit_test(test_event_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
