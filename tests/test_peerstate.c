/* Peer state with a fake clock: health exactly at the validity edge, the
 * "handshake advanced" rule, alive edges and boot ids, endpoint rotation. */
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

static struct peer_endpoint ep4(uint8_t last, uint16_t port)
{
	struct peer_endpoint e = { .attr = WIRE_ENDPOINT_V4 };
	memcpy(e.ep.addr, (uint8_t[]){ 192, 0, 2, last }, 4);
	e.ep.port = port;
	return e;
}

static void test_endpoint_rotation(void **state)
{
	(void)state;
	struct peerstate ps;
	peerstate_init(&ps, key);
	struct peer_endpoint c[3] = { ep4(1, 1), ep4(2, 1), ep4(1, 2) };
	assert_int_equal(peerstate_next_endpoint(&ps, c, 0, 0), -1);
	assert_int_equal(peerstate_next_endpoint(&ps, c, 3, 0), 0);
	assert_int_equal(peerstate_next_endpoint(&ps, c, 3, ENDPOINT_INTERVAL_MS - 1), -1);
	assert_int_equal(peerstate_next_endpoint(&ps, c, 3, ENDPOINT_INTERVAL_MS), 1);
	assert_int_equal(peerstate_next_endpoint(&ps, c, 3, 2 * ENDPOINT_INTERVAL_MS), 2);
	/* All tried: the least recently tried comes round again. */
	assert_int_equal(peerstate_next_endpoint(&ps, c, 3, 3 * ENDPOINT_INTERVAL_MS), 0);
	/* A new candidate that was never tried goes first. */
	struct peer_endpoint d[4] = { c[0], c[1], c[2], ep4(9, 9) };
	assert_int_equal(peerstate_next_endpoint(&ps, d, 4, 4 * ENDPOINT_INTERVAL_MS), 3);
	assert_int_equal(peerstate_next_endpoint(&ps, d, 4, 5 * ENDPOINT_INTERVAL_MS), 1);
	/* The history is bounded: past it, the longest-ago try is forgotten
	 * (and counts as never tried again). */
	enum { N = PEERSTATE_MAX_TRIED + 1 };
	struct peer_endpoint many[N];
	for (int i = 0; i < N; i++)
		many[i] = ep4((uint8_t)i, 7);
	for (int i = 0; i < N; i++)
		assert_int_equal(peerstate_next_endpoint(&ps, many, N, (6 + i) * ENDPOINT_INTERVAL_MS), i);
	assert_int_equal(ps.n_tried, PEERSTATE_MAX_TRIED);
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

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_edges),
		cmocka_unit_test(test_stalled_link),
		cmocka_unit_test(test_alive_edges),
		cmocka_unit_test(test_endpoint_rotation),
		cmocka_unit_test(test_event_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
