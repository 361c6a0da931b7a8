/* A link that flaps (goes down again within FLAP_MS of coming back: a
 * lossy path), for the operator's log: it is said once (FLAP_START), its
 * changes then go to the debug log (FLAP_QUIET) until it has held one
 * state for FLAP_MS (FLAP_STEADY), and while it goes on, every
 * FLAP_REPEAT_MS one line says how often it went down (FLAP_STILL). Pure:
 * `now` is monotonic ms. */
#ifndef WIRELINK_FLAP_H
#define WIRELINK_FLAP_H

#include <stdbool.h>
#include <stdint.h>

enum { FLAP_MS = 60000, FLAP_REPEAT_MS = 600000 };
enum flap_mark { FLAP_NONE, FLAP_START, FLAP_QUIET, FLAP_STEADY, FLAP_STILL };

struct flap {
	/* The link fell (last at fell_at), and last came back at up_at. */
	bool fell, up_seen;
	int64_t fell_at, up_at;
	/* It flaps (`on`) since the fall at `since`, having gone down again
	 * `gap` after it came back; its latest change at `last`, down `downs`
	 * times in all; the log last told of it at `told` (`told_downs`
	 * downs), and `recent` is the count for a FLAP_STILL line. */
	bool on;
	int64_t since, gap, last, told;
	unsigned downs, told_downs, recent;
};

/* One round's change of the link at `now` (`link`: its health, allowed
 * IPs or endpoint attempts changed; `up`, `down`: its health did). */
enum flap_mark flap_change(struct flap *f, bool up, bool down, bool link, int64_t now);
/* Each round: FLAP_STEADY or FLAP_STILL when due, else FLAP_NONE. A peer
 * no longer on the device (`present` false) ends it quietly and forgets
 * its history. */
enum flap_mark flap_tick(struct flap *f, bool present, int64_t now);
/* When flap_tick may next say something; INT64_MAX: nothing pending. */
int64_t flap_due(const struct flap *f);

#endif
