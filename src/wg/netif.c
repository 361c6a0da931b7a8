/* rtnetlink through libmnl: interface and address dumps, RTM_NEWADDR,
 * notifications, one interface's packet counters. */
#include "wg/netif.h"

#include "util/array.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void netif_list_free(struct netif_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		free(list->ifs[i].addrs);
	free(list->ifs);
	free(list);
}

const struct netif *netif_find(const struct netif_list *list, const char *name)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->ifs[i].name, name) == 0)
			return &list->ifs[i];
	return NULL;
}

static struct netif *find_index(struct netif_list *list, uint32_t index)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->ifs[i].index == index)
			return &list->ifs[i];
	return NULL;
}

int netif_parse_link(const void *buf, struct netif_list *list)
{
	const struct nlmsghdr *nlh = buf;
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return -EPROTO;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const char *name = NULL;
	mnl_attr_for_each(attr, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			name = mnl_attr_get_str(attr);
	}
	if (!name || strlen(name) >= IFNAMSIZ || ifi->ifi_index <= 0)
		return -EPROTO;
	if (!array_grow((void **)&list->ifs, list->n, &list->cap, sizeof(*list->ifs)))
		return -ENOMEM;
	struct netif *nif = &list->ifs[list->n++];
	memset(nif, 0, sizeof(*nif));
	strcpy(nif->name, name);
	nif->index = (uint32_t)ifi->ifi_index;
	nif->up = ifi->ifi_flags & IFF_UP;
	return 0;
}

int netif_parse_addr(const void *buf, struct netif_list *list)
{
	const struct nlmsghdr *nlh = buf;
	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifaddrmsg))
		return -EPROTO;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	size_t alen = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 16 : 0;
	if (!alen)
		return 0; /* other families are of no use to us */
	const struct nlattr *attr, *local = NULL, *address = NULL;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_payload_len(attr) != alen)
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = attr;
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = attr;
	}
	/* On point-to-point links IFA_ADDRESS is the far end: prefer IFA_LOCAL. */
	const struct nlattr *a = local ? local : address;
	struct netif *nif = find_index(list, ifa->ifa_index);
	if (!a || !nif || ifa->ifa_prefixlen > alen * 8)
		return a && nif ? -EPROTO : 0;
	if (!array_grow((void **)&nif->addrs, nif->n_addrs, &nif->cap_addrs, sizeof(*nif->addrs)))
		return -ENOMEM;
	struct netif_addr *na = &nif->addrs[nif->n_addrs++];
	memset(na, 0, sizeof(*na));
	na->family = ifa->ifa_family;
	na->prefix = ifa->ifa_prefixlen;
	memcpy(&na->ip6, mnl_attr_get_payload(a), alen);
	return 0;
}

struct dump_ctx {
	struct netif_list *list;
	int (*parse)(const void *nlh, struct netif_list *list);
	int err;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	int err = c->parse(nlh, c->list);
	if (err && !c->err)
		c->err = err;
	return MNL_CB_OK;
}

/* Runs one request on a fresh socket, feeding replies to cb. */
static int rtnl_talk(struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	int err = 0;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	unsigned int portid = mnl_socket_get_portid(nl);
	req->nlmsg_seq = (uint32_t)time(NULL);
	if (!err && mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		err = -errno;
	char buf[1 << 15]; /* MNL_SOCKET_DUMP_SIZE */
	while (!err) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			err = -errno;
			break;
		}
		int r = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, portid, cb, data);
		if (r == MNL_CB_STOP)
			break;
		if (r < 0)
			err = -errno;
	}
	mnl_socket_close(nl);
	return err;
}

static int dump(uint16_t type, int (*parse)(const void *, struct netif_list *),
		struct netif_list *list)
{
	char buf[512]; /* requests are small */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	struct dump_ctx c = { list, parse, 0 };
	int err = rtnl_talk(nlh, dump_cb, &c);
	return err ? err : c.err;
}

int netif_list(struct netif_list **out)
{
	*out = NULL;
	struct netif_list *list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	int err = dump(RTM_GETLINK, netif_parse_link, list);
	if (!err)
		err = dump(RTM_GETADDR, netif_parse_addr, list);
	if (err) {
		netif_list_free(list);
		return err;
	}
	*out = list;
	return 0;
}

int netif_add_addr6(uint32_t ifindex, const struct in6_addr *addr, uint8_t prefix)
{
	if (prefix > 128)
		return -EINVAL;
	char buf[512]; /* requests are small */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	/* NLM_F_REPLACE makes a second add of the same address succeed. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_flags = IFA_F_NODAD;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(*addr), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*addr), addr);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return rtnl_talk(nlh, NULL, NULL);
}

static bool same_addr(const struct netif_addr *a, const struct netif_addr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       !memcmp(&a->ip6, &b->ip6, a->family == AF_INET ? 4 : 16);
}

static bool has_addrs_of(const struct netif *a, const struct netif *b)
{
	for (size_t i = 0; i < a->n_addrs; i++) {
		bool found = false;
		for (size_t k = 0; !found && k < b->n_addrs; k++)
			found = same_addr(&a->addrs[i], &b->addrs[k]);
		if (!found)
			return false;
	}
	return true;
}

static bool covers(const struct netif_list *a, const struct netif_list *b)
{
	for (size_t i = 0; a && i < a->n; i++) {
		const struct netif *x = &a->ifs[i], *y = NULL;
		if (!x->up)
			continue;
		for (size_t k = 0; b && !y && k < b->n; k++)
			if (b->ifs[k].index == x->index)
				y = &b->ifs[k];
		if (!y || !y->up || !has_addrs_of(x, y) || !has_addrs_of(y, x))
			return false;
	}
	return true;
}

bool netif_list_same(const struct netif_list *a, const struct netif_list *b)
{
	return covers(a, b) && covers(b, a);
}

struct netif_watch {
	struct mnl_socket *nl;
};

/* A non-blocking rtnetlink socket kept open, joined to groups: 0 or -errno. */
static int rtnl_open(unsigned groups, struct mnl_socket **out)
{
	*out = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (*out && mnl_socket_bind(*out, groups, MNL_SOCKET_AUTOPID) == 0)
		return 0;
	int err = errno ? -errno : -EIO;
	if (*out)
		mnl_socket_close(*out);
	*out = NULL;
	return err;
}

int netif_watch_open(struct netif_watch **out)
{
	struct netif_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	int err = rtnl_open(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, &w->nl);
	if (err) {
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

int netif_watch_fd(const struct netif_watch *w) { return mnl_socket_get_fd(w->nl); }

int netif_watch_read(struct netif_watch *w)
{
	char buf[8192];
	int changed = 0;
	for (int burst = 0; burst < 64; burst++) {
		ssize_t n = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? changed : errno == ENOBUFS ? 1 : -errno;
		const struct nlmsghdr *nlh = (const void *)buf;
		for (int len = (int)n; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			changed |= nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR ||
				   nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK;
	}
	return changed ? changed : 1; /* a flood: look anyway */
}

void netif_watch_close(struct netif_watch *w)
{
	if (w)
		mnl_socket_close(w->nl);
	free(w);
}

int netif_parse_counters(const void *buf, uint32_t ifindex, struct netif_counters *out)
{
	const struct nlmsghdr *nlh = buf;
	if (nlh->nlmsg_type != RTM_NEWSTATS || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct if_stats_msg))
		return -EPROTO;
	const struct if_stats_msg *ifs = mnl_nlmsg_get_payload(nlh);
	if (ifs->ifindex != ifindex)
		return -EPROTO;
	const struct nlattr *attr;
	mnl_attr_for_each(attr, nlh, sizeof(*ifs)) {
		struct rtnl_link_stats64 st;
		if (mnl_attr_get_type(attr) != IFLA_STATS_LINK_64 || mnl_attr_get_payload_len(attr) < sizeof(st))
			continue;
		memcpy(&st, mnl_attr_get_payload(attr), sizeof(st)); /* may be unaligned */
		out->rx_packets = st.rx_packets;
		out->tx_packets = st.tx_packets;
		out->errors = st.rx_errors + st.tx_errors + st.tx_dropped;
		out->refused = st.tx_dropped + st.tx_aborted_errors;
		out->dropped = st.rx_frame_errors;
		return 0;
	}
	return -EPROTO;
}

struct netif_stats {
	struct mnl_socket *nl;
	uint32_t seq;
};

int netif_stats_open(struct netif_stats **out)
{
	struct netif_stats *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int err = rtnl_open(0, &s->nl);
	if (err) {
		free(s);
		return err;
	}
	s->seq = (uint32_t)time(NULL);
	*out = s;
	return 0;
}

int netif_stats_read(struct netif_stats *s, uint32_t ifindex, struct netif_counters *out)
{
	char buf[1024];
	/* RTM_GETSTATS for only the 64-bit link counters: far less for the
	 * kernel to fill in than RTM_GETLINK. */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETSTATS;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++s->seq;
	struct if_stats_msg *ifs = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifs));
	ifs->family = AF_UNSPEC;
	ifs->ifindex = ifindex;
	ifs->filter_mask = IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64);
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* The kernel answers within sendto; a reply to an older request (one
	 * that failed half-way) is skipped by its sequence number. */
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		const struct nlmsghdr *r = (const void *)buf;
		if (!mnl_nlmsg_ok(r, (int)n) || r->nlmsg_seq != s->seq)
			continue;
		if (r->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(r);
			return mnl_nlmsg_get_payload_len(r) >= sizeof(*e) && e->error ? e->error : -EPROTO;
		}
		return netif_parse_counters(r, ifindex, out);
	}
	return -EPROTO;
}

void netif_stats_close(struct netif_stats *s)
{
	if (s)
		mnl_socket_close(s->nl);
	free(s);
}

enum netif_ipv6 netif_ipv6_state(const char *ifname)
{
	char path[96];
	if (access("/proc/sys/net/ipv6", F_OK) < 0 && errno == ENOENT && access("/proc/sys/net", F_OK) == 0)
		return NETIF_IPV6_OFF_HOST;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	FILE *f = fopen(path, "re");
	int off = 0;
	if (f && fscanf(f, "%d", &off) != 1)
		off = 0;
	if (f)
		fclose(f);
	return off ? NETIF_IPV6_OFF_IFACE : NETIF_IPV6_ON;
}
