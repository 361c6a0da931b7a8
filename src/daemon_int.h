/* The daemon's state, shared by its rooms: daemon.c (the loop, rounds,
 * set-up and reload), factsock.c (the fact sockets: receiving, sending,
 * where each peer's daemon takes facts) and daemon_files.c (its files in
 * the runtime directory). Internal to the daemon. */
#ifndef WIRELINK_DAEMON_INT_H
#define WIRELINK_DAEMON_INT_H

#include "config.h"
#include "control.h"
#include "core/engine.h"
#include "core/factport.h"
#include "hosts.h"
#include "log.h"
#include "proto/crypto.h"
#include "resolve.h"
#include "util/clockwatch.h"
#include "util/keys.h"
#include "wg/netif.h"
#include "wg/wg.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The daemon looks at the interface's packet counters at least every
 * IDLE_MS (two system calls); a look is brought forward when it is awake
 * anyway (a packet, a notification, a control request) and the next is
 * due within IDLE_MS / 2. A wake-up is a full round (the engine decides
 * and sends) only when the device is read or the engine has something due
 * (engine_next_due): what
 * must come on time wakes the daemon, what may wait rides with the next
 * look. The device is read every REFRESH_MS for ACTIVE_MS after any news
 * or change, and every FAST_MS for SETTLE_MS after we changed it
 * (handshakes and the next step then follow quickly). When all is quiet
 * it is read only when something may have changed: the counters moved
 * beyond our own fact packets (traffic that may start a flow to watch),
 * rtnetlink tells of a link or address change (a vanished interface), the
 * engine asks (engine_next_look), and at the first look LOOK_IDLE_MS after
 * the last read. On userspace WireGuard, while we hold a peer directly, a
 * look that saw nothing also glances at the device (engine_glance; each
 * a wake-up of wireguard-go and a wait for it) when the host's own
 * interfaces received other than our fact packets (two system calls per
 * interface, up to UNDERLAY_MAX; beyond, every other look), and every
 * CONFIRM_MS while a suspected drop is open: arrivals it dropped show
 * only there.
 * Without the counters or notifications, it is read every round. */
enum {
	COALESCE_MS = 20,
	IDLE_MS = 2500, /* a new flow is seen within this */
	LOOK_IDLE_MS = 30000,
	UNDERLAY_MAX = 8,
	REFRESH_MS = 1000,
	ACTIVE_MS = 30000,
	FAST_MS = 50,
	SETTLE_MS = 3000,
	RESOLVE_MS = 300000,
	MAX_STATIC = 16,
	EXTRA_RETRY_MS = 60000, /* an extra fact port that could not be bound */
};

struct daemon {
	struct config *cfg;
	int argc;
	char **argv, **env; /* to load the configuration again on SIGHUP */
	struct peer_config *peers;
	struct wg_device *dev;
	bool userspace; /* dev is userspace WireGuard's (as of the last read) */
	int64_t glanced_at; /* the last glance (engine_glance) */
	/* The host's interfaces' received packets, and our fact packets in,
	 * as of the last look that asked (underlay_moved). */
	uint64_t underlay_rx, underlay_facts;
	struct netif_list *host;
	struct engine *eng;
	struct crypto_identity *id;
	struct crypto_cache *cache;
	int sock, sfd, tfd, ep, ctl;
	struct control_server *ctl_server;
	char ctl_path[128];
	int lock; /* control_lock's: one daemon per interface */
	char lock_path[128];
	int64_t watchdog_ms, next_watchdog;
	char status[128]; /* the last STATUS= sent */
	uint16_t port;
	int64_t send_now;   /* the round's time, for send_one */
	int64_t next_round; /* the next wake-up */
	int64_t look_at;    /* the next look at the counters */
	int64_t engine_due; /* a full round then (the engine's or ours)... */
	int64_t engine_soft; /* ...or at the first look from then */
	int64_t armed;	     /* the timer is set for then (INT64_MIN: not set) */
	int64_t settle_until; /* poll the device fast until then */
	int64_t active_until; /* poll it every second until then */
	int64_t host_read;    /* when d->host was read */
	int64_t read_at, next_read; /* when the device was read; must be next */
	struct netif_stats *stats;  /* the interface's packet counters, or NULL */
	struct netif_counters seen; /* ...as last looked at, less our fact packets */
	/* Its tx and rx packets, less our fact packets, at the last device read. */
	uint64_t tx_user_read, rx_user_read, refused_read, dropped_read;
	bool read_anchored;
	struct netif_watch *watch; /* address and link notifications, or NULL */
	bool host_dirty;	   /* one came: read the host again now */
	bool quiet_look;	   /* this round's look saw no user packets */
	struct log_ratelimit bad_log;
	struct control_counters counters;
	/* Peers logged by key because their name was unknown: when it becomes
	 * known, one line ties the two together. */
	uint8_t (*unnamed)[WIRE_KEY_LEN];
	size_t n_unnamed;
	struct clockwatch clocks;
	/* Each device peer's auto-address, sorted: built once per device read,
	 * so a received packet costs a binary search, not a SHA-1 per peer. */
	struct addr_entry {
		struct in6_addr addr;
		size_t peer; /* index into dev->peers */
		struct factport fp; /* where its daemon takes facts */
	} *addrs;
	/* Extra fact sockets, on ports peers' endpoints imply (factport.h). */
	int xsock[FACTPORT_EXTRA];
	uint16_t xport[FACTPORT_EXTRA];
	struct {
		uint16_t port;
		int64_t until;
	} xfail[FACTPORT_EXTRA]; /* extra ports that could not be bound lately */
	int64_t silence_boot_at; /* the last new boot id for a silence that ended */
	struct peer_endpoint (*resolved)[MAX_STATIC]; /* per config peer */
	int64_t next_resolve;
	int rundir;	      /* the runtime directory (rundir.h), or -1 */
	int state_dir;	      /* the interface's own directory there, or -1 */
	char name[RUNDIR_NAME_MAX]; /* the interface's files there: <name>.sock... */
	char owned_path[160]; /* what we added to the device (owned.h); "" when none */
	uint64_t owned_gen;   /* the engine's owned_gen as last saved */
	bool owned_said;      /* we logged that it cannot be saved */
	struct resolver *resolver;
	struct hosts *hosts; /* peers by name on disk (hosts.h), or NULL */
	unsigned cfg_gen, resolve_gen; /* the configuration's, and the lookup's */
};

static inline int64_t clock_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A peer as the log names it: its name, else the start of its key. */
static inline const char *daemon_peer_label(const struct daemon *d, const uint8_t key[32], char buf[KEY_B64_LEN + 1])
{
	const char *name = engine_peer_name(d->eng, key);
	if (name)
		return name;
	key_to_base64(key, buf);
	buf[10] = '\0'; /* short key, as wg(8) users recognise it */
	return buf;
}

/* ---- daemon_files.c ---- */

/* The runtime directory, checked (one someone else may write to is
 * refused: -errno, logged), then the interface's lock (-EEXIST when
 * another daemon holds it). Without a runtime directory (not root), the
 * lock, control socket and state file are skipped, with a warning. */
int daemon_files_open(struct daemon *d);
/* Once the device is read: the interface's state directory (given to
 * User: before the drop) and what an earlier run added. */
void daemon_files_load(struct daemon *d);
/* The control socket in the runtime directory: its fd, or -errno (path
 * gets its path; -EADDRINUSE: another daemon answers there). */
int daemon_control_open(struct daemon *d, char *path, size_t pathlen);
/* Keeps the state file of what we added current (owned.h). */
void daemon_save_owned(struct daemon *d);
/* Removes the control socket and lock, closes the directories. */
void daemon_files_close(struct daemon *d);

/* ---- factsock.c ---- */

/* Binds the fact socket on our auto-address (added to the interface
 * first); 0 or -errno, said in the log. */
int factsock_open(struct daemon *d);
/* Adds our auto-address again where the interface is up without it (taken
 * down and up, the kernel drops its IPv6 addresses): without it the fact
 * socket neither hears nor sends. host: the host's interfaces just read. */
void factsock_keep_addr(struct daemon *d, const struct netif_list *host);
/* Takes what is pending on every fact socket into the engine. */
void factsock_receive(struct daemon *d, int64_t now);
bool factsock_is_extra(const struct daemon *d, int fd);
/* Opens and closes the extra fact sockets to match the device just read. */
void factsock_listen_extra(struct daemon *d);
/* For qsort and bsearch of the auto-address table. */
int factsock_cmp_addr(const void *a, const void *b);
/* A rebuilt auto-address table keeps what was learned of fact ports. */
void factsock_keep_ports(const struct daemon *d, struct addr_entry *next, size_t n);
/* engine_send's callback: packs and sends one peer's facts. */
void factsock_send_one(void *arg, const struct engine_send *s);
/* Names, once, peers whose daemon is silent though their handshake is fresh. */
void factsock_check_silent(struct daemon *d, int64_t now);
/* control_view's look-up of a peer's fact port. */
const struct factport *factsock_peer_port(const void *arg, const uint8_t key[WIRE_KEY_LEN]);

#endif
