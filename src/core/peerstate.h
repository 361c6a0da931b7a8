/* What we believe about one peer: healthy (a recent handshake and a link
 * that answers), alive (a current Alive from it), its boot id, and which of
 * its endpoints we tried when, with what result. Updates return transition
 * events for the operator's log. Pure: `now` is monotonic ms, `wall_ms` is
 * the wall clock (WireGuard reports handshake times in wall-clock time). */
#ifndef WIRELINK_PEERSTATE_H
#define WIRELINK_PEERSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flap.h"
#include "proto/wire.h"
#include "wg/netif.h"
#include "wg/wg.h"

enum {
	/* RekeyAfterTime 120 s + RekeyTimeout 5 s + KeepaliveTimeout 10 s +
	 * jitter 0.334 s + hysteresis 30 s */
	HANDSHAKE_VALIDITY_MS = 165334,
	/* Endpoint attempts. WireGuard retries an unanswered handshake every
	 * 5 s (REKEY_TIMEOUT, plus up to 1/3 s of jitter) to whatever endpoint
	 * the peer has then: the first try of a pass gets 3 s, so that the
	 * switch lands before the first retry, and each later try 5 s, one
	 * retry each. */
	ENDPOINT_FIRST_TRY_MS = 3000,
	ENDPOINT_TRY_MS = 5000,
	/* A peer that hears each new endpoint at once (a handshake initiation
	 * goes out when it is set: see renew_peer in engine.c) first gets a
	 * quick pass: up to ENDPOINT_QUICK_MAX candidates, ENDPOINT_QUICK_MS
	 * each, as good as all at once (an answer within that wins: a path's
	 * round trip is well under it); then the slow pass above, for what
	 * answers slower or needs the other side to call first. */
	ENDPOINT_QUICK_MS = 200,
	ENDPOINT_QUICK_MAX = 8,
	/* Every candidate failed: the best one alone is tried again after
	 * this, doubling up to ENDPOINT_RETRY_MAX_MS; all of them again when a
	 * new candidate appears or after ENDPOINT_ROUND_MS. */
	ENDPOINT_RETRY_MS = 10000,
	ENDPOINT_RETRY_MAX_MS = 240000,
	ENDPOINT_ROUND_MS = 600000,
	/* Peers whose daemon does not answer probes (the original): we sent
	 * and heard nothing back for this long, the link is dead. */
	LINK_STALL_MS = 30000,
	/* Peers that answer probes: traffic was flowing (rx, or tx, moved at
	 * LINK_FLOW_COUNT looks in a row, each at most LINK_FLOW_MS after the
	 * last, not counting looks where only fact packets or keepalives moved
	 * it: an idle link is no flow) and nothing came for LINK_QUIET_MS: we
	 * probe (PROBE_REPEAT_MS apart, PROBE_COUNT times); no answer within
	 * PROBE_WAIT_MS of the first probe and PROBE_LAST_WAIT_MS of the last,
	 * the link is dead. */
	LINK_FLOW_MS = 5000,
	/* ...or we sent user data and nothing came back for LINK_ANSWER_MIN_MS:
	 * we probe too. A probe that is answered while our data still gets
	 * none (a one-way stream) doubles the wait, up to LINK_ANSWER_MS; data
	 * coming back resets it. Anything we sent (our own facts too) and
	 * nothing back for LINK_ANSWER_MS (WireGuard answers any packet with a
	 * keepalive within 10 s): we probe. */
	LINK_ANSWER_MIN_MS = 1500,
	LINK_ANSWER_MS = 15000,
	/* Our sends failed on this host (a local firewall: on userspace
	 * WireGuard the interface took packets that no peer's counters show,
	 * the kernel counts the refusals): the links that may be the one are
	 * probed, each at most once per SUSPECT_MIN_MS. */
	SUSPECT_MIN_MS = 10000,
	LINK_FLOW_COUNT = 2,
	LINK_QUIET_MS = 1500,
	/* Probes go out at looks (PROBE_LOOK_MS apart while one is out), so
	 * they repeat at that pace: 0, 0.35, 0.7 s; the link is dead at the
	 * first look 1 s after the last, 1.75 s after the first, which has that
	 * long for its answer (a handshake and a round trip on a slow path),
	 * the last 1.05 s (a busy mobile link); a LAN answers in a millisecond. */
	PROBE_REPEAT_MS = 350,
	PROBE_COUNT = 3,
	PROBE_WAIT_MS = 1500,
	PROBE_LAST_WAIT_MS = 1000,
	/* While a probe is out, the device is looked at this often; nothing
	 * sent to the peer PROBE_SENT_MS after our probe, the host refused it
	 * and the link is dead at once. */
	PROBE_LOOK_MS = 350,
	PROBE_SENT_MS = 500,
	/* A dead link is probed after REVIVE_MS, doubling up to
	 * REVIVE_MAX_MS, so that it is direct again soon after the path heals
	 * (its session gone, the probe makes WireGuard shake hands); after
	 * REVIVE_FAST_FOR_MS of outage, every REVIVE_SLOW_MS. */
	REVIVE_MS = 2000,
	REVIVE_MAX_MS = 8000,
	REVIVE_FAST_FOR_MS = 120000,
	REVIVE_SLOW_MS = 60000,
	PEERSTATE_MAX_TRIED = 32,
};

/* Alive TTLs that mark a probe (answer me at once) and its answer. Both
 * are ordinary Alives to the original, which neither sends nor answers
 * them. */
enum { PROBE_TTL = 254, PROBE_ANSWER_TTL = 253 };

/* How likely an endpoint is to work, best first. */
enum endpoint_rank {
	EP_RANK_LAN,	  /* on a subnet one of our host interfaces is on */
	EP_RANK_GLOBAL6,  /* global IPv6, and we have one: no NAT in the way */
	EP_RANK_PUBLIC4,  /* a public IPv4 address, often a NAT's */
	EP_RANK_PRIVATE,  /* private (RFC 1918, CGNAT, ULA, link-local) on none
			   * of our subnets: another site's LAN, a container's */
	EP_RANK_NO_ROUTE, /* global IPv6, and we have none */
	EP_RANK_OWN,	  /* one of our own addresses: it is us, not the peer */
	EP_RANK_COUNT
};

enum try_result { TRY_PENDING, TRY_ANSWERED, TRY_UNANSWERED };

enum peer_event {
	PEER_EV_HEALTHY = 1 << 0,
	PEER_EV_UNHEALTHY = 1 << 1,
	PEER_EV_ALIVE = 1 << 2,
	PEER_EV_DEAD = 1 << 3,
	PEER_EV_REBOOTED = 1 << 4, /* a new boot id: forget what it knew */
	/* Not for the log: */
	PEER_EV_PROBE = 1 << 5,	    /* send it a probe now */
	PEER_EV_NO_DIRECT = 1 << 6, /* every endpoint failed: via the router */
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
	int64_t data_unanswered_since; /* ...user data (not facts, keepalives) */
	/* Link health by probes, for peers that answer them (wall ms). */
	bool answers;	 /* it sent a probe or an answer: a daemon that answers */
	bool dead;	 /* a probe went unanswered: unhealthy until answered */
	bool hs_ok;	 /* endpoint and recent handshake, as of the last look */
	int64_t rx_at;	 /* when rx last moved (by anything) */
	int64_t user_rx_at; /* ...by user traffic */
	unsigned rx_run; /* receipts in a row, each within LINK_FLOW_MS */
	int64_t tx_at;	 /* when we last sent data (not keepalives) */
	/* Fact packets received from it and sent to it since the last look:
	 * rx and tx that they explain are no user traffic. */
	unsigned fact_rx, fact_tx;
	/* ...and the bytes those received take on the wire (peerstate_fact_in):
	 * what a peer's rx bytes show beyond them is its data. */
	uint64_t fact_rx_bytes;
	/* ...as of the last glance (peerstate_glance) at its counters. */
	uint64_t glance_rx, glance_fact_bytes;
	/* Set before a look when no user packet crossed the tunnel since the
	 * last (its packet counters say so): what moved is no flow. */
	bool tunnel_quiet;
	unsigned tx_run; /* sends in a row, each within LINK_FLOW_MS */
	/* At the last look: user data went out, anything did; data came in
	 * (even with the tunnel quiet: WireGuard may have dropped it), anything did. */
	bool sent_data, sent_any, got_data, got_any;
	int64_t probe_at, probe_last; /* first and latest unanswered probe; 0: none */
	unsigned probes;		 /* probes sent since probe_at */
	bool probe_tx_seen;	 /* anything went out to it since probe_at */
	int64_t answer_wait;	 /* unanswered data waits this for a probe (0: the least) */
	/* Why the latest probe went out, and why the link last went down
	 * (static text for the log; NULL: none yet). */
	const char *probe_why, *down_why;
	bool answer_probe;	 /* the probe out is for unanswered data */
	int64_t suspect_at;	 /* we last probed it for failed sends */
	int64_t revive_ms;	 /* a dead link's next probe waits this (0: REVIVE_MS) */
	int64_t dead_at;	 /* when the link was found dead (wall ms) */
	bool has_endpoint;	 /* as of the last look */
	int64_t send_failed_at;	 /* sends on this host failed, maybe its (wall ms) */
	int64_t alive_since, alive_until;
	uint8_t boot_id[WIRE_BOOT_ID_LEN];
	char name[64]; /* from its MemberMetadata; "" when unknown */
	bool basic;    /* a plain WireGuard peer that runs no wirelink */
	/* Endpoint attempts (monotonic ms). */
	int64_t attempt_until; /* the current try ends; INT64_MIN: none */
	int64_t round_start;   /* the current round of candidates began; INT64_MIN: none */
	int64_t pass_start;    /* ...its current pass (quick, then slow) */
	int64_t cut_at;	       /* a quick peer's try may end for a new candidate from then */
	size_t n_cand;	       /* candidates at the last choice */
	bool quick_pass;       /* the round is in its quick pass */
	unsigned quick_left;   /* tries the quick pass may still make */
	int64_t retry_at;      /* every candidate failed: the next try; INT64_MIN: not failed */
	int64_t retry_ms;      /* the back-off */
	bool said_no_direct;   /* PEER_EV_NO_DIRECT given for this outage */
	struct flap flap; /* for the log: flap.h */
	bool has_good;
	struct peer_endpoint good; /* the endpoint of its last healthy link */
	struct {
		struct peer_endpoint e;
		int64_t at;
		uint8_t result; /* enum try_result */
	} tried[PEERSTATE_MAX_TRIED];
	size_t n_tried;
	int current; /* index in tried of the current try; -1: none */
};

void peerstate_init(struct peerstate *ps, const uint8_t key[static WIRE_KEY_LEN]);


/* Healthy: it has an endpoint and its handshake is younger than
 * HANDSHAKE_VALIDITY_MS, or the handshake time advanced since we last looked;
 * and the link is not dead. For a peer that answers probes, dead means
 * probes went unanswered (PROBE_WAIT_MS, PROBE_LAST_WAIT_MS; probes start when traffic that
 * was flowing stops: PEER_EV_PROBE asks the caller to send one, and
 * peerstate_probe_sent records it), until an answer or a new handshake; for
 * others, we sent and received nothing for LINK_STALL_MS. */
unsigned peerstate_observe(struct peerstate *ps, const struct wg_peer *p, int64_t wall_ms);
/* A glance at the peer's counters between looks: whether data arrived from
 * it since the last look or glance that is neither WireGuard's own
 * (keepalives, handshakes) nor explained by a fact packet from it. Changes
 * nothing but the glance's own marks. */
bool peerstate_glance(struct peerstate *ps, const struct wg_peer *p);
/* A fact packet of `len` bytes (UDP payload) came from the peer through
 * the tunnel: the bytes it took in the peer's rx counter. */
void peerstate_fact_in(struct peerstate *ps, size_t len);

/* Why the link is down, for the log. */
const char *peerstate_down_why(const struct peerstate *ps);
/* Its link is dead (we send through the router) and its data may come on
 * it (it holds us directly): ask at once, at most every REVIVE_MS.
 * Returns PEER_EV_PROBE or 0. */
unsigned peerstate_data_on_dead(struct peerstate *ps, int64_t wall_ms);
/* Sends failed on this host and may have been this peer's (userspace
 * WireGuard: the interface took packets no peer sent, and this link
 * carried none; the kernel: it counted refusals, and this link sent).
 * Probe it, unless it is being probed or was
 * lately. Returns PEER_EV_PROBE or 0. */
unsigned peerstate_suspect(struct peerstate *ps, int64_t wall_ms);
/* Arrivals were dropped (the router brought data from an address this
 * idle link holds): its peer fell back. The link is dead at once, and a
 * probe goes out to revive it if it was not this one. */
unsigned peerstate_dropped(struct peerstate *ps, int64_t wall_ms);

/* We sent a probe at wall_ms. */
void peerstate_probe_sent(struct peerstate *ps, int64_t wall_ms);
/* An Alive came from the peer itself with this TTL: a probe or an answer
 * marks a daemon that answers probes; only an answer revives a dead link
 * (its probe proves only its direction). Returns events. */
unsigned peerstate_heard(struct peerstate *ps, unsigned ttl);
/* The link needs a closer look (traffic may be flowing, a probe is out). */
bool peerstate_watching(const struct peerstate *ps, int64_t wall_ms);

/* When (wall ms) time alone may change what a look at the device says:
 * the handshake ages out, or an unanswered send calls for a probe;
 * INT64_MAX when neither. */
int64_t peerstate_next_look(const struct peerstate *ps);

/* Our host moved (its addresses changed): endpoints that failed from
 * where we were may work now; a new round starts at the next chance. */
void peerstate_host_moved(struct peerstate *ps);

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

/* The rank of an endpoint, given our host's interfaces (may be NULL). */
enum endpoint_rank peerstate_rank(const struct peer_endpoint *e, const struct netif_list *host);

/* Endpoint choice for an unhealthy peer. A round tries the candidates
 * best first: the endpoint of its last healthy link, then those that did
 * not go unanswered at their last try, each group by rank, then in the
 * order given. With `quick` (setting an endpoint sends a handshake
 * initiation to it at once) and two candidates or more, a quick pass comes
 * first: ENDPOINT_QUICK_MS each, for up to ENDPOINT_QUICK_MAX of them.
 * Then the slow pass: each try lasts ENDPOINT_FIRST_TRY_MS (the first of
 * the pass) or ENDPOINT_TRY_MS; with `quick`, a new candidate never tried
 * (there are more than at the last choice: they come in one by one) ends
 * such a try once it had ENDPOINT_QUICK_MS, and a new round starts. A try that ends without the peer turning
 * healthy failed. When all failed (*events gets PEER_EV_NO_DIRECT, once
 * per outage), only the best is tried again, after a back-off; a candidate
 * never tried starts a new round at once. Records the try and returns the
 * index in candidates, or -1 when it is not time or there is nothing. */
int peerstate_next_endpoint(struct peerstate *ps, const struct peer_endpoint *candidates,
			    const enum endpoint_rank *ranks, size_t n, int64_t now, bool quick,
			    unsigned *events);

/* The current try's first packet waits `ms` (the first-contact hold): the
 * try ends that much later, so that it gets its whole time. */
void peerstate_try_held(struct peerstate *ps, int64_t ms);

/* The rank's name for status: "lan", "public-ipv4"... */
const char *peerstate_rank_name(enum endpoint_rank r);

/* The try record for an endpoint: 1, or 0 when it was never tried. */
int peerstate_tried(const struct peerstate *ps, const struct peer_endpoint *e, int64_t *at,
		    enum try_result *result);

void peerstate_endpoint_from_wg(const union wg_endpoint *w, struct peer_endpoint *out);
bool peerstate_same_endpoint(const struct peer_endpoint *a, const struct peer_endpoint *b);

/* "healthy", "alive"...: one line for the log from an event mask. */
const char *peerstate_event_text(unsigned events, char *buf, size_t cap);

#endif
