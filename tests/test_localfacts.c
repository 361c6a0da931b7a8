/* Local facts (BEHAVIOUR.md rules 1-6) on a fake device and host. */
#include "helpers.h"

#include "core/localfacts.h"
#include "proto/crypto.h"
#include "proto/text.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t self[32] = { 0xee };
static struct netif_addr na(const char *cidr)
{
	struct wg_allowedip a;
	if (!wg_allowedip_parse(cidr, &a))
		fail_msg("bad %s", cidr);
	struct netif_addr n = { .family = (uint8_t)a.family, .prefix = a.cidr };
	memcpy(&n.ip6, &a.ip6, 16);
	return n;
}

static struct netif_addr wg_addrs[2], eth_addrs[2], docker_addrs[1], down_addrs[1];
static struct netif ifs[4];
static struct netif_list host = { .ifs = ifs, .n = 4 };
static struct wg_device *dev;
static const int64_t wall = 1700000000000;

static void add_ip(struct wg_peer *p, const char *cidr)
{
	struct wg_allowedip a;
	assert_true(wg_allowedip_parse(cidr, &a));
	assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
}

static int setup(void **state)
{
	(void)state;
	if (crypto_init())
		return -1;
	wg_addrs[0] = na("10.9.0.1/16");
	wg_addrs[1] = na("fe80::1234/64");
	eth_addrs[0] = na("192.0.2.10/24");
	eth_addrs[1] = na("fe80::1/64");
	docker_addrs[0] = na("172.17.0.1/16");
	down_addrs[0] = na("203.0.113.1/24");
	ifs[0] = (struct netif){ "wg0", 5, true, wg_addrs, 2, 2 };
	ifs[1] = (struct netif){ "eth0", 2, true, eth_addrs, 2, 2 };
	ifs[2] = (struct netif){ "lab0", 3, true, docker_addrs, 1, 1 };
	ifs[3] = (struct netif){ "down0", 4, false, down_addrs, 1, 1 };
	dev = wg_device_new("wg0");
	dev->ifindex = 5;
	dev->listen_port = 51820;
	struct wg_peer *a = wg_device_add_peer(dev); /* healthy, with routes */
	memset(a->public_key, 0xa, 32);
	assert_true(wg_endpoint_parse("192.0.2.20:51821", &a->endpoint));
	a->last_handshake_sec = wall / 1000 - 10;
	add_ip(a, "10.9.1.0/24");
	add_ip(a, "fe80::a/128");
	struct wg_peer *b = wg_device_add_peer(dev); /* no endpoint */
	memset(b->public_key, 0xb, 32);
	add_ip(b, "10.9.2.5/32");
	struct wg_peer *c = wg_device_add_peer(dev); /* stale handshake */
	memset(c->public_key, 0xc, 32);
	assert_true(wg_endpoint_parse("[2001:db8::c]:7", &c->endpoint));
	c->last_handshake_sec = wall / 1000 - 600;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wg_device_free(dev);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "<attr> <first subject byte as hex> <value>" per fact, sorted, joined by '|'. */
static char *summary(const struct local_input *in)
{
	struct local_facts lf;
	assert_int_equal(localfacts_build(in, &lf), 0);
	char **lines = calloc(lf.n + 1, sizeof(*lines));
	for (size_t i = 0; i < lf.n; i++) {
		char *v = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&v, &n);
		fprintf(f, "%c %02x ", lf.facts[i].f.attr, lf.facts[i].f.subject[0]);
		text_value(f, &lf.facts[i].f);
		fclose(f);
		lines[i] = v;
	}
	qsort(lines, lf.n, sizeof(*lines), cmp_str);
	char *all = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&all, &n);
	for (size_t i = 0; i < lf.n; i++) {
		fprintf(f, "%s%s", i ? "|" : "", lines[i]);
		free(lines[i]);
	}
	fclose(f);
	free(lines);
	localfacts_free(&lf);
	return all;
}

static void expect(const struct local_input *in, const char *want)
{
	char *got = summary(in);
	if (strcmp(got, want) != 0)
		fail_msg("\n got: %s\nwant: %s", got, want);
	free(got);
}

static void test_router(void **state)
{
	(void)state;
	struct local_input in = { self, dev, &host, .is_router = true, .wall_ms = wall };
	/* Endpoints on up host interfaces (not the device, not link-local, not
	 * down0); the device's global subnet masked; A's live endpoint (C's
	 * handshake is stale, B has none); every non-link-local allowed IP;
	 * an empty membership for every peer. */
	expect(&in, "M 0a |M 0b |M 0c |a 0a 10.9.1.0/24|a 0b 10.9.2.5/32|a ee 10.9.0.0/16|"
		    "e 0a 192.0.2.20:51821|e ee 172.17.0.1:51820|e ee 192.0.2.10:51820");
	/* HideIfaces, then ReportIfaces. */
	const char *hide[] = { "lab*", NULL }, *report[] = { "e*", "l*", NULL };
	in.hide_ifaces = hide;
	in.report_ifaces = report;
	expect(&in, "M 0a |M 0b |M 0c |a 0a 10.9.1.0/24|a 0b 10.9.2.5/32|a ee 10.9.0.0/16|"
		    "e 0a 192.0.2.20:51821|e ee 192.0.2.10:51820");
	const char *only_docker[] = { "lab0", NULL };
	in.hide_ifaces = NULL;
	in.report_ifaces = only_docker;
	expect(&in, "M 0a |M 0b |M 0c |a 0a 10.9.1.0/24|a 0b 10.9.2.5/32|a ee 10.9.0.0/16|"
		    "e 0a 192.0.2.20:51821|e ee 172.17.0.1:51820");
}

/* With no HideIfaces, interfaces local by nature are hidden: docker's
 * (docker0, br-<12 hex>, veth<7 hex>), libvirt's, lo; not a bridge or veth
 * of another name (the tests' LANs). An empty HideIfaces hides nothing. */
static void test_default_hide(void **state)
{
	(void)state;
	static const char *const names[] = { "eth0", "docker0", "br-0123456789ab", "br0",
					     "veth1a2b3c4", "vethfoo", "v4242a", "virbr0",
					     "lo", "br-0123", "docker_gwbridge", "cni0" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct netif_addr addrs[N];
	struct netif nifs[N];
	char cidr[32];
	for (size_t i = 0; i < N; i++) {
		snprintf(cidr, sizeof(cidr), "10.7.%zu.1/24", i);
		addrs[i] = na(cidr);
		nifs[i] = (struct netif){ "", (int)(10 + i), true, &addrs[i], 1, 1 };
		snprintf(nifs[i].name, sizeof(nifs[i].name), "%s", names[i]);
	}
	struct netif_list h = { .ifs = nifs, .n = N };
	struct local_input in = { self, dev, &h, .is_router = false, .wall_ms = wall };
	expect(&in, "e 0a 192.0.2.20:51821|e ee 10.7.0.1:51820|e ee 10.7.3.1:51820|e ee 10.7.5.1:51820|"
		    "e ee 10.7.6.1:51820|e ee 10.7.9.1:51820");
	const char *none[] = { NULL };
	in.hide_ifaces = none;
	char want[512] = "e 0a 192.0.2.20:51821";
	const int order[N] = { 0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9 }; /* as strings sort */
	for (size_t i = 0; i < N; i++) {
		size_t at = strlen(want);
		snprintf(want + at, sizeof(want) - at, "|e ee 10.7.%d.1:51820", order[i]);
	}
	expect(&in, want);
	/* A ReportIfaces naming a hidden one does not bring it back. */
	const char *report[] = { "docker0", "eth0", NULL };
	in.hide_ifaces = NULL;
	in.report_ifaces = report;
	expect(&in, "e 0a 192.0.2.20:51821|e ee 10.7.0.1:51820");
}

static void test_leaf(void **state)
{
	(void)state;
	/* A leaf tells only endpoints: its own and its peers' live ones. */
	struct local_input in = { self, dev, &host, .is_router = false, .wall_ms = wall };
	expect(&in, "e 0a 192.0.2.20:51821|e ee 172.17.0.1:51820|e ee 192.0.2.10:51820");
	/* Trusted with AllowedIPs by its own config: also allowed IPs. */
	struct peer_config me = { .has_trust = true, .trust = TRUST_ALLOWED_IPS };
	memcpy(me.key, self, 32);
	in.config = &me;
	in.n_config = 1;
	expect(&in, "M ee b=0|a 0a 10.9.1.0/24|a 0b 10.9.2.5/32|e 0a 192.0.2.20:51821|"
		    "e ee 172.17.0.1:51820|e ee 192.0.2.10:51820");
	/* With Membership: membership too. */
	me.trust = TRUST_MEMBERSHIP;
	expect(&in, "M 0a |M 0b |M 0c |M ee b=0|a 0a 10.9.1.0/24|a 0b 10.9.2.5/32|"
		    "e 0a 192.0.2.20:51821|e ee 172.17.0.1:51820|e ee 192.0.2.10:51820");
}

static bool d_is_up;
static bool peer_up(void *arg, const uint8_t key[static 32])
{
	(void)arg;
	return d_is_up && key[0] == 0xd;
}

static void test_config_peers(void **state)
{
	(void)state;
	struct wg_allowedip ips[2];
	assert_true(wg_allowedip_parse("10.9.3.0/24", &ips[0]));
	assert_true(wg_allowedip_parse("10.9.1.0/24", &ips[1]));
	struct peer_endpoint eps[1] = { { .attr = WIRE_ENDPOINT_V4 } };
	memcpy(eps[0].ep.addr, (uint8_t[]){ 198, 51, 100, 7 }, 4);
	eps[0].ep.port = 51820;
	struct peer_config cfg[2] = {
		{ .name = "laptop", .basic = true, .allowed_ips = ips, .n_allowed_ips = 1,
		  .endpoints = eps, .n_endpoints = 1 },
		{ .name = "", .allowed_ips = &ips[1], .n_allowed_ips = 1 },
	};
	memset(cfg[0].key, 0xd, 32);
	memset(cfg[1].key, 0xa, 32); /* A, whose WireGuard allowed IP it repeats */
	struct local_input in = { self, dev, NULL, .config = cfg, .n_config = 2, .is_router = true,
				  .wall_ms = wall, .peer_is_up = peer_up };
	/* Name and basic flag, static allowed IPs (the repeat of A's told once),
	 * and the resolved static endpoint while D is not up. */
	expect(&in, "M 0a b=0|M 0b |M 0c |M 0d n=\"laptop\",b=1|a 0a 10.9.1.0/24|"
		    "a 0b 10.9.2.5/32|a 0d 10.9.3.0/24|e 0a 192.0.2.20:51821|e 0d 198.51.100.7:51820");
	d_is_up = true;
	expect(&in, "M 0a b=0|M 0b |M 0c |M 0d n=\"laptop\",b=1|a 0a 10.9.1.0/24|"
		    "a 0b 10.9.2.5/32|a 0d 10.9.3.0/24|e 0a 192.0.2.20:51821");
	d_is_up = false;
	/* Static allowed IPs for ourselves: the device's subnets are not told. */
	struct peer_config with_self[3] = { cfg[0], cfg[1], { .allowed_ips = ips, .n_allowed_ips = 1 } };
	memcpy(with_self[2].key, self, 32);
	in.config = with_self;
	in.n_config = 3;
	in.host = &host;
	char *got = summary(&in);
	assert_null(strstr(got, "a ee 10.9.0.0/16"));
	assert_non_null(strstr(got, "a ee 10.9.3.0/24"));
	free(got);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_leaf),
		cmocka_unit_test(test_default_hide),
		cmocka_unit_test(test_config_peers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
