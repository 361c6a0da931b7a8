/* The device's allowed IPs as one sorted index, so that "who holds this
 * prefix" and "what lies inside or around it" cost O(log n) instead of a
 * walk over every peer's list: a hub with 10,000 leaves asks per leaf per
 * round. Pure. */
#ifndef WIRELINK_PREFIXES_H
#define WIRELINK_PREFIXES_H

#include <stdbool.h>
#include <stddef.h>

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
void prefixes_free(struct prefixes *x);

/* The peer holding exactly this prefix (WireGuard gives each to one peer),
 * or SIZE_MAX. */
size_t prefixes_owner(const struct prefixes *x, const struct wg_allowedip *ip);

/* Calls fn on every held prefix inside or around ip (ip itself included)
 * until fn returns true; returns whether it did. */
bool prefixes_overlapping(const struct prefixes *x, const struct wg_allowedip *ip,
			  bool (*fn)(void *arg, const struct prefix_entry *e), void *arg);

#endif
