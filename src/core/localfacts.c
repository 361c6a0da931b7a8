/* Building the facts we originate. */
#include "core/localfacts.h"

#include "core/facts.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct builder {
	struct local_facts *out;
	size_t cap;
	bool overflow;
};

static struct wire_fact *add(struct builder *b, uint8_t attr, const uint8_t subject[static 32])
{
	if (b->out->n == b->cap) {
		b->overflow = true; /* the capacity below is an upper bound */
		return NULL;
	}
	struct local_fact *lf = &b->out->facts[b->out->n++];
	memset(lf, 0, sizeof(*lf));
	lf->f.attr = attr;
	memcpy(lf->f.subject, subject, WIRE_KEY_LEN);
	return &lf->f;
}

static void add_endpoint(struct builder *b, const uint8_t subject[static 32], int family,
			 const void *addr, uint16_t port)
{
	struct wire_fact *f = add(b, family == AF_INET ? WIRE_ENDPOINT_V4 : WIRE_ENDPOINT_V6, subject);
	if (f) {
		memcpy(f->v.endpoint.addr, addr, family == AF_INET ? 4 : 16);
		f->v.endpoint.port = port;
	}
}

static void add_cidr(struct builder *b, const uint8_t subject[static 32], int family,
		     const void *addr, uint8_t prefix, bool mask)
{
	struct wire_fact *f = add(b, family == AF_INET ? WIRE_CIDR_V4 : WIRE_CIDR_V6, subject);
	if (!f)
		return;
	size_t len = family == AF_INET ? 4 : 16;
	memcpy(f->v.cidr.addr, addr, len);
	f->v.cidr.prefix = prefix;
	(void)mask; /* always: a config typo (10.0.0.5/24) must not flap on the device */
	for (size_t i = 0; i < len; i++) {
		int bits = (int)prefix - (int)i * 8;
		f->v.cidr.addr[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static void add_meta(struct builder *b, const uint8_t subject[static 32], const char *name, int basic)
{
	struct wire_fact *f = add(b, WIRE_MEMBER_META, subject);
	if (!f)
		return;
	struct local_fact *lf = (struct local_fact *)f;
	bool ok = false;
	size_t n = meta_build(name && *name ? name : NULL, basic, lf->meta, sizeof(lf->meta), &ok);
	f->v.meta = (struct wire_view){ lf->meta, (uint32_t)n };
	if (!ok)
		b->out->n--; /* a name too long to send: config validation keeps this out */
}

/* Interfaces local by nature, hidden when the file sets no HideIfaces:
 * container and VM bridges and the host ends of containers' veth pairs, as
 * docker (docker0, br-<12 hex>, veth<7 hex>), libvirt, LXC/LXD, podman,
 * CNI, VirtualBox and VMware name them; no peer elsewhere reaches them. */
#define HEX "[0-9a-f]"
const char *const localfacts_default_hide[] = {
	"lo",
	"docker*",
	"br-" HEX HEX HEX HEX HEX HEX HEX HEX HEX HEX HEX HEX,
	"veth" HEX HEX HEX HEX HEX HEX HEX,
	"virbr[0-9]*",
	"lxcbr[0-9]*",
	"lxdbr[0-9]*",
	"podman[0-9]*",
	"cni[0-9]*",
	"vboxnet[0-9]*",
	"vmnet[0-9]*",
	NULL,
};
#undef HEX

static bool glob_any(const char *const *globs, const char *name)
{
	for (size_t i = 0; globs && globs[i]; i++)
		if (fnmatch(globs[i], name, 0) == 0)
			return true;
	return false;
}

static bool is_link_local(int family, const void *addr)
{
	const uint8_t *a = addr;
	return family == AF_INET ? a[0] == 169 && a[1] == 254 : a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* Rules 1 and 2: our own endpoints and, for a router, our subnets. */
static void self_facts(struct builder *b, const struct local_input *in, bool static_self_ips)
{
	const char *const *hide = in->hide_ifaces ? in->hide_ifaces : localfacts_default_hide;
	for (size_t i = 0; in->host && i < in->host->n; i++) {
		const struct netif *nif = &in->host->ifs[i];
		bool is_dev = nif->index == in->dev->ifindex || !strcmp(nif->name, in->dev->name);
		for (size_t j = 0; j < nif->n_addrs; j++) {
			const struct netif_addr *a = &nif->addrs[j];
			if (!trust_is_global_unicast(a->family, &a->ip6))
				continue;
			if (is_dev && in->is_router && !static_self_ips)
				add_cidr(b, in->self, a->family, &a->ip6, a->prefix, true);
			else if (!is_dev && nif->up && !glob_any(hide, nif->name) &&
				 (!in->report_ifaces || !in->report_ifaces[0] ||
				  glob_any(in->report_ifaces, nif->name)))
				add_endpoint(b, in->self, a->family, &a->ip6, in->dev->listen_port);
		}
	}
}

static int endpoint_family(const union wg_endpoint *ep)
{
	return ep->addr.sa_family;
}

static int cmp_key_config(const void *key, const void *c)
{
	return memcmp(key, (*(const struct peer_config *const *)c)->key, WIRE_KEY_LEN);
}

static const struct peer_config *find_config(const struct local_input *in,
					     const uint8_t key[static WIRE_KEY_LEN])
{
	if (!in->by_key)
		return peer_config_find(in->config, in->n_config, key);
	const struct peer_config *const *c =
		bsearch(key, in->by_key, in->n_config, sizeof(*in->by_key), cmp_key_config);
	return c ? *c : NULL;
}

/* Rules 3 to 5: what we see of each WireGuard peer. */
static void peer_facts(struct builder *b, const struct local_input *in, enum trust_level self_trust)
{
	bool tell_ips = in->is_router || self_trust >= TRUST_ALLOWED_IPS;
	bool tell_members = in->is_router || self_trust >= TRUST_MEMBERSHIP;
	for (size_t i = 0; i < in->dev->n_peers; i++) {
		const struct wg_peer *p = &in->dev->peers[i];
		int64_t hs = p->last_handshake_sec * 1000 + p->last_handshake_nsec / 1000000;
		int fam = endpoint_family(&p->endpoint);
		if (fam != AF_UNSPEC && p->last_handshake_sec && in->wall_ms - hs < HANDSHAKE_VALIDITY_MS)
			add_endpoint(b, p->public_key, fam,
				     fam == AF_INET ? (const void *)&p->endpoint.addr4.sin_addr
						    : (const void *)&p->endpoint.addr6.sin6_addr,
				     ntohs(fam == AF_INET ? p->endpoint.addr4.sin_port
							  : p->endpoint.addr6.sin6_port));
		for (size_t j = 0; tell_ips && j < p->n_allowedips; j++) {
			const struct wg_allowedip *ip = &p->allowedips[j];
			if (!is_link_local(ip->family, &ip->ip6))
				add_cidr(b, p->public_key, ip->family, &ip->ip6, ip->cidr, false);
		}
		/* One MemberMetadata per peer, as the original sends: a peer in
		 * the config file gets its named one from rule 6 instead. */
		if (tell_members && !find_config(in, p->public_key))
			add_meta(b, p->public_key, NULL, -1);
	}
}

/* Rule 6: what the config file says about its peers. */
static void config_facts(struct builder *b, const struct local_input *in)
{
	for (size_t i = 0; i < in->n_config; i++) {
		const struct peer_config *c = &in->config[i];
		add_meta(b, c->key, c->name, c->basic);
		for (size_t j = 0; j < c->n_allowed_ips; j++)
			add_cidr(b, c->key, c->allowed_ips[j].family, &c->allowed_ips[j].ip6,
				 c->allowed_ips[j].cidr, false);
		if (in->peer_is_up && in->peer_is_up(in->arg, c->key))
			continue;
		for (size_t j = 0; j < c->n_endpoints; j++) {
			const struct peer_endpoint *e = &c->endpoints[j];
			add_endpoint(b, c->key, e->attr == WIRE_ENDPOINT_V4 ? AF_INET : AF_INET6,
				     e->ep.addr, e->ep.port);
		}
	}
}

const struct peer_config *peer_config_find(const struct peer_config *peers, size_t n,
					   const uint8_t key[static WIRE_KEY_LEN])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(peers[i].key, key, WIRE_KEY_LEN))
			return &peers[i];
	return NULL;
}

static size_t capacity(const struct local_input *in)
{
	size_t n = 0;
	for (size_t i = 0; in->host && i < in->host->n; i++)
		n += in->host->ifs[i].n_addrs;
	for (size_t i = 0; i < in->dev->n_peers; i++)
		n += 2 + in->dev->peers[i].n_allowedips;
	for (size_t i = 0; i < in->n_config; i++)
		n += 1 + in->config[i].n_allowed_ips + in->config[i].n_endpoints;
	return n;
}

struct seen_id {
	uint64_t id;
	UT_hash_handle hh;
};

/* Drops repeated facts (same identity), keeping the first; fixes views. */
static int dedupe(struct local_facts *lf)
{
	struct seen_id *seen = NULL, *ids = calloc(lf->n ? lf->n : 1, sizeof(*ids)), *s, *tmp;
	if (!ids)
		return -ENOMEM;
	size_t kept = 0;
	for (size_t i = 0; i < lf->n; i++) {
		uint64_t id = fact_id(&lf->facts[i].f);
		HASH_FIND(hh, seen, &id, sizeof(id), s);
		if (s)
			continue;
		ids[i].id = id;
		HASH_ADD(hh, seen, id, sizeof(id), &ids[i]);
		if (kept != i)
			lf->facts[kept] = lf->facts[i];
		if (lf->facts[kept].f.attr == WIRE_MEMBER_META)
			lf->facts[kept].f.v.meta.data = lf->facts[kept].meta;
		kept++;
	}
	HASH_ITER(hh, seen, s, tmp)
		HASH_DEL(seen, s);
	free(ids);
	lf->n = kept;
	return 0;
}

int localfacts_build(const struct local_input *in, struct local_facts *out)
{
	out->n = 0;
	struct builder b = { .out = out, .cap = capacity(in) };
	out->facts = calloc(b.cap ? b.cap : 1, sizeof(*out->facts));
	if (!out->facts)
		return -ENOMEM;
	const struct peer_config *self = find_config(in, in->self);
	self_facts(&b, in, self && self->n_allowed_ips > 0);
	peer_facts(&b, in, self && self->has_trust ? self->trust : TRUST_UNTRUSTED);
	config_facts(&b, in);
	return b.overflow ? -EOVERFLOW : dedupe(out);
}

void localfacts_free(struct local_facts *lf)
{
	free(lf->facts);
	lf->facts = NULL;
	lf->n = 0;
}
