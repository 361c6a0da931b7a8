/* Where each peer's daemon takes fact packets: learned from the source port
 * of its verified packets, guessed until then. Pure: the daemon owns the
 * sockets and the clock. */
#ifndef WIRELINK_CORE_FACTPORT_H
#define WIRELINK_CORE_FACTPORT_H

#include "wg/wg.h"

#include <stdbool.h>
#include <stdint.h>

enum {
	/* A learned port counts alone while packets came from it within
	 * this (2.5 Alive periods); after that the guesses are tried too,
	 * in case the peer came back on another port. */
	FACTPORT_HEARD_MS = 75000,
	/* A peer with a fresh handshake that sent no fact packet for this
	 * long is named once in the log and in status... */
	FACTPORT_SILENT_MS = 60000,
	/* ...or, when it had sent some, for this long (an Alive comes every
	 * 30-45 s: one lost is no silence) with its WireGuard handshake
	 * renewed since its last one (it is up: not a host that is gone). */
	FACTPORT_SILENT_AGAIN_MS = 100000,
	FACTPORT_TARGETS = 3,
	/* Extra ports we listen on for peers that send only to their own
	 * port number (the original implementation). */
	FACTPORT_EXTRA = 4,
};

struct factport {
	uint16_t port;	     /* source port of its last verified packet; 0: none yet */
	uint16_t to;	     /* the port of ours that packet came to */
	int64_t heard;	     /* when (monotonic ms) */
	int64_t fresh_since; /* its handshake has been fresh since then; 0: not fresh */
	int64_t handshake;   /* its last handshake (wall seconds) as last seen */
	int64_t renewed;     /* when (monotonic ms) we saw that handshake change */
	bool said;	     /* its silence was logged */
};

/* The fact port a peer's WireGuard endpoint implies (endpoint port + 1), 0
 * when it has no endpoint or the sum does not fit. */
uint16_t factport_implied(const union wg_endpoint *ep);

/* A verified packet from the peer: sent from port `from` to our port `to`.
 * Returns true when the peer had been logged as silent. */
bool factport_heard(struct factport *fp, uint16_t from, uint16_t to, int64_t now);

/* The ports to send a peer's facts to, into out; returns how many (1-3):
 * the learned port while it is current, else our own port number (the
 * original's rule), the one its endpoint implies and a stale learned one. */
size_t factport_targets(const struct factport *fp, uint16_t own, const union wg_endpoint *ep, int64_t now,
			uint16_t out[static FACTPORT_TARGETS]);

/* The extra port we should also listen on for this peer (0: none): where
 * its packets come while they come to another port than ours (it sends
 * only to its own port number); for a peer not heard lately, the port its
 * endpoint implies when that is not ours. */
uint16_t factport_extra(const struct factport *fp, uint16_t own, const union wg_endpoint *ep, int64_t now);

/* Tracks silence each time the device is read (handshake: the peer's last
 * handshake, wall seconds): true once per silence, when a peer whose
 * handshake is fresh sent nothing for FACTPORT_SILENT_MS since it became
 * fresh, or, having sent before, for FACTPORT_SILENT_AGAIN_MS with its
 * handshake renewed since. A stale handshake ends the episode unsaid. */
bool factport_check_silent(struct factport *fp, bool handshake_fresh, int64_t handshake, int64_t now,
			   int64_t *for_ms);

/* Whether the peer counts as silent now (for status); *for_ms: how long. */
bool factport_is_silent(const struct factport *fp, int64_t now, int64_t *for_ms);

#endif
