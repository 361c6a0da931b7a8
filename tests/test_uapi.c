/* The userspace control-socket protocol on byte fixtures. */
#include "helpers.h"

#include "wg/uapi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY_A "4a8a3b9c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5061728394a5b6c7d"
#define KEY_B "0101010101010101010101010101010101010101010101010101010101010101"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

static int parse(const char *text, struct wg_device **out)
{
	*out = wg_device_new("wgx");
	return uapi_parse_get(text, strlen(text), *out);
}

static void test_get_full(void **state)
{
	(void)state;
	const char *reply = "private_key=" KEY_A "\nlisten_port=51820\nfwmark=66\n"
			    "public_key=" KEY_B "\npreshared_key=" ZERO "\n"
			    "protocol_version=1\nendpoint=192.0.2.2:51821\n"
			    "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n"
			    "tx_bytes=10\nrx_bytes=20\npersistent_keepalive_interval=25\n"
			    "allowed_ip=198.51.100.2/32\nallowed_ip=fd00::/64\n"
			    "public_key=" KEY_A "\npreshared_key=" KEY_B "\nendpoint=[fd00::1]:1\n"
			    "some_future_key=whatever\nerrno=0\n\n";
	struct wg_device *dev;
	assert_int_equal(parse(reply, &dev), 0);
	assert_true(dev->has_private_key);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 66);
	assert_int_equal(dev->n_peers, 2);
	const struct wg_peer *p = &dev->peers[0];
	assert_false(p->has_preshared_key);
	assert_int_equal(p->endpoint.addr.sa_family, AF_INET);
	assert_int_equal(p->last_handshake_sec, 1700000000);
	assert_int_equal(p->tx_bytes, 10);
	assert_int_equal(p->rx_bytes, 20);
	assert_int_equal(p->keepalive, 25);
	assert_int_equal(p->n_allowedips, 2);
	assert_int_equal(p->allowedips[1].family, AF_INET6);
	assert_int_equal(p->allowedips[1].cidr, 64);
	assert_true(dev->peers[1].has_preshared_key);
	assert_int_equal(dev->peers[1].endpoint.addr.sa_family, AF_INET6);
	char *dump = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&dump, &n);
	wg_device_dump(dev, f);
	fclose(f);
	assert_non_null(strstr(dump, "\t(none)\t192.0.2.2:51821\t198.51.100.2/32,fd00::/64\t1700000000\t20\t10\t25\n"));
	assert_non_null(strstr(dump, "\t(hidden)\t[fd00::1]:1\t(none)\t0\t0\t0\toff\n"));
	free(dump);
	wg_device_free(dev);
}

static void test_get_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		{ "errno=0\n\n", 0 },
		{ "errno=19\n\n", -19 },		       /* the backend's own error */
		{ "listen_port=1\n", -EPROTO },	       /* closed before errno= */
		{ "listen_port=1\nerrno=0\n", -EPROTO },     /* no closing empty line */
		{ "listen_port=1\n\nerrno=0\n\n", -EPROTO }, /* empty line too early */
		{ "listen_port=70000\nerrno=0\n\n", -EPROTO },
		{ "listen_port=-1\nerrno=0\n\n", -EPROTO },
		{ "private_key=abc\nerrno=0\n\n", -EPROTO },
		{ "public_key=" KEY_B "\nendpoint=nowhere\nerrno=0\n\n", -EPROTO },
		{ "public_key=" KEY_B "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n", -EPROTO },
		{ "public_key=" KEY_B "\nallowed_ip=10.0.0.0\nerrno=0\n\n", -EPROTO },
		{ "noequals\nerrno=0\n\n", -EPROTO },
		{ "errno=x\n\n", -EPROTO },
		{ "errno=0\n\nmore", -EPROTO },
		{ "", -EPROTO },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wg_device *dev;
		int r = parse(cases[i].text, &dev);
		if (r != cases[i].err)
			fail_msg("case %zu: got %d want %d", i, r, cases[i].err);
		wg_device_free(dev);
	}
	/* A NUL inside a line is malformed, not a shorter line. */
	const char nul[] = "listen_port=1\0x\nerrno=0\n\n";
	struct wg_device *dev = wg_device_new("wgx");
	assert_int_equal(uapi_parse_get(nul, sizeof(nul) - 1, dev), -EPROTO);
	wg_device_free(dev);
	assert_int_equal(uapi_parse_status("errno=0\n\n", 9), 0);
	assert_int_equal(uapi_parse_status("errno=22\n\n", 10), -22);
	assert_int_equal(uapi_parse_status("x=1\nerrno=0\n\n", 13), -EPROTO);
	assert_true(uapi_reply_complete("errno=0\n\n", 9));
	assert_false(uapi_reply_complete("errno=0\n", 8));
}

static void test_set_format(void **state)
{
	(void)state;
	struct wg_allowedip ips[2];
	assert_true(wg_allowedip_parse("203.0.113.0/24", &ips[0]));
	assert_true(wg_allowedip_parse("fd00::1/128", &ips[1]));
	struct wg_peer_change p[2] = { 0 };
	memset(p[0].public_key, 1, 32);
	p[0].flags = WG_CHANGE_UPDATE_ONLY | WG_CHANGE_REPLACE_ALLOWEDIPS | WG_CHANGE_ENDPOINT |
		     WG_CHANGE_KEEPALIVE;
	assert_true(wg_endpoint_parse("[fd00::2]:51820", &p[0].endpoint));
	p[0].keepalive = 25;
	p[0].allowedips = ips;
	p[0].n_allowedips = 2;
	memset(p[1].public_key, 1, 32);
	p[1].flags = WG_CHANGE_REMOVE | WG_CHANGE_ENDPOINT;
	struct wg_change c = { p, 2 };
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(uapi_format_set(&c, &text, &len), 0);
	assert_string_equal(text, "set=1\npublic_key=" KEY_B "\nupdate_only=true\n"
				  "endpoint=[fd00::2]:51820\npersistent_keepalive_interval=25\n"
				  "replace_allowed_ips=true\nallowed_ip=203.0.113.0/24\n"
				  "allowed_ip=fd00::1/128\npublic_key=" KEY_B "\nremove=true\n\n");
	free(text);
}

static void test_text_forms(void **state)
{
	(void)state;
	union wg_endpoint ep;
	char buf[64];
	assert_true(wg_endpoint_parse("192.0.2.1:0", &ep));
	assert_false(wg_endpoint_parse("192.0.2.1:65536", &ep));
	assert_false(wg_endpoint_parse("fd00::1:5", &ep)); /* IPv6 needs brackets */
	assert_false(wg_endpoint_parse("[192.0.2.1]:5", &ep));
	assert_false(wg_endpoint_parse("[fd00::1]5", &ep));
	assert_false(wg_endpoint_parse(":5", &ep));
	assert_true(wg_endpoint_parse("[::ffff:192.0.2.1]:7", &ep));
	wg_endpoint_format(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "[::ffff:192.0.2.1]:7");
	struct wg_allowedip ip;
	assert_false(wg_allowedip_parse("10.0.0.0/", &ip));
	assert_false(wg_allowedip_parse("10.0.0.0/8x", &ip));
	assert_false(wg_allowedip_parse("fd00::/129", &ip));
	assert_true(wg_allowedip_parse("0.0.0.0/0", &ip));
	wg_allowedip_format(&ip, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0/0");
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_full),
		cmocka_unit_test(test_get_errors),
		cmocka_unit_test(test_set_format),
		cmocka_unit_test(test_text_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
