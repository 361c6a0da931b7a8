/* Prefix index: entries sorted by family, address, then length. A prefix
 * overlaps ip when it is inside ip (its address lies in ip's range) or
 * around it (ip masked to a shorter length). */
#include "core/prefixes.h"

#include "core/trust.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t addr_len(const struct wg_allowedip *ip) { return ip->family == AF_INET ? 4 : 16; }

static int cmp_ip(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int c = memcmp(&a->ip6, &b->ip6, addr_len(a));
	if (c)
		return c;
	return (a->cidr > b->cidr) - (a->cidr < b->cidr);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct prefix_entry *x = a, *y = b;
	return cmp_ip(&x->ip, &y->ip);
}

/* A copy with only the bytes that count (v4 in the first four, rest zero). */
static struct wg_allowedip clean(const struct wg_allowedip *ip)
{
	struct wg_allowedip c = { .family = ip->family, .cidr = ip->cidr };
	memcpy(&c.ip6, &ip->ip6, addr_len(ip));
	trust_mask_allowedip(&c);
	return c;
}

int prefixes_build(struct prefixes *x, const struct wg_device *dev)
{
	size_t n = 0;
	for (size_t i = 0; i < dev->n_peers; i++)
		n += dev->peers[i].n_allowedips;
	struct prefix_entry *e = calloc(n ? n : 1, sizeof(*e));
	prefixes_free(x);
	if (!e)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < dev->n_peers; i++)
		for (size_t j = 0; j < dev->peers[i].n_allowedips; j++)
			e[n++] = (struct prefix_entry){ clean(&dev->peers[i].allowedips[j]), i };
	qsort(e, n, sizeof(*e), cmp_entry);
	x->e = e;
	x->n = n;
	return 0;
}

void prefixes_adopt(struct prefixes *x, struct prefix_entry *entries, size_t n)
{
	prefixes_free(x);
	for (size_t i = 0; i < n; i++)
		entries[i].ip = clean(&entries[i].ip);
	if (n)
		qsort(entries, n, sizeof(*entries), cmp_entry);
	x->e = entries;
	x->n = n;
}

bool prefixes_same(const struct wg_allowedip *a, const struct wg_allowedip *b)
{
	return a->family == b->family && a->cidr == b->cidr && !memcmp(&a->ip6, &b->ip6, addr_len(a));
}

bool prefixes_has(const struct wg_allowedip *set, size_t n, const struct wg_allowedip *ip)
{
	for (size_t i = 0; i < n; i++)
		if (prefixes_same(&set[i], ip))
			return true;
	return false;
}

struct wg_allowedip prefixes_of_fact(const struct wire_fact *f)
{
	struct wg_allowedip ip = { .family = f->attr == WIRE_CIDR_V4 ? AF_INET : AF_INET6,
				   .cidr = f->v.cidr.prefix };
	memcpy(&ip.ip6, f->v.cidr.addr, addr_len(&ip));
	return ip;
}

void prefixes_free(struct prefixes *x)
{
	free(x->e);
	x->e = NULL;
	x->n = 0;
}

/* Whether a's address (whatever its length) lies in net. */
static bool address_in(const struct wg_allowedip *a, const struct wg_allowedip *net)
{
	struct wg_allowedip t = *a;
	t.cidr = net->cidr;
	return trust_prefix_within(&t, net);
}

/* The first entry not below ip. */
static size_t lower(const struct prefixes *x, const struct wg_allowedip *ip)
{
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_ip(&x->e[mid].ip, ip) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t prefixes_owner(const struct prefixes *x, const struct wg_allowedip *ip)
{
	struct wg_allowedip c = clean(ip);
	size_t i = lower(x, &c);
	return i < x->n && !cmp_ip(&x->e[i].ip, &c) ? x->e[i].peer : SIZE_MAX;
}

bool prefixes_overlapping(const struct prefixes *x, const struct wg_allowedip *ip,
			  bool (*fn)(void *arg, const struct prefix_entry *e), void *arg)
{
	struct wg_allowedip c = clean(ip), start = c;
	start.cidr = 0;
	/* Inside (or at the same address): every address from ip's first. */
	for (size_t i = lower(x, &start); i < x->n && address_in(&x->e[i].ip, &c); i++)
		if (x->e[i].ip.cidr >= c.cidr && fn(arg, &x->e[i]))
			return true;
	/* Around: ip cut to each shorter length, looked up exactly. */
	for (int len = 0; len < c.cidr; len++) {
		struct wg_allowedip up = c;
		up.cidr = (uint8_t)len;
		trust_mask_allowedip(&up);
		for (size_t i = lower(x, &up); i < x->n && !cmp_ip(&x->e[i].ip, &up); i++)
			if (fn(arg, &x->e[i]))
				return true;
	}
	return false;
}
