/* Engine rules on fake devices with a fake clock: who gets facts and who only
 * an Alive, never facts about the recipient itself, adding members from
 * trusted sources only, every remove safety condition, and a new boot id
 * when critical facts expire. */
#include "helpers.h"

#include "core/engine.h"
#include "core/knowledge.h"
#include "proto/autoaddr.h"
#include "proto/crypto.h"

#include <arpa/inet.h>
#include <string.h>

static const int64_t wall0 = 1700000000000, t0 = 1000000;
static const uint8_t self[32] = { 0xee };

static void det_random(void *buf, size_t len)
{
	static uint8_t x = 1;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = x++;
}

static struct netif_addr eth_addr[1];
static struct netif ifs[1];
static struct netif_list host = { .ifs = ifs, .n = 1 };

static struct wg_peer *add_peer(struct wg_device *d, uint8_t id, const char *endpoint,
				const char *allowed, bool handshake)
{
	struct wg_peer *p = wg_device_add_peer(d);
	memset(p->public_key, id, 32);
	if (endpoint)
		assert_true(wg_endpoint_parse(endpoint, &p->endpoint));
	struct wg_allowedip ip;
	if (allowed) {
		assert_true(wg_allowedip_parse(allowed, &ip));
		assert_int_equal(wg_peer_add_allowedip(p, &ip), 0);
	}
	if (handshake)
		p->last_handshake_sec = wall0 / 1000;
	return p;
}

static struct engine *engine_for(const struct peer_config *cfg, size_t n, bool chatty, int router)
{
	struct engine_config ec = { .peers = cfg, .n_peers = n, .chatty = chatty, .router = router,
				    .random = det_random };
	struct engine *e = engine_new(&ec, self, t0);
	assert_non_null(e);
	eth_addr[0] = (struct netif_addr){ .family = AF_INET, .prefix = 24 };
	inet_pton(AF_INET, "192.0.2.5", &eth_addr[0].ip4);
	ifs[0] = (struct netif){ "eth0", 2, true, eth_addr, 1, 1 };
	engine_set_host(e, &host);
	return e;
}

static void say_alive(struct engine *e, uint8_t id, int64_t now)
{
	struct wire_fact a = { .attr = WIRE_ALIVE, .ttl = 255 };
	memset(a.subject, id, 32);
	a.v.boot_id[0] = id;
	assert_true(engine_receive(e, a.subject, &a, 1, now) >= 0);
}

/* Facts (not counting our Alive) that a round sends to peer id; -1: none. */
static int sent_to(const struct engine_round *r, uint8_t id)
{
	for (size_t i = 0; i < r->n_sends; i++)
		if (r->sends[i].peer[0] == id) {
			int n = 0;
			for (size_t k = 0; k < r->sends[i].n; k++)
				n += r->sends[i].facts[k].attr != WIRE_ALIVE;
			return n;
		}
	return -1;
}

static void count_facts(void *arg, const struct engine_send *s)
{
	int *counts = arg;
	for (size_t k = 0; k < s->n; k++)
		counts[s->peer[0]] += s->facts[k].attr != WIRE_ALIVE;
}

/* Facts a round sends to peer `to` about peer `about`. */
static int sent_about(const struct engine_round *r, uint8_t to, uint8_t about)
{
	int n = 0;
	for (size_t i = 0; i < r->n_sends; i++)
		for (size_t k = 0; r->sends[i].peer[0] == to && k < r->sends[i].n; k++)
			n += r->sends[i].facts[k].subject[0] == about &&
			     r->sends[i].facts[k].attr != WIRE_ALIVE;
	return n;
}

static void test_send_levels(void **state)
{
	(void)state;
	struct peer_config cfg[2] = { { .has_trust = true, .trust = TRUST_ALLOWED_IPS },
				      { .fact_exchanger = true } };
	memset(cfg[0].key, 0x03, 32);
	memset(cfg[1].key, 0x04, 32);
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x01, NULL, "10.0.0.1/32", true);		      /* no endpoint */
	add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true);	      /* plain */
	add_peer(d, 0x03, "192.0.2.3:1", "10.0.0.3/32", false);	      /* trusted, unhealthy */
	add_peer(d, 0x04, "192.0.2.4:1", "10.0.0.4/32", false);	      /* fact exchanger */
	add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", false);	      /* a router */
	struct engine *e = engine_for(cfg, 2, false, -1);
	engine_set_device(e, d, wall0);
	struct engine_round r;
	/* Not alive yet: only our Alive, even to those who want facts. */
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_int_equal(sent_to(&r, 0x03), 0);
	assert_int_equal(sent_to(&r, 0x06), 0);
	engine_round_free(&r);
	for (uint8_t id = 1; id <= 6; id++)
		say_alive(e, id, t0);
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_int_equal(sent_to(&r, 0x01), -1); /* no endpoint: nothing */
	assert_int_equal(sent_to(&r, 0x02), 0);	 /* leaf, not chatty: Alive only */
	assert_true(sent_to(&r, 0x03) > 0);	 /* trusted with AllowedIPs */
	assert_true(sent_to(&r, 0x04) > 0);	 /* FactExchanger */
	assert_true(sent_to(&r, 0x06) > 0);	 /* a router */
	/* Everyone with an endpoint gets our Alive now (never sent before). */
	for (size_t i = 0; i < r.n_sends; i++) {
		assert_true(r.sends[i].n >= 1);
		assert_int_equal(r.sends[i].facts[r.sends[i].n - 1].attr, WIRE_ALIVE);
	}
	engine_round_free(&r);
	/* Next round: nothing new to say, and the Alive only rides along. */
	assert_int_equal(engine_run(e, t0 + 1000, &r), 0);
	assert_int_equal(sent_to(&r, 0x03), 0);
	for (size_t i = 0; i < r.n_sends; i++)
		assert_int_equal(r.sends[i].n_fill, 1);
	engine_round_free(&r);
	engine_free(e);

	/* Chatty: facts to healthy peers, only an Alive to unhealthy ones. */
	e = engine_for(NULL, 0, true, -1);
	engine_set_device(e, d, wall0);
	for (uint8_t id = 1; id <= 6; id++)
		say_alive(e, id, t0);
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_true(sent_to(&r, 0x02) > 0);
	assert_int_equal(sent_to(&r, 0x04), 0);
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* A router skips re-scanning peers whose needs cannot have changed; these
 * are the cases where they did change: a new fact, the re-send margin, a
 * peer that restarted, a subject coming up. Streaming sends (the daemon's
 * path) match the gathered ones. */
static void test_rescan_when_needs_change(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x0a, "192.0.2.10:1", "10.0.0.10/32", true);
	add_peer(d, 0x0b, "192.0.2.11:1", "10.0.0.11/32", true);
	add_peer(d, 0x0c, "192.0.2.12:1", "10.0.0.12/32", false); /* not up yet */
	struct engine *e = engine_for(NULL, 0, false, 1);
	engine_set_device(e, d, wall0);
	say_alive(e, 0x0a, t0);
	say_alive(e, 0x0b, t0);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_int_equal(sent_about(&r, 0x0a, 0x0b), 3); /* endpoint, allowed IP, member */
	/* ...plus ours and its own membership: the same count for everyone. */
	int base = sent_to(&r, 0x0a) - 3;
	assert_true(base >= 2);
	engine_round_free(&r);
	assert_int_equal(engine_run(e, t0 + 1000, &r), 0);
	assert_int_equal(sent_to(&r, 0x0a), 0);
	engine_round_free(&r);
	/* New facts go once more REPEAT_MS later (the first may be lost)... */
	assert_int_equal(engine_run(e, t0 + REPEAT_MS, &r), 0);
	assert_int_equal(sent_to(&r, 0x0a), 3 + base);
	/* ...and so does a first Alive (due, not riding along). */
	for (size_t i = 0; i < r.n_sends; i++)
		if (r.sends[i].peer[0] == 0x0a)
			assert_int_equal(r.sends[i].n_fill, 0);
	engine_round_free(&r);
	/* ...and then not until the re-send margin. */
	assert_int_equal(engine_run(e, t0 + REPEAT_MS + 1, &r), 0);
	assert_int_equal(sent_to(&r, 0x0a), 0);
	engine_round_free(&r);
	/* A new fact (b got another allowed IP) goes out at once. */
	struct wg_allowedip ip;
	assert_true(wg_allowedip_parse("10.9.0.0/16", &ip));
	assert_int_equal(wg_peer_add_allowedip(&d->peers[1], &ip), 0);
	engine_set_device(e, d, wall0);
	assert_int_equal(engine_run(e, t0 + 4000, &r), 0);
	assert_int_equal(sent_to(&r, 0x0a), 1);
	engine_round_free(&r);
	/* c comes up: a learns about c (no handshake: no live endpoint to
	 * tell); c, unhealthy, gets nothing but our Alive. */
	say_alive(e, 0x0c, t0 + 5000);
	assert_int_equal(engine_run(e, t0 + 5000, &r), 0);
	assert_int_equal(sent_to(&r, 0x0a), 2);
	assert_int_equal(sent_about(&r, 0x0a, 0x0c), 2);
	assert_int_equal(sent_to(&r, 0x0c), 0);
	engine_round_free(&r);
	/* b restarts: it forgot everything. */
	struct wire_fact a = { .attr = WIRE_ALIVE, .ttl = 255 };
	memset(a.subject, 0x0b, 32);
	a.v.boot_id[0] = 0x42;
	assert_true(engine_receive(e, a.subject, &a, 1, t0 + 6000) >= 0);
	assert_int_equal(engine_run(e, t0 + 6000, &r), 0);
	assert_int_equal(sent_to(&r, 0x0b), 5 + base);
	assert_int_equal(sent_to(&r, 0x0a), 0);
	engine_round_free(&r);
	/* The repeats of the allowed IP and of c's facts. */
	assert_int_equal(engine_run(e, t0 + 9000, &r), 0);
	assert_int_equal(sent_to(&r, 0x0a), 3);
	engine_round_free(&r);
	/* Nothing until the first facts sent near the margin; then they again. */
	int64_t due = t0 + REPEAT_MS + FACT_TTL_MS - RESEND_MARGIN_MS;
	assert_int_equal(engine_run(e, due - 1, &r), 0);
	assert_int_equal(sent_to(&r, 0x0a), 0);
	engine_round_free(&r);
	/* Streamed the same way the daemon does it. */
	struct engine_round dr;
	int counts[256] = { 0 };
	assert_int_equal(engine_decide(e, due, &dr), 0);
	engine_round_free(&dr);
	assert_int_equal(engine_send(e, due, count_facts, counts), 0);
	assert_int_equal(counts[0x0a], 3 + base);
	engine_free(e);
	wg_device_free(d);
}

/* Whether a round's send to peer id carries our Alive as due (not fill). */
static bool alive_due_to(const struct engine_round *r, uint8_t id)
{
	for (size_t i = 0; i < r->n_sends; i++)
		if (r->sends[i].peer[0] == id)
			return r->sends[i].n_fill == 0;
	return false;
}

/* When a link comes up (a handshake appears), our Alive goes through it at
 * once, not at the next 30 s re-send: what went while the handshake was
 * failing may have been lost. */
static void test_alive_when_link_comes_up(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", false);
	struct engine *e = engine_for(NULL, 0, false, 0);
	engine_set_device(e, d, wall0);
	/* Its first Alive is news (a prompt round); the same again is not. */
	struct wire_fact a = { .attr = WIRE_ALIVE, .ttl = 255 };
	memset(a.subject, 0x02, 32);
	assert_int_equal(engine_receive(e, a.subject, &a, 1, t0), 1);
	assert_int_equal(engine_receive(e, a.subject, &a, 1, t0), 0);
	struct engine_round r;
	int64_t times[] = { t0, t0 + REPEAT_MS, t0 + 5000 };
	bool due[] = { true, true, false }; /* first hello, its repeat, then quiet */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(engine_run(e, times[i], &r), 0);
		assert_int_equal(alive_due_to(&r, 0x02), due[i]);
		engine_round_free(&r);
	}
	d->peers[0].last_handshake_sec = wall0 / 1000 + 6;
	engine_set_device(e, d, wall0 + 6000);
	assert_int_equal(engine_run(e, t0 + 6000, &r), 0);
	assert_true(alive_due_to(&r, 0x02));
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

static void test_never_about_recipient(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x0a, "192.0.2.10:1", "10.0.0.10/32", true);
	add_peer(d, 0x0b, "192.0.2.11:1", "10.0.0.11/32", true);
	struct engine *e = engine_for(NULL, 0, false, 1); /* a router */
	engine_set_device(e, d, wall0);
	say_alive(e, 0x0a, t0);
	say_alive(e, 0x0b, t0);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	int about_b = 0;
	for (size_t i = 0; i < r.n_sends; i++) {
		const struct engine_send *s = &r.sends[i];
		for (size_t k = 0; k < s->n; k++) {
			const struct wire_fact *f = &s->facts[k];
			if (!memcmp(f->subject, s->peer, 32))
				assert_int_equal(f->attr, WIRE_MEMBER_META);
			about_b += s->peer[0] == 0x0a && f->subject[0] == 0x0b;
		}
	}
	assert_int_equal(about_b, 3); /* endpoint, allowed IP, membership */
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

static bool adds(const struct engine_round *r, uint8_t id)
{
	for (size_t i = 0; i < r->change.n_peers; i++)
		if (r->change.peers[i].public_key[0] == id && !(r->change.peers[i].flags & WG_CHANGE_UPDATE_ONLY) &&
		    !(r->change.peers[i].flags & WG_CHANGE_REMOVE))
			return true;
	return false;
}

static bool removes(const struct engine_round *r, uint8_t id)
{
	for (size_t i = 0; i < r->change.n_peers; i++)
		if (r->change.peers[i].public_key[0] == id && (r->change.peers[i].flags & WG_CHANGE_REMOVE))
			return true;
	return false;
}

static void test_add_members_from_trusted_only(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router */
	add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true); /* plain */
	struct engine *e = engine_for(NULL, 0, false, -1);
	engine_set_device(e, d, wall0);
	struct wire_fact m = { .attr = WIRE_MEMBER_META, .ttl = 255 };
	memset(m.subject, 0x33, 32);
	m.v.meta = (struct wire_view){ (const uint8_t *)"", 0 };
	assert_int_equal(engine_receive(e, d->peers[1].public_key, &m, 1, t0), 0); /* plain: refused */
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_false(adds(&r, 0x33));
	engine_round_free(&r);
	assert_int_equal(engine_receive(e, d->peers[0].public_key, &m, 1, t0), 1); /* router: Membership */
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_true(adds(&r, 0x33));
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* Two leaves that never had a handshake learn of each other at once; the
 * higher key holds its first packet for FIRST_CONTACT_HOLD_MS so that the
 * handshakes do not cross (WireGuard then waits 5 s to retry). */
static void test_first_contact_hold(void **state)
{
	(void)state;
	for (int lower = 0; lower < 2; lower++) {
		uint8_t id = lower ? 0x02 : 0xf0; /* we are 0xee */
		struct wg_device *d = wg_device_new("wg0");
		add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router */
		add_peer(d, id, NULL, NULL, false);
		struct engine *e = engine_for(NULL, 0, false, -1);
		engine_set_device(e, d, wall0);
		say_alive(e, id, t0); /* as if relayed: makes it worth a hello */
		struct wire_fact ep = { .attr = WIRE_ENDPOINT_V4, .ttl = 255 };
		memset(ep.subject, id, 32);
		ep.v.endpoint = (struct wire_endpoint){ .addr = { 192, 0, 2, id }, .port = 51820 };
		assert_int_equal(engine_receive(e, d->peers[0].public_key, &ep, 1, t0), 1);
		struct engine_round r;
		assert_int_equal(engine_run(e, t0, &r), 0); /* sets the endpoint */
		engine_round_free(&r);
		assert_true(wg_endpoint_parse(lower ? "192.0.2.2:51820" : "192.0.2.240:51820",
					      &d->peers[1].endpoint));
		engine_set_device(e, d, wall0 + 50);
		assert_int_equal(engine_run(e, t0 + 50, &r), 0);
		assert_int_equal(sent_to(&r, id) >= 0, !lower); /* held only for a lower key */
		engine_round_free(&r);
		assert_int_equal(engine_run(e, t0 + FIRST_CONTACT_HOLD_MS, &r), 0);
		assert_true(sent_to(&r, id) >= 0);
		engine_round_free(&r);
		engine_free(e);
		wg_device_free(d);
	}
}

/* A leaf whose router has been healthy and alive since t0. */
static struct engine_round leaf_round(struct engine *e, struct wg_device *d, int64_t now)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (d->peers[i].public_key[0] == 0x06)
			d->peers[i].last_handshake_sec = (wall0 + now - t0) / 1000;
	engine_set_device(e, d, wall0 + now - t0);
	struct engine_round r;
	assert_int_equal(engine_run(e, now, &r), 0);
	return r;
}

static void test_remove_safety(void **state)
{
	(void)state;
	struct peer_config cfg[1] = { { .name = "keep" } };
	memset(cfg[0].key, 0x0d, 32);
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router */
	add_peer(d, 0x0c, "192.0.2.12:1", "10.0.0.12/32", false); /* no membership */
	add_peer(d, 0x0d, "192.0.2.13:1", "10.0.0.13/32", false); /* in the config */
	struct engine *e = engine_for(cfg, 1, false, -1);
	engine_set_device(e, d, wall0);
	int64_t now = t0;
	struct engine_round r;
	/* Keep the router alive every 30 s. Before FactTTL has passed: nothing. */
	for (; now < t0 + 250000; now += 5000) {
		if ((now - t0) % 30000 == 0)
			say_alive(e, 0x06, now);
		r = leaf_round(e, d, now);
		assert_false(removes(&r, 0x0c));
		engine_round_free(&r);
	}
	/* Past FactTTL + ChunkPeriod of a healthy, alive router: C goes; the
	 * router and the config peer stay. */
	bool removed = false;
	for (; now < t0 + 300000 && !removed; now += 5000) {
		if ((now - t0) % 30000 == 0)
			say_alive(e, 0x06, now);
		r = leaf_round(e, d, now);
		removed = removes(&r, 0x0c);
		assert_false(removes(&r, 0x06));
		assert_false(removes(&r, 0x0d));
		engine_round_free(&r);
	}
	assert_true(removed);
	assert_true(now - t0 >= 255000 + 5000);
	engine_free(e);

	/* The router stops saying it is alive: its silence means nothing, so
	 * nobody is removed. */
	e = engine_for(cfg, 1, false, -1);
	engine_set_device(e, d, wall0);
	say_alive(e, 0x06, t0);
	for (now = t0; now < t0 + 400000; now += 5000) {
		r = leaf_round(e, d, now);
		assert_false(removes(&r, 0x0c));
		engine_round_free(&r);
	}
	engine_free(e);

	/* Trusted with Membership ourselves, or a router: never remove. */
	struct peer_config me[2] = { cfg[0], { .has_trust = true, .trust = TRUST_MEMBERSHIP } };
	memcpy(me[1].key, self, 32);
	for (int variant = 0; variant < 2; variant++) {
		e = variant ? engine_for(cfg, 1, false, 1) : engine_for(me, 2, false, -1);
		engine_set_device(e, d, wall0);
		for (now = t0; now < t0 + 400000; now += 5000) {
			if ((now - t0) % 30000 == 0)
				say_alive(e, 0x06, now);
			r = leaf_round(e, d, now);
			assert_false(removes(&r, 0x0c));
			engine_round_free(&r);
		}
		engine_free(e);
	}
	wg_device_free(d);
}

static void test_peer_metadata(void **state)
{
	(void)state;
	struct peer_config cfg[1] = { { .name = "hub" } };
	memset(cfg[0].key, 0x06, 32);
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router */
	add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true); /* healthy, never alive */
	struct engine *e = engine_for(cfg, 1, false, -1);
	engine_set_device(e, d, wall0);
	static const uint8_t meta[] = { 'n', 6, 'p', 'r', 'i', 'n', 't', 'r', 'b', 1, 1 };
	struct wire_fact m = { .attr = WIRE_MEMBER_META, .ttl = 255 };
	memset(m.subject, 0x02, 32);
	m.v.meta = (struct wire_view){ meta, sizeof(meta) };
	struct wire_fact cidr = { .attr = WIRE_CIDR_V4, .ttl = 255 };
	memset(cidr.subject, 0x02, 32);
	memcpy(cidr.v.cidr.addr, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	cidr.v.cidr.prefix = 32;
	struct wire_fact both[2] = { m, cidr };
	uint8_t lan[4] = { 203, 0, 113, 9 };
	memcpy(both[1].v.cidr.addr, lan, 4);
	assert_int_equal(engine_receive(e, cfg[0].key, both, 2, t0), 2);
	assert_string_equal(engine_peer_name(e, m.subject), "printr");
	assert_string_equal(engine_peer_name(e, cfg[0].key), "hub"); /* config first */
	assert_null(engine_peer_name(e, (uint8_t[32]){ 0x55 }));
	/* Basic: a healthy peer that will never send an Alive still gets its
	 * allowed IPs. */
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	bool added = false;
	for (size_t i = 0; i < r.change.n_peers; i++)
		for (size_t k = 0; r.change.peers[i].public_key[0] == 0x02 && k < r.change.peers[i].n_allowedips; k++)
			added |= !memcmp(&r.change.peers[i].allowedips[k].ip4, lan, 4);
	assert_true(added);
	engine_round_free(&r);
	/* Names that would garble a log line are not taken. */
	static const uint8_t bad[] = { 'n', 3, 'a', '\n', 'b' };
	struct peerstate ps;
	peerstate_init(&ps, self);
	struct wire_view v = { bad, sizeof(bad) };
	peerstate_set_meta(&ps, &v);
	assert_string_equal(ps.name, "");
	engine_free(e);
	wg_device_free(d);
}

/* What the administrator gave a router peer is never taken away: not when
 * healthy (no replace), not when unhealthy (no restrict). */
static void test_router_peer_keeps_allowed_ips(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	struct wg_peer *hub = add_peer(d, 0x06, "192.0.2.6:1", "0.0.0.0/0", true);
	struct wg_allowedip extra, autoip = { .family = AF_INET6, .cidr = 128 };
	assert_true(wg_allowedip_parse("10.0.0.0/8", &extra));
	assert_int_equal(wg_peer_add_allowedip(hub, &extra), 0);
	autoaddr_from_key(hub->public_key, &autoip.ip6);
	assert_int_equal(wg_peer_add_allowedip(hub, &autoip), 0);
	struct engine *e = engine_for(NULL, 0, false, -1);
	int64_t now = t0;
	struct engine_round r;
	for (; now < t0 + 400000; now += 5000) { /* well past FactTTL */
		if ((now - t0) % 30000 == 0)
			say_alive(e, 0x06, now);
		bool healthy = now < t0 + 300000;
		hub->last_handshake_sec = healthy ? (wall0 + now - t0) / 1000 : (wall0 - 3600000) / 1000;
		engine_set_device(e, d, wall0 + now - t0);
		assert_int_equal(engine_run(e, now, &r), 0);
		for (size_t i = 0; i < r.change.n_peers; i++)
			if (r.change.peers[i].public_key[0] == 0x06)
				assert_false(r.change.peers[i].flags &
					     (WG_CHANGE_REPLACE_ALLOWEDIPS | WG_CHANGE_REMOVE));
		engine_round_free(&r);
	}
	engine_free(e);
	wg_device_free(d);
}

static void test_critical_expiry_new_boot_id(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router: Membership */
	struct engine *e = engine_for(NULL, 0, false, -1);
	engine_set_device(e, d, wall0);
	struct wire_fact cidr = { .attr = WIRE_CIDR_V4, .ttl = 10 };
	memset(cidr.subject, 0x06, 32);
	cidr.v.cidr.prefix = 24;
	assert_int_equal(engine_receive(e, cidr.subject, &cidr, 1, t0), 1);
	uint8_t boot[16];
	memcpy(boot, engine_boot_id(e), 16);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0 + 9999, &r), 0);
	assert_false(r.new_boot_id);
	engine_round_free(&r);
	assert_int_equal(engine_run(e, t0 + 10000, &r), 0);
	assert_true(r.new_boot_id);
	assert_memory_not_equal(boot, engine_boot_id(e), 16);
	/* And the new Alive goes out at once. */
	assert_int_equal(r.sends[0].facts[r.sends[0].n - 1].attr, WIRE_ALIVE);
	engine_round_free(&r);
	/* Forced (suspend, clock jump): the same, without a fact expiring. */
	memcpy(boot, engine_boot_id(e), 16);
	engine_new_boot_id(e);
	assert_memory_not_equal(boot, engine_boot_id(e), 16);
	assert_int_equal(engine_run(e, t0 + 11000, &r), 0);
	assert_int_equal(r.sends[0].facts[r.sends[0].n - 1].attr, WIRE_ALIVE);
	assert_memory_equal(r.sends[0].facts[r.sends[0].n - 1].v.boot_id, engine_boot_id(e), 16);
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* The TTL of the Alive a round sends to peer id as a fact (not a fill);
 * 0: none. */
static unsigned alive_ttl_to(const struct engine_round *r, uint8_t id, unsigned want)
{
	for (size_t i = 0; i < r->n_sends; i++)
		for (size_t k = 0; r->sends[i].peer[0] == id && k < r->sends[i].n; k++)
			if (r->sends[i].facts[k].attr == WIRE_ALIVE && r->sends[i].facts[k].ttl == want)
				return want;
	return 0;
}

/* Link probes through the engine: a probe from a peer is answered in the
 * next round; traffic that stops gets our probe; unanswered, the link is
 * dead (unhealthy) within PROBE_WAIT_MS; an answer revives it. */
static void test_probe_exchange(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	struct wg_peer *w = add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true);
	struct engine *e = engine_for(NULL, 0, false, 0);
	engine_set_device(e, d, wall0);
	struct wire_fact a = { .attr = WIRE_ALIVE, .ttl = PROBE_TTL };
	memset(a.subject, 0x02, 32);
	assert_true(engine_receive(e, a.subject, &a, 1, t0) >= 1); /* a prompt round */
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_ANSWER_TTL), PROBE_ANSWER_TTL);
	engine_round_free(&r);
	assert_true(engine_peer(e, a.subject)->answers);
	/* A flow, then silence: our probe goes out, and rounds come faster. */
	int64_t t = 0;
	for (; t <= 3000; t += 1000) {
		w->rx_bytes += 1000;
		engine_set_device(e, d, wall0 + 10000 + t);
		assert_int_equal(engine_run(e, t0 + 10000 + t, &r), 0);
		engine_round_free(&r);
	}
	assert_int_equal(engine_next_deadline(e, t0 + 13000), t0 + 13000 + LINK_WATCH_MS);
	int64_t quiet = 13000 + LINK_QUIET_MS;
	engine_set_device(e, d, wall0 + quiet);
	assert_int_equal(engine_run(e, t0 + quiet, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	/* No answer: unhealthy. */
	engine_set_device(e, d, wall0 + quiet + PROBE_WAIT_MS);
	assert_int_equal(engine_run(e, t0 + quiet + PROBE_WAIT_MS, &r), 0);
	bool down = false;
	for (size_t i = 0; i < r.n_events; i++)
		down |= r.events[i].peer[0] == 0x02 && (r.events[i].events & PEER_EV_UNHEALTHY);
	assert_true(down);
	engine_round_free(&r);
	assert_false(engine_peer(e, a.subject)->healthy);
	/* Its answer (to a later probe) revives the link. */
	a.ttl = PROBE_ANSWER_TTL;
	assert_true(engine_receive(e, a.subject, &a, 1, t0 + 20000) >= 1);
	assert_true(engine_peer(e, a.subject)->healthy);
	engine_free(e);
	wg_device_free(d);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	if (crypto_init())
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_levels),
		cmocka_unit_test(test_never_about_recipient),
		cmocka_unit_test(test_first_contact_hold),
		cmocka_unit_test(test_alive_when_link_comes_up),
		cmocka_unit_test(test_rescan_when_needs_change),
		cmocka_unit_test(test_add_members_from_trusted_only),
		cmocka_unit_test(test_remove_safety),
		cmocka_unit_test(test_peer_metadata),
		cmocka_unit_test(test_router_peer_keeps_allowed_ips),
		cmocka_unit_test(test_critical_expiry_new_boot_id),
		cmocka_unit_test(test_probe_exchange),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
