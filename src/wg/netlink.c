/* WireGuard over generic netlink (the kernel module). */
#include "wg/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NL_BUF = 1 << 15 }; /* MNL_SOCKET_DUMP_SIZE */

/* ---- parsing ---- */

static int parse_allowedip(const struct nlattr *nest, struct wg_peer *p)
{
	struct wg_allowedip ip = { 0 };
	const struct nlattr *a, *addr = NULL;
	bool has_cidr = false;
	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case WGALLOWEDIP_A_FAMILY:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EPROTO;
			ip.family = mnl_attr_get_u16(a);
			break;
		case WGALLOWEDIP_A_IPADDR: addr = a; break;
		case WGALLOWEDIP_A_CIDR_MASK:
			if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
				return -EPROTO;
			ip.cidr = mnl_attr_get_u8(a);
			has_cidr = true;
			break;
		}
	}
	size_t len = ip.family == AF_INET ? 4 : ip.family == AF_INET6 ? 16 : 0;
	if (!len || !addr || !has_cidr || mnl_attr_get_payload_len(addr) != len || ip.cidr > len * 8)
		return -EPROTO;
	memcpy(&ip.ip6, mnl_attr_get_payload(addr), len);
	return wg_peer_add_allowedip(p, &ip);
}

static int parse_endpoint(const struct nlattr *a, struct wg_peer *p)
{
	size_t len = mnl_attr_get_payload_len(a);
	const struct sockaddr *sa = mnl_attr_get_payload(a);
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET)
		memcpy(&p->endpoint.addr4, sa, sizeof(struct sockaddr_in));
	else if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6)
		memcpy(&p->endpoint.addr6, sa, sizeof(struct sockaddr_in6));
	else if (len < sizeof(sa->sa_family))
		return -EPROTO;
	return 0;
}

static int parse_peer_attr(const struct nlattr *a, struct wg_peer *p)
{
	const struct nlattr *ip;
	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_PRESHARED_KEY: {
		if (mnl_attr_get_payload_len(a) != WG_KEY_LEN)
			return -EPROTO;
		p->has_preshared_key = !sodium_is_zero(mnl_attr_get_payload(a), WG_KEY_LEN);
		return 0;
	}
	case WGPEER_A_ENDPOINT: return parse_endpoint(a, p);
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
			return -EPROTO;
		p->keepalive = mnl_attr_get_u16(a);
		return 0;
	case WGPEER_A_LAST_HANDSHAKE_TIME: {
		struct __kernel_timespec ts;
		if (mnl_attr_get_payload_len(a) != sizeof(ts))
			return -EPROTO;
		memcpy(&ts, mnl_attr_get_payload(a), sizeof(ts));
		p->last_handshake_sec = ts.tv_sec;
		p->last_handshake_nsec = ts.tv_nsec;
		return 0;
	}
	case WGPEER_A_RX_BYTES:
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return -EPROTO;
		*(mnl_attr_get_type(a) == WGPEER_A_RX_BYTES ? &p->rx_bytes : &p->tx_bytes) =
			mnl_attr_get_u64(a);
		return 0;
	case WGPEER_A_ALLOWEDIPS:
		mnl_attr_for_each_nested(ip, a) {
			int err = parse_allowedip(ip, p);
			if (err)
				return err;
		}
		return 0;
	default: return 0; /* protocol version, flags, newer attributes */
	}
}

static const struct nlattr *peer_key(const struct nlattr *nest)
{
	const struct nlattr *a;
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == WGPEER_A_PUBLIC_KEY &&
		    mnl_attr_get_payload_len(a) == WG_KEY_LEN)
			return a;
	}
	return NULL;
}

static int parse_peer(const struct nlattr *nest, struct wg_device *dev)
{
	const struct nlattr *key = peer_key(nest), *a;
	if (!key)
		return -EPROTO;
	struct wg_peer *p = dev->n_peers ? &dev->peers[dev->n_peers - 1] : NULL;
	if (!p || memcmp(p->public_key, mnl_attr_get_payload(key), WG_KEY_LEN) != 0) {
		if (!(p = wg_device_add_peer(dev)))
			return -ENOMEM;
		memcpy(p->public_key, mnl_attr_get_payload(key), WG_KEY_LEN);
	}
	mnl_attr_for_each_nested(a, nest) {
		int err = parse_peer_attr(a, p);
		if (err)
			return err;
	}
	return 0;
}

static int parse_device_attr(const struct nlattr *a, struct wg_device *dev)
{
	const struct nlattr *peer;
	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_IFINDEX:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return -EPROTO;
		dev->ifindex = mnl_attr_get_u32(a);
		return 0;
	case WGDEVICE_A_PRIVATE_KEY:
	case WGDEVICE_A_PUBLIC_KEY: {
		if (mnl_attr_get_payload_len(a) != WG_KEY_LEN)
			return -EPROTO;
		bool priv = mnl_attr_get_type(a) == WGDEVICE_A_PRIVATE_KEY;
		memcpy(priv ? dev->private_key : dev->public_key, mnl_attr_get_payload(a), WG_KEY_LEN);
		if (priv)
			dev->has_private_key = true;
		return 0;
	}
	case WGDEVICE_A_LISTEN_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
			return -EPROTO;
		dev->listen_port = mnl_attr_get_u16(a);
		return 0;
	case WGDEVICE_A_FWMARK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return -EPROTO;
		dev->fwmark = mnl_attr_get_u32(a);
		return 0;
	case WGDEVICE_A_PEERS:
		mnl_attr_for_each_nested(peer, a) {
			int err = parse_peer(peer, dev);
			if (err)
				return err;
		}
		return 0;
	default: return 0;
	}
}

int nlwg_parse_device(const struct nlmsghdr *nlh, struct wg_device *dev)
{
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EPROTO;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		int err = parse_device_attr(a, dev);
		if (err)
			return err;
	}
	/* A device whose private key is all zeros has none. */
	dev->has_private_key = dev->has_private_key && !sodium_is_zero(dev->private_key, WG_KEY_LEN);
	return 0;
}

/* ---- building ---- */

static struct nlmsghdr *msg_start(char *buf, uint16_t family, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = flags;
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = WG_GENL_VERSION;
	return nlh;
}

static size_t endpoint_len(const union wg_endpoint *ep)
{
	return ep->addr.sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Puts the peer's own attributes (first fragment only). False if no room. */
static bool put_peer_head(struct nlmsghdr *nlh, size_t size, const struct wg_peer_change *p)
{
	uint32_t flags = 0;
	if (p->flags & WG_CHANGE_REMOVE)
		flags |= WGPEER_F_REMOVE_ME;
	if (p->flags & WG_CHANGE_UPDATE_ONLY)
		flags |= WGPEER_F_UPDATE_ONLY;
	if (p->flags & WG_CHANGE_REPLACE_ALLOWEDIPS)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (flags && !mnl_attr_put_u32_check(nlh, size, WGPEER_A_FLAGS, flags))
		return false;
	if ((p->flags & WG_CHANGE_ENDPOINT) &&
	    !mnl_attr_put_check(nlh, size, WGPEER_A_ENDPOINT, endpoint_len(&p->endpoint), &p->endpoint))
		return false;
	return !(p->flags & WG_CHANGE_KEEPALIVE) ||
	       mnl_attr_put_u16_check(nlh, size, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive);
}

static bool put_allowedip(struct nlmsghdr *nlh, size_t size, const struct wg_allowedip *ip)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, size, 0);
	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(nlh, size, WGALLOWEDIP_A_FAMILY, ip->family) ||
	    !mnl_attr_put_check(nlh, size, WGALLOWEDIP_A_IPADDR, ip->family == AF_INET ? 4 : 16,
				&ip->ip6) ||
	    !mnl_attr_put_u8_check(nlh, size, WGALLOWEDIP_A_CIDR_MASK, ip->cidr)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* Where the next message resumes: peer index and allowed IP index (or
 * SIZE_MAX when the peer has not been started). */
struct cursor {
	size_t peer, ip;
};

/* Fills one message from *c onwards; returns false if nothing at all fit. */
static bool fill_message(struct nlmsghdr *nlh, size_t size, const struct wg_change *ch,
			 struct cursor *c)
{
	struct nlattr *peers = mnl_attr_nest_start_check(nlh, size, WGDEVICE_A_PEERS);
	bool any = false;
	if (!peers)
		return false;
	for (; c->peer < ch->n_peers; c->peer++, c->ip = SIZE_MAX) {
		const struct wg_peer_change *p = &ch->peers[c->peer];
		struct nlattr *pn = mnl_attr_nest_start_check(nlh, size, 0);
		if (!pn || !mnl_attr_put_check(nlh, size, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key) ||
		    (c->ip == SIZE_MAX && !put_peer_head(nlh, size, p))) {
			if (pn)
				mnl_attr_nest_cancel(nlh, pn);
			break;
		}
		if (c->ip == SIZE_MAX)
			c->ip = 0;
		any = true;
		if (!(p->flags & WG_CHANGE_REMOVE) && c->ip < p->n_allowedips) {
			struct nlattr *ips = mnl_attr_nest_start_check(nlh, size, WGPEER_A_ALLOWEDIPS);
			for (; ips && c->ip < p->n_allowedips; c->ip++)
				if (!put_allowedip(nlh, size, &p->allowedips[c->ip]))
					break;
			if (ips)
				mnl_attr_nest_end(nlh, ips);
			if (!ips || c->ip < p->n_allowedips) {
				mnl_attr_nest_end(nlh, pn);
				break; /* continue this peer in the next message */
			}
		}
		mnl_attr_nest_end(nlh, pn);
	}
	mnl_attr_nest_end(nlh, peers);
	return any;
}

int nlwg_build_set(uint16_t family, const char *ifname, const struct wg_change *change,
		   size_t bufsize, int (*send)(void *arg, struct nlmsghdr *nlh), void *arg)
{
	char *buf = malloc(bufsize);
	if (!buf)
		return -ENOMEM;
	struct cursor c = { 0, SIZE_MAX };
	int err = 0;
	do {
		struct nlmsghdr *nlh =
			msg_start(buf, family, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK);
		if (!mnl_attr_put_strz_check(nlh, bufsize, WGDEVICE_A_IFNAME, ifname)) {
			err = -EMSGSIZE;
			break;
		}
		size_t before = c.peer;
		size_t before_ip = c.ip;
		if (!fill_message(nlh, bufsize, change, &c) && c.peer < change->n_peers) {
			err = -EMSGSIZE;
			break;
		}
		if (c.peer == before && c.ip == before_ip && c.peer < change->n_peers) {
			err = -EMSGSIZE; /* no progress: one item larger than a message */
			break;
		}
		err = send(arg, nlh);
	} while (!err && c.peer < change->n_peers);
	free(buf);
	return err;
}

/* ---- socket ---- */

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
};

static int nl_open(struct nl *nl)
{
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;
		mnl_socket_close(nl->sock);
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

/* Sends nlh and runs cb over the replies until the ack or the dump's end. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	char *buf = malloc(NL_BUF);
	if (!buf)
		return -ENOMEM;
	int r = MNL_CB_STOP, err = 0;
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, NL_BUF);
		if (n < 0) {
			err = -errno;
			break;
		}
		r = mnl_cb_run(buf, (size_t)n, nl->seq, nl->portid, cb, data);
		if (r < 0)
			err = -errno;
	} while (!err && r > MNL_CB_STOP);
	sodium_memzero(buf, NL_BUF); /* a device dump carries the private key */
	free(buf);
	return err;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
			*(uint16_t *)data = mnl_attr_get_u16(a);
	}
	return MNL_CB_OK;
}

static int resolve_family(struct nl *nl, uint16_t *family)
{
	char buf[256];
	struct nlmsghdr *nlh = msg_start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_REQUEST | NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	*family = 0;
	int err = nl_talk(nl, nlh, family_cb, family);
	return err ? err : *family ? 0 : -EPROTONOSUPPORT;
}

struct get_ctx {
	struct wg_device *dev;
	int err;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *c = data;
	if (!c->err)
		c->err = nlwg_parse_device(nlh, c->dev);
	return MNL_CB_OK;
}

static int open_family(const char *ifname, struct nl *nl, uint16_t *family)
{
	int err = nl_open(nl);
	if (err) {
		wg_set_error(-err, "%s: cannot open a generic netlink socket", ifname);
		return err;
	}
	err = resolve_family(nl, family);
	if (err) {
		wg_set_error(-err == ENOENT ? 0 : -err,
			     "%s: the kernel has no WireGuard support (module not loaded?)", ifname);
		mnl_socket_close(nl->sock);
	}
	return err;
}

static int nl_get(const char *ifname, struct wg_device **out)
{
	struct nl nl;
	uint16_t family;
	*out = NULL;
	int err = open_family(ifname, &nl, &family);
	if (err)
		return err;
	char buf[256];
	struct nlmsghdr *nlh =
		msg_start(buf, family, WG_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	struct get_ctx c = { wg_device_new(ifname), 0 };
	err = c.dev ? nl_talk(&nl, nlh, get_cb, &c) : -ENOMEM;
	if (!err)
		err = c.err;
	mnl_socket_close(nl.sock);
	if (err == -EOPNOTSUPP) {
		wg_set_error(0, "%s: not a WireGuard interface", ifname);
	} else if (err) {
		wg_set_error(err == -EPROTO ? 0 : -err, "%s: reading the WireGuard device%s", ifname,
			     err == -EPROTO ? " failed: malformed netlink reply" : "");
	}
	if (err) {
		wg_device_free(c.dev);
		return err;
	}
	*out = c.dev;
	return 0;
}

static int send_set(void *arg, struct nlmsghdr *nlh)
{
	return nl_talk(arg, nlh, NULL, NULL);
}

static int nl_set(const char *ifname, const struct wg_change *change)
{
	struct nl nl;
	uint16_t family;
	int err = open_family(ifname, &nl, &family);
	if (err)
		return err;
	err = nlwg_build_set(family, ifname, change, MNL_SOCKET_BUFFER_SIZE, send_set, &nl);
	mnl_socket_close(nl.sock);
	if (err)
		wg_set_error(-err, "%s: changing the WireGuard device", ifname);
	return err;
}

const struct wg_backend wg_backend_kernel = { "kernel", nl_get, nl_set };
