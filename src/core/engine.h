/* The engine: the pure brain of the daemon. Given the device snapshot, the
 * host's interfaces, the configuration, received facts and `now`, it decides
 * what to remember, what to send to whom, and what to change in WireGuard.
 * No sockets, clocks or devices: time comes in as monotonic ms, the device
 * as a snapshot, decisions go out as data. */
#ifndef WIRELINK_ENGINE_H
#define WIRELINK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/facts.h"
#include "core/localfacts.h"
#include "core/trust.h"
#include "wg/netif.h"
#include "wg/wg.h"

struct engine_config {
	const struct peer_config *peers; /* the config file's peers */
	size_t n_peers;
	int router; /* 1, 0, or -1 to detect */
	bool chatty;
	const char *const *report_ifaces, *const *hide_ifaces;
	/* Fills buf with random bytes (new boot ids). */
	void (*random)(void *buf, size_t len);
	struct engine_limits {
		/* Each 0 means the default in brackets. */
		size_t max_facts;	     /* received facts in all [100000] */
		size_t max_subjects;	     /* distinct subjects of facts [20000] */
		size_t endpoints_per_peer;   /* Endpoint facts about one subject [16] */
		size_t cidrs_per_peer;	     /* AllowedCidr facts about one subject [256] */
		size_t facts_per_source;     /* facts stored from one sender [max_facts] */
		size_t members_per_round;    /* peers added to the device per round [64] */
	} limits;
};

/* What the budget and the trust checks turned away (for status and metrics). */
struct engine_stats {
	uint64_t untrusted;  /* facts below their trust threshold */
	uint64_t invalid;    /* expired, unusable endpoint, oversize, into the tunnel */
	uint64_t over_budget; /* dropped by a cap */
	uint64_t hijack;     /* allowed IPs another peer holds */
	uint64_t restarts_ignored; /* new boot ids too soon after the last */
};

/* Facts for one peer, as engine_send streams them: pointers into the
 * engine's round, valid during the call (a fact shared by many peers is
 * not copied). `fill` rides along only where it fits (pack_facts). */
struct engine_send {
	uint8_t peer[WIRE_KEY_LEN];
	const struct wire_fact *const *facts;
	size_t n;
	const struct wire_fact *fill;
	size_t n_fill;
};

/* The same, gathered by engine_run: copies, valid until the round is freed. */
struct engine_sent {
	uint8_t peer[WIRE_KEY_LEN];
	struct wire_fact *facts, *fill;
	size_t n, n_fill;
};

struct engine_event {
	uint8_t peer[WIRE_KEY_LEN];
	unsigned events; /* enum peer_event, plus the ENGINE_EV_* below */
};

enum {
	ENGINE_EV_PEER_ADDED = 1 << 8,
	ENGINE_EV_PEER_REMOVED = 1 << 9,
	ENGINE_EV_ENDPOINT_TRIED = 1 << 10,
	ENGINE_EV_ALLOWEDIPS_MOVED = 1 << 11, /* onto the direct link */
	ENGINE_EV_RESTRICTED = 1 << 12,	      /* back to the auto-address only */
	ENGINE_EV_NO_DIRECT = 1 << 13,	      /* no endpoint answered: via the router */
	ENGINE_EV_BUDGET = 1 << 14,  /* facts from it hit a cap (at most once a minute) */
	ENGINE_EV_HIJACK = 1 << 15,  /* it claimed allowed IPs another peer holds (same) */
	ENGINE_EV_YIELDED = 1 << 16, /* allowed IPs we gave it are claimed more strongly for another */
	ENGINE_EV_PROBING = 1 << 17, /* its direct link is probed (peerstate's probe_why) */
	/* Its link flaps (core/flap.h): the fall that shows it is told
	 * by ENGINE_EV_FLAPPING alone; that fall and its later changes come
	 * with ENGINE_EV_QUIET (for the debug log: engine_debug_only) until
	 * it holds for FLAP_MS (ENGINE_EV_STEADY); ENGINE_EV_STILL every
	 * FLAP_REPEAT_MS while it goes on. */
	ENGINE_EV_FLAPPING = 1 << 18,
	ENGINE_EV_QUIET = 1 << 19,
	ENGINE_EV_STEADY = 1 << 20,
	ENGINE_EV_STILL = 1 << 21,
};

/* Of a peer's events, those whose log lines go to the debug level: a
 * flapping link's changes, and a change of health that the same round's
 * link line says (down, falling back; up, allowed IPs moved). */
unsigned engine_debug_only(unsigned ev);

/* A link with traffic flowing or a probe out is looked at this often (a
 * stop is seen LINK_QUIET_MS after the last look that saw traffic: the
 * sooner that look, the sooner the probe); a
 * round comes at least every QUIET_ROUND_MS, as a soft deadline (at the
 * caller's next look; engine_next_due: everything time alone changes has
 * its own deadline, this is a safety net). A loss on this host that one
 * read suggests is read again CONFIRM_MS later; while the tunnel is quiet
 * it stays open for SETTLE_WITHIN_MS, for the next read a look makes. */
enum { LINK_WATCH_MS = 500, QUIET_ROUND_MS = 60000, CONFIRM_MS = 500, SETTLE_WITHIN_MS = 4000 };

struct engine_round {
	struct wg_change change; /* empty when nothing is to change */
	struct engine_sent *sends;
	size_t n_sends;
	struct engine_event *events;
	size_t n_events;
	bool new_boot_id; /* critical facts expired: we made a new boot id */
	/* storage behind change and sends */
	struct wg_peer_change *peer_changes;
	struct wg_allowedip *ips;
	struct wire_fact *facts;
};
/* Whether a round's events are news (a probe alone is routine: a dead
 * link's revive probes must not keep the caller reading every second). */
bool engine_round_news(const struct engine_round *r);

struct engine;

struct engine *engine_new(const struct engine_config *cfg, const uint8_t self[static WIRE_KEY_LEN],
			  int64_t now);
void engine_free(struct engine *e);
/* A new configuration (a reload): what cfg points to must stay valid until
 * the next call or engine_free. What was received and sent is kept.
 * 0 or -ENOMEM (the old configuration stays). */
int engine_set_config(struct engine *e, const struct engine_config *cfg)
	__attribute__((warn_unused_result));

/* The latest device snapshot and host interfaces, borrowed until replaced. */
void engine_set_device(struct engine *e, const struct wg_device *dev, int64_t wall_ms);
/* No user packet crossed the tunnel since the last snapshot (the caller
 * watches the interface's packet counters): in the next one, bytes that
 * moved are WireGuard's own (keepalives, handshakes) or facts, never a
 * flow to watch. */
void engine_tunnel_quiet(struct engine *e);
/* Since the last snapshot (read just before it), the host routed tx
 * packets of its own (not our fact packets) into the tunnel and got rx
 * out of it. If no peer's counters show data sent, WireGuard could not
 * send them (a local firewall refused them); if a peer's show data
 * received and none came out, WireGuard dropped it (its source is an
 * address we moved onto another peer's direct link: that peer sends to us
 * through the router, its direct link is dead to it). Either way the
 * links that carried nothing are probed. (Userspace WireGuard: its
 * interface counts the packets the host routed in and got out.) */
void engine_tunnel_counted(struct engine *e, uint64_t tx, uint64_t rx);
/* Kernel WireGuard counts its interface's packets differently (what went
 * out as UDP, its own keepalives too) but names the losses: since the
 * last snapshot, `refused` sends the host refused (tx_dropped; counted at
 * the peer as sent) and `dropped` arrivals whose source the sending peer
 * may not use (rx_frame_errors; counted at no peer). A refusal probes the
 * links that sent; a drop ends the idle links (as on userspace
 * WireGuard), unless a dead link's peer may still send to us on it: that
 * peer is asked at once instead. */
void engine_tunnel_losses(struct engine *e, uint64_t refused, uint64_t dropped);
/* Userspace WireGuard counts arrivals it dropped nowhere at the interface
 * (the kernel counts them as receive errors), only at the peer they came
 * from: a device read while the interface's counters stand still (a
 * glance) finds them. Glances are worth their cost while we hold some
 * peer's allowed IPs on its direct link (that peer's traffic, once it
 * falls back, comes through the router and is dropped), or while a peer
 * whose link died still has a live session (its data, once it holds us
 * directly again, comes on that link and is dropped; with no handshake
 * for HANDSHAKE_VALIDITY_MS none can come): engine_worth_glance.
 * engine_glance says whether `dev` shows data arrived that neither
 * WireGuard's own packets nor our fact packets explain (or a peer came or
 * went): then a full look is due. Only the glance's own marks change. */
bool engine_worth_glance(const struct engine *e);
/* Whether a read suggested a loss (sends failed, arrivals dropped) that a
 * later read has yet to settle, as of `wall_ms`: the caller looks at the
 * counters every CONFIRM_MS meanwhile, so that the read that settles it
 * comes as soon as traffic moves again, not at the next idle look. */
bool engine_loss_pending(const struct engine *e, int64_t wall_ms);
/* Of those, a drop: only a glance at the device (userspace WireGuard) can
 * see the arrivals that settle it; a failed send shows on the interface. */
bool engine_drop_pending(const struct engine *e, int64_t wall_ms);
/* A fact packet of `len` bytes came from the device peer `key` (before it
 * is judged): its bytes in that peer's counters are no data. */
void engine_fact_packet(struct engine *e, const uint8_t key[static WIRE_KEY_LEN], size_t len);
bool engine_glance(struct engine *e, const struct wg_device *dev);
void engine_set_host(struct engine *e, const struct netif_list *host);
const struct netif_list *engine_host(const struct engine *e);

/* The inner facts of one verified group from `sender`, received at now.
 * Returns how many facts were accepted (an Alive that says the peer came up
 * or restarted counts as one: news to act on), or -ENOMEM. */
int engine_receive(struct engine *e, const uint8_t sender[static WIRE_KEY_LEN],
		   const struct wire_fact *facts, size_t n, int64_t now);

/* Takes a new boot id (after a suspend or clock jump): peers will forget
 * what they think we know and re-send everything; our Alive goes out at
 * the next round. */
void engine_new_boot_id(struct engine *e);

/* One round of decisions at now: engine_decide, then engine_send with every
 * peer's facts gathered in out->sends. 0 or -ENOMEM. */
int engine_run(struct engine *e, int64_t now, struct engine_round *out)
	__attribute__((warn_unused_result));

/* The round in two steps, for a caller that applies out->change before
 * sending (a new peer's auto-address must be routable before facts go to
 * it) and streams the sends: memory for one peer's facts, however many
 * peers. engine_decide fills everything but out->sends. */
int engine_decide(struct engine *e, int64_t now, struct engine_round *out)
	__attribute__((warn_unused_result));
/* Called once per peer to send to; s and what it points to are valid only
 * during the call. */
typedef void engine_send_fn(void *arg, const struct engine_send *s);
/* Works out what each peer needs now (noting that it will know it) and
 * hands it to fn. 0, or -ENOMEM (perhaps after some sends). */
int engine_send(struct engine *e, int64_t now, engine_send_fn *fn, void *arg)
	__attribute__((warn_unused_result));
void engine_round_free(struct engine_round *r);

/* When engine_run should next be called. The return is what must come on
 * time (a repeat, a hello, probe or answer, a hold or endpoint try ending,
 * a watched link); *soft is what may wait a few seconds for the caller's
 * next regular wake-up (an Alive re-sent, a fact expiring or re-sent,
 * what only time changes, and at least every QUIET_ROUND_MS). */
int64_t engine_next_due(const struct engine *e, int64_t now, int64_t *soft);
/* The sooner of the two. */
int64_t engine_next_deadline(const struct engine *e, int64_t now);

/* When the device should next be read (monotonic ms), given the wall
 * clock now: at the latest now + idle_ms, sooner while a link is watched,
 * an endpoint try runs out or backs off, a handshake ages out or an
 * unanswered send calls for a probe. Between these, only traffic through
 * the tunnel (the caller watches the interface's counters) or news from a
 * peer can change what a read would tell. */
int64_t engine_next_look(const struct engine *e, int64_t now, int64_t wall_ms, int64_t idle_ms);

/* Our host's addresses changed (roaming): the next round probes every
 * direct link whose peer answers probes. */
void engine_host_changed(struct engine *e);

/* A peer's endpoint candidates (our config's static endpoints, then its
 * Endpoint facts); returns how many were written, at most cap. */
size_t engine_peer_candidates(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN],
			      struct peer_endpoint *cand, size_t cap);

bool engine_is_router(const struct engine *e);
/* Whether the peer counts as a router (trust_peer_is_router_for). */
bool engine_peer_is_router(const struct engine *e, const struct wg_peer *peer);
struct engine_stats engine_stats(const struct engine *e);
/* What wirelink itself put on the device (and so may take back), kept by
 * the daemon across its restarts: engine_adopt at start says what an
 * earlier run added; engine_owned_gen changes whenever the set does;
 * engine_each_owned lists it. */
void engine_adopt(struct engine *e, const uint8_t key[static WIRE_KEY_LEN], bool peer,
		  const struct wg_allowedip *ip);
uint64_t engine_owned_gen(const struct engine *e);
void engine_each_owned(const struct engine *e,
		       void (*fn)(void *arg, const uint8_t key[static WIRE_KEY_LEN], bool peer,
				  const struct wg_allowedip *ips, size_t n),
		       void *arg);
/* Peer entries held (current peers, subjects of facts, recent senders). */
size_t engine_peer_entries(const struct engine *e);
const uint8_t *engine_boot_id(const struct engine *e);
size_t engine_fact_count(const struct engine *e);
/* Calls fn for every received fact (for SIGUSR1, status and debugging). */
void engine_each_fact(const struct engine *e, void (*fn)(void *arg, const struct fact *f), void *arg);
/* ...for the received facts about one subject (its endpoints...). */
void engine_each_subject_fact(const struct engine *e, const uint8_t subject[static WIRE_KEY_LEN],
			      void (*fn)(void *arg, const struct fact *f), void *arg);
/* ...for the facts we originate (as of the last round; TTL unset). */
void engine_each_local_fact(const struct engine *e, void (*fn)(void *arg, const struct wire_fact *f),
			    void *arg);
/* How far we trust what the peer tells us. */
enum trust_level engine_peer_trust(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN]);
/* The `now` the engine was made at. */
int64_t engine_started(const struct engine *e);
const struct peerstate *engine_peer(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN]);
/* The peer's name for logs: from the config file, else from its metadata;
 * NULL when it has none. */
const char *engine_peer_name(const struct engine *e, const uint8_t key[static WIRE_KEY_LEN]);

#endif
