/* The engine's own header, shared by its rooms and by nobody else:
 *
 *   engine.c     the round: state, device and host snapshots, decide, run
 *   peertable.c  the peers we hold anything about: entries, config, trust
 *   receive.c    a received fact judged once: trust, validity, budget, owner
 *   owner.c      who may hold a prefix: one answer on receive and on apply
 *   send.c       who needs which fact now
 *   reconcile.c  what changes on the device
 *   timers.c     when the next round and the next device read are due
 */
#ifndef WIRELINK_ENGINE_INT_H
#define WIRELINK_ENGINE_INT_H

#include "core/engine.h"
#include "core/knowledge.h"
#include "core/peerstate.h"
#include "core/prefixes.h"

#include <uthash.h>

/* The events that change a peer's link (flap.h). */
enum {
	ENGINE_EV_LINK = PEER_EV_HEALTHY | PEER_EV_UNHEALTHY | ENGINE_EV_ALLOWEDIPS_MOVED |
			 ENGINE_EV_RESTRICTED | ENGINE_EV_NO_DIRECT,
};

struct peer_entry {
	uint8_t key[WIRE_KEY_LEN];
	struct wg_allowedip auto_ip; /* its auto-address: a SHA-1, so made once */
	struct peerstate ps;
	const struct wg_peer *wg; /* in the latest snapshot, or NULL */
	bool alive_now;		  /* send it an Alive this round */
	bool probe_now, answer_now; /* ...as a probe, or as the answer to its probe */
	bool reset_endpoint;	    /* we moved: set its endpoint again (see engine_host_changed) */
	struct known kn;	    /* what it knows */
	/* We put allowed IPs on its direct link in this run: we may take them
	 * back when the link dies, even before FactTTL has passed. */
	bool moved;
	int64_t hold_until; /* send it nothing before then (see FIRST_CONTACT_HOLD_MS) */
	int64_t forgot_at;  /* when a new boot id last cleared its knowledge */
	int64_t budget_said, hijack_said; /* when we last logged its cap or claim */
	size_t stored;	    /* facts in the table with it as their source */
	/* What we put on the device ourselves, and so may take back: the peer
	 * itself (added as a member) and allowed IPs beyond its auto-address.
	 * Everything else there is the administrator's and stays. */
	bool ours;
	struct wg_allowedip *added;
	size_t n_added, cap_added;
	UT_hash_handle hh;
};

struct engine {
	struct engine_config cfg;
	uint8_t self[WIRE_KEY_LEN];
	uint8_t boot_id[WIRE_BOOT_ID_LEN];
	int64_t started;
	struct facts *received;
	struct knowledge *knows;
	struct peer_entry *peers;
	const struct wg_device *dev;
	struct prefixes held; /* the device's allowed IPs, indexed */
	bool tunnel_quiet;    /* for the next engine_set_device */
	/* ...and the host's packets into and out of the tunnel since the last */
	uint64_t tunnel_tx, tunnel_rx;
	uint64_t tunnel_refused, tunnel_dropped; /* kernel WireGuard (losses) */
	bool losses;
	bool counted;
	/* A read found packets taken and none sent (or data received and
	 * none given out; on the kernel, sends refused or arrivals dropped),
	 * at this wall time (0: none): a read that shows it
	 * again settles it, so that packets still on their way, or a lone
	 * packet of the host's own, are not taken for failures. */
	int64_t send_pending, drop_pending;
	bool held_ok;	      /* (false: out of memory; every prefix counts as taken) */
	const struct netif_list *host;
	int64_t wall_ms;
	bool any_config_trust, membership_configured, is_router;
	struct local_facts local;
	struct engine_event *events;
	size_t n_events, cap_events;
	const struct peer_config **by_key; /* the config's peers sorted by key */
	struct engine_limits lim;
	struct engine_stats stats;
	uint64_t owned_gen; /* changes whenever what we own on the device does */
	/* Every AllowedCidr fact's prefix, by subject (see owner.c). */
	struct prefixes claims;
	struct claim_key { uint8_t subject[WIRE_KEY_LEN], source[WIRE_KEY_LEN]; } *claim_keys;
	/* ...and those that came since it was built, looked at one by one. */
	struct fresh_claim { struct wg_allowedip ip; struct claim_key k; } *fresh;
	size_t n_fresh, cap_fresh;
	bool claims_stale; /* some went: rebuild before the next reconcile */
};

/* peertable.c */
struct peer_entry *engine_entry(struct engine *e, const uint8_t key[static 32], bool create);
const struct peer_entry *engine_entry_of(const struct engine *e, const uint8_t key[static 32]);
void engine_emit(struct engine *e, const uint8_t key[static 32], unsigned ev);
const struct peer_config *engine_config_of(const struct engine *e, const uint8_t key[static 32]);
/* Our own trust level, from the config (we may be configured as anyone's). */
enum trust_level engine_own_trust(const struct engine *e);
/* The device among the host interfaces (its addresses), or NULL. */
const struct netif *engine_devif(const struct engine *e);
struct wg_allowedip engine_auto_ip(const uint8_t key[static 32]);
/* Whether the peer is alive or its link healthy: facts about it are sent. */
bool engine_subject_is_up(const struct engine *e, const uint8_t key[static 32]);

static inline bool engine_added_has(const struct peer_entry *p, const struct wg_allowedip *ip)
{
	return prefixes_has(p->added, p->n_added, ip);
}

/* A sender's trust level (the config's, else a router's or a peer's). */
enum trust_level engine_sender_trust(const struct engine *e, const struct peer_entry *p,
				     const uint8_t key[static 32]);
/* An Endpoint fact whose address our own tunnel would carry. */
bool engine_endpoint_into_tunnel(const struct engine *e, const struct wire_fact *f);

/* receive.c */
/* facts_expire's callback: one stored fact less for its source. */
void engine_unstore(void *arg, const struct fact *f);

/* owner.c */
enum claim {
	CLAIM_OK,
	CLAIM_TUNNEL,	  /* it would carry our own tunnel, or a part of its subnet */
	CLAIM_HELD,	  /* a leaf holds it, or a prefix inside or around it, on the device */
	CLAIM_CONFIGURED, /* the config gives it (or around it) to another peer */
	CLAIM_CONTESTED,  /* another subject's facts claim it as strongly or more */
};
/* The standing of what our own config says (beyond every trust level). */
enum { CLAIM_ADMIN = TRUST__COUNT };
/* May `subject` hold ip, claimed by a source of this standing (its trust
 * level, or CLAIM_ADMIN)? WireGuard gives a prefix to exactly one peer. A
 * prefix the subject holds on the device is its own, unless `again`: we
 * put it there, and ask whether it still may. */
enum claim engine_claim(const struct engine *e, const uint8_t subject[static 32],
			const struct wg_allowedip *ip, unsigned standing, bool again);
/* An AllowedCidr fact was stored (it counts at once), or one went (the
 * index is rebuilt before the next reconcile). */
void engine_claims_added(struct engine *e, const struct wire_fact *f, const uint8_t source[static 32]);
void engine_claims_changed(struct engine *e);
int engine_claims_refresh(struct engine *e) __attribute__((warn_unused_result));
void engine_claims_free(struct engine *e);

/* send.c */
int engine_plan_sends(struct engine *e, int64_t now, engine_send_fn *fn, void *arg);

/* reconcile.c */
void engine_reconcile(struct engine *e, int64_t now, struct engine_round *out);

#endif
