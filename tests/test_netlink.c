/* WireGuard generic netlink messages on byte fixtures: a dump over several
 * messages with a peer continued across them, a SET that must be split. */
#include "helpers.h"

#include "wg/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <stdlib.h>
#include <string.h>

static struct nlmsghdr *start(char *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = 0x20;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_GET_DEVICE;
	return nlh;
}

static void put_ip(struct nlmsghdr *nlh, const char *text, int cidr)
{
	uint8_t a[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fam, text, a), 1);
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, (uint16_t)fam);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, fam == AF_INET ? 4 : 16, a);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, (uint8_t)cidr);
	mnl_attr_nest_end(nlh, n);
}

static void test_dump_over_messages(void **state)
{
	(void)state;
	static char m1[4096], m2[4096];
	uint8_t key1[32], key2[32], priv[32];
	memset(key1, 1, 32);
	memset(key2, 2, 32);
	memset(priv, 9, 32);

	/* Message 1: the device, peer 1 complete, peer 2 with one allowed IP. */
	struct nlmsghdr *nlh = start(m1);
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 5);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 32, priv);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, 32, key1);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0x42);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *p = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, key1);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(7) };
	inet_pton(AF_INET6, "fd00::7", &sin6.sin6_addr);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
	struct __kernel_timespec ts = { .tv_sec = 1700000000, .tv_nsec = 3 };
	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 100);
	mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 200);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	mnl_attr_nest_end(nlh, p);
	p = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, key2);
	struct nlattr *ips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	put_ip(nlh, "198.51.100.0", 24);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, peers);

	/* Message 2: peer 2 continues with more allowed IPs. */
	struct nlmsghdr *nlh2 = start(m2);
	mnl_attr_put_strz(nlh2, WGDEVICE_A_IFNAME, "wg0");
	peers = mnl_attr_nest_start(nlh2, WGDEVICE_A_PEERS);
	p = mnl_attr_nest_start(nlh2, 0);
	mnl_attr_put(nlh2, WGPEER_A_PUBLIC_KEY, 32, key2);
	ips = mnl_attr_nest_start(nlh2, WGPEER_A_ALLOWEDIPS);
	put_ip(nlh2, "fd00:1::", 64);
	put_ip(nlh2, "203.0.113.5", 32);
	mnl_attr_nest_end(nlh2, ips);
	mnl_attr_nest_end(nlh2, p);
	mnl_attr_nest_end(nlh2, peers);

	struct wg_device *dev = wg_device_new("wg0");
	assert_int_equal(nlwg_parse_device(nlh, dev), 0);
	assert_int_equal(nlwg_parse_device(nlh2, dev), 0);
	assert_int_equal(dev->ifindex, 5);
	assert_true(dev->has_private_key);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 0x42);
	assert_int_equal(dev->n_peers, 2);
	assert_int_equal(dev->peers[0].endpoint.addr.sa_family, AF_INET6);
	assert_int_equal(dev->peers[0].last_handshake_sec, 1700000000);
	assert_int_equal(dev->peers[0].rx_bytes, 100);
	assert_int_equal(dev->peers[0].tx_bytes, 200);
	assert_int_equal(dev->peers[0].keepalive, 25);
	assert_int_equal(dev->peers[1].n_allowedips, 3);
	char text[64];
	wg_allowedip_format(&dev->peers[1].allowedips[1], text, sizeof(text));
	assert_string_equal(text, "fd00:1::/64");
	wg_device_free(dev);

	/* Malformed: an allowed IP whose address does not match its family. */
	struct nlmsghdr *bad = start(m1);
	peers = mnl_attr_nest_start(bad, WGDEVICE_A_PEERS);
	p = mnl_attr_nest_start(bad, 0);
	mnl_attr_put(bad, WGPEER_A_PUBLIC_KEY, 32, key1);
	ips = mnl_attr_nest_start(bad, WGPEER_A_ALLOWEDIPS);
	struct nlattr *ip = mnl_attr_nest_start(bad, 0);
	mnl_attr_put_u16(bad, WGALLOWEDIP_A_FAMILY, AF_INET6);
	mnl_attr_put(bad, WGALLOWEDIP_A_IPADDR, 4, "abcd");
	mnl_attr_put_u8(bad, WGALLOWEDIP_A_CIDR_MASK, 8);
	mnl_attr_nest_end(bad, ip);
	mnl_attr_nest_end(bad, ips);
	mnl_attr_nest_end(bad, p);
	mnl_attr_nest_end(bad, peers);
	dev = wg_device_new("wg0");
	assert_int_equal(nlwg_parse_device(bad, dev), -EPROTO);
	wg_device_free(dev);
}

struct sent {
	struct wg_device *as_parsed; /* the SET messages read back as a dump */
	int messages;
	size_t max_len;
	int replace_flags; /* fragments that carry REPLACE_ALLOWEDIPS */
	int fail_at;
};

static int collect(void *arg, struct nlmsghdr *nlh)
{
	struct sent *s = arg;
	if (++s->messages == s->fail_at)
		return -EIO;
	if (nlh->nlmsg_len > s->max_len)
		s->max_len = nlh->nlmsg_len;
	const struct nlattr *a, *peer, *f;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) != WGDEVICE_A_PEERS)
			continue;
		mnl_attr_for_each_nested(peer, a) {
			mnl_attr_for_each_nested(f, peer) {
				if (mnl_attr_get_type(f) == WGPEER_A_FLAGS &&
				    (mnl_attr_get_u32(f) & WGPEER_F_REPLACE_ALLOWEDIPS))
					s->replace_flags++;
			}
		}
	}
	return nlwg_parse_device(nlh, s->as_parsed);
}

static void test_set_split(void **state)
{
	(void)state;
	enum { PEERS = 3, IPS = 120 };
	static struct wg_allowedip ips[PEERS][IPS];
	struct wg_peer_change peers[PEERS + 1] = { 0 };
	for (int i = 0; i < PEERS; i++) {
		memset(peers[i].public_key, i + 1, 32);
		peers[i].flags = WG_CHANGE_REPLACE_ALLOWEDIPS | WG_CHANGE_KEEPALIVE;
		peers[i].keepalive = 25;
		for (int j = 0; j < IPS; j++) {
			ips[i][j].family = AF_INET6;
			ips[i][j].cidr = 128;
			ips[i][j].ip6.s6_addr[0] = 0xfd;
			ips[i][j].ip6.s6_addr[14] = (uint8_t)i;
			ips[i][j].ip6.s6_addr[15] = (uint8_t)j;
		}
		peers[i].allowedips = ips[i];
		peers[i].n_allowedips = IPS;
	}
	memset(peers[PEERS].public_key, 9, 32);
	peers[PEERS].flags = WG_CHANGE_REMOVE;
	struct wg_change ch = { peers, PEERS + 1 };

	struct sent s = { .as_parsed = wg_device_new("wg0") };
	assert_int_equal(nlwg_build_set(0x20, "wg0", &ch, 1024, collect, &s), 0);
	assert_true(s.messages > 10);
	assert_true(s.max_len <= 1024);
	assert_int_equal(s.replace_flags, PEERS); /* only in each peer's first fragment */
	assert_int_equal(s.as_parsed->n_peers, PEERS + 1);
	for (int i = 0; i < PEERS; i++) {
		const struct wg_peer *p = &s.as_parsed->peers[i];
		assert_int_equal(p->n_allowedips, IPS);
		for (int j = 0; j < IPS; j++)
			assert_memory_equal(&p->allowedips[j].ip6, &ips[i][j].ip6, 16);
	}
	wg_device_free(s.as_parsed);

	/* Everything in one message when it fits. */
	s = (struct sent){ .as_parsed = wg_device_new("wg0") };
	assert_int_equal(nlwg_build_set(0x20, "wg0", &ch, 32768, collect, &s), 0);
	assert_int_equal(s.messages, 1);
	wg_device_free(s.as_parsed);

	/* A send error stops the change and is returned. */
	s = (struct sent){ .as_parsed = wg_device_new("wg0"), .fail_at = 2 };
	assert_int_equal(nlwg_build_set(0x20, "wg0", &ch, 1024, collect, &s), -EIO);
	assert_int_equal(s.messages, 2);
	wg_device_free(s.as_parsed);

	/* A buffer too small for even one peer is refused, not looped on. */
	s = (struct sent){ .as_parsed = wg_device_new("wg0") };
	assert_int_equal(nlwg_build_set(0x20, "wg0", &ch, 64, collect, &s), -EMSGSIZE);
	wg_device_free(s.as_parsed);

	/* No peers: one message naming the device. */
	s = (struct sent){ .as_parsed = wg_device_new("wg0") };
	struct wg_change none = { NULL, 0 };
	assert_int_equal(nlwg_build_set(0x20, "wg0", &none, 1024, collect, &s), 0);
	assert_int_equal(s.messages, 1);
	wg_device_free(s.as_parsed);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_over_messages),
		cmocka_unit_test(test_set_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
