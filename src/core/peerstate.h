/* What we believe about one peer: healthy (a recent handshake), alive (a
 * current Alive from it), its boot id, and which of its endpoints we tried
 * when. Updates return transition events for the operator's log. Pure:
 * `now` is monotonic ms, `wall_ms` is the wall clock (WireGuard reports
 * handshake times in wall-clock time). */
#ifndef WIRELINK_PEERSTATE_H
#define WIRELINK_PEERSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"
#include "wg/wg.h"

enum {
	/* RekeyAfterTime 120 s + RekeyTimeout 5 s + KeepaliveTimeout 10 s +
	 * jitter 0.334 s + hysteresis 30 s */
	HANDSHAKE_VALIDITY_MS = 165334,
	ENDPOINT_INTERVAL_MS = 15000,
	/* We sent and heard nothing back for this long: the link is dead.
	 * WireGuard answers any data with a keepalive within 10 s and retries
	 * an unanswered handshake every 5 s, so a live peer is never silent
	 * this long after we sent. (Beyond the original, which waits out the
	 * whole HANDSHAKE_VALIDITY_MS.) */
	LINK_STALL_MS = 30000,
	PEERSTATE_MAX_TRIED = 32,
};

enum peer_event {
	PEER_EV_HEALTHY = 1 << 0,
	PEER_EV_UNHEALTHY = 1 << 1,
	PEER_EV_ALIVE = 1 << 2,
	PEER_EV_DEAD = 1 << 3,
	PEER_EV_REBOOTED = 1 << 4, /* a new boot id: forget what it knew */
};

struct peer_endpoint {
	uint8_t attr; /* WIRE_ENDPOINT_V4 or WIRE_ENDPOINT_V6 */
	struct wire_endpoint ep;
};

struct peerstate {
	uint8_t key[WIRE_KEY_LEN];
	bool healthy, alive, has_boot_id, observed;
	int64_t handshake_sec, handshake_nsec; /* last seen on the device */
	uint64_t rx_bytes, tx_bytes;	       /* last seen on the device */
	int64_t unanswered_since; /* wall ms we sent with nothing received since; 0: none */
	int64_t alive_since, alive_until;
	uint8_t boot_id[WIRE_BOOT_ID_LEN];
	char name[64]; /* from its MemberMetadata; "" when unknown */
	bool basic;    /* a plain WireGuard peer that runs no wirelink */
	int64_t last_switch; /* when we last changed its endpoint; INT64_MIN: never */
	struct {
		struct peer_endpoint e;
		int64_t at;
	} tried[PEERSTATE_MAX_TRIED];
	size_t n_tried;
};

void peerstate_init(struct peerstate *ps, const uint8_t key[static WIRE_KEY_LEN]);

/* Healthy: it has an endpoint and its handshake is younger than
 * HANDSHAKE_VALIDITY_MS, or the handshake time advanced since we last looked;
 * and the link has not stalled (we sent, and received nothing for
 * LINK_STALL_MS). */
unsigned peerstate_observe(struct peerstate *ps, const struct wg_peer *p, int64_t wall_ms);

/* An Alive from the peer (boot id, expiring at `expires`). */
unsigned peerstate_alive(struct peerstate *ps, const uint8_t boot_id[static WIRE_BOOT_ID_LEN],
			 int64_t expires, int64_t now);
/* Time passes: the Alive may run out. */
unsigned peerstate_tick(struct peerstate *ps, int64_t now);

/* Takes name and basic flag from a MemberMetadata value (raw entry list).
 * Names that are not printable without spaces, or longer than the buffer,
 * are ignored: they end up in operators' logs. */
void peerstate_set_meta(struct peerstate *ps, const struct wire_view *meta);

/* Alive now and still for at least `ms`; alive for at least `ms` already. */
bool peerstate_alive_for(const struct peerstate *ps, int64_t now, int64_t ms);
bool peerstate_alive_since(const struct peerstate *ps, int64_t now, int64_t ms);

/* Endpoint rotation for an unhealthy peer: once ENDPOINT_INTERVAL_MS has
 * passed since the last switch, picks the least-recently-tried candidate
 * (never tried first, then in candidate order) and records the try.
 * Returns the index in candidates, or -1 when it is not time or there is
 * nothing to try. */
int peerstate_next_endpoint(struct peerstate *ps, const struct peer_endpoint *candidates,
			    size_t n, int64_t now);

/* "healthy", "alive"...: one line for the log from an event mask. */
const char *peerstate_event_text(unsigned events, char *buf, size_t cap);

#endif
