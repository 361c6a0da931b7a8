/* The facts this peer originates (BEHAVIOUR.md, "Local facts"): our host
 * endpoints, the live endpoints of our peers, their allowed IPs and
 * membership when we are a router or trusted to, and what the config file
 * says about its peers. Pure: everything comes in as data. */
#ifndef WIRELINK_LOCALFACTS_H
#define WIRELINK_LOCALFACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/peerstate.h"
#include "core/trust.h"
#include "proto/meta.h"
#include "wg/netif.h"
#include "wg/wg.h"

/* One peer from the config file; endpoints already resolved by the caller
 * (global-unicast results only). */
struct peer_config {
	uint8_t key[WIRE_KEY_LEN];
	char name[META_NAME_SEND_MAX + 1]; /* "" when not set */
	bool has_trust;
	enum trust_level trust;
	bool fact_exchanger, basic;
	const struct wg_allowedip *allowed_ips;
	size_t n_allowed_ips;
	const struct peer_endpoint *endpoints;
	size_t n_endpoints;
};

struct local_input {
	const uint8_t *self;		/* our public key */
	const struct wg_device *dev;	/* the device snapshot */
	const struct netif_list *host;	/* host interfaces and addresses */
	const char *const *report_ifaces; /* globs; NULL-terminated or NULL */
	const char *const *hide_ifaces;	  /* NULL: localfacts_default_hide */
	const struct peer_config *config; /* the config file's peers */
	size_t n_config;
	/* The same sorted by key, for lookups in O(log n); NULL: walk config. */
	const struct peer_config *const *by_key;
	bool is_router;
	int64_t wall_ms; /* to judge handshake age */
	/* Whether a config peer is alive or healthy now (its static endpoints
	 * are then not advertised). NULL: none is. */
	bool (*peer_is_up)(void *arg, const uint8_t key[static WIRE_KEY_LEN]);
	void *arg;
};

/* A built fact and the bytes its metadata view points at. */
struct local_fact {
	struct wire_fact f; /* ttl unset: the caller decides expiry */
	uint8_t meta[2 + 1 + META_NAME_SEND_MAX + 3];
};

struct local_facts {
	struct local_fact *facts;
	size_t n;
};

/* The HideIfaces globs when the file sets none (NULL-terminated). */
extern const char *const localfacts_default_hide[];

/* Builds every local fact, without duplicates. 0 or -ENOMEM. */
int localfacts_build(const struct local_input *in, struct local_facts *out)
	__attribute__((warn_unused_result));
void localfacts_free(struct local_facts *lf);

/* The config entry for key among peers[0..n), or NULL. */
const struct peer_config *peer_config_find(const struct peer_config *peers, size_t n,
					   const uint8_t key[static WIRE_KEY_LEN]);

#endif
