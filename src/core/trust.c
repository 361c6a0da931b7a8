/* Trust levels, evaluators and router detection. */
#include "core/trust.h"

#include "proto/wire.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static const char *const names[TRUST__COUNT] = {
	[TRUST_UNTRUSTED] = "Untrusted",   [TRUST_ENDPOINT] = "Endpoint",
	[TRUST_ALLOWED_IPS] = "AllowedIPs", [TRUST_MEMBERSHIP] = "Membership",
	[TRUST_DELEGATE] = "DelegateTrust",
};

const char *trust_name(enum trust_level level)
{
	return level < TRUST__COUNT ? names[level] : "Never";
}

bool trust_parse(const char *text, enum trust_level *out)
{
	for (int i = 0; i < TRUST__COUNT; i++)
		if (strcasecmp(text, names[i]) == 0) {
			*out = (enum trust_level)i;
			return true;
		}
	return false;
}

enum trust_level trust_evaluate(const struct trust_sender *s)
{
	if (s->has_config_trust)
		return s->config_trust;
	if (!s->any_config_trust && s->is_router)
		return TRUST_MEMBERSHIP;
	if (s->is_peer)
		return TRUST_ENDPOINT;
	return TRUST_UNTRUSTED;
}

enum trust_level trust_threshold(uint8_t attr, bool subject_is_peer)
{
	enum trust_level need;
	switch (attr) {
	case WIRE_ENDPOINT_V4:
	case WIRE_ENDPOINT_V6: need = TRUST_ENDPOINT; break;
	case WIRE_CIDR_V4:
	case WIRE_CIDR_V6: need = TRUST_ALLOWED_IPS; break;
	case WIRE_MEMBER:
	case WIRE_MEMBER_META: need = TRUST_MEMBERSHIP; break;
	default: return TRUST_NEVER;
	}
	return !subject_is_peer && need < TRUST_MEMBERSHIP ? TRUST_MEMBERSHIP : need;
}

bool trust_accepts(enum trust_level sender, uint8_t attr, bool subject_is_peer)
{
	enum trust_level need = trust_threshold(attr, subject_is_peer);
	return need != TRUST_NEVER && sender >= need;
}

bool trust_is_global_unicast(int family, const void *addr)
{
	if (family == AF_INET) {
		const uint8_t *a = addr;
		uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		return v != 0 && v != 0xffffffffu && a[0] != 127 && (a[0] & 0xf0) != 0xe0 &&
		       !(a[0] == 169 && a[1] == 254);
	}
	const uint8_t *a = addr;
	static const uint8_t zero[16] = { 0 }, loop[16] = { [15] = 1 };
	if (!memcmp(a, zero, 16) || !memcmp(a, loop, 16) || a[0] == 0xff)
		return false;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return false; /* fe80::/10 */
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (!memcmp(a, mapped, 12)) /* Go treats ::ffff:a.b.c.d as IPv4 */
		return trust_is_global_unicast(AF_INET, a + 12);
	return true;
}

/* Networks without a single global-unicast address in them (the single
 * addresses trust_is_global_unicast rejects are /32s and /128s, never
 * networks, but for ::/127 = { ::, ::1 }). */
static const struct {
	uint8_t family, cidr, addr[16];
} unrouted[] = {
	{ AF_INET, 8, { 127 } },
	{ AF_INET, 4, { 224 } },
	{ AF_INET, 16, { 169, 254 } },
	{ AF_INET6, 8, { 0xff } },
	{ AF_INET6, 10, { 0xfe, 0x80 } },
	{ AF_INET6, 127, { 0 } },
	{ AF_INET6, 104, { [10] = 0xff, [11] = 0xff, [12] = 127 } },
	{ AF_INET6, 100, { [10] = 0xff, [11] = 0xff, [12] = 224 } },
	{ AF_INET6, 112, { [10] = 0xff, [11] = 0xff, [12] = 169, [13] = 254 } },
};

/* A network is routed when the range it covers holds a global-unicast
 * address, whatever its first address is: 0.0.0.0/1 (half of a split
 * default route) is, though 0.0.0.0 itself is not. */
bool trust_allowedip_is_routed(const struct wg_allowedip *ip)
{
	int width = ip->family == AF_INET ? 32 : 128;
	if (ip->cidr >= width)
		return false;
	for (size_t i = 0; i < sizeof(unrouted) / sizeof(unrouted[0]); i++) {
		struct wg_allowedip net = { .family = unrouted[i].family, .cidr = unrouted[i].cidr };
		memcpy(&net.ip6, unrouted[i].addr, net.family == AF_INET ? 4 : 16);
		if (trust_prefix_within(ip, &net))
			return false;
	}
	return true;
}

bool trust_peer_is_router(const struct wg_peer *peer)
{
	for (size_t i = 0; i < peer->n_allowedips; i++)
		if (trust_allowedip_is_routed(&peer->allowedips[i]))
			return true;
	return false;
}

bool trust_device_is_router(const struct wg_device *dev, int configured)
{
	if (configured >= 0)
		return configured;
	for (size_t i = 0; i < dev->n_peers; i++)
		if (trust_peer_is_router(&dev->peers[i]))
			return false;
	return true;
}

static bool in_prefix(int family, const void *addr, const struct netif_addr *net)
{
	if (net->family != family)
		return false;
	const uint8_t *a = addr, *n = (const uint8_t *)&net->ip6;
	unsigned bits = net->prefix, full = bits / 8, rest = bits % 8;
	if (memcmp(a, n, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (n[full] & mask);
}

static bool in_any(int family, const void *addr, const struct netif *nif)
{
	for (size_t i = 0; i < nif->n_addrs; i++)
		if (in_prefix(family, addr, &nif->addrs[i]))
			return true;
	return false;
}

bool trust_routes_into_tunnel(int family, const void *addr, const struct netif *device,
			      const struct netif_list *host)
{
	if (!device || !in_any(family, addr, device))
		return false;
	for (size_t i = 0; host && i < host->n; i++)
		if (host->ifs[i].index != device->index && in_any(family, addr, &host->ifs[i]))
			return false;
	return true;
}

void trust_mask_allowedip(struct wg_allowedip *ip)
{
	unsigned width = ip->family == AF_INET ? 32 : 128, bits = ip->cidr < width ? ip->cidr : width;
	uint8_t *a = (uint8_t *)&ip->ip6;
	for (unsigned i = 0; i < width / 8; i++) {
		unsigned keep = bits > i * 8 ? bits - i * 8 : 0;
		if (keep < 8)
			a[i] &= (uint8_t)(0xff00 >> keep);
	}
}

bool trust_prefix_within(const struct wg_allowedip *ip, const struct wg_allowedip *net)
{
	if (ip->family != net->family || ip->cidr < net->cidr)
		return false;
	struct netif_addr n = { .family = net->family, .prefix = net->cidr };
	memcpy(&n.ip6, &net->ip6, net->family == AF_INET ? 4 : 16);
	return in_prefix(ip->family, &ip->ip6, &n);
}

static bool covers_address(const struct wg_allowedip *ip, const struct netif *device)
{
	for (size_t i = 0; i < device->n_addrs; i++) {
		const struct netif_addr *a = &device->addrs[i];
		struct netif_addr n = { .family = ip->family, .prefix = ip->cidr };
		memcpy(&n.ip6, &ip->ip6, ip->family == AF_INET ? 4 : 16);
		if (trust_is_global_unicast(a->family, &a->ip6) && in_prefix(a->family, &a->ip6, &n))
			return true;
	}
	return false;
}

static bool has_own_address(const struct netif *device)
{
	for (size_t i = 0; device && i < device->n_addrs; i++)
		if (trust_is_global_unicast(device->addrs[i].family, &device->addrs[i].ip6))
			return true;
	return false;
}

bool trust_covers_device(const struct wg_allowedip *ip, const struct netif *device)
{
	return device && trust_allowedip_is_routed(ip) && covers_address(ip, device);
}

bool trust_peer_is_router_for(const struct wg_peer *peer, const struct netif *device)
{
	if (!has_own_address(device))
		return trust_peer_is_router(peer);
	for (size_t i = 0; i < peer->n_allowedips; i++)
		if (trust_allowedip_is_routed(&peer->allowedips[i]) &&
		    covers_address(&peer->allowedips[i], device))
			return true;
	return false;
}

bool trust_device_is_router_for(const struct wg_device *dev, int configured,
				const struct netif *device)
{
	if (configured >= 0)
		return configured;
	for (size_t i = 0; i < dev->n_peers; i++)
		if (trust_peer_is_router_for(&dev->peers[i], device))
			return false;
	return true;
}

bool trust_endpoint_usable(int family, const void *addr, uint16_t port)
{
	return port != 0 && trust_is_global_unicast(family, addr);
}
