/* A multi-node simulation of the engine: a router and two leaves that only
 * know the router, wired through an in-memory network (real packing, signing
 * and verifying) and fake WireGuard devices, stepping a fake clock. */
#include "helpers.h"

#include "core/engine.h"
#include "core/knowledge.h"
#include "proto/autoaddr.h"
#include "proto/crypto.h"
#include "proto/pack.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

enum { NODES = 3, R = 0, A = 1, B = 2, STEP_MS = 1000 };

struct node {
	const char *name;
	uint8_t pub[32];
	struct crypto_identity *id;
	struct crypto_cache *cache;
	struct wg_device *dev;
	struct engine *eng;
	struct netif_addr addrs[2][1];
	struct netif ifs[2];
	struct netif_list host;
	uint8_t real[4];
};

static struct node nodes[NODES];
static bool blocked[NODES][NODES];
static int64_t now;
static const int64_t wall0 = 1700000000000;

struct packet {
	int from, to;
	uint8_t data[WIRE_MAX_PACKET];
	size_t len;
};
static struct packet *queue;
static size_t n_queue, cap_queue;

static uint64_t rng_state = 42;
static void fake_random(void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
		((uint8_t *)buf)[i] = (uint8_t)(rng_state >> 56);
	}
}

static struct wg_peer *find_peer(struct wg_device *d, const uint8_t key[32])
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (!memcmp(d->peers[i].public_key, key, 32))
			return &d->peers[i];
	return NULL;
}

static int index_of(const uint8_t key[32])
{
	for (int i = 0; i < NODES; i++)
		if (!memcmp(nodes[i].pub, key, 32))
			return i;
	return -1;
}

static bool endpoint_is(const struct wg_peer *p, const uint8_t real[4])
{
	return p->endpoint.addr.sa_family == AF_INET && !memcmp(&p->endpoint.addr4.sin_addr, real, 4);
}

static void set_endpoint(struct wg_peer *p, const uint8_t real[4])
{
	memset(&p->endpoint, 0, sizeof(p->endpoint));
	p->endpoint.addr4.sin_family = AF_INET;
	memcpy(&p->endpoint.addr4.sin_addr, real, 4);
	p->endpoint.addr4.sin_port = htons(51820);
}

/* WireGuard as far as the engine can tell: X reaches Y when X points at Y's
 * real address, Y has X as a peer, and the path is not blocked. */
static bool link_up(int x, int y)
{
	struct wg_peer *xy = find_peer(nodes[x].dev, nodes[y].pub);
	struct wg_peer *yx = find_peer(nodes[y].dev, nodes[x].pub);
	return xy && yx && !blocked[x][y] && endpoint_is(xy, nodes[y].real);
}

static void handshakes(void)
{
	int64_t wall_s = (wall0 + now) / 1000;
	for (int x = 0; x < NODES; x++)
		for (int y = 0; y < NODES; y++) {
			if (x == y || !link_up(x, y))
				continue;
			struct wg_peer *xy = find_peer(nodes[x].dev, nodes[y].pub);
			struct wg_peer *yx = find_peer(nodes[y].dev, nodes[x].pub);
			if (wall_s - xy->last_handshake_sec < 100)
				continue; /* a session lasts two minutes; renew before */
			xy->last_handshake_sec = yx->last_handshake_sec = wall_s;
			set_endpoint(yx, nodes[x].real); /* the responder learns it */
		}
}

static void apply(struct wg_device *d, const struct wg_change *c)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct wg_peer_change *pc = &c->peers[i];
		struct wg_peer *p = find_peer(d, pc->public_key);
		if (pc->flags & WG_CHANGE_REMOVE) {
			if (p) {
				free(p->allowedips);
				size_t k = (size_t)(p - d->peers);
				memmove(p, p + 1, (d->n_peers - k - 1) * sizeof(*p));
				d->n_peers--;
			}
			continue;
		}
		if (!p && (pc->flags & WG_CHANGE_UPDATE_ONLY))
			continue;
		if (!p) {
			p = wg_device_add_peer(d);
			if (!p)
				abort(); /* out of memory: the test cannot go on */
			memcpy(p->public_key, pc->public_key, 32);
		}
		if (pc->flags & WG_CHANGE_ENDPOINT)
			p->endpoint = pc->endpoint;
		if (pc->flags & WG_CHANGE_REPLACE_ALLOWEDIPS)
			p->n_allowedips = 0;
		for (size_t k = 0; k < pc->n_allowedips; k++)
			assert_int_equal(wg_peer_add_allowedip(p, &pc->allowedips[k]), 0);
	}
}

struct emit_ctx {
	int from, to;
};

static int enqueue(void *arg, const uint8_t *pkt, size_t len)
{
	struct emit_ctx *c = arg;
	if (n_queue == cap_queue) {
		cap_queue = cap_queue ? cap_queue * 2 : 64;
		queue = realloc(queue, cap_queue * sizeof(*queue));
	}
	struct packet *p = &queue[n_queue++];
	p->from = c->from;
	p->to = c->to;
	memcpy(p->data, pkt, len);
	p->len = len;
	return 0;
}

/* The receive path of the daemon: the tunnel carries it only over an up
 * link to the peer holding the auto-address; then verify and parse. */
static void deliver(const struct packet *p)
{
	if (!link_up(p->from, p->to))
		return;
	struct node *to = &nodes[p->to];
	struct wire_fact g, facts[64];
	assert_int_equal(wire_decode_group_outer(p->data, p->len, &g), WIRE_OK);
	assert_memory_equal(g.subject, nodes[p->from].pub, 32);
	const uint8_t *shared = crypto_cache_get(to->cache, g.subject);
	assert_true(shared && crypto_group_verify(shared, &g.v.group));
	struct wire_inner_iter it;
	size_t n = 0;
	wire_inner_begin(&it, &g.v.group.inner);
	while (n < 64 && wire_inner_next(&it, &facts[n]))
		n++;
	assert_int_equal(it.err, WIRE_OK);
	assert_true(engine_receive(to->eng, g.subject, facts, n, now) >= 0);
}

static void step(void)
{
	handshakes();
	for (int i = 0; i < NODES; i++)
		engine_set_device(nodes[i].eng, nodes[i].dev, wall0 + now);
	size_t n = n_queue;
	struct packet *batch = queue;
	queue = NULL;
	n_queue = cap_queue = 0;
	for (size_t i = 0; i < n; i++)
		deliver(&batch[i]);
	free(batch);
	for (int i = 0; i < NODES; i++) {
		struct engine_round r;
		assert_int_equal(engine_run(nodes[i].eng, now, &r), 0);
		for (size_t s = 0; s < r.n_sends; s++) {
			int to = index_of(r.sends[s].peer);
			if (to < 0)
				continue;
			struct emit_ctx ctx = { i, to };
			const uint8_t *shared = crypto_cache_get(nodes[i].cache, r.sends[s].peer);
			struct pack_target t = { nodes[i].pub, shared, enqueue, &ctx };
			assert_true(pack_facts(&t, r.sends[s].facts, r.sends[s].n, r.sends[s].fill,
					       r.sends[s].n_fill) >= 0);
		}
		apply(nodes[i].dev, &r.change);
		engine_round_free(&r);
	}
	now += STEP_MS;
}

static struct wg_allowedip tunnel_ip(int i)
{
	struct wg_allowedip ip = { .family = AF_INET, .cidr = 32 };
	memcpy(&ip.ip4, (uint8_t[]){ 10, 0, 0, (uint8_t)(1 + i) }, 4);
	return ip;
}

static void make_node(int i, const char *name)
{
	struct node *n = &nodes[i];
	uint8_t priv[32];
	memset(priv, 0x10 + i, sizeof(priv));
	n->name = name;
	assert_int_equal(crypto_identity_new(priv, &n->id), 0);
	memcpy(n->pub, crypto_identity_public(n->id), 32);
	n->cache = crypto_cache_new(n->id);
	memcpy(n->real, (uint8_t[]){ 192, 0, 2, (uint8_t)(10 + i) }, 4);
	n->dev = wg_device_new("wg0");
	n->dev->ifindex = 5;
	n->dev->listen_port = 51820;
	n->addrs[0][0] = (struct netif_addr){ .family = AF_INET, .prefix = 24 };
	memcpy(&n->addrs[0][0].ip4, (uint8_t[]){ 10, 0, 0, (uint8_t)(1 + i) }, 4);
	n->addrs[1][0] = (struct netif_addr){ .family = AF_INET, .prefix = 24 };
	memcpy(&n->addrs[1][0].ip4, n->real, 4);
	n->ifs[0] = (struct netif){ "wg0", 5, true, n->addrs[0], 1, 1 };
	n->ifs[1] = (struct netif){ "eth0", 2, true, n->addrs[1], 1, 1 };
	n->host = (struct netif_list){ n->ifs, 2, 2 };
	struct engine_config cfg = { .router = -1, .random = fake_random };
	n->eng = engine_new(&cfg, n->pub, now);
	assert_non_null(n->eng);
	engine_set_host(n->eng, &n->host);
}

/* The star: leaves know the router (10.0.0.0/24), the router knows both. */
static void build_star(void)
{
	now = 1000000;
	make_node(R, "router");
	make_node(A, "alice");
	make_node(B, "bob");
	int64_t wall_s = (wall0 + now) / 1000;
	for (int leaf = A; leaf <= B; leaf++) {
		struct wg_peer *toR = wg_device_add_peer(nodes[leaf].dev);
		if (!toR)
			abort(); /* out of memory: the test cannot go on */
		memcpy(toR->public_key, nodes[R].pub, 32);
		set_endpoint(toR, nodes[R].real);
		struct wg_allowedip net = tunnel_ip(R);
		net.cidr = 24;
		memcpy(&net.ip4, (uint8_t[]){ 10, 0, 0, 0 }, 4);
		assert_int_equal(wg_peer_add_allowedip(toR, &net), 0);
		toR->last_handshake_sec = wall_s;
		struct wg_peer *toLeaf = wg_device_add_peer(nodes[R].dev);
		if (!toLeaf)
			abort(); /* out of memory: the test cannot go on */
		memcpy(toLeaf->public_key, nodes[leaf].pub, 32);
		set_endpoint(toLeaf, nodes[leaf].real);
		struct wg_allowedip ip = tunnel_ip(leaf);
		assert_int_equal(wg_peer_add_allowedip(toLeaf, &ip), 0);
		toLeaf->last_handshake_sec = wall_s;
	}
}

static void teardown_star(void)
{
	for (int i = 0; i < NODES; i++) {
		engine_free(nodes[i].eng);
		wg_device_free(nodes[i].dev);
		crypto_cache_free(nodes[i].cache);
		crypto_identity_free(nodes[i].id);
	}
	free(queue);
	queue = NULL;
	n_queue = cap_queue = 0;
	memset(blocked, 0, sizeof(blocked));
}

static bool has_ip(const struct wg_peer *p, const struct wg_allowedip *ip)
{
	for (size_t i = 0; p && i < p->n_allowedips; i++)
		if (p->allowedips[i].family == ip->family && p->allowedips[i].cidr == ip->cidr &&
		    !memcmp(&p->allowedips[i].ip6, &ip->ip6, ip->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

/* x holds y directly: y is a peer at its real address with y's tunnel IP. */
static bool direct(int x, int y)
{
	struct wg_peer *p = find_peer(nodes[x].dev, nodes[y].pub);
	struct wg_allowedip ip = tunnel_ip(y);
	return p && endpoint_is(p, nodes[y].real) && has_ip(p, &ip);
}

static bool only_auto(int x, int y)
{
	struct wg_peer *p = find_peer(nodes[x].dev, nodes[y].pub);
	struct wg_allowedip a = { .family = AF_INET6, .cidr = 128 };
	autoaddr_from_key(nodes[y].pub, &a.ip6);
	return p && p->n_allowedips == 1 && has_ip(p, &a);
}

/* Steps until cond holds (returns the seconds it took) or max seconds pass. */
static int run_until(bool (*cond)(void), int max_s)
{
	for (int s = 0; s <= max_s; s++) {
		if (cond())
			return s;
		step();
	}
	fail_msg("condition not reached in %d s", max_s);
	return -1;
}

static bool both_direct(void) { return direct(A, B) && direct(B, A); }
static bool both_restricted(void) { return only_auto(A, B) && only_auto(B, A); }

static void test_leaves_connect_fall_back_and_recover(void **state)
{
	(void)state;
	build_star();
	/* The leaves learn each other through the router, try the endpoint it
	 * saw, connect directly and move each other's tunnel IP onto it. */
	int t = run_until(both_direct, 60);
	print_message("leaves direct after %d s\n", t);
	/* The router kept its own view: both leaves, with their tunnel IPs. */
	struct wg_allowedip ipa = tunnel_ip(A);
	assert_true(has_ip(find_peer(nodes[R].dev, nodes[A].pub), &ipa));
	assert_true(engine_is_router(nodes[R].eng));
	assert_false(engine_is_router(nodes[A].eng));

	/* Run past FactTTL so leaves may deconfigure, then cut the direct path. */
	for (int s = 0; s < 300; s++)
		step();
	assert_true(both_direct());
	blocked[A][B] = blocked[B][A] = true;
	t = run_until(both_restricted, 400);
	print_message("direct link cut: both leaves back to the auto-address after %d s\n", t);
	/* Traffic for the other leaf's tunnel IP now goes through the router's
	 * /24; the router still routes for both. */
	assert_true(has_ip(find_peer(nodes[R].dev, nodes[A].pub), &ipa));

	/* Lift the cut: endpoint rotation finds the path again. */
	blocked[A][B] = blocked[B][A] = false;
	t = run_until(both_direct, 120);
	print_message("path restored: direct again after %d s\n", t);
	teardown_star();
}

/* A direct link that dies soon after start falls back too: what a leaf moved
 * onto the link itself is taken back before FactTTL has passed (the original
 * keeps it until then, leaving traffic black-holed for minutes). */
static void test_early_cut_falls_back(void **state)
{
	(void)state;
	build_star();
	int t = run_until(both_direct, 60);
	blocked[A][B] = blocked[B][A] = true;
	int back = run_until(both_restricted, 240);
	print_message("cut at %d s: back to the auto-address %d s later\n", t, back);
	assert_true(t + back < FACT_TTL_MS / 1000);
	teardown_star();
}

static void test_restarted_leaf_is_caught_up(void **state)
{
	(void)state;
	build_star();
	run_until(both_direct, 60);
	for (int s = 0; s < 30; s++)
		step();
	/* Bob's daemon restarts: a fresh engine with a new boot id. */
	engine_free(nodes[B].eng);
	struct engine_config cfg = { .router = -1, .random = fake_random };
	nodes[B].eng = engine_new(&cfg, nodes[B].pub, now);
	engine_set_host(nodes[B].eng, &nodes[B].host);
	size_t before = engine_fact_count(nodes[B].eng);
	assert_int_equal(before, 0);
	/* The others see the new boot id and re-send what it forgot. */
	for (int s = 0; s < 15 && engine_fact_count(nodes[B].eng) == 0; s++)
		step();
	assert_true(engine_fact_count(nodes[B].eng) > 0);
	assert_true(both_direct());
	teardown_star();
}

static int setup(void **state)
{
	(void)state;
	return crypto_init();
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaves_connect_fall_back_and_recover),
		cmocka_unit_test(test_early_cut_falls_back),
		cmocka_unit_test(test_restarted_leaf_is_caught_up),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
