/* rtnetlink dump parsing on messages built in memory. */
#include "helpers.h"

#include "wg/netif.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

static char buf[4096];

static struct nlmsghdr *link_msg(int index, const char *name, unsigned flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static struct nlmsghdr *addr_msg(int family, int index, int prefix, const char *local,
				 const char *address)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_index = (uint32_t)index;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	uint8_t a[16];
	size_t len = family == AF_INET ? 4 : 16;
	if (address && inet_pton(family, address, a) == 1)
		mnl_attr_put(nlh, IFA_ADDRESS, len, a);
	if (local && inet_pton(family, local, a) == 1)
		mnl_attr_put(nlh, IFA_LOCAL, len, a);
	return nlh;
}

static void test_parse(void **state)
{
	(void)state;
	struct netif_list list = { 0 };
	assert_int_equal(netif_parse_link(link_msg(3, "eth0", IFF_UP), &list), 0);
	assert_int_equal(netif_parse_link(link_msg(7, "wg0", 0), &list), 0);
	assert_int_equal(netif_parse_link(link_msg(8, NULL, 0), &list), -EPROTO);
	assert_int_equal(netif_parse_link(link_msg(9, "0123456789abcdefg", 0), &list), -EPROTO);
	assert_int_equal(list.n, 2);
	const struct netif *eth = netif_find(&list, "eth0"), *wg = netif_find(&list, "wg0");
	assert_non_null(eth);
	assert_true(eth->up);
	assert_false(wg->up);
	assert_null(netif_find(&list, "nope"));

	/* Point-to-point: the local address wins over the peer's. */
	assert_int_equal(netif_parse_addr(addr_msg(AF_INET, 3, 24, "192.0.2.1", "192.0.2.9"), &list), 0);
	assert_int_equal(netif_parse_addr(addr_msg(AF_INET6, 7, 64, NULL, "fe80::1"), &list), 0);
	assert_int_equal(netif_parse_addr(addr_msg(AF_INET6, 99, 64, NULL, "fe80::1"), &list), 0);
	assert_int_equal(netif_parse_addr(addr_msg(AF_INET, 3, 33, "192.0.2.1", NULL), &list), -EPROTO);
	assert_int_equal(eth->n_addrs, 1);
	char a[64];
	inet_ntop(AF_INET, &eth->addrs[0].ip4, a, sizeof(a));
	assert_string_equal(a, "192.0.2.1");
	assert_int_equal(eth->addrs[0].prefix, 24);
	assert_int_equal(wg->n_addrs, 1);
	assert_int_equal(wg->addrs[0].family, AF_INET6);

	struct nlmsghdr *wrong = link_msg(3, "x", 0);
	wrong->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(netif_parse_link(wrong, &list), -EPROTO);
	for (size_t i = 0; i < list.n; i++)
		free(list.ifs[i].addrs);
	free(list.ifs);
}

static struct nlmsghdr *stats_msg(uint32_t index, uint16_t type, size_t len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWSTATS;
	struct if_stats_msg *ifs = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifs));
	ifs->ifindex = index;
	struct rtnl_link_stats64 st = { .rx_packets = 12, .tx_packets = 34, .rx_bytes = 5, .rx_errors = 2,
					.rx_frame_errors = 2, .tx_errors = 1, .tx_aborted_errors = 1,
					.tx_dropped = 4 };
	mnl_attr_put(nlh, type, len, &st);
	return nlh;
}

/* RTM_GETSTATS replies: the link's 64-bit packet counters, for that index
 * only; a short or missing attribute is an error. */
static void test_counters(void **state)
{
	(void)state;
	struct netif_counters c = { 0 };
	assert_int_equal(netif_parse_counters(stats_msg(5, IFLA_STATS_LINK_64, sizeof(struct rtnl_link_stats64)), 5, &c), 0);
	assert_int_equal(c.rx_packets, 12);
	assert_int_equal(c.tx_packets, 34);
	assert_int_equal(c.errors, 7);
	assert_int_equal(c.refused, 5);
	assert_int_equal(c.dropped, 2);
	assert_int_equal(netif_parse_counters(stats_msg(6, IFLA_STATS_LINK_64, sizeof(struct rtnl_link_stats64)), 5, &c), -EPROTO);
	assert_int_equal(netif_parse_counters(stats_msg(5, IFLA_STATS_LINK_64, 16), 5, &c), -EPROTO);
	assert_int_equal(netif_parse_counters(stats_msg(5, IFLA_STATS_LINK_XSTATS, sizeof(struct rtnl_link_stats64)), 5, &c), -EPROTO);
	assert_int_equal(netif_parse_counters(link_msg(5, "wg0", 0), 5, &c), -EPROTO);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_parse), cmocka_unit_test(test_counters) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
