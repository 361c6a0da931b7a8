/* The engine's table of peers (every key we hold anything about) and what
 * the rooms ask of it: an entry, its config, its trust, whether it is a
 * router, and the events a round reports. */
#include "core/engine_int.h"

#include "core/trust.h"
#include "proto/autoaddr.h"
#include "util/array.h"

#include <stdlib.h>
#include <string.h>

static int cmp_key_config(const void *key, const void *b)
{
	const struct peer_config *const *y = b;
	return memcmp(key, (*y)->key, WIRE_KEY_LEN);
}

struct wg_allowedip engine_auto_ip(const uint8_t key[static 32])
{
	struct wg_allowedip ip = { .family = AF_INET6, .cidr = 128 };
	autoaddr_from_key(key, &ip.ip6);
	return ip;
}

struct peer_entry *engine_entry(struct engine *e, const uint8_t key[static 32], bool create)
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	if (!p && create && (p = calloc(1, sizeof(*p)))) {
		known_reset(&p->kn);
		memcpy(p->key, key, WIRE_KEY_LEN);
		p->auto_ip = engine_auto_ip(key);
		peerstate_init(&p->ps, key);
		HASH_ADD(hh, e->peers, key, WIRE_KEY_LEN, p);
	}
	return p;
}

const struct peer_entry *engine_entry_of(const struct engine *e, const uint8_t key[static 32])
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	return p;
}

void engine_emit(struct engine *e, const uint8_t key[static 32], unsigned ev)
{
	if (!ev)
		return;
	for (size_t i = 0; i < e->n_events; i++)
		if (!memcmp(e->events[i].peer, key, WIRE_KEY_LEN)) {
			e->events[i].events |= ev;
			return;
		}
	if (!array_grow((void **)&e->events, e->n_events, &e->cap_events, sizeof(*e->events)))
		return; /* losing a log line beats failing the round */
	memcpy(e->events[e->n_events].peer, key, WIRE_KEY_LEN);
	e->events[e->n_events++].events = ev;
}

const struct peer_config *engine_config_of(const struct engine *e, const uint8_t key[static 32])
{
	const struct peer_config **c =
		bsearch(key, e->by_key, e->cfg.n_peers, sizeof(*e->by_key), cmp_key_config);
	return c ? *c : NULL;
}

enum trust_level engine_own_trust(const struct engine *e)
{
	const struct peer_config *c = engine_config_of(e, e->self);
	return c && c->has_trust ? c->trust : TRUST_UNTRUSTED;
}

const struct netif *engine_devif(const struct engine *e)
{
	for (size_t i = 0; e->host && e->dev && i < e->host->n; i++)
		if (e->host->ifs[i].index == e->dev->ifindex)
			return &e->host->ifs[i];
	return NULL;
}

bool engine_subject_is_up(const struct engine *e, const uint8_t key[static 32])
{
	struct peer_entry *p = NULL;
	HASH_FIND(hh, e->peers, key, WIRE_KEY_LEN, p);
	return p && (p->ps.alive || p->ps.healthy);
}

bool engine_peer_is_router(const struct engine *e, const struct wg_peer *peer)
{
	return trust_peer_is_router_for(peer, engine_devif(e));
}

bool engine_endpoint_into_tunnel(const struct engine *e, const struct wire_fact *f)
{
	if (f->attr != WIRE_ENDPOINT_V4 && f->attr != WIRE_ENDPOINT_V6)
		return false;
	return trust_routes_into_tunnel(f->attr == WIRE_ENDPOINT_V4 ? AF_INET : AF_INET6,
					f->v.endpoint.addr, engine_devif(e), e->host);
}

enum trust_level engine_sender_trust(const struct engine *e, const struct peer_entry *p,
				     const uint8_t key[static 32])
{
	const struct peer_config *c = engine_config_of(e, key);
	struct trust_sender s = {
		.has_config_trust = c && c->has_trust,
		.config_trust = c && c->has_trust ? c->trust : TRUST_UNTRUSTED,
		.any_config_trust = e->any_config_trust,
		.is_router = p && p->wg && engine_peer_is_router(e, p->wg),
		.is_peer = p && p->wg,
	};
	return trust_evaluate(&s);
}
