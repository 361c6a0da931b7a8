/* The device's allowed IPs as one sorted index, so that "who holds this
 * prefix" and "what lies inside or around it" cost O(log n) instead of a
 * walk over every peer's list: a hub with 10,000 leaves asks per leaf per
 * round. Pure. */
#ifndef WIRELINK_PREFIXES_H
#define WIRELINK_PREFIXES_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/wire.h"
#include "wg/wg.h"

struct prefix_entry {
	struct wg_allowedip ip; /* masked */
	size_t peer;		/* index into the device's peers */
};

struct prefixes {
	struct prefix_entry *e;
	size_t n;
};

/* Indexes every allowed IP of dev (replacing what x held). 0 or -ENOMEM
 * (x is then empty). */
int prefixes_build(struct prefixes *x, const struct wg_device *dev)
	__attribute__((warn_unused_result));
/* Indexes n entries (taking the array, which may be NULL when n is 0):
 * their prefixes are masked and sorted; `peer` is the caller's tag. */
void prefixes_adopt(struct prefixes *x, struct prefix_entry *entries, size_t n);
void prefixes_free(struct prefixes *x);

/* One prefix, as WireGuard compares them: family, length and address. */
bool prefixes_same(const struct wg_allowedip *a, const struct wg_allowedip *b);
/* Whether ip is one of set[0..n). */
bool prefixes_has(const struct wg_allowedip *set, size_t n, const struct wg_allowedip *ip);
/* The prefix of an AllowedCidr fact (either family). */
struct wg_allowedip prefixes_of_fact(const struct wire_fact *f);

/* The peer holding exactly this prefix (WireGuard gives each to one peer),
 * or SIZE_MAX. */
size_t prefixes_owner(const struct prefixes *x, const struct wg_allowedip *ip);

/* Calls fn on every held prefix inside or around ip (ip itself included)
 * until fn returns true; returns whether it did. */
bool prefixes_overlapping(const struct prefixes *x, const struct wg_allowedip *ip,
			  bool (*fn)(void *arg, const struct prefix_entry *e), void *arg);

#endif
