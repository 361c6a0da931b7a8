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

/* Gives the engine's host a wg0 (index 7) with our tunnel address ADDR/24. */
static void with_tunnel_addr(struct engine *e, const char *addr)
{
	static struct netif_addr wa;
	static struct netif two[2];
	static struct netif_list h;
	wa = (struct netif_addr){ .family = AF_INET, .prefix = 24 };
	inet_pton(AF_INET, addr, &wa.ip4);
	two[0] = ifs[0];
	two[1] = (struct netif){ "wg0", 7, true, &wa, 1, 1 };
	h = (struct netif_list){ .ifs = two, .n = 2 };
	engine_set_host(e, &h);
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
		counts[s->peer[0]] += s->facts[k]->attr != WIRE_ALIVE;
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

/* A fact of `attr` about subject id with value text ("a.b.c.d:port" or
 * "cidr"), as sender would send it. */
static struct wire_fact fact_of(uint8_t attr, uint8_t id, const char *text, uint16_t ttl)
{
	struct wire_fact f = { .attr = attr, .ttl = ttl };
	memset(f.subject, id, 32);
	if (attr == WIRE_ENDPOINT_V4 || attr == WIRE_ENDPOINT_V6) {
		union wg_endpoint ep;
		assert_true(wg_endpoint_parse(text, &ep));
		if (attr == WIRE_ENDPOINT_V4) {
			memcpy(f.v.endpoint.addr, &ep.addr4.sin_addr, 4);
			f.v.endpoint.port = ntohs(ep.addr4.sin_port);
		} else {
			memcpy(f.v.endpoint.addr, &ep.addr6.sin6_addr, 16);
			f.v.endpoint.port = ntohs(ep.addr6.sin6_port);
		}
	} else {
		struct wg_allowedip ip;
		assert_true(wg_allowedip_parse(text, &ip));
		memcpy(f.v.cidr.addr, &ip.ip6, attr == WIRE_CIDR_V4 ? 4 : 16);
		f.v.cidr.prefix = ip.cidr;
	}
	return f;
}

static int receive_from(struct engine *e, uint8_t sender, const struct wire_fact *f, size_t n,
			int64_t now)
{
	uint8_t key[32];
	memset(key, sender, 32);
	return engine_receive(e, key, f, n, now);
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
	/* Nothing until what the first facts' version said ends within the
	 * margin; then they go again, to everyone at once (one new version). */
	int64_t due = t0 + FACT_TTL_MS - RESEND_MARGIN_MS;
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

/* A quiet engine asks for no round before something is due: Alives wait
 * for each other (up to ALIVE_LATE_MS) and may wait for the caller's next
 * wake-up (soft), and otherwise a round comes every QUIET_ROUND_MS; a
 * first Alive's repeat is on time (hard). */
static void test_quiet_deadline(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true);
	add_peer(d, 0x03, "192.0.2.3:1", "10.0.0.3/32", true);
	struct engine *e = engine_for(NULL, 0, false, 0);
	engine_set_device(e, d, wall0);
	say_alive(e, 0x02, t0);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	engine_round_free(&r);
	int64_t soft;
	assert_int_equal(engine_next_due(e, t0, &soft), t0 + REPEAT_MS); /* the repeat */
	assert_true(soft > t0 + REPEAT_MS);
	assert_int_equal(engine_next_deadline(e, t0), t0 + REPEAT_MS);
	say_alive(e, 0x03, t0 + 2000);
	assert_int_equal(engine_run(e, t0 + 2000, &r), 0);
	engine_round_free(&r);
	assert_int_equal(engine_run(e, t0 + REPEAT_MS, &r), 0);
	engine_round_free(&r);
	assert_int_equal(engine_run(e, t0 + 5000, &r), 0);
	engine_round_free(&r);
	/* 0x02's Alive is due at t0 + 3 s + 30 s, 0x03's at t0 + 5 s + 30 s:
	 * one round for both, 10 s after the first, and it may wait. */
	int64_t at = t0 + REPEAT_MS + ALIVE_PERIOD_MS + ALIVE_LATE_MS;
	assert_int_equal(engine_next_due(e, t0 + 5000, &soft), INT64_MAX);
	assert_int_equal(soft, at);
	assert_int_equal(engine_next_deadline(e, t0 + 30000), at);
	assert_int_equal(engine_run(e, at, &r), 0);
	assert_true(alive_due_to(&r, 0x02) && alive_due_to(&r, 0x03));
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* Alive re-sends fall into step: a round that re-sends to one peer also
 * re-sends to a peer due within ALIVE_EARLY_MS, so a daemon's Alives leave
 * together; a round with nothing due sends none early. */
static void test_alive_in_step(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true);
	struct engine *e = engine_for(NULL, 0, false, 0);
	engine_set_device(e, d, wall0);
	struct engine_round r;
	say_alive(e, 0x02, t0);
	const int64_t at[] = { 0, REPEAT_MS, 14000, 14000 + REPEAT_MS };
	for (size_t i = 0; i < 4; i++) {
		if (i == 2) { /* 0x03 comes 14 s later: its hello and repeat */
			add_peer(d, 0x03, "192.0.2.3:1", "10.0.0.3/32", true);
			engine_set_device(e, d, wall0 + at[i]);
			say_alive(e, 0x03, t0 + at[i]);
		}
		assert_int_equal(engine_run(e, t0 + at[i], &r), 0);
		engine_round_free(&r);
	}
	/* Nothing due at t0 + 20 s: nobody gets an Alive early. */
	assert_int_equal(engine_run(e, t0 + 20000, &r), 0);
	assert_false(alive_due_to(&r, 0x02) || alive_due_to(&r, 0x03));
	engine_round_free(&r);
	/* 0x02 is due at t0 + 33 s; 0x03 (due at t0 + 47 s) goes with it. */
	int64_t due = t0 + REPEAT_MS + ALIVE_PERIOD_MS;
	assert_int_equal(engine_run(e, due, &r), 0);
	assert_true(alive_due_to(&r, 0x02) && alive_due_to(&r, 0x03));
	engine_round_free(&r);
	/* From then on, in step. */
	int64_t soft;
	engine_next_due(e, due + 1000, &soft);
	assert_int_equal(soft, due + ALIVE_PERIOD_MS + ALIVE_LATE_MS);
	assert_int_equal(engine_run(e, soft, &r), 0);
	assert_true(alive_due_to(&r, 0x02) && alive_due_to(&r, 0x03));
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* What only time changes has its own (soft) deadline: a peer's Alive
 * nearing its end and running out, and our start ageing past FactTTL. */
static void test_time_only_deadlines(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x02, NULL, "10.0.0.2/32", true); /* no endpoint: nothing to send */
	struct engine *e = engine_for(NULL, 0, false, 0);
	engine_set_device(e, d, wall0);
	say_alive(e, 0x02, t0); /* alive until t0 + 255 s */
	int64_t soft, alive_until = t0 + 255000;
	assert_int_equal(engine_next_due(e, t0 + 1000, &soft), INT64_MAX);
	assert_int_equal(soft, t0 + 1000 + QUIET_ROUND_MS);
	engine_next_due(e, alive_until - 5000, &soft);
	assert_int_equal(soft, alive_until - CHUNK_PERIOD_MS / 2);
	engine_next_due(e, alive_until - 2000, &soft);
	assert_int_equal(soft, alive_until); /* it dies; and our start is FactTTL old */
	assert_int_equal(engine_started(e) + FACT_TTL_MS, alive_until);
	struct engine_round r;
	assert_int_equal(engine_run(e, soft, &r), 0);
	bool dead = false;
	for (size_t i = 0; i < r.n_events; i++)
		dead |= r.events[i].peer[0] == 0x02 && (r.events[i].events & PEER_EV_DEAD);
	assert_true(dead);
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
		const struct engine_sent *s = &r.sends[i];
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
 * higher key holds its first packet so that the handshakes do not cross
 * (WireGuard then waits 5 s to retry): FIRST_CONTACT_HOLD_LAN_MS when the
 * endpoint is on our LAN, FIRST_CONTACT_HOLD_MS when it is further away. */
static void test_first_contact_hold(void **state)
{
	(void)state;
	for (int run = 0; run < 4; run++) {
		bool lower = run & 1, lan = run < 2;
		uint8_t id = lower ? 0x02 : 0xf0; /* we are 0xee */
		int64_t hold = !lower ? 0 : lan ? FIRST_CONTACT_HOLD_LAN_MS : FIRST_CONTACT_HOLD_MS;
		struct wg_device *d = wg_device_new("wg0");
		add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router */
		add_peer(d, id, NULL, NULL, false);
		struct engine *e = engine_for(NULL, 0, false, -1); /* host: 192.0.2.5/24 */
		engine_set_device(e, d, wall0);
		say_alive(e, id, t0); /* as if relayed: makes it worth a hello */
		struct wire_fact ep = { .attr = WIRE_ENDPOINT_V4, .ttl = 255 };
		memset(ep.subject, id, 32);
		ep.v.endpoint = (struct wire_endpoint){ .addr = { lan ? 192 : 198, lan ? 0 : 51, lan ? 2 : 100, id },
							.port = 51820 };
		assert_int_equal(engine_receive(e, d->peers[0].public_key, &ep, 1, t0), 1);
		struct engine_round r;
		assert_int_equal(engine_run(e, t0, &r), 0); /* sets the endpoint */
		engine_round_free(&r);
		char where[32];
		snprintf(where, sizeof where, "%s.%u:51820", lan ? "192.0.2" : "198.51.100", id);
		assert_true(wg_endpoint_parse(where, &d->peers[1].endpoint));
		engine_set_device(e, d, wall0 + 50);
		assert_int_equal(engine_run(e, t0 + 50, &r), 0);
		assert_int_equal(sent_to(&r, id) >= 0, !lower); /* held only for a lower key */
		engine_round_free(&r);
		if (hold) {
			engine_set_device(e, d, wall0 + hold - 1);
			assert_int_equal(engine_run(e, t0 + hold - 1, &r), 0);
			assert_true(sent_to(&r, id) < 0);
			engine_round_free(&r);
			engine_set_device(e, d, wall0 + hold);
			assert_int_equal(engine_run(e, t0 + hold, &r), 0);
			assert_true(sent_to(&r, id) >= 0);
			engine_round_free(&r);
		}
		engine_free(e);
		wg_device_free(d);
	}
}

/* The change for peer id with the endpoint flag; *removed says whether a
 * removal of the same peer comes before it. */
static const struct wg_peer_change *endpoint_change(const struct engine_round *r, uint8_t id,
						    bool *removed)
{
	*removed = false;
	for (size_t i = 0; i < r->change.n_peers; i++) {
		const struct wg_peer_change *pc = &r->change.peers[i];
		if (pc->public_key[0] != id)
			continue;
		*removed |= (pc->flags & WG_CHANGE_REMOVE) != 0;
		if (pc->flags & WG_CHANGE_ENDPOINT)
			return pc;
	}
	return NULL;
}

/* Regression: a leaf tried another leaf's first endpoint (unreachable) and
 * moved on to the next after ENDPOINT_FIRST_TRY_MS, but WireGuard sends an
 * initiation at most once per 5 s: the new endpoint waited for that retry
 * (deadfirst 6.6 s). A peer we added that never had a handshake is made
 * anew with the next endpoint, as it was (allowed IPs, keepalive); one with
 * a handshake or a preshared key, or the administrator's, is updated in
 * place. */
static void test_renew_untried_peer(void **state)
{
	(void)state;
	for (int kind = 0; kind < 4; kind++) {
		struct wg_device *d = wg_device_new("wg0");
		add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router */
		struct wg_peer *b = add_peer(d, 0x02, NULL, "10.9.0.0/24", false);
		b->keepalive = 25;
		b->has_preshared_key = kind == 2;
		if (kind == 1)
			b->last_handshake_sec = wall0 / 1000 - 600; /* long ago */
		struct engine *e = engine_for(NULL, 0, false, -1);
		if (kind != 3)
			engine_adopt(e, b->public_key, true, NULL); /* we added it */
		engine_set_device(e, d, wall0);
		say_alive(e, 0x02, t0);
		struct wire_fact eps[2] = { fact_of(WIRE_ENDPOINT_V4, 0x02, "192.168.7.2:51820", 255),
					    fact_of(WIRE_ENDPOINT_V4, 0x02, "203.0.113.2:51820", 255) };
		assert_int_equal(receive_from(e, 0x06, eps, 2, t0), 2);
		struct engine_round r;
		assert_int_equal(engine_run(e, t0, &r), 0);
		bool removed;
		const struct wg_peer_change *pc = endpoint_change(&r, 0x02, &removed);
		assert_non_null(pc);
		assert_false(removed); /* no endpoint yet: nothing was tried */
		/* Public first: the private address is on none of our subnets. */
		assert_int_equal(pc->endpoint.addr4.sin_addr.s_addr, inet_addr("203.0.113.2"));
		engine_round_free(&r);
		b = &d->peers[1];
		assert_true(wg_endpoint_parse("203.0.113.2:51820", &b->endpoint));
		/* Only the renewed one is quick about it (a quick pass); the first
		 * try of one that never had a handshake waits out our first-contact
		 * hold (we are the higher key) before its time starts. */
		int64_t try_ms = (kind == 0 ? ENDPOINT_QUICK_MS : ENDPOINT_FIRST_TRY_MS) +
				 (kind == 1 ? 0 : FIRST_CONTACT_HOLD_MS);
		engine_set_device(e, d, wall0 + try_ms);
		assert_int_equal(engine_run(e, t0 + try_ms - 1, &r), 0);
		assert_null(endpoint_change(&r, 0x02, &removed));
		engine_round_free(&r);
		int64_t later = t0 + try_ms;
		assert_int_equal(engine_run(e, later, &r), 0);
		pc = endpoint_change(&r, 0x02, &removed);
		assert_non_null(pc);
		assert_int_equal(pc->endpoint.addr4.sin_addr.s_addr, inet_addr("192.168.7.2"));
		assert_int_equal(removed, kind == 0);
		if (kind == 0) { /* added back as it was */
			assert_false(pc->flags & WG_CHANGE_UPDATE_ONLY);
			assert_true(pc->flags & WG_CHANGE_KEEPALIVE);
			assert_int_equal(pc->keepalive, 25);
			assert_int_equal(pc->n_allowedips, b->n_allowedips);
		} else {
			assert_true(pc->flags & WG_CHANGE_UPDATE_ONLY);
		}
		engine_round_free(&r);
		engine_free(e);
		wg_device_free(d);
	}
}

/* A leaf (0xee) that added peer 0x02 (a lower key, never a handshake)
 * and heard two endpoints of it: the first round, which tries the public
 * one and holds our first packet, is in *r. */
static struct engine *holding_leaf(struct wg_device **dp, struct engine_round *r)
{
	struct wg_device *d = *dp = wg_device_new("wg0");
	add_peer(d, 0x06, "192.0.2.6:1", "10.0.0.0/24", true); /* router */
	add_peer(d, 0x02, NULL, "10.9.0.0/24", false);	       /* lower than us (0xee) */
	struct engine *e = engine_for(NULL, 0, false, -1);
	engine_adopt(e, d->peers[1].public_key, true, NULL);
	engine_set_device(e, d, wall0);
	say_alive(e, 0x02, t0);
	struct wire_fact eps[2] = { fact_of(WIRE_ENDPOINT_V4, 0x02, "192.168.7.2:51820", 255),
				    fact_of(WIRE_ENDPOINT_V4, 0x02, "203.0.113.2:51820", 255) };
	assert_int_equal(receive_from(e, 0x06, eps, 2, t0), 2);
	assert_int_equal(engine_run(e, t0, r), 0);
	return e;
}

/* The higher key's first-contact hold delays the first try's packet: that
 * try lasts the hold longer (its candidate still gets its quick try), and
 * the quick pass goes on without holding again (issue 27: a held quick
 * pass sent nothing, and the slow pass found the good candidate 13 s on). */
static void test_hold_then_quick(void **state)
{
	(void)state;
	struct wg_device *d;
	struct engine_round r;
	bool removed;
	struct engine *e = holding_leaf(&d, &r);
	const struct wg_peer_change *pc = endpoint_change(&r, 0x02, &removed);
	assert_non_null(pc);
	assert_int_equal(pc->endpoint.addr4.sin_addr.s_addr, inet_addr("203.0.113.2"));
	assert_true(sent_to(&r, 0x02) < 0); /* held */
	engine_round_free(&r);
	assert_true(wg_endpoint_parse("203.0.113.2:51820", &d->peers[1].endpoint));
	engine_set_device(e, d, wall0 + ENDPOINT_QUICK_MS);
	assert_int_equal(engine_run(e, t0 + ENDPOINT_QUICK_MS, &r), 0);
	assert_null(endpoint_change(&r, 0x02, &removed)); /* its try is not over */
	engine_round_free(&r);
	engine_set_device(e, d, wall0 + FIRST_CONTACT_HOLD_MS);
	assert_int_equal(engine_run(e, t0 + FIRST_CONTACT_HOLD_MS, &r), 0);
	assert_true(sent_to(&r, 0x02) >= 0); /* the hold is over: the hello goes */
	assert_null(endpoint_change(&r, 0x02, &removed));
	engine_round_free(&r);
	int64_t next = t0 + FIRST_CONTACT_HOLD_MS + ENDPOINT_QUICK_MS;
	engine_set_device(e, d, wall0 + next - t0);
	assert_int_equal(engine_run(e, next, &r), 0);
	pc = endpoint_change(&r, 0x02, &removed);
	assert_non_null(pc);
	assert_int_equal(pc->endpoint.addr4.sin_addr.s_addr, inet_addr("192.168.7.2"));
	assert_true(removed); /* made anew: its handshake leaves at once */
	assert_true(sent_to(&r, 0x02) >= 0); /* no second hold */
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* Our host's addresses change while we hold our first packet (a laptop's
 * interfaces still coming up): the new pass's first try lasts until the
 * hold is over and its candidate's quick try after it, so the candidate
 * hears our initiation (deadlan: a try with nothing sent passed, and
 * behind a NAT the other side's initiations never came through; 3.7 s). */
static void test_host_change_while_held(void **state)
{
	(void)state;
	struct wg_device *d;
	struct engine_round r;
	bool removed;
	struct engine *e = holding_leaf(&d, &r);
	assert_non_null(endpoint_change(&r, 0x02, &removed));
	assert_true(sent_to(&r, 0x02) < 0); /* held */
	engine_round_free(&r);
	assert_true(wg_endpoint_parse("203.0.113.2:51820", &d->peers[1].endpoint));
	int64_t moved = t0 + FIRST_CONTACT_HOLD_MS / 2;
	engine_host_changed(e);
	engine_set_device(e, d, wall0 + moved - t0);
	assert_int_equal(engine_run(e, moved, &r), 0);
	assert_true(sent_to(&r, 0x02) < 0); /* still held */
	/* The new pass begins with the candidate not yet tried. */
	const struct wg_peer_change *pc = endpoint_change(&r, 0x02, &removed);
	assert_non_null(pc);
	assert_int_equal(pc->endpoint.addr4.sin_addr.s_addr, inet_addr("192.168.7.2"));
	engine_round_free(&r);
	assert_true(wg_endpoint_parse("192.168.7.2:51820", &d->peers[1].endpoint));
	/* The try begun at `moved` is not over while we hold, nor at the end
	 * of the hold: its candidate gets our hello and a quick try. */
	int64_t end = t0 + FIRST_CONTACT_HOLD_MS;
	engine_set_device(e, d, wall0 + end - t0);
	assert_int_equal(engine_run(e, end, &r), 0);
	assert_null(endpoint_change(&r, 0x02, &removed));
	assert_true(sent_to(&r, 0x02) >= 0);
	engine_round_free(&r);
	engine_set_device(e, d, wall0 + end + ENDPOINT_QUICK_MS - 1 - t0);
	assert_int_equal(engine_run(e, end + ENDPOINT_QUICK_MS - 1, &r), 0);
	assert_null(endpoint_change(&r, 0x02, &removed));
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
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
	add_peer(d, 0x0d, "192.0.2.13:1", "10.0.0.13/32", false); /* in the config */
	add_peer(d, 0x0e, "192.0.2.14:1", "10.0.0.14/32", false); /* the admin's */
	struct engine *e = engine_for(cfg, 1, false, -1);
	engine_set_device(e, d, wall0);
	int64_t now = t0;
	struct engine_round r;
	/* The router says C is a member, briefly: we add C (ours to remove). */
	say_alive(e, 0x06, now);
	struct wire_fact m = { .attr = WIRE_MEMBER, .ttl = 20 };
	memset(m.subject, 0x0c, 32);
	assert_int_equal(receive_from(e, 0x06, &m, 1, now), 1);
	assert_int_equal(engine_run(e, now, &r), 0);
	bool added_c = false;
	for (size_t i = 0; i < r.change.n_peers; i++)
		added_c |= r.change.peers[i].public_key[0] == 0x0c;
	assert_true(added_c);
	engine_round_free(&r);
	add_peer(d, 0x0c, "192.0.2.12:1", NULL, false);
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
		assert_false(removes(&r, 0x0e)); /* never: wirelink did not add it */
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
	cidr.v.cidr.addr[0] = 10;
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


/* Sends to peer `to` in a round of the endpoint with port 51820 (the
 * relayed one, not the one we see ourselves). */
static int sent_relayed(const struct engine_round *r, uint8_t to)
{
	int n = 0;
	for (size_t i = 0; i < r->n_sends; i++)
		for (size_t k = 0; r->sends[i].peer[0] == to && k < r->sends[i].n; k++)
			n += r->sends[i].facts[k].attr == WIRE_ENDPOINT_V4 &&
			     r->sends[i].facts[k].v.endpoint.port == 51820;
	return n;
}

/* Issue 17: a fact whose source stopped refreshing it goes to each peer at
 * most once more before it expires, never back to the peer it came from,
 * and never with more life than it has. */
static void test_stale_fact_not_bounced(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x21, "192.0.2.21:1", "10.0.0.21/32", true);
	add_peer(d, 0x22, "192.0.2.22:1", "10.0.0.22/32", true);
	add_peer(d, 0x23, "192.0.2.23:1", "10.0.0.23/32", true);
	struct engine *e = engine_for(NULL, 0, false, 1);
	engine_set_device(e, d, wall0);
	for (uint8_t id = 0x21; id <= 0x23; id++)
		say_alive(e, id, t0);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	engine_round_free(&r);
	/* 0x23 relays an endpoint of 0x21 with 100 s left, then falls silent. */
	int64_t now = t0 + 10000;
	struct wire_fact f = fact_of(WIRE_ENDPOINT_V4, 0x21, "198.51.100.7:51820", 100);
	assert_int_equal(receive_from(e, 0x23, &f, 1, now), 1);
	int to_22 = 0, to_23 = 0;
	for (int64_t t = now; t < now + 101000; t += 500) {
		if ((t - now) % 30000 == 0)
			for (uint8_t id = 0x21; id <= 0x23; id++)
				say_alive(e, id, t); /* everyone stays up */
		assert_int_equal(engine_run(e, t, &r), 0);
		to_22 += sent_relayed(&r, 0x22);
		to_23 += sent_relayed(&r, 0x23);
		for (size_t i = 0; i < r.n_sends; i++)
			for (size_t k = 0; k < r.sends[i].n; k++)
				if (r.sends[i].facts[k].attr == WIRE_ENDPOINT_V4 &&
				    r.sends[i].facts[k].v.endpoint.port == 51820)
					assert_true(r.sends[i].facts[k].ttl <= 100 - (t - now) / 1000);
		engine_round_free(&r);
	}
	assert_int_equal(to_22, 1);
	assert_int_equal(to_23, 0);
	/* A fact that is refreshed still goes out again before it runs out. */
	now += 101000;
	f = fact_of(WIRE_ENDPOINT_V4, 0x21, "198.51.100.8:51820", 255);
	assert_int_equal(receive_from(e, 0x23, &f, 1, now), 1);
	to_22 = 0;
	for (int64_t t = now; t < now + 400000; t += 1000) {
		if ((t - now) % 30000 == 0) {
			for (uint8_t id = 0x21; id <= 0x23; id++)
				say_alive(e, id, t);
			f.ttl = 255;
			assert_true(receive_from(e, 0x23, &f, 1, t) >= 0);
		}
		assert_int_equal(engine_run(e, t, &r), 0);
		to_22 += sent_relayed(&r, 0x22);
		assert_int_equal(sent_relayed(&r, 0x23), 0);
		engine_round_free(&r);
	}
	assert_true(to_22 >= 3 && to_22 <= 5);
	engine_free(e);
	wg_device_free(d);
}

/* Issue 13: from a sender that is neither a peer nor trusted by the config,
 * nothing is kept (not even a peer entry); a new boot id clears knowledge at
 * most once per RESTART_MIN_INTERVAL; boot ids are RFC 4122 v4 UUIDs. */
static void test_untrusted_and_restarts(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x31, "192.0.2.31:1", "10.0.0.0/24", true); /* a router */
	struct engine *e = engine_for(NULL, 0, false, -1);
	engine_set_device(e, d, wall0);
	size_t entries = engine_peer_entries(e);
	struct wire_fact m[50];
	for (int i = 0; i < 50; i++) {
		m[i] = (struct wire_fact){ .attr = WIRE_MEMBER, .ttl = 255 };
		memset(m[i].subject, 0x80 + i, 32);
	}
	assert_int_equal(receive_from(e, 0x77, m, 50, t0), 0);
	assert_int_equal(engine_peer_entries(e), entries);
	assert_int_equal(engine_fact_count(e), 0);
	assert_int_equal(engine_stats(e).untrusted, 50);
	const uint8_t *b = engine_boot_id(e);
	assert_int_equal(b[6] >> 4, 4);
	assert_int_equal(b[8] & 0xc0, 0x80);
	/* Restarts: the first new boot id counts, one 100 ms later does not. */
	struct wire_fact a = { .attr = WIRE_ALIVE, .ttl = 255 };
	memset(a.subject, 0x31, 32);
	a.v.boot_id[0] = 1;
	assert_int_equal(receive_from(e, 0x31, &a, 1, t0), 1);
	a.v.boot_id[0] = 2;
	assert_int_equal(receive_from(e, 0x31, &a, 1, t0 + 1000), 1); /* restarted */
	a.v.boot_id[0] = 3;
	assert_int_equal(receive_from(e, 0x31, &a, 1, t0 + 1100), 0);
	assert_int_equal(engine_stats(e).restarts_ignored, 1);
	a.v.boot_id[0] = 4;
	assert_int_equal(receive_from(e, 0x31, &a, 1, t0 + 12000), 1);
	engine_free(e);
	wg_device_free(d);
}

/* A round's events for the peer whose key is all `who`. */
static unsigned events_for(const struct engine_round *r, uint8_t who)
{
	uint8_t key[32];
	memset(key, who, sizeof(key));
	unsigned ev = 0;
	for (size_t i = 0; i < r->n_events; i++)
		if (!memcmp(r->events[i].peer, key, 32))
			ev |= r->events[i].events;
	return ev;
}

/* Issue 22: the log's "restarted" is for a peer seen before. A peer's
 * first Alive (whatever its boot id) makes it alive, not restarted; a new
 * boot id from it later is a restart. */
static void test_first_alive_is_no_restart(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x31, "192.0.2.31:1", "10.0.0.0/24", true);
	struct engine *e = engine_for(NULL, 0, false, -1);
	engine_set_device(e, d, wall0);
	struct wire_fact a = { .attr = WIRE_ALIVE, .ttl = 255 };
	memset(a.subject, 0x31, 32);
	a.v.boot_id[0] = 7;
	assert_true(receive_from(e, 0x31, &a, 1, t0) >= 0);
	struct engine_round r;
	assert_int_equal(engine_decide(e, t0, &r), 0);
	assert_true(events_for(&r, 0x31) & PEER_EV_ALIVE);
	assert_false(events_for(&r, 0x31) & PEER_EV_REBOOTED);
	engine_round_free(&r);
	a.v.boot_id[0] = 8;
	assert_true(receive_from(e, 0x31, &a, 1, t0 + 20000) >= 0);
	assert_int_equal(engine_decide(e, t0 + 20000, &r), 0);
	assert_true(events_for(&r, 0x31) & PEER_EV_REBOOTED);
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* Issue 13: caps on endpoints per subject and on subjects, one event per
 * minute when they are hit; peers added per round are capped. */
static void test_budget(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x41, "192.0.2.41:1", "10.0.0.0/24", true); /* a router: Membership */
	add_peer(d, 0x42, "192.0.2.42:1", "10.0.0.42/32", true);
	struct engine_config ec = { .router = -1, .random = det_random,
				    .limits = { .max_subjects = 40, .members_per_round = 8 } };
	struct engine *e = engine_new(&ec, self, t0);
	assert_non_null(e);
	engine_set_device(e, d, wall0);
	say_alive(e, 0x41, t0);
	struct wire_fact f[100];
	char text[32];
	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d:%d", i + 1, 1000 + i);
		f[i] = fact_of(WIRE_ENDPOINT_V4, 0x42, text, 255);
	}
	assert_int_equal(receive_from(e, 0x41, f, 100, t0), 16);
	assert_int_equal(engine_stats(e).over_budget, 84);
	struct engine_round r;
	assert_int_equal(engine_decide(e, t0, &r), 0);
	int said = 0;
	for (size_t i = 0; i < r.n_events; i++)
		said += r.events[i].peer[0] == 0x41 && (r.events[i].events & ENGINE_EV_BUDGET);
	assert_int_equal(said, 1);
	engine_round_free(&r);
	/* A second burst soon after is not logged again. */
	assert_int_equal(receive_from(e, 0x41, f + 50, 50, t0 + 1000), 0);
	assert_int_equal(engine_decide(e, t0 + 1000, &r), 0);
	for (size_t i = 0; i < r.n_events; i++)
		assert_false(r.events[i].events & ENGINE_EV_BUDGET);
	engine_round_free(&r);
	/* Members about 100 random keys: 40 subjects at most (one is 0x42). */
	struct wire_fact m[100];
	for (int i = 0; i < 100; i++) {
		m[i] = (struct wire_fact){ .attr = WIRE_MEMBER, .ttl = 255 };
		memset(m[i].subject, 0x90 + i, 32);
	}
	assert_int_equal(receive_from(e, 0x41, m, 100, t0 + 2000), 39);
	/* ...and they join the device 8 a round. */
	assert_int_equal(engine_decide(e, t0 + 2000, &r), 0);
	int added = 0;
	for (size_t i = 0; i < r.change.n_peers; i++)
		added += !(r.change.peers[i].flags & WG_CHANGE_UPDATE_ONLY) &&
			 !(r.change.peers[i].flags & WG_CHANGE_REMOVE);
	assert_int_equal(added, 8);
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

/* When quiet, the device needs a look only when a handshake ages out (or
 * after idle_ms): the wall-clock deadline comes back in monotonic time. */
static void test_next_look(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true);
	struct engine *e = engine_for(NULL, 0, false, 0);
	engine_set_device(e, d, wall0 + 1000);
	assert_true(engine_peer(e, d->peers[0].public_key)->healthy);
	assert_int_equal(engine_next_look(e, t0, wall0 + 1000, 30000), t0 + 30000);
	int64_t wall = wall0 + HANDSHAKE_VALIDITY_MS - 10000; /* 10 s before it ages out */
	engine_set_device(e, d, wall);
	assert_int_equal(engine_next_look(e, t0 + 500, wall, 30000), t0 + 500 + 10000);
	/* Past due (a late round): now. */
	assert_int_equal(engine_next_look(e, t0, wall + 20000, 30000), t0);
	engine_free(e);
	wg_device_free(d);
}

/* Link probes through the engine: a probe from a peer is answered in the
 * next round; traffic that stops gets our probe; unanswered, the link is
 * dead (unhealthy) within PROBE_WAIT_MS; an answer revives it. */
/* Issue 23: the interface took packets of ours and no peer sent data (a
 * local firewall refused them): a read CONFIRM_MS later settles it, and
 * each link that carried nothing is probed. A packet merely on its way is
 * no failure. */
/* A leaf (us, or a router when ROUTER) and peer 0x02, whose daemon
 * answers probes: its probe has come and been answered at t0. */
static struct engine *answering_peer_of(struct wg_device **d, struct wg_peer **w, struct wire_fact *a,
					int router)
{
	*d = wg_device_new("wg0");
	*w = add_peer(*d, 0x02, "192.0.2.2:1", "10.0.0.2/32", true);
	struct engine *e = engine_for(NULL, 0, false, router);
	engine_set_device(e, *d, wall0);
	*a = (struct wire_fact){ .attr = WIRE_ALIVE, .ttl = PROBE_TTL };
	memset(a->subject, 0x02, 32);
	assert_true(engine_receive(e, a->subject, a, 1, t0) >= 1); /* a prompt round */
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_ANSWER_TTL), PROBE_ANSWER_TTL);
	engine_round_free(&r);
	assert_true(engine_peer(e, a->subject)->answers);
	return e;
}

/* Peer BYTE probes us at T (it answers probes from then on); its probe. */
static struct wire_fact probe_from(struct engine *e, uint8_t byte, int64_t t)
{
	struct wire_fact f = { .attr = WIRE_ALIVE, .ttl = PROBE_TTL };
	memset(f.subject, byte, 32);
	assert_true(engine_receive(e, f.subject, &f, 1, t) >= 1);
	return f;
}

static struct engine *with_answering_peer(struct wg_device **d, struct wg_peer **w, struct wire_fact *a)
{
	return answering_peer_of(d, w, a, 0);
}

/* A device read with the interface's counters before it. */
static void counted_read(struct engine *e, struct wg_device *d, uint64_t tx, uint64_t rx, int64_t wall)
{
	engine_tunnel_counted(e, tx, rx);
	engine_set_device(e, d, wall);
}

/* Data from peer W arriving at two reads CONFIRM_MS apart, from WALL on,
 * and none out of the interface: WireGuard dropped it. */
static void dropped_reads(struct engine *e, struct wg_device *d, struct wg_peer *w, int64_t wall)
{
	w->rx_bytes += 3 * 128;
	counted_read(e, d, 0, 0, wall);
	w->rx_bytes += 2 * 128;
	counted_read(e, d, 0, 0, wall + CONFIRM_MS);
}

static void test_failed_sends_probed(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	struct engine_round r;
	/* On its way: taken, then sent. */
	int64_t t = t0 + 40000;
	assert_false(engine_loss_pending(e, wall0 + 40000));
	counted_read(e, d, 1, 0, wall0 + 40000);
	assert_int_equal(engine_next_look(e, t, wall0 + 40000, 30000), t + CONFIRM_MS);
	/* Open (the caller looks often) until settled, or SETTLE_WITHIN_MS. */
	assert_true(engine_loss_pending(e, wall0 + 40000 + SETTLE_WITHIN_MS));
	assert_false(engine_loss_pending(e, wall0 + 40001 + SETTLE_WITHIN_MS));
	assert_false(engine_drop_pending(e, wall0 + 40000)); /* a send: no glance helps */
	w->tx_bytes += 128;
	counted_read(e, d, 0, 0, wall0 + 40000 + CONFIRM_MS);
	assert_false(engine_loss_pending(e, wall0 + 40000 + CONFIRM_MS));
	assert_int_equal(engine_run(e, t + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), 0);
	engine_round_free(&r);
	/* Refused: taken, never sent. The link is probed, and dies unanswered. */
	t = t0 + 60000;
	counted_read(e, d, 1, 0, wall0 + 60000);
	counted_read(e, d, 1, 0, wall0 + 60000 + CONFIRM_MS);
	assert_int_equal(engine_run(e, t + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	engine_set_device(e, d, wall0 + 60000 + CONFIRM_MS + PROBE_WAIT_MS);
	assert_int_equal(engine_run(e, t + CONFIRM_MS + PROBE_WAIT_MS, &r), 0);
	engine_round_free(&r);
	assert_false(engine_peer(e, a.subject)->healthy);
	engine_free(e);
	wg_device_free(d);
}

/* A user's ping is not sent every second: a quiet read between two
 * refused packets keeps the loss open (SETTLE_WITHIN_MS), and the link is
 * probed. Two lone packets further apart than that are no loss. */
static void test_failed_sends_with_gaps(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	struct engine_round r;
	/* Lone packets (the host's own), SETTLE_WITHIN_MS apart: nothing. */
	int64_t t = t0 + 40000, wall = wall0 + 40000;
	counted_read(e, d, 1, 0, wall);
	for (int64_t k = CONFIRM_MS; k < SETTLE_WITHIN_MS; k += CONFIRM_MS) {
		counted_read(e, d, 0, 0, wall + k);
	}
	counted_read(e, d, 0, 0, wall + SETTLE_WITHIN_MS);
	counted_read(e, d, 1, 0, wall + SETTLE_WITHIN_MS + CONFIRM_MS);
	assert_int_equal(engine_run(e, t + SETTLE_WITHIN_MS + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), 0);
	engine_round_free(&r);
	/* Refused, a quiet read (no more reads soon: a look reads when
	 * anything moves), refused again at the next look: probed. */
	t = t0 + 60000, wall = wall0 + 60000;
	counted_read(e, d, 1, 0, wall);
	assert_int_equal(engine_next_look(e, t, wall, 30000), t + CONFIRM_MS);
	counted_read(e, d, 0, 0, wall + CONFIRM_MS);
	assert_int_equal(engine_next_look(e, t + CONFIRM_MS, wall + CONFIRM_MS, 30000), t + CONFIRM_MS + 30000);
	counted_read(e, d, 1, 0, wall + 3000);
	assert_int_equal(engine_run(e, t + 3000, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* Issue 23: data arrived from one peer (a router) and none came out of
 * the interface: WireGuard dropped it, its source being an address we
 * hold on another peer's direct link, whose own side fell back. The idle
 * direct link is down at once, and probed. */
static void test_dropped_arrivals_probed(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	struct wg_peer *hub = add_peer(d, 0x09, "192.0.2.9:1", "10.9.0.0/16", true);
	engine_set_device(e, d, wall0 + 50000);
	struct engine_round r;
	int64_t t = t0 + 60000;
	/* A glance (userspace WireGuard: the interface shows nothing) finds
	 * the data that arrived; one that finds only WireGuard's own bytes
	 * (a keepalive) does not. */
	assert_false(engine_glance(e, d));
	hub->rx_bytes += 32;
	assert_false(engine_glance(e, d));
	hub->rx_bytes += 3 * 128;
	assert_true(engine_glance(e, d));
	counted_read(e, d, 0, 0, wall0 + 60000);
	/* Open: the caller glances at each look until the next sight. */
	assert_true(engine_drop_pending(e, wall0 + 60000));
	hub->rx_bytes += 2 * 128; /* still coming, still dropped */
	counted_read(e, d, 0, 0, wall0 + 60000 + CONFIRM_MS);
	assert_int_equal(engine_run(e, t + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	/* Its peer fell back: the link is down at once, not after a probe's
	 * wait; the probe's answer would bring it back. */
	assert_false(engine_peer(e, a.subject)->healthy);
	struct wire_fact ans = a;
	ans.ttl = PROBE_ANSWER_TTL;
	engine_receive(e, a.subject, &ans, 1, t + CONFIRM_MS + 5);
	assert_true(engine_peer(e, a.subject)->healthy);
	engine_free(e);
	wg_device_free(d);
}

/* Kernel WireGuard counts an arrival it dropped for its source at the
 * interface (rx_frame_errors), not at the peer it came from, and a send
 * the host refused as sent at the peer and dropped at the interface
 * (tx_dropped). The kernel guest's idle firewall: the side whose arrivals
 * come through the router waited 34 s for some other data to show, and
 * WireGuard's own keepalives, counted as sent at the interface, looked
 * like refused sends (probes of idle links every half minute). */
static void test_kernel_losses(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	struct wg_peer *hub = add_peer(d, 0x09, "192.0.2.9:1", "10.9.0.0/16", true);
	engine_set_device(e, d, wall0 + 50000);
	struct engine_round r;
	int64_t t = t0 + 60000, wall = wall0 + 60000;
	/* A lone drop (a packet in flight when a link moved) and a
	 * keepalive to the hub: nothing. */
	engine_tunnel_losses(e, 0, 1);
	engine_set_device(e, d, wall);
	hub->tx_bytes += 32;
	engine_tunnel_losses(e, 0, 0);
	engine_set_device(e, d, wall + SETTLE_WITHIN_MS + 1);
	assert_true(engine_peer(e, a.subject)->healthy);
	/* Drops at two reads, a quiet one between them: the idle link is
	 * down and probed. */
	wall += 10000;
	t += 10000;
	engine_tunnel_losses(e, 0, 2);
	engine_set_device(e, d, wall);
	engine_tunnel_losses(e, 0, 0);
	engine_set_device(e, d, wall + CONFIRM_MS);
	engine_tunnel_losses(e, 0, 1);
	engine_set_device(e, d, wall + 2000);
	assert_int_equal(engine_run(e, t + 2000, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	assert_false(engine_peer(e, a.subject)->healthy);
	engine_free(e);
	wg_device_free(d);
}

/* The kernel's refused sends: the peer they were for counts them as
 * sent. It is probed; the hub (it sent too: a keepalive) and an idle
 * leaf, both answering probes, are not. One read of refusals alone is no
 * loss. */
static void test_kernel_refused(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = answering_peer_of(&d, &w, &a, 0);
	struct wg_peer *hub = add_peer(d, 0x09, "192.0.2.9:1", "10.9.0.0/16", true);
	add_peer(d, 0x05, "192.0.2.5:1", "10.0.0.5/32", true);
	engine_set_device(e, d, wall0 + 50000);
	struct wire_fact h = probe_from(e, 0x09, t0 + 50000), o = probe_from(e, 0x05, t0 + 50000);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0 + 50000, &r), 0); /* hellos and answers */
	engine_round_free(&r);
	assert_true(engine_peer_is_router(e, hub));
	assert_true(engine_peer(e, h.subject)->answers && engine_peer(e, o.subject)->answers);
	int64_t t = t0 + 60000, wall = wall0 + 60000;
	w->tx_bytes += 128;
	hub->tx_bytes += 32;
	engine_tunnel_losses(e, 1, 0);
	engine_set_device(e, d, wall);
	assert_int_equal(engine_run(e, t, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), 0);
	engine_round_free(&r);
	w->tx_bytes += 128;
	hub->tx_bytes += 32;
	engine_tunnel_losses(e, 1, 0);
	engine_set_device(e, d, wall + CONFIRM_MS);
	assert_int_equal(engine_run(e, t + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	assert_int_equal(alive_ttl_to(&r, 0x09, PROBE_TTL), 0);
	assert_int_equal(alive_ttl_to(&r, 0x05, PROBE_TTL), 0);
	assert_false(engine_round_news(&r)); /* a probe alone: no reason to read more often */
	engine_round_free(&r);
	/* Unanswered: down, and the log says the host refused. */
	w->tx_bytes += 128;
	engine_tunnel_losses(e, 0, 0);
	engine_set_device(e, d, wall + CONFIRM_MS + PROBE_WAIT_MS);
	assert_false(engine_peer(e, a.subject)->healthy);
	assert_non_null(strstr(peerstate_down_why(engine_peer(e, a.subject)), "refused"));
	engine_free(e);
	wg_device_free(d);
}

/* Issue 26: the link to W goes down from T on (the host refuses our
 * sends, the probe goes unanswered); the events of those rounds. */
static unsigned link_falls(struct engine *e, struct wg_device *d, struct wg_peer *w, int64_t t)
{
	int64_t wall = wall0 + (t - t0);
	unsigned ev = 0;
	struct engine_round r;
	for (int i = 0; i <= 2; i++) {
		int64_t at = i < 2 ? i * CONFIRM_MS : CONFIRM_MS + PROBE_WAIT_MS;
		w->tx_bytes += 128;
		engine_tunnel_losses(e, i < 2, 0);
		engine_set_device(e, d, wall + at);
		assert_int_equal(engine_run(e, t + at, &r), 0);
		ev |= events_for(&r, 0x02);
		engine_round_free(&r);
	}
	assert_false(engine_peer(e, w->public_key)->healthy);
	return ev;
}

/* ...and comes back at T (its answer to the probe arrives). */
static unsigned link_rises(struct engine *e, struct wg_device *d, struct wg_peer *w, int64_t t)
{
	struct wire_fact ans = { .attr = WIRE_ALIVE, .ttl = PROBE_ANSWER_TTL };
	memcpy(ans.subject, w->public_key, 32);
	assert_true(engine_receive(e, ans.subject, &ans, 1, t) >= 1);
	w->rx_bytes += 128;
	engine_set_device(e, d, wall0 + (t - t0));
	struct engine_round r;
	assert_int_equal(engine_run(e, t, &r), 0);
	unsigned ev = events_for(&r, 0x02);
	engine_round_free(&r);
	assert_true(engine_peer(e, w->public_key)->healthy);
	return ev;
}

/* Issue 26: a link that goes down and comes back again and again (a lossy
 * path) is told once, its later changes are quiet (debug), and once it has
 * held for FLAP_MS, that is told with the count. A link that falls long
 * after it came back is no flap. */
static void test_flapping_link_quiet(void **state)
{
	(void)state;
	/* What goes to the debug log: a change of health its link line says,
	 * and a flapping link's changes (not its peer's Alive). */
	assert_int_equal(engine_debug_only(PEER_EV_UNHEALTHY | ENGINE_EV_RESTRICTED), PEER_EV_UNHEALTHY);
	assert_int_equal(engine_debug_only(PEER_EV_HEALTHY | ENGINE_EV_ALLOWEDIPS_MOVED), PEER_EV_HEALTHY);
	assert_int_equal(engine_debug_only(PEER_EV_UNHEALTHY), 0); /* a router's link: said */
	assert_int_equal(engine_debug_only(ENGINE_EV_QUIET | PEER_EV_HEALTHY | PEER_EV_ALIVE |
					   ENGINE_EV_ALLOWEDIPS_MOVED | ENGINE_EV_PEER_ADDED),
			 PEER_EV_HEALTHY | ENGINE_EV_ALLOWEDIPS_MOVED);
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = answering_peer_of(&d, &w, &a, 0);
	const int64_t s = 1000;
	/* Up at t0; down after 20 s, back, down again 10 s later: a flap. */
	unsigned ev = link_falls(e, d, w, t0 + 20 * s);
	assert_true(ev & PEER_EV_UNHEALTHY);
	assert_false(ev & (ENGINE_EV_FLAPPING | ENGINE_EV_QUIET));
	ev = link_rises(e, d, w, t0 + 25 * s);
	assert_true(ev & PEER_EV_HEALTHY);
	assert_false(ev & ENGINE_EV_QUIET);
	ev = link_falls(e, d, w, t0 + 35 * s);
	/* This fall is told in one line (FLAPPING), not the usual ones. */
	assert_true((ev & PEER_EV_UNHEALTHY) && (ev & ENGINE_EV_FLAPPING) && (ev & ENGINE_EV_QUIET));
	const struct peerstate *ps = engine_peer(e, a.subject);
	assert_true(ps->flap.on);
	/* Its next ups and downs are quiet, and counted. */
	ev = link_rises(e, d, w, t0 + 40 * s);
	assert_true((ev & PEER_EV_HEALTHY) && (ev & ENGINE_EV_QUIET));
	ev = link_falls(e, d, w, t0 + 50 * s);
	assert_true((ev & PEER_EV_UNHEALTHY) && (ev & ENGINE_EV_QUIET));
	assert_false(ev & ENGINE_EV_FLAPPING);
	int64_t last = t0 + 55 * s;
	ev = link_rises(e, d, w, last);
	assert_true(ev & ENGINE_EV_QUIET);
	assert_int_equal(ps->flap.downs, 3);
	assert_int_equal(ps->flap.since, t0 + 20 * s + CONFIRM_MS + PROBE_WAIT_MS); /* the first fall */
	/* Held for FLAP_MS: told once, direct. */
	struct engine_round r;
	w->rx_bytes += 128;
	w->last_handshake_sec = (wall0 + (last - t0)) / 1000;
	engine_set_device(e, d, wall0 + (last - t0) + FLAP_MS - 1);
	assert_int_equal(engine_run(e, last + FLAP_MS - 1, &r), 0);
	assert_false(events_for(&r, 0x02) & ENGINE_EV_STEADY);
	engine_round_free(&r);
	engine_set_device(e, d, wall0 + (last - t0) + FLAP_MS);
	assert_int_equal(engine_run(e, last + FLAP_MS, &r), 0);
	assert_true(events_for(&r, 0x02) & ENGINE_EV_STEADY);
	engine_round_free(&r);
	assert_false(ps->flap.on);
	assert_true(ps->healthy);
	/* Long after: a fall is no flap, and it is told. */
	int64_t later = last + FLAP_MS + 20 * s;
	ev = link_falls(e, d, w, later);
	assert_true(ev & PEER_EV_UNHEALTHY);
	assert_false(ev & (ENGINE_EV_FLAPPING | ENGINE_EV_QUIET));
	engine_free(e);
	wg_device_free(d);
}

/* The kernel, a drop while we send a dead link's peer through the router:
 * its data, most likely, coming on its own link. It is asked at once and
 * no other link ends. */
static void test_kernel_dropped_dead_link(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	add_peer(d, 0x03, "192.0.2.3:1", "10.0.0.3/32", true);
	engine_set_device(e, d, wall0 + 1000);
	struct wire_fact b = probe_from(e, 0x03, t0 + 1000);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0 + 1000, &r), 0);
	engine_round_free(&r);
	/* 0x02's link dies: sends to it refused, its probe unanswered. */
	int64_t t = t0 + 40000, wall = wall0 + 40000;
	for (int k = 0; k < 2; k++) {
		w->tx_bytes += 128;
		engine_tunnel_losses(e, 1, 0);
		engine_set_device(e, d, wall + k * CONFIRM_MS);
	}
	assert_int_equal(engine_run(e, t + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	wall += CONFIRM_MS;
	t += CONFIRM_MS;
	w->tx_bytes += 128;
	engine_tunnel_losses(e, 0, 0);
	engine_set_device(e, d, wall + PROBE_WAIT_MS);
	assert_false(engine_peer(e, a.subject)->healthy);
	/* Drops at two reads, REVIVE_MS on: 0x02 asked, 0x03 stays. */
	int64_t at = PROBE_WAIT_MS + REVIVE_MS;
	engine_tunnel_losses(e, 0, 2);
	engine_set_device(e, d, wall + at);
	engine_tunnel_losses(e, 0, 2);
	engine_set_device(e, d, wall + at + CONFIRM_MS);
	assert_int_equal(engine_run(e, t + at + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	assert_int_equal(alive_ttl_to(&r, 0x03, PROBE_TTL), 0);
	engine_round_free(&r);
	assert_true(engine_peer(e, b.subject)->healthy);
	engine_free(e);
	wg_device_free(d);
}

/* The chaos run: arrivals dropped on the own link of a peer we send
 * through the router (it came back direct first) name that peer. It is
 * probed at once, not at its next revive, and no other link goes down.
 * When a drop has no such culprit, idle leaves' links go down
 * (test_dropped_arrivals_probed), but not a router's: it holds no leaf's
 * source. */
static void test_dropped_on_fallen_link(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	struct wg_peer *other = add_peer(d, 0x03, "192.0.2.3:1", "10.0.0.3/32", true);
	struct wg_peer *hubw = add_peer(d, 0x09, "192.0.2.9:1", "10.9.0.0/16", true);
	engine_set_device(e, d, wall0 + 1000);
	assert_true(engine_peer_is_router(e, hubw));
	/* 0x03 and the hub answer probes too. */
	struct wire_fact b = probe_from(e, 0x03, t0 + 1000), h = probe_from(e, 0x09, t0 + 1000);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0 + 1000, &r), 0);
	engine_round_free(&r);
	/* 0x02's link dies: our sends are refused, all three are probed,
	 * and 0x03 and the hub answer. */
	int64_t t = t0 + 40000, wall = wall0 + 40000;
	counted_read(e, d, 1, 0, wall);
	counted_read(e, d, 1, 0, wall + CONFIRM_MS);
	assert_int_equal(engine_run(e, t + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	assert_int_equal(alive_ttl_to(&r, 0x03, PROBE_TTL), PROBE_TTL);
	assert_int_equal(alive_ttl_to(&r, 0x09, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	w->tx_bytes += 128;
	other->tx_bytes += 128;
	hubw->tx_bytes += 128;
	b.ttl = h.ttl = PROBE_ANSWER_TTL;
	engine_receive(e, b.subject, &b, 1, t + CONFIRM_MS + 5);
	engine_receive(e, h.subject, &h, 1, t + CONFIRM_MS + 5);
	int64_t dead = CONFIRM_MS + PROBE_WAIT_MS;
	engine_set_device(e, d, wall + dead);
	assert_int_equal(engine_run(e, t + dead, &r), 0);
	engine_round_free(&r);
	assert_false(engine_peer(e, a.subject)->healthy);
	/* A revive probe, unanswered: the next waits twice REVIVE_MS. */
	engine_set_device(e, d, wall + dead + 500);
	assert_int_equal(engine_run(e, t + dead + 500, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	engine_round_free(&r);
	/* A glance (userspace WireGuard) would find its data: it is worth
	 * its cost while the link is down and the session lives. */
	assert_true(engine_worth_glance(e));
	/* Its data comes on its own link, the interface shows nothing: a
	 * probe at once (REVIVE_MS after the last, not twice that). */
	int64_t at = dead + 500 + REVIVE_MS;
	dropped_reads(e, d, w, wall + at);
	assert_int_equal(engine_run(e, t + at + CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), PROBE_TTL);
	assert_int_equal(alive_ttl_to(&r, 0x03, PROBE_TTL), 0);
	engine_round_free(&r);
	assert_true(engine_peer(e, b.subject)->healthy);
	assert_true(engine_peer(e, h.subject)->healthy);
	/* Data dropped with no such culprit (it came on 0x03's healthy
	 * link), and the hub's link carried nothing: it stays up. */
	at += 5000;
	dropped_reads(e, d, other, wall + at);
	assert_true(engine_peer(e, h.subject)->healthy);
	engine_free(e);
	wg_device_free(d);
}

/* A leaf with a valid key sends us data on its own link from a source it
 * may not use (WireGuard drops it): no other link goes down for it, nor
 * is probed; the same from a router is a peer that fell back
 * (test_dropped_arrivals_probed). */
static void test_leaf_drops_leave_links(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	struct wg_peer *liar = add_peer(d, 0x03, "192.0.2.3:1", "10.0.0.3/32", true);
	engine_set_device(e, d, wall0 + 50000);
	assert_false(engine_peer_is_router(e, liar));
	struct engine_round r;
	for (int k = 0; k < 3; k++) { /* again and again */
		int64_t at = 60000 + k * 5000;
		liar->rx_bytes += 128;
		assert_true(engine_glance(e, d)); /* worth a read... */
		dropped_reads(e, d, liar, wall0 + at);
		assert_false(engine_drop_pending(e, wall0 + at + CONFIRM_MS)); /* ...which finds no loss */
		assert_int_equal(engine_run(e, t0 + at + CONFIRM_MS, &r), 0);
		assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), 0);
		engine_round_free(&r);
		assert_true(engine_peer(e, a.subject)->healthy);
	}
	engine_free(e);
	wg_device_free(d);
}

/* A router has nowhere to fall back to: refused sends and dropped
 * arrivals probe none of its links (a peer whose daemon stopped would be
 * probed for minutes). */
static void test_router_watches_no_loss(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = answering_peer_of(&d, &w, &a, 1);
	struct wg_peer *other = add_peer(d, 0x09, "192.0.2.9:1", "10.0.0.9/32", true);
	engine_set_device(e, d, wall0 + 50000);
	struct engine_round r;
	int64_t t = t0 + 60000, wall = wall0 + 60000;
	counted_read(e, d, 1, 0, wall);
	assert_int_equal(engine_next_look(e, t, wall, 30000), t + 30000);
	counted_read(e, d, 1, 0, wall + CONFIRM_MS);
	dropped_reads(e, d, other, wall + 2 * CONFIRM_MS);
	assert_int_equal(engine_run(e, t + 3 * CONFIRM_MS, &r), 0);
	assert_int_equal(alive_ttl_to(&r, 0x02, PROBE_TTL), 0);
	engine_round_free(&r);
	assert_true(engine_peer(e, a.subject)->healthy);
	engine_free(e);
	wg_device_free(d);
}

static void test_probe_exchange(void **state)
{
	(void)state;
	struct wg_device *d;
	struct wg_peer *w;
	struct wire_fact a;
	struct engine *e = with_answering_peer(&d, &w, &a);
	struct engine_round r;
	/* A flow, then silence: our probe goes out, and rounds come faster. */
	int64_t t = 0;
	for (; t <= 3000; t += 1000) {
		w->rx_bytes += 1000;
		engine_set_device(e, d, wall0 + 10000 + t);
		assert_int_equal(engine_run(e, t0 + 10000 + t, &r), 0);
		engine_round_free(&r);
	}
	assert_int_equal(engine_next_deadline(e, t0 + 13000), t0 + 13000 + LINK_WATCH_MS);
	/* A watched link is looked at on the device as often. */
	assert_int_equal(engine_next_look(e, t0 + 13000, wall0 + 13000, 30000), t0 + 13000 + LINK_WATCH_MS);
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

/* Issue 13: host bits are masked; endpoints that cannot be a WireGuard
 * endpoint are dropped; a leaf routing a LAN is no router when the device
 * has its own address; a claim on allowed IPs another peer holds is refused. */
static void test_hygiene_and_hijack(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	d->ifindex = 7;
	add_peer(d, 0x51, "192.0.2.51:1", "10.77.0.11/32", true);
	struct wg_allowedip lan;
	assert_true(wg_allowedip_parse("192.168.5.0/24", &lan));
	assert_int_equal(wg_peer_add_allowedip(&d->peers[0], &lan), 0);
	add_peer(d, 0x52, "192.0.2.52:1", "10.77.0.12/32", true);
	struct peer_config cfg = { .has_trust = true, .trust = TRUST_ALLOWED_IPS };
	memset(cfg.key, 0x51, 32);
	struct engine *e = engine_for(&cfg, 1, false, -1);
	with_tunnel_addr(e, "10.77.0.1");
	engine_set_device(e, d, wall0);
	/* 0x51 routes a LAN but does not carry our tunnel: we are the router. */
	assert_false(engine_peer_is_router(e, &d->peers[0]));
	assert_true(engine_is_router(e));
	struct wire_fact f[9] = {
		fact_of(WIRE_CIDR_V4, 0x51, "0.0.0.0/0", 255),	    /* everything */
		fact_of(WIRE_CIDR_V4, 0x51, "0.0.0.0/1", 255),	    /* half of it, with our tunnel */
		fact_of(WIRE_CIDR_V4, 0x51, "224.0.0.0/4", 255),    /* multicast */
		fact_of(WIRE_CIDR_V4, 0x51, "10.77.0.0/16", 255),   /* around 0x52's */
		fact_of(WIRE_CIDR_V4, 0x51, "10.77.0.12/32", 255),  /* 0x52's address */
		fact_of(WIRE_CIDR_V4, 0x51, "10.88.0.5/24", 255),   /* host bits */
		fact_of(WIRE_ENDPOINT_V4, 0x51, "127.0.0.1:5", 255), /* loopback */
		fact_of(WIRE_ENDPOINT_V4, 0x51, "192.0.2.9:0", 255), /* no port */
		fact_of(WIRE_ENDPOINT_V6, 0x51, "[fe80::1]:5", 255), /* link-local */
	};
	assert_int_equal(receive_from(e, 0x51, f, 9, t0), 1);
	assert_int_equal(engine_stats(e).hijack, 4);
	assert_int_equal(engine_stats(e).invalid, 4);
	struct wire_fact masked = fact_of(WIRE_CIDR_V4, 0x51, "10.88.0.0/24", 0);
	assert_int_equal(engine_fact_count(e), 1);
	/* The masked prefix is what goes on the device. */
	bool found = false;
	struct engine_round r;
	say_alive(e, 0x51, t0);
	assert_int_equal(engine_decide(e, t0, &r), 0);
	for (size_t i = 0; i < r.change.n_peers; i++)
		for (size_t j = 0; j < r.change.peers[i].n_allowedips; j++)
			found |= r.change.peers[i].public_key[0] == 0x51 &&
				 r.change.peers[i].allowedips[j].cidr == 24 &&
				 !memcmp(&r.change.peers[i].allowedips[j].ip4, masked.v.cidr.addr, 4);
	engine_round_free(&r);
	assert_true(found);
	engine_free(e);
	/* As a leaf behind a hub that carries our tunnel: the hub's facts may
	 * move another leaf's address off the hub's /24 onto that leaf. */
	struct wg_device *l = wg_device_new("wg0");
	l->ifindex = 7;
	add_peer(l, 0x61, "192.0.2.61:1", "10.77.0.0/24", true);
	add_peer(l, 0x62, "192.0.2.62:1", NULL, true);
	e = engine_for(NULL, 0, false, -1);
	with_tunnel_addr(e, "10.77.0.13");
	engine_set_device(e, l, wall0);
	assert_true(engine_peer_is_router(e, &l->peers[0]));
	assert_false(engine_is_router(e));
	struct wire_fact ok = fact_of(WIRE_CIDR_V4, 0x62, "10.77.0.12/32", 255);
	assert_int_equal(receive_from(e, 0x61, &ok, 1, t0), 1);
	engine_free(e);
	wg_device_free(l);
	wg_device_free(d);
}


/* Issue 17 and the two-hub set-up: at a leaf with hubs R1 (the tunnel /24)
 * and R2 (its own /32, put there by the administrator), both trusted for
 * Membership, facts never move the /24 between the hubs nor take R2's /32;
 * a direct link keeps what we moved onto it while it works, even when no
 * source tells it any more; when it dies only what we added goes back. */
static void test_two_hubs_and_admin_ips(void **state)
{
	(void)state;
	struct peer_config cfg[2] = { { .has_trust = true, .trust = TRUST_MEMBERSHIP },
				      { .has_trust = true, .trust = TRUST_MEMBERSHIP } };
	memset(cfg[0].key, 0x71, 32);
	memset(cfg[1].key, 0x72, 32);
	struct wg_device *d = wg_device_new("wg0");
	d->ifindex = 7;
	add_peer(d, 0x71, "192.0.2.71:1", "10.77.0.0/24", true); /* R1 */
	add_peer(d, 0x72, "192.0.2.72:1", "10.77.0.2/32", true); /* R2 */
	add_peer(d, 0x73, "192.0.2.73:1", "10.66.0.0/16", true); /* B: the admin routes a LAN to it */
	struct engine *e = engine_for(cfg, 2, false, -1);
	with_tunnel_addr(e, "10.77.0.13");
	engine_set_device(e, d, wall0);
	assert_false(engine_is_router(e));
	int64_t now = t0;
	for (uint8_t id = 0x71; id <= 0x73; id++)
		say_alive(e, id, now);
	/* Each hub says it has the /24, and both say B has 10.77.0.12/32. */
	struct wire_fact r1[2] = { fact_of(WIRE_CIDR_V4, 0x71, "10.77.0.0/24", 60),
				   fact_of(WIRE_CIDR_V4, 0x73, "10.77.0.12/32", 60) };
	struct wire_fact r2[2] = { fact_of(WIRE_CIDR_V4, 0x72, "10.77.0.0/24", 60),
				   fact_of(WIRE_CIDR_V4, 0x73, "10.77.0.12/32", 60) };
	assert_true(receive_from(e, 0x71, r1, 2, now) > 0);
	assert_true(receive_from(e, 0x72, r2, 2, now) > 0);
	struct engine_round r;
	int moves_24 = 0, moves_b = 0;
	for (; now < t0 + 400000; now += 5000) {
		if ((now - t0) % 30000 == 0)
			for (uint8_t id = 0x71; id <= 0x73; id++)
				say_alive(e, id, now);
		engine_set_device(e, d, wall0 + (now - t0));
		for (uint8_t id = 0x71; id <= 0x73; id++)
			d->peers[id - 0x71].last_handshake_sec = (wall0 + (now - t0)) / 1000;
		assert_int_equal(engine_run(e, now, &r), 0);
		for (size_t i = 0; i < r.change.n_peers; i++) {
			const struct wg_peer_change *pc = &r.change.peers[i];
			assert_false(pc->flags & WG_CHANGE_REMOVE);
			assert_false(pc->flags & WG_CHANGE_REPLACE_ALLOWEDIPS);
			for (size_t j = 0; j < pc->n_allowedips; j++) {
				moves_24 += pc->allowedips[j].cidr == 24;
				if (pc->public_key[0] == 0x73 && pc->allowedips[j].cidr == 32 &&
				    pc->allowedips[j].family == AF_INET) {
					moves_b++;
					assert_int_equal(wg_peer_add_allowedip(&d->peers[2], &pc->allowedips[j]), 0);
				}
			}
		}
		engine_round_free(&r);
	}
	assert_int_equal(moves_24, 0);
	assert_int_equal(moves_b, 1); /* once, and kept after its facts ran out */
	/* B's link dies: what we added goes back, the admin's LAN stays. */
	d->peers[2].last_handshake_sec = 1;
	engine_set_device(e, d, wall0 + (now - t0));
	assert_int_equal(engine_run(e, now, &r), 0);
	bool restricted = false;
	for (size_t i = 0; i < r.change.n_peers; i++) {
		const struct wg_peer_change *pc = &r.change.peers[i];
		if (pc->public_key[0] != 0x73 || !(pc->flags & WG_CHANGE_REPLACE_ALLOWEDIPS))
			continue;
		restricted = true;
		assert_int_equal(pc->n_allowedips, 2); /* auto-address and 10.66.0.0/16 */
		assert_int_equal(pc->allowedips[1].cidr, 16);
	}
	assert_true(restricted);
	engine_round_free(&r);
	engine_free(e);
	wg_device_free(d);
}

/* Whether a round's changes give peer id the prefix text; *replaced: a
 * change replaced its set without it. */
static bool round_gives(const struct engine_round *r, uint8_t id, const char *text, bool *replaced)
{
	struct wg_allowedip want;
	assert_true(wg_allowedip_parse(text, &want));
	bool gives = false;
	for (size_t i = 0; i < r->change.n_peers; i++) {
		const struct wg_peer_change *pc = &r->change.peers[i];
		if (pc->public_key[0] != id)
			continue;
		bool has = false;
		for (size_t j = 0; j < pc->n_allowedips; j++)
			has |= pc->allowedips[j].cidr == want.cidr && pc->allowedips[j].family == want.family &&
			       !memcmp(&pc->allowedips[j].ip4, &want.ip4, 4);
		gives |= has;
		if (replaced && (pc->flags & WG_CHANGE_REPLACE_ALLOWEDIPS) && !has)
			*replaced = true;
	}
	return gives;
}

/* Issue 28, item 1: a peer trusted only for AllowedIPs claims the address
 * that the hub (trusted for Membership) gives Q, a leaf we reach through
 * the hub, and half our tunnel's subnet. Neither is ever put on it; if its
 * claim came first, it yields the address once the hub's word arrives. */
static void test_claim_owner_hijack_through_hub(void **state)
{
	(void)state;
	struct peer_config cfg[2] = { { .has_trust = true, .trust = TRUST_MEMBERSHIP },
				      { .has_trust = true, .trust = TRUST_ALLOWED_IPS } };
	memset(cfg[0].key, 0x71, 32); /* the hub */
	memset(cfg[1].key, 0x74, 32); /* P */
	for (int lie_first = 0; lie_first < 2; lie_first++) {
		struct wg_device *d = wg_device_new("wg0");
		d->ifindex = 7;
		add_peer(d, 0x71, "192.0.2.71:1", "10.77.0.0/24", true);
		add_peer(d, 0x73, "192.0.2.73:1", NULL, true); /* Q */
		add_peer(d, 0x74, "192.0.2.74:1", NULL, true); /* P */
		struct engine *e = engine_for(cfg, 2, false, -1);
		with_tunnel_addr(e, "10.77.0.13");
		engine_set_device(e, d, wall0);
		int64_t now = t0;
		for (uint8_t id = 0x71; id <= 0x74; id++)
			say_alive(e, id, now);
		struct wire_fact truth = fact_of(WIRE_CIDR_V4, 0x73, "10.77.0.9/32", 255);
		struct wire_fact lies[2] = { fact_of(WIRE_CIDR_V4, 0x74, "10.77.0.9/32", 255),
					     fact_of(WIRE_CIDR_V4, 0x74, "10.77.0.128/25", 255) };
		struct engine_round r;
		if (!lie_first) {
			assert_int_equal(receive_from(e, 0x71, &truth, 1, now), 1);
			assert_int_equal(receive_from(e, 0x74, lies, 2, now), 0);
			assert_int_equal(engine_stats(e).hijack, 2);
		} else {
			/* Nothing says otherwise yet: the /32 is taken, the /25 never. */
			assert_int_equal(receive_from(e, 0x74, lies, 2, now), 1);
			assert_int_equal(engine_stats(e).hijack, 1);
			assert_int_equal(engine_run(e, now, &r), 0);
			assert_true(round_gives(&r, 0x74, "10.77.0.9/32", NULL));
			engine_round_free(&r);
			struct wg_allowedip ip;
			assert_true(wg_allowedip_parse("10.77.0.9/32", &ip));
			assert_int_equal(wg_peer_add_allowedip(&d->peers[2], &ip), 0);
			engine_set_device(e, d, wall0);
			/* The hub's word is stronger than P's: it is stored. */
			assert_int_equal(receive_from(e, 0x71, &truth, 1, now), 1);
		}
		bool yielded = false, q_got = false;
		for (int round = 0; round < 4; round++, now += 1000) {
			engine_set_device(e, d, wall0 + (now - t0));
			assert_int_equal(engine_run(e, now, &r), 0);
			bool replaced = false;
			assert_false(round_gives(&r, 0x74, "10.77.0.9/32", &replaced));
			assert_false(round_gives(&r, 0x74, "10.77.0.128/25", NULL));
			q_got |= round_gives(&r, 0x73, "10.77.0.9/32", NULL);
			for (size_t i = 0; i < r.n_events; i++)
				yielded |= r.events[i].peer[0] == 0x74 && (r.events[i].events & ENGINE_EV_YIELDED);
			if (replaced) { /* the device follows: P's set without it */
				d->peers[2].n_allowedips = 0;
			}
			engine_round_free(&r);
		}
		assert_int_equal(yielded, lie_first);
		assert_true(q_got); /* Q gets its address back (or keeps it) */
		engine_free(e);
		wg_device_free(d);
	}
}


/* Regression: the per-subject endpoint cap is shared by all sources: any
 * current peer (Endpoint trust by default) fills a subject's 16 slots with
 * junk, and the subject's own endpoints are then dropped at the hub. */
static void test_review_endpoint_cap_crowding(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0xa1, "192.0.2.41:1", "10.0.0.41/32", true); /* hostile leaf H */
	add_peer(d, 0xa2, "192.0.2.42:1", "10.0.0.42/32", true); /* leaf B */
	struct engine *e = engine_for(NULL, 0, false, -1);
	engine_set_device(e, d, wall0);
	assert_true(engine_is_router(e));
	struct wire_fact junk[16];
	char text[40];
	for (int i = 0; i < 16; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d:%d", i + 1, 1000 + i);
		junk[i] = fact_of(WIRE_ENDPOINT_V4, 0xa2, text, 255);
	}
	assert_int_equal(receive_from(e, 0xa1, junk, 16, t0), 16);
	/* B reports its own (new) address: it must be kept. */
	struct wire_fact own = fact_of(WIRE_ENDPOINT_V4, 0xa2, "203.0.113.7:51820", 255);
	assert_int_equal(receive_from(e, 0xa2, &own, 1, t0 + 1000), 1);
	engine_free(e);
	wg_device_free(d);
}

/* Regression: a hub listed in the config with its AllowedIPs (a static
 * endpoint, no Trust) is still a router with Membership by route, but its
 * configured /24 makes every "leaf B has 10.0.0.12/32" a hijack: leaves
 * never move each other's /32 onto direct links. */
static void test_review_config_hub_blocks_direct_links(void **state)
{
	(void)state;
	struct wg_allowedip hub_ips;
	assert_true(wg_allowedip_parse("10.77.0.0/24", &hub_ips));
	struct peer_config cfg = { .allowed_ips = &hub_ips, .n_allowed_ips = 1 };
	memset(cfg.key, 0x61, 32);
	struct wg_device *l = wg_device_new("wg0");
	l->ifindex = 7;
	add_peer(l, 0x61, "192.0.2.61:1", "10.77.0.0/24", true);
	add_peer(l, 0x62, "192.0.2.62:1", NULL, true);
	struct engine *e = engine_for(&cfg, 1, false, -1);
	with_tunnel_addr(e, "10.77.0.13");
	engine_set_device(e, l, wall0);
	assert_true(engine_peer_is_router(e, &l->peers[0]));
	assert_int_equal(engine_peer_trust(e, l->peers[0].public_key), TRUST_MEMBERSHIP);
	struct wire_fact ok = fact_of(WIRE_CIDR_V4, 0x62, "10.77.0.12/32", 255);
	assert_int_equal(receive_from(e, 0x61, &ok, 1, t0), 1);
	assert_int_equal(engine_stats(e).hijack, 0);
	engine_free(e);
	wg_device_free(l);
}

/* Regression: issue 13 asks for configured endpoints first; they come after
 * up to 16 received ones, so a static endpoint waits 16 x 15 s. */
static void test_review_configured_endpoint_first(void **state)
{
	(void)state;
	struct peer_endpoint st = { .attr = WIRE_ENDPOINT_V4 };
	inet_pton(AF_INET, "203.0.113.99", st.ep.addr);
	st.ep.port = 51820;
	struct peer_config cfg = { .endpoints = &st, .n_endpoints = 1 };
	memset(cfg.key, 0xb2, 32);
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0xb1, "192.0.2.61:1", "10.0.0.0/24", true); /* router */
	add_peer(d, 0xb2, "192.0.2.62:1", NULL, false);	 /* B: unhealthy */
	struct engine *e = engine_for(&cfg, 1, false, -1);
	engine_set_device(e, d, wall0);
	say_alive(e, 0xb1, t0);
	say_alive(e, 0xb2, t0);
	struct wire_fact f = fact_of(WIRE_ENDPOINT_V4, 0xb2, "198.51.100.1:1000", 255);
	assert_int_equal(receive_from(e, 0xb1, &f, 1, t0), 1);
	struct engine_round r;
	assert_int_equal(engine_decide(e, t0, &r), 0);
	bool tried_static = false, tried_any = false;
	for (size_t i = 0; i < r.change.n_peers; i++)
		if (r.change.peers[i].public_key[0] == 0xb2 &&
		    (r.change.peers[i].flags & WG_CHANGE_ENDPOINT)) {
			tried_any = true;
			tried_static = !memcmp(&r.change.peers[i].endpoint.addr4.sin_addr, st.ep.addr, 4);
		}
	engine_round_free(&r);
	assert_true(tried_any);
	assert_true(tried_static);
	engine_free(e);
	wg_device_free(d);
}

/* Regression: the same fact re-sent 20 ms later (its expiry moves 20 ms) is
 * counted as news; the daemon then runs a full round within COALESCE_MS:
 * one tiny packet every 20 ms keeps a hub at 50 rounds/s (netlink dump,
 * O(facts) candidates), though nothing changed. */
static void test_review_extension_not_news(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0xc1, "192.0.2.41:1", "10.0.0.41/32", true);
	struct engine *e = engine_for(NULL, 0, false, -1);
	engine_set_device(e, d, wall0);
	struct wire_fact f = fact_of(WIRE_ENDPOINT_V4, 0xc1, "198.51.100.1:1000", 255);
	assert_int_equal(receive_from(e, 0xc1, &f, 1, t0), 1);
	assert_int_equal(receive_from(e, 0xc1, &f, 1, t0 + 20), 0);
	engine_free(e);
	wg_device_free(d);
}

/* Regression: a LAN behind leaf B that the hub's AllowedIPs route (the usual
 * star: hub = 10.77.0.0/24, 192.168.5.0/24) never moves onto the direct link
 * under default trust: the exact prefix on the router counts as a hijack,
 * although taken_elsewhere() would allow the move and the original does it. */
static void test_review_lan_moves_off_router(void **state)
{
	(void)state;
	struct wg_device *l = wg_device_new("wg0");
	l->ifindex = 7;
	add_peer(l, 0x61, "192.0.2.61:1", "10.77.0.0/24", true);
	struct wg_allowedip lan;
	assert_true(wg_allowedip_parse("192.168.5.0/24", &lan));
	assert_int_equal(wg_peer_add_allowedip(&l->peers[0], &lan), 0);
	add_peer(l, 0x62, "192.0.2.62:1", NULL, true);
	struct engine *e = engine_for(NULL, 0, false, -1);
	with_tunnel_addr(e, "10.77.0.13");
	engine_set_device(e, l, wall0);
	struct wire_fact f = fact_of(WIRE_CIDR_V4, 0x62, "192.168.5.0/24", 255);
	assert_int_equal(receive_from(e, 0x61, &f, 1, t0), 1);
	/* ...but the /24 carrying our tunnel is still refused. */
	struct wire_fact g = fact_of(WIRE_CIDR_V4, 0x62, "10.77.0.0/24", 255);
	assert_int_equal(receive_from(e, 0x61, &g, 1, t0), 0);
	engine_free(e);
	wg_device_free(l);
}

/* Review of the version-based knowledge: a leaf that misses versions while
 * it has no endpoint or wants no facts gets them when it can; a subject
 * that goes down and comes back is told again; a fact that is both ours
 * and received goes once, and to its sender too. */
static void test_review_versions_missed(void **state)
{
	(void)state;
	struct wg_device *d = wg_device_new("wg0");
	add_peer(d, 0x51, "192.0.2.51:1", "10.0.0.51/32", true);
	add_peer(d, 0x52, "192.0.2.52:1", "10.0.0.52/32", true);
	struct engine *e = engine_for(NULL, 0, false, 1);
	engine_set_device(e, d, wall0);
	say_alive(e, 0x51, t0);
	say_alive(e, 0x52, t0);
	struct engine_round r;
	assert_int_equal(engine_run(e, t0, &r), 0);
	assert_true(sent_about(&r, 0x51, 0x52) > 0);
	engine_round_free(&r);
	assert_int_equal(engine_run(e, t0 + REPEAT_MS, &r), 0);
	engine_round_free(&r);
	/* 0x51 loses its endpoint; 0x52 gets a new allowed IP meanwhile. */
	union wg_endpoint ep = d->peers[0].endpoint;
	d->peers[0].endpoint.addr.sa_family = AF_UNSPEC;
	struct wg_allowedip ip;
	assert_true(wg_allowedip_parse("10.9.0.0/16", &ip));
	assert_int_equal(wg_peer_add_allowedip(&d->peers[1], &ip), 0);
	engine_set_device(e, d, wall0 + 5000);
	assert_int_equal(engine_run(e, t0 + 5000, &r), 0);
	assert_int_equal(sent_to(&r, 0x51), -1);
	engine_round_free(&r);
	/* Its endpoint is back: the fact it missed goes now. */
	d->peers[0].endpoint = ep;
	engine_set_device(e, d, wall0 + 10000);
	assert_int_equal(engine_run(e, t0 + 10000, &r), 0);
	assert_int_equal(sent_to(&r, 0x51), 1);
	engine_round_free(&r);
	/* 0x52 goes down (no Alive, no handshake) long enough for 0x51 to
	 * forget its facts; when it comes back up, 0x51 hears them again. */
	int64_t now = t0 + 10000;
	for (; now < t0 + 400000; now += 5000) {
		if ((now - t0) % 30000 == 0)
			say_alive(e, 0x51, now);
		d->peers[0].last_handshake_sec = (wall0 + (now - t0)) / 1000;
		engine_set_device(e, d, wall0 + (now - t0));
		assert_int_equal(engine_run(e, now, &r), 0);
		engine_round_free(&r);
	}
	d->peers[1].last_handshake_sec = (wall0 + (now - t0)) / 1000;
	say_alive(e, 0x51, now);
	say_alive(e, 0x52, now);
	engine_set_device(e, d, wall0 + (now - t0));
	assert_int_equal(engine_run(e, now, &r), 0);
	assert_true(sent_about(&r, 0x51, 0x52) >= 3);
	engine_round_free(&r);
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
		cmocka_unit_test(test_hold_then_quick),
		cmocka_unit_test(test_host_change_while_held),
		cmocka_unit_test(test_renew_untried_peer),
		cmocka_unit_test(test_alive_when_link_comes_up),
		cmocka_unit_test(test_quiet_deadline),
		cmocka_unit_test(test_alive_in_step),
		cmocka_unit_test(test_time_only_deadlines),
		cmocka_unit_test(test_rescan_when_needs_change),
		cmocka_unit_test(test_add_members_from_trusted_only),
		cmocka_unit_test(test_remove_safety),
		cmocka_unit_test(test_peer_metadata),
		cmocka_unit_test(test_router_peer_keeps_allowed_ips),
		cmocka_unit_test(test_critical_expiry_new_boot_id),
		cmocka_unit_test(test_stale_fact_not_bounced),
		cmocka_unit_test(test_untrusted_and_restarts),
		cmocka_unit_test(test_first_alive_is_no_restart),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_hygiene_and_hijack),
		cmocka_unit_test(test_two_hubs_and_admin_ips),
		cmocka_unit_test(test_claim_owner_hijack_through_hub),
		cmocka_unit_test(test_review_endpoint_cap_crowding),
		cmocka_unit_test(test_review_config_hub_blocks_direct_links),
		cmocka_unit_test(test_review_configured_endpoint_first),
		cmocka_unit_test(test_review_extension_not_news),
		cmocka_unit_test(test_review_lan_moves_off_router),
		cmocka_unit_test(test_probe_exchange),
		cmocka_unit_test(test_failed_sends_probed),
		cmocka_unit_test(test_failed_sends_with_gaps),
		cmocka_unit_test(test_dropped_arrivals_probed),
		cmocka_unit_test(test_kernel_losses),
		cmocka_unit_test(test_kernel_refused),
		cmocka_unit_test(test_kernel_dropped_dead_link),
		cmocka_unit_test(test_flapping_link_quiet),
		cmocka_unit_test(test_leaf_drops_leave_links),
		cmocka_unit_test(test_router_watches_no_loss),
		cmocka_unit_test(test_dropped_on_fallen_link),
		cmocka_unit_test(test_review_versions_missed),
		cmocka_unit_test(test_next_look),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
