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

bool trust_allowedip_is_routed(const struct wg_allowedip *ip)
{
	int width = ip->family == AF_INET ? 32 : 128;
	return ip->cidr < width && trust_is_global_unicast(ip->family, &ip->ip6);
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
