/* What peers know, kept so that it does not grow as peers x facts.
 *
 * Every fact we could send carries a version from one counter. A version is
 * given when the fact is new, when its subject comes up, and when peers must
 * hear it again: we know it longer than its current version says and that
 * version ends within RESEND_MARGIN_MS (the original's re-send margin). A
 * peer then needs one number, its mark: it has had every version below it
 * (sent, or not meant for it). What a peer needs is the versions from its
 * mark up; a first send goes once more REPEAT_MS later, kept as one window
 * of versions per peer. A hub sends almost every fact to every peer, so the
 * per-(peer, fact) record this replaces was N x N.
 *
 * Pure: times are monotonic milliseconds supplied by the caller. */
#ifndef WIRELINK_KNOWLEDGE_H
#define WIRELINK_KNOWLEDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	FACT_TTL_MS = 255000,	/* TTL of every fact we originate */
	CHUNK_PERIOD_MS = 5000,	/* the original's batching period */
	ALIVE_PERIOD_MS = 30000, /* an Alive is re-sent this often */
	/* A fact is sent again when the peer's knowledge ends within this... */
	RESEND_MARGIN_MS = FACT_TTL_MS / 2 + CHUNK_PERIOD_MS,
	/* ...and our Alive when it ends within this. */
	ALIVE_MARGIN_MS = FACT_TTL_MS - ALIVE_PERIOD_MS,
	/* A fact new to a peer goes once more this much later, in case the
	 * first packet was lost. */
	REPEAT_MS = 3000,
	/* A round for a re-sent Alive may come up to this much late (and a
	 * daemon may take it at its next look, up to 5 s more), so that
	 * those due to several peers leave in one round (a quiet daemon wakes
	 * less; the peer counts us alive for FACT_TTL_MS). */
	ALIVE_LATE_MS = 10000,
	/* In a round that re-sends our Alive to some peer, it also goes to
	 * peers whose re-send would be due within this: a daemon's re-sends
	 * fall into step, one wake-up for all (here and at each receiver). */
	ALIVE_EARLY_MS = 15000,
	/* The higher of two keys that never had a handshake waits this long
	 * before its first packet to the other (crossing handshakes)... */
	FIRST_CONTACT_HOLD_MS = 1000,
	/* ...or this, when the endpoint it tries is on our own LAN: the
	 * other's packet comes within milliseconds, and when the other spoke
	 * before our device knew it (it started first), its packet was
	 * dropped and WireGuard repeats it only 5 s later: the whole hold is
	 * then lost (lan 8: every pair direct at 1.3 s instead of 0.5). */
	FIRST_CONTACT_HOLD_LAN_MS = 300,
};

/* A fact's current version. */
struct fact_version {
	uint64_t ver;	      /* bumped whenever peers must hear it (again) */
	uint64_t first_ver;   /* the version it (re)entered with: a peer whose
			       * mark is above this has heard of it */
	int64_t sent_expires; /* what a peer with this version knows it until */
};

struct knowledge;

struct knowledge *knowledge_new(void);
void knowledge_free(struct knowledge *k);

/* A round offers every fact we could send (up: its subject is up, so it may
 * be sent) and gets its version, bumped as the header says. Facts not
 * offered between knowledge_begin and knowledge_end are forgotten. A fact
 * offered twice in a round is left as the first offer made it (*again is
 * set). NULL when out of memory. */
void knowledge_begin(struct knowledge *k);
const struct fact_version *knowledge_offer(struct knowledge *k, uint64_t id, int64_t expires,
					   bool up, int64_t now, bool *again);
/* Returns how many facts were forgotten. */
size_t knowledge_end(struct knowledge *k);

/* The next version to be given: a mark equal to it means "knows all". */
uint64_t knowledge_head(const struct knowledge *k);
/* When the next refresh, as offered in the last round, gets a new version
 * (INT64_MAX: none pending). */
int64_t knowledge_next_bump(const struct knowledge *k);
/* Facts with a version; bytes held (excluding the per-peer records). */
size_t knowledge_facts(const struct knowledge *k);
size_t knowledge_bytes(const struct knowledge *k);

/* What one peer knows: a few numbers, however many facts there are. */
struct known {
	uint64_t mark;		  /* it has had every version below this */
	uint64_t rep_from, rep_to; /* first sends in [from, to) go again... */
	int64_t rep_at;		  /* ...at this time (INT64_MAX: none pending) */
	int64_t alive_until;	  /* it knows our Alive until then */
	bool alive_first;	  /* ...from a first send, to repeat on time */
};

/* A record that knows nothing (also: the peer restarted). */
void known_reset(struct known *p);
/* Whether anything could be due for it now: a version it has not had, or a
 * repeat. */
bool known_pending(const struct known *p, const struct knowledge *k, int64_t now);
/* Whether the fact, at version v, goes to the peer in a scan at `now` from
 * its mark (new: a version it has not had) or as a repeat (in the due
 * window: a first send that still has long to live). */
static inline bool known_new(const struct known *p, const struct fact_version *v)
{
	return v->ver >= p->mark;
}

static inline bool known_repeat(const struct known *p, const struct fact_version *v, int64_t now)
{
	return p->rep_at <= now && v->ver >= p->rep_from && v->ver < p->rep_to &&
	       v->first_ver >= p->rep_from && v->sent_expires > now + RESEND_MARGIN_MS;
}

/* After a scan that sent what known_new/known_repeat chose: the mark moves
 * to the head, and `first` (some version was the peer's first of a fact that
 * lives beyond the repeat) opens or widens the repeat window. */
void known_scanned(struct known *p, const struct knowledge *k, int64_t now, bool repeated,
		   bool first);
/* Whether the send of v is a first one worth repeating. */
static inline bool known_first(const struct known *p, const struct fact_version *v, int64_t now)
{
	return v->first_ver >= p->mark && v->sent_expires > now + REPEAT_MS + RESEND_MARGIN_MS;
}

/* Our Alive: due when the peer's knowledge of it ends within
 * ALIVE_MARGIN_MS; a first send (`first`, or it knew nothing) goes once
 * more REPEAT_MS later. known_alive_at: when a round must come for it
 * (INT64_MIN: now; a re-send up to ALIVE_LATE_MS late). */
bool known_alive_due(const struct known *p, int64_t now);
/* A re-send (not a first send's repeat) due within ALIVE_EARLY_MS. */
bool known_alive_soon(const struct known *p, int64_t now);
int64_t known_alive_at(const struct known *p);
void known_alive_sent(struct known *p, int64_t now, bool first);

#endif
