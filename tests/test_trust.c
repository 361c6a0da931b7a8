/* Trust: evaluator order, thresholds with known and unknown subjects, router
 * detection, and the tunnel-routing filter, table-driven. */
#include "helpers.h"

#include "core/trust.h"

#include <arpa/inet.h>
#include <string.h>

static void test_names(void **state)
{
	(void)state;
	enum trust_level l;
	assert_true(trust_parse("membership", &l));
	assert_int_equal(l, TRUST_MEMBERSHIP);
	assert_true(trust_parse("ALLOWEDIPS", &l));
	assert_int_equal(l, TRUST_ALLOWED_IPS);
	assert_true(trust_parse("DelegateTrust", &l));
	assert_false(trust_parse("Member", &l));
	assert_false(trust_parse("", &l));
	for (int i = 0; i < TRUST__COUNT; i++) {
		assert_true(trust_parse(trust_name((enum trust_level)i), &l));
		assert_int_equal(l, i);
	}
	assert_true(TRUST_UNTRUSTED < TRUST_ENDPOINT && TRUST_ENDPOINT < TRUST_ALLOWED_IPS &&
		    TRUST_ALLOWED_IPS < TRUST_MEMBERSHIP && TRUST_MEMBERSHIP < TRUST_DELEGATE);
}

static void test_evaluators(void **state)
{
	(void)state;
	static const struct {
		struct trust_sender s;
		enum trust_level want;
	} cases[] = {
		/* config wins over everything, even when lower */
		{ { true, TRUST_UNTRUSTED, true, true, true }, TRUST_UNTRUSTED },
		{ { true, TRUST_ALLOWED_IPS, true, false, false }, TRUST_ALLOWED_IPS },
		{ { true, TRUST_MEMBERSHIP, true, true, true }, TRUST_MEMBERSHIP },
		/* route-based: a router is Membership when no config Trust exists */
		{ { false, 0, false, true, true }, TRUST_MEMBERSHIP },
		/* ... but not once any peer in the config has Trust */
		{ { false, 0, true, true, true }, TRUST_ENDPOINT },
		/* known peer */
		{ { false, 0, false, false, true }, TRUST_ENDPOINT },
		/* nobody */
		{ { false, 0, false, false, false }, TRUST_UNTRUSTED },
		{ { false, 0, true, true, false }, TRUST_UNTRUSTED },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (trust_evaluate(&cases[i].s) != cases[i].want)
			fail_msg("case %zu: got %s", i, trust_name(trust_evaluate(&cases[i].s)));
}

static void test_thresholds(void **state)
{
	(void)state;
	static const struct {
		uint8_t attr;
		bool subject_is_peer;
		enum trust_level need;
	} cases[] = {
		{ WIRE_ENDPOINT_V4, true, TRUST_ENDPOINT },
		{ WIRE_ENDPOINT_V6, true, TRUST_ENDPOINT },
		{ WIRE_CIDR_V4, true, TRUST_ALLOWED_IPS },
		{ WIRE_CIDR_V6, true, TRUST_ALLOWED_IPS },
		{ WIRE_MEMBER, true, TRUST_MEMBERSHIP },
		{ WIRE_MEMBER_META, true, TRUST_MEMBERSHIP },
		/* unknown subjects need at least Membership */
		{ WIRE_ENDPOINT_V4, false, TRUST_MEMBERSHIP },
		{ WIRE_CIDR_V6, false, TRUST_MEMBERSHIP },
		{ WIRE_MEMBER_META, false, TRUST_MEMBERSHIP },
		/* never stored */
		{ WIRE_ALIVE, true, TRUST_NEVER },
		{ WIRE_SIGNED_GROUP, true, TRUST_NEVER },
		{ 'x', false, TRUST_NEVER },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum trust_level need = trust_threshold(cases[i].attr, cases[i].subject_is_peer);
		if (need != cases[i].need)
			fail_msg("case %zu: got %s", i, trust_name(need));
		/* Accepted exactly from the threshold up. */
		for (int l = TRUST_UNTRUSTED; l < TRUST__COUNT; l++)
			assert_int_equal(trust_accepts((enum trust_level)l, cases[i].attr,
						       cases[i].subject_is_peer),
					 need != TRUST_NEVER && l >= (int)need);
	}
}

static struct wg_allowedip ip(const char *text)
{
	struct wg_allowedip a;
	if (!wg_allowedip_parse(text, &a))
		fail_msg("bad %s", text);
	return a;
}

static struct netif_addr na(const char *cidr)
{
	struct wg_allowedip a = ip(cidr);
	struct netif_addr n = { .family = (uint8_t)a.family, .prefix = a.cidr };
	memcpy(&n.ip6, &a.ip6, 16);
	return n;
}

static void test_router_detection(void **state)
{
	(void)state;
	static const struct {
		const char *cidr;
		bool routed;
	} cases[] = {
		{ "10.0.0.0/24", true },     { "192.0.2.0/31", true },   { "10.1.2.3/32", false },
		{ "127.0.0.0/8", false },   { "169.254.0.0/16", false }, { "224.0.0.0/4", false },
		{ "fd00::/64", true },      { "2001:db8::/127", true },  { "fd00::1/128", false },
		{ "fe80::/64", false },     { "ff02::/16", false },      { "::1/127", false },
		{ "127.1.0.0/16", false },  { "240.0.0.0/4", true },     { "::ffff:127.0.0.0/104", false },
		{ "::ffff:10.0.0.0/104", true },
		/* Judged by the range, not its first address: a split default
		 * route (what wg-quick users write) and the default route. */
		{ "0.0.0.0/1", true },      { "128.0.0.0/1", true },     { "0.0.0.0/0", true },
		{ "::/0", true },           { "::/1", true },            { "8000::/1", true },
		{ "224.0.0.0/3", true },    { "fe80::/9", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wg_allowedip a = ip(cases[i].cidr);
		if (trust_allowedip_is_routed(&a) != cases[i].routed)
			fail_msg("%s", cases[i].cidr);
	}
	/* A peer with any routed allowed IP is a router; the device is one only
	 * when none of its peers is, unless configured. */
	struct wg_device *dev = wg_device_new("wg0");
	struct wg_peer *leaf = wg_device_add_peer(dev);
	struct wg_allowedip host = ip("198.51.100.2/32"), ll = ip("fe80::1/128");
	assert_int_equal(wg_peer_add_allowedip(leaf, &host), 0);
	assert_int_equal(wg_peer_add_allowedip(leaf, &ll), 0);
	assert_false(trust_peer_is_router(leaf));
	assert_true(trust_device_is_router(dev, -1));
	assert_false(trust_device_is_router(dev, 0));
	struct wg_peer *hub = wg_device_add_peer(dev);
	struct wg_allowedip net = ip("198.51.100.0/24");
	assert_int_equal(wg_peer_add_allowedip(hub, &net), 0);
	assert_true(trust_peer_is_router(&dev->peers[1]));
	assert_false(trust_device_is_router(dev, -1));
	assert_true(trust_device_is_router(dev, 1));
	wg_device_free(dev);
	/* A hub holding a split default route is a router for a leaf in the
	 * tunnel subnet: the leaf is not the router itself. */
	dev = wg_device_new("wg0");
	struct wg_peer *split = wg_device_add_peer(dev);
	struct wg_allowedip lo = ip("0.0.0.0/1"), hi = ip("128.0.0.0/1");
	assert_int_equal(wg_peer_add_allowedip(split, &lo), 0);
	assert_int_equal(wg_peer_add_allowedip(split, &hi), 0);
	assert_true(trust_peer_is_router(split));
	assert_false(trust_device_is_router(dev, -1));
	struct netif_addr own = na("10.77.0.13/24");
	struct netif nif = { .index = 5, .n_addrs = 1, .addrs = &own };
	assert_true(trust_peer_is_router_for(split, &nif));
	assert_false(trust_device_is_router_for(dev, -1, &nif));
	wg_device_free(dev);
}

static void test_routes_into_tunnel(void **state)
{
	(void)state;
	struct netif_addr dev_addrs[] = { na("10.9.0.1/16"), na("fd00:9::1/64") };
	struct netif_addr lan_addrs[] = { na("10.9.5.1/24"), na("192.0.2.10/24") };
	struct netif ifs[2] = {
		{ .name = "wg0", .index = 5, .addrs = dev_addrs, .n_addrs = 2 },
		{ .name = "eth0", .index = 2, .addrs = lan_addrs, .n_addrs = 2 },
	};
	struct netif_list host = { .ifs = ifs, .n = 2 };
	static const struct {
		int family;
		const char *addr;
		bool into;
	} cases[] = {
		{ AF_INET, "10.9.1.1", true },	  /* in the tunnel's subnet only */
		{ AF_INET, "10.9.5.7", false },	  /* also on the LAN: reachable there */
		{ AF_INET, "192.0.2.99", false }, /* LAN only */
		{ AF_INET, "203.0.113.1", false },
		{ AF_INET6, "fd00:9::77", true },
		{ AF_INET6, "fd00:8::77", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t a[16];
		assert_int_equal(inet_pton(cases[i].family, cases[i].addr, a), 1);
		if (trust_routes_into_tunnel(cases[i].family, a, &ifs[0], &host) != cases[i].into)
			fail_msg("%s", cases[i].addr);
	}
	uint8_t a[4] = { 10, 9, 1, 1 };
	assert_false(trust_routes_into_tunnel(AF_INET, a, NULL, &host));
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_evaluators),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_router_detection),
		cmocka_unit_test(test_routes_into_tunnel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
