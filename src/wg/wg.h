/* The WireGuard device model, partial changes to it, and the backend ops
 * table (userspace control socket or kernel netlink, chosen at run time the
 * way wg(8) chooses). */
#ifndef WIRELINK_WG_H
#define WIRELINK_WG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

enum { WG_KEY_LEN = 32 };

struct wg_allowedip {
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

union wg_endpoint {
	struct sockaddr addr; /* sa_family AF_UNSPEC when the peer has none */
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

struct wg_peer {
	uint8_t public_key[WG_KEY_LEN];
	bool has_preshared_key;
	union wg_endpoint endpoint;
	int64_t last_handshake_sec; /* wall clock; 0 = never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	uint16_t keepalive; /* seconds, 0 = off */
	struct wg_allowedip *allowedips;
	size_t n_allowedips, cap_allowedips;
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	uint8_t public_key[WG_KEY_LEN], private_key[WG_KEY_LEN];
	bool has_private_key;
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_peer *peers;
	size_t n_peers, cap_peers;
};

/* A partial description of per-peer changes, as `wg set` makes them. */
enum wg_change_flags {
	WG_CHANGE_REMOVE = 1 << 0,	  /* remove the peer (other fields ignored) */
	WG_CHANGE_UPDATE_ONLY = 1 << 1,	  /* never create the peer */
	WG_CHANGE_REPLACE_ALLOWEDIPS = 1 << 2, /* replace instead of adding */
	WG_CHANGE_ENDPOINT = 1 << 3,	  /* set endpoint */
	WG_CHANGE_KEEPALIVE = 1 << 4,	  /* set keepalive */
};

struct wg_peer_change {
	uint8_t public_key[WG_KEY_LEN];
	uint32_t flags;
	union wg_endpoint endpoint;
	uint16_t keepalive;
	const struct wg_allowedip *allowedips; /* added, or the new set */
	size_t n_allowedips;
};

struct wg_change {
	const struct wg_peer_change *peers;
	size_t n_peers;
};

struct wg_backend {
	const char *name;
	int (*get)(const char *ifname, struct wg_device **out);
	int (*set)(const char *ifname, const struct wg_change *change);
};

extern const struct wg_backend wg_backend_userspace;
extern const struct wg_backend wg_backend_kernel;

/* The backend for ifname: userspace if its control socket exists, else the
 * kernel. Errors of get and set: 0 or -errno, with the message in
 * wg_last_error(). */
const struct wg_backend *wg_backend_for(const char *ifname);
/* Opens a connection to ifname's userspace control socket and keeps it for
 * every later request on ifname: wireguard-go's socket is root's (mode
 * 0700), so a daemon that drops root keeps the connection it made before
 * instead of keeping CAP_DAC_OVERRIDE. 0 or -errno. */
int wg_uapi_keep(const char *ifname);
/* Whether a connection to ifname's userspace control socket is kept. */
bool wg_uapi_kept(const char *ifname);
int wg_get_device(const char *ifname, struct wg_device **out) __attribute__((warn_unused_result));
int wg_set_device(const char *ifname, const struct wg_change *change)
	__attribute__((warn_unused_result));

/* Human-readable reason for the last failed get/set on this thread: which
 * interface, what went wrong. */
const char *wg_last_error(void);
void wg_set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After a failed get: why, naming the real cause ("wg0: no such
 * interface", "eth0: not a WireGuard interface"), else wg_last_error(). */
void wg_device_problem(const char *iface, char *out, size_t len);

/* Model helpers. */
struct wg_device *wg_device_new(const char *ifname);
void wg_device_free(struct wg_device *dev); /* wipes the private key */
struct wg_peer *wg_device_add_peer(struct wg_device *dev);
int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *ip);
const struct wg_peer *wg_device_find_peer(const struct wg_device *dev,
					  const uint8_t key[static WG_KEY_LEN]);

/* Text forms shared by the backends, tools and tests. */
bool wg_allowedip_parse(const char *text, struct wg_allowedip *out);
void wg_allowedip_format(const struct wg_allowedip *ip, char *out, size_t cap);
bool wg_endpoint_parse(const char *text, union wg_endpoint *out);
void wg_endpoint_format(const union wg_endpoint *ep, char *out, size_t cap);

/* Prints the device as `wg show IFACE dump` does. */
void wg_device_dump(const struct wg_device *dev, FILE *out);

#endif
