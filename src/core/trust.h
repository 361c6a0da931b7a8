/* The trust model: how much a sender is trusted, what that lets it tell us,
 * and which peers are routers. Pure decisions over plain inputs. */
#ifndef WIRELINK_TRUST_H
#define WIRELINK_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/netif.h"
#include "wg/wg.h"

enum trust_level {
	TRUST_UNTRUSTED,
	TRUST_ENDPOINT,
	TRUST_ALLOWED_IPS,
	TRUST_MEMBERSHIP,
	TRUST_DELEGATE, /* reserved; nothing uses it yet */
	TRUST__COUNT,
	TRUST_NEVER = TRUST__COUNT, /* threshold of facts that are never stored */
};

const char *trust_name(enum trust_level level);
/* Level names as in the config file, case-insensitively ("AllowedIPs"...). */
bool trust_parse(const char *text, enum trust_level *out);

/* What the evaluators look at for one sender. */
struct trust_sender {
	bool has_config_trust; /* the config file sets Trust for this peer */
	enum trust_level config_trust;
	bool any_config_trust; /* some peer in the config file has Trust set */
	bool is_router;	       /* per trust_peer_is_router */
	bool is_peer;	       /* a current WireGuard peer */
};

/* Evaluators in order, the first with an opinion wins: config, route-based
 * (only when no peer in the config has Trust), known peer. */
enum trust_level trust_evaluate(const struct trust_sender *s);

/* The level a fact about a subject needs: Endpoint for endpoints, AllowedIPs
 * for allowed CIDRs, Membership for membership; at least Membership when the
 * subject is not a current peer; TRUST_NEVER for Alive and groups. */
enum trust_level trust_threshold(uint8_t attr, bool subject_is_peer);
bool trust_accepts(enum trust_level sender, uint8_t attr, bool subject_is_peer);

/* Router detection: a peer is a router when one of its allowed IPs is a
 * network (not a single host) whose range holds a global-unicast address:
 * judged by the range, so 0.0.0.0/1 and 0.0.0.0/0 are routed. The device is a router
 * when configured so, or (configured < 0: detect) when none of its peers is. */
bool trust_allowedip_is_routed(const struct wg_allowedip *ip);
bool trust_peer_is_router(const struct wg_peer *peer);
bool trust_device_is_router(const struct wg_device *dev, int configured);

/* Router detection for stars (beyond the original's rule above, which makes
 * any peer with a routed subnet a router): when the device has addresses of
 * its own (`device`, not NULL), a peer is a router only when one of its
 * routed allowed IPs covers one of those addresses, i.e. it carries our
 * tunnel. A leaf that merely routes a LAN behind it is not a router. Without
 * device addresses, the original's rule applies. */
bool trust_peer_is_router_for(const struct wg_peer *peer, const struct netif *device);
bool trust_device_is_router_for(const struct wg_device *dev, int configured,
				const struct netif *device);

/* Whether a routed allowed IP covers one of the device's own addresses. */
bool trust_covers_device(const struct wg_allowedip *ip, const struct netif *device);
/* Whether ip (masked) lies inside net (masked). */
bool trust_prefix_within(const struct wg_allowedip *ip, const struct wg_allowedip *net);
/* Clears the host bits of an allowed IP (10.0.0.5/24 -> 10.0.0.0/24). */
void trust_mask_allowedip(struct wg_allowedip *ip);
/* Whether a received endpoint may be used as a WireGuard endpoint: a
 * global-unicast address (private ranges included) and a port. */
bool trust_endpoint_usable(int family, const void *addr, uint16_t port);

/* An endpoint address "routes into the tunnel" when it is inside one of the
 * device's subnets and not inside any subnet of another host interface:
 * trying it would send the tunnel's packets through itself. */
bool trust_routes_into_tunnel(int family, const void *addr, const struct netif *device,
			      const struct netif_list *host);

/* Go's net.IP.IsGlobalUnicast, which the original uses. */
bool trust_is_global_unicast(int family, const void *addr);

#endif
