/* Host network interfaces over rtnetlink: list them with their addresses,
 * and add an IPv6 address (idempotently, without duplicate address
 * detection so it is usable at once). */
#ifndef WIRELINK_NETIF_H
#define WIRELINK_NETIF_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netif_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

struct netif {
	char name[IFNAMSIZ];
	uint32_t index;
	bool up;
	struct netif_addr *addrs;
	size_t n_addrs, cap_addrs;
};

struct netif_list {
	struct netif *ifs;
	size_t n, cap;
};

int netif_list(struct netif_list **out) __attribute__((warn_unused_result));
void netif_list_free(struct netif_list *list);
const struct netif *netif_find(const struct netif_list *list, const char *name);

/* Adds addr/prefix to interface ifindex; an address already there is fine. */
int netif_add_addr6(uint32_t ifindex, const struct in6_addr *addr, uint8_t prefix)
	__attribute__((warn_unused_result));

/* Whether two lists have the same interfaces up with the same addresses
 * (NULL is an empty list). */
/* Whether IPv6 is off where wirelink needs it (its fact port is on a
 * link-local address): on the interface (net.ipv6.conf.IFACE.disable_ipv6),
 * or on the whole host (no /proc/sys/net/ipv6: ipv6.disable=1). Read in
 * the caller's network namespace; NETIF_IPV6_ON when it cannot tell. */
enum netif_ipv6 { NETIF_IPV6_ON, NETIF_IPV6_OFF_IFACE, NETIF_IPV6_OFF_HOST };
enum netif_ipv6 netif_ipv6_state(const char *ifname);

bool netif_list_same(const struct netif_list *a, const struct netif_list *b);

/* rtnetlink notifications of link and address changes (roaming), on a
 * non-blocking socket for the event loop. */
struct netif_watch;
int netif_watch_open(struct netif_watch **out) __attribute__((warn_unused_result));
int netif_watch_fd(const struct netif_watch *w);
/* Drains what is queued; >0 when a link or address changed (or
 * notifications were lost), 0 when nothing did, or -errno. */
int netif_watch_read(struct netif_watch *w);
void netif_watch_close(struct netif_watch *w);

/* One interface's packet counters, on a netlink socket kept open: a cheap
 * look (two system calls) at whether anything moved through the tunnel,
 * between reads of the WireGuard device. */
struct netif_counters {
	uint64_t rx_packets, tx_packets;
	/* Kernel WireGuard counts here what it dropped on arrival (a source
	 * the sending peer may not use) and sends the host refused. */
	uint64_t errors;
	/* Of those, kernel WireGuard's sends the host refused (IPv4:
	 * tx_dropped, IPv6: tx_aborted_errors; tx_dropped also counts packets
	 * that waited too long for a handshake) and arrivals dropped for
	 * their source (rx_frame_errors). Read on the kernel only. */
	uint64_t refused, dropped;
};
struct netif_stats;
int netif_stats_open(struct netif_stats **out) __attribute__((warn_unused_result));
/* 0, or -errno (-ENODEV: the interface is gone). */
int netif_stats_read(struct netif_stats *s, uint32_t ifindex, struct netif_counters *out)
	__attribute__((warn_unused_result));
void netif_stats_close(struct netif_stats *s);

/* Parsing of rtnetlink dumps, apart from the socket so it can be tested. */
int netif_parse_link(const void *nlh, struct netif_list *list);
int netif_parse_addr(const void *nlh, struct netif_list *list);
/* An RTM_NEWSTATS reply about ifindex: its IFLA_STATS_LINK_64 packet counters. */
int netif_parse_counters(const void *nlh, uint32_t ifindex, struct netif_counters *out);

#endif
