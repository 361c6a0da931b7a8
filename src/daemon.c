/* Event loop and rounds: the fact sockets (factsock.c), signals, a timer,
 * rtnetlink and the control socket in one epoll set. A verified packet goes
 * through the engine at once; rounds that follow packets are coalesced for
 * COALESCE_MS. */
#include "daemon.h"
#include "daemon_int.h"
#include "owned.h"

#include "core/trust.h"
#include "proto/autoaddr.h"
#include "proto/text.h"
#include "sys/service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>


/* The endpoint a round sets on a peer, as text ("" when none). */
static void change_endpoint(const struct engine_round *r, const uint8_t key[32], char *out, size_t len)
{
	*out = '\0';
	for (size_t i = 0; i < r->change.n_peers; i++) {
		const struct wg_peer_change *c = &r->change.peers[i];
		if ((c->flags & WG_CHANGE_ENDPOINT) && !memcmp(c->public_key, key, WIRE_KEY_LEN))
			wg_endpoint_format(&c->endpoint, out, len);
	}
}

enum { MAX_UNNAMED = 256 };

/* Remembers that a peer was logged by its key (when its name is unknown). */
static void note_unnamed(struct daemon *d, const uint8_t key[WIRE_KEY_LEN])
{
	if (engine_peer_name(d->eng, key))
		return;
	for (size_t i = 0; i < d->n_unnamed; i++)
		if (!memcmp(d->unnamed[i], key, WIRE_KEY_LEN))
			return;
	if (!d->unnamed && !(d->unnamed = calloc(MAX_UNNAMED, WIRE_KEY_LEN)))
		return;
	if (d->n_unnamed < MAX_UNNAMED)
		memcpy(d->unnamed[d->n_unnamed++], key, WIRE_KEY_LEN);
}

/* "kRZzi9eFA6 is office": once, when a peer logged by key gets a name. */
static void log_new_names(struct daemon *d)
{
	for (size_t i = 0; i < d->n_unnamed;) {
		const char *name = engine_peer_name(d->eng, d->unnamed[i]);
		if (!name) {
			i++;
			continue;
		}
		char kb[KEY_B64_LEN + 1];
		key_to_base64(d->unnamed[i], kb);
		log_info("%.10s is %s", kb, name);
		memmove(d->unnamed[i], d->unnamed[--d->n_unnamed], WIRE_KEY_LEN);
	}
}

/* "office: link unstable: ...", "... steady again", "... still
 * unstable", for a flapping link (core/flap.h). A router's link, or
 * one whose allowed IPs stay (we are the router), does not fall back. */
static void log_flaps(const char *who, unsigned ev, const struct peerstate *ps)
{
	if (!ps)
		return;
	if (ev & ENGINE_EV_FLAPPING)
		log_info("%s: link unstable: down again %llds after it came back (%s)%s; its ups and "
			 "downs go to the debug log until it holds for %ds",
			 who, (long long)(ps->flap.gap / 1000), peerstate_down_why(ps),
			 ev & ENGINE_EV_RESTRICTED ? ", traffic falls back through the router" : "",
			 FLAP_MS / 1000);
	if (ev & ENGINE_EV_STILL)
		log_info("%s: link still unstable: down %u times in the last %d minutes", who, ps->flap.recent,
			 FLAP_REPEAT_MS / 60000);
	if (ev & ENGINE_EV_STEADY)
		log_info("%s: link steady again, %s for %ds; it went down %u times in %llds", who,
			 ps->healthy ? "up" : "down", FLAP_MS / 1000, ps->flap.downs,
			 (long long)((ps->flap.last - ps->flap.since) / 1000));
}

/* One line at info, or at debug when `quiet` (engine_debug_only). */
#define log_link(quiet, ...)                    \
	do {                                    \
		if (quiet)                      \
			log_debug(__VA_ARGS__); \
		else                            \
			log_info(__VA_ARGS__);  \
	} while (0)

static void log_events(struct daemon *d, const struct engine_round *r)
{
	log_new_names(d);
	for (size_t i = 0; i < r->n_events; i++) {
		char kb[KEY_B64_LEN + 1], text[128], ep[80];
		unsigned ev = r->events[i].events, quiet = engine_debug_only(ev);
		const char *who = daemon_peer_label(d, r->events[i].peer, kb);
		note_unnamed(d, r->events[i].peer);
		if (ev & 0xff & ~quiet)
			log_info("%s is now %s", who, peerstate_event_text(ev & 0xff & ~quiet, text, sizeof(text)));
		if (ev & 0xff & quiet)
			log_debug("%s is now %s", who, peerstate_event_text(ev & 0xff & quiet, text, sizeof(text)));
		if (ev & ENGINE_EV_PEER_ADDED)
			log_info("adding peer %s", who);
		if (ev & ENGINE_EV_PEER_REMOVED)
			log_info("removing peer %s: no trusted source says it is a member", who);
		if (ev & ENGINE_EV_ENDPOINT_TRIED) {
			d->counters.endpoint_tries++;
			change_endpoint(r, r->events[i].peer, ep, sizeof(ep));
			/* Tries are routine (status lists them); the log says why
			 * a peer stays via the router once (ENGINE_EV_NO_DIRECT). */
			log_debug("%s: trying endpoint %s", who, *ep ? ep : "(none)");
		}
		if (ev & ENGINE_EV_NO_DIRECT)
			log_link(quiet & ENGINE_EV_NO_DIRECT,
				 "%s: no endpoint answered; staying via the router, retrying quietly", who);
		if (ev & ENGINE_EV_ALLOWEDIPS_MOVED)
			log_link(quiet & ENGINE_EV_ALLOWEDIPS_MOVED, "%s: allowed IPs moved onto the direct link", who);
		const unsigned uses_state = ENGINE_EV_PROBING | ENGINE_EV_RESTRICTED | ENGINE_EV_FLAPPING |
					    ENGINE_EV_STEADY | ENGINE_EV_STILL;
		const struct peerstate *ps = ev & uses_state ? engine_peer(d->eng, r->events[i].peer) : NULL;
		if (ev & ENGINE_EV_PROBING)
			log_debug("%s: probing the direct link: %s", who, ps && ps->probe_why ? ps->probe_why : "asked");
		if (ev & ENGINE_EV_RESTRICTED)
			log_link(quiet & ENGINE_EV_RESTRICTED,
				 "%s: direct link down (%s), traffic falls back through the router", who,
				 peerstate_down_why(ps));
		log_flaps(who, ev, ps);
		if (ev & ENGINE_EV_BUDGET)
			log_warnx("%s: sent more facts than its budget allows; the rest are dropped", who);
		if (ev & ENGINE_EV_HIJACK)
			log_warnx("%s: claimed allowed IPs that another peer holds; ignored", who);
		if (ev & ENGINE_EV_YIELDED)
			log_warnx("%s: allowed IPs it claimed belong to another peer; taken back", who);
	}
}

/* Whether two reads list the same peers in the same order. */
static bool same_peers(const struct wg_device *a, const struct wg_device *b)
{
	if (!a || a->n_peers != b->n_peers)
		return false;
	for (size_t i = 0; i < a->n_peers; i++)
		if (memcmp(a->peers[i].public_key, b->peers[i].public_key, WIRE_KEY_LEN))
			return false;
	return true;
}

/* Whether the host's interfaces must be read again: when rtnetlink says
 * they changed (or lost notifications); without notifications, at most
 * once per REFRESH_MS (they change rarely, and rounds come every FAST_MS
 * while settling). */
static bool host_stale(const struct daemon *d, int64_t now)
{
	if (!d->host || d->host_dirty)
		return true;
	return !d->watch && now - d->host_read >= REFRESH_MS;
}

/* Reads the device (every round) and the host's interfaces (host_stale),
 * taking pending fact packets first. */
static bool refresh(struct daemon *d, int64_t now)
{
	struct wg_device *dev = NULL;
	/* What the host routed into the tunnel, read just before the peers'
	 * counters: on userspace WireGuard, sends that it could not make (a
	 * local firewall) count here and at no peer, and packets a peer sent
	 * us that it dropped (their source is another peer's) count at the
	 * peer and not here (engine_tunnel_counted; our own fact packets are
	 * not counted). Kernel WireGuard counts both as errors here
	 * (engine_tunnel_losses). */
	struct netif_counters c;
	bool counted = d->stats && d->dev && netif_stats_read(d->stats, d->dev->ifindex, &c) == 0;
	if (wg_get_device(d->cfg->iface, &dev) != 0) {
		char why[600];
		wg_device_problem(d->cfg->iface, why, sizeof(why));
		if (if_nametoindex(d->cfg->iface) == 0)
			snprintf(why, sizeof(why), "%s: the interface is gone", d->cfg->iface);
		log_errorx("%s; exiting", why);
		return false;
	}
	d->counters.device_reads++;
	d->userspace = wg_backend_for(d->cfg->iface) == &wg_backend_userspace;
	/* A new wireguard-go (the interface made anew): keep a connection to
	 * it again (as root; with --user, only the first could be made). */
	if (d->userspace && !wg_uapi_kept(d->cfg->iface) && !d->cfg->user[0])
		(void)wg_uapi_keep(d->cfg->iface);
	/* Fact packets the device counted before this read are most likely in
	 * our socket by now: take them first (while the engine still holds the
	 * old device and host lists), or their bytes would look like user
	 * traffic (a flow to watch) to the engine. Not before the first read:
	 * with no auto-address table yet, they would be dropped. */
	if (d->addrs)
		factsock_receive(d, now);
	if (host_stale(d, now)) {
		struct netif_list *host = NULL;
		/* On failure keep the last list (our role depends on it) and
		 * try again next round. */
		int err = netif_list(&host);
		if (!err) {
			/* We moved (an address came or went): tell peers our new
			 * endpoints now and check every direct link from here. */
			if (d->host && !netif_list_same(d->host, host)) {
				log_info("host addresses changed: telling peers, checking direct links");
				engine_host_changed(d->eng);
				d->active_until = now + ACTIVE_MS;
			}
			netif_list_free(d->host);
			d->host = host;
			factsock_keep_addr(d, host);
		}
		d->host_dirty = err != 0;
		d->host_read = now;
	}
	if (d->quiet_look)
		engine_tunnel_quiet(d->eng);
	if (counted) {
		uint64_t tx = c.tx_packets - d->counters.packets_out, rx = c.rx_packets - d->counters.packets_in;
		/* Counters that went back: the interface was made anew. */
		bool kernel_ok = c.refused >= d->refused_read && c.dropped >= d->dropped_read;
		bool user_ok = tx >= d->tx_user_read && rx >= d->rx_user_read;
		if (d->read_anchored && !d->userspace && kernel_ok)
			engine_tunnel_losses(d->eng, c.refused - d->refused_read, c.dropped - d->dropped_read);
		else if (d->read_anchored && d->userspace && user_ok)
			engine_tunnel_counted(d->eng, tx - d->tx_user_read, rx - d->rx_user_read);
		d->tx_user_read = tx;
		d->rx_user_read = rx;
		d->refused_read = c.refused;
		d->dropped_read = c.dropped;
		d->read_anchored = true;
	}
	d->quiet_look = false; /* a read-back later in the round: no claim */
	/* Host first: the old list is gone, and the device's peers are judged
	 * against the device's own addresses. */
	engine_set_host(d->eng, d->host);
	engine_set_device(d->eng, dev, clock_ms(CLOCK_REALTIME));
	/* The auto-address table: rebuilt (a SHA-1 per peer) only when the
	 * peers changed. */
	if (!d->addrs || !same_peers(d->dev, dev)) {
		struct addr_entry *addrs = calloc(dev->n_peers + 1, sizeof(*addrs));
		for (size_t i = 0; addrs && i < dev->n_peers; i++) {
			autoaddr_from_key(dev->peers[i].public_key, &addrs[i].addr);
			addrs[i].peer = i;
		}
		if (addrs) {
			qsort(addrs, dev->n_peers, sizeof(*addrs), factsock_cmp_addr);
			factsock_keep_ports(d, addrs, dev->n_peers);
		}
		free(d->addrs);
		d->addrs = addrs; /* NULL (out of memory): packets are dropped until the next read */
	}
	wg_device_free(d->dev);
	d->dev = dev;
	d->read_at = now;
	factsock_listen_extra(d);
	return true;
}

/* Whether anything but our own fact packets went through the tunnel since
 * the last look, or failed in it (true when the counters cannot be read). */
static bool tunnel_moved(struct daemon *d)
{
	struct netif_counters c;
	if (!d->stats || netif_stats_read(d->stats, d->dev->ifindex, &c) != 0)
		return true;
	c.rx_packets -= d->counters.packets_in;
	c.tx_packets -= d->counters.packets_out;
	bool moved = c.rx_packets != d->seen.rx_packets || c.tx_packets != d->seen.tx_packets ||
		     c.errors != d->seen.errors;
	d->seen = c;
	return moved;
}

/* Whether the host's own interfaces (up, with an address, not the
 * tunnel, not loopback) received other than our fact packets since the
 * last call: 1 yes, 0 no, -1 cannot say (no counters, or more than
 * UNDERLAY_MAX such interfaces: two system calls each). An arrival
 * userspace WireGuard dropped came in that way, so with none there is
 * nothing for a glance to find. A heuristic: a count that does not add
 * up (a fact packet counted at the interface in one look and read by us
 * in the next, datagrams batched into one) says yes. */
static int underlay_moved(struct daemon *d)
{
	if (!d->stats || !d->host)
		return -1;
	uint64_t rx = 0;
	size_t seen = 0;
	for (size_t i = 0; i < d->host->n; i++) {
		const struct netif *n = &d->host->ifs[i];
		struct netif_counters c;
		if (!n->up || !n->n_addrs || n->index == d->dev->ifindex || !strcmp(n->name, "lo"))
			continue;
		if (++seen > UNDERLAY_MAX || netif_stats_read(d->stats, n->index, &c) != 0)
			return -1;
		rx += c.rx_packets;
	}
	/* Each fact packet that reached us came in as one of those. */
	bool moved = rx - d->underlay_rx != d->counters.packets_in - d->underlay_facts;
	d->underlay_rx = rx;
	d->underlay_facts = d->counters.packets_in;
	return moved;
}

/* Whether a glance at the device (engine_glance) finds what a look must
 * judge; only where it can (userspace WireGuard) and is worth its cost. */
static bool glance(struct daemon *d, int64_t now)
{
	/* While a drop is open, every CONFIRM_MS (at the looks, whatever
	 * else wakes us): the read that settles it needs a second sight of
	 * the drop, and dropped arrivals move no tunnel counter, so on an
	 * idle link it waited for the glance after, up to 5 s more (issue
	 * 23). */
	int64_t since = now - d->glanced_at;
	bool drop = d->userspace && since >= CONFIRM_MS - COALESCE_MS &&
		    engine_drop_pending(d->eng, clock_ms(CLOCK_REALTIME));
	if (!d->userspace || (since < IDLE_MS / 2 && !drop) || engine_is_router(d->eng) ||
	    !engine_worth_glance(d->eng))
		return false;
	/* At a quiet look (every IDLE_MS) when the host's interfaces say
	 * something came that a glance could find: an idle link's other side
	 * sees a drop at the first look after it. When they cannot say,
	 * every other look. */
	int underlay = drop ? 1 : underlay_moved(d);
	if (underlay == 0 || (underlay < 0 && since < 2 * IDLE_MS - IDLE_MS / 2))
		return false;
	d->glanced_at = now;
	struct wg_device *dev = NULL;
	if (wg_get_device(d->cfg->iface, &dev) != 0)
		return true; /* the read says why */
	d->counters.device_reads++;
	bool news = engine_glance(d->eng, dev);
	wg_device_free(dev);
	return news;
}

/* Until the next look at the counters: sooner while a loss awaits the
 * read that settles it (it comes with the next packet). */
static int64_t look_wait(const struct daemon *d)
{
	return engine_loss_pending(d->eng, clock_ms(CLOCK_REALTIME)) ? CONFIRM_MS : IDLE_MS;
}

/* Whether this round reads the device (see the comment at the top); the
 * look at the counters is taken here, so it is one every round. */
static bool must_read(struct daemon *d, int64_t now)
{
	/* Fact packets the interface counted are taken first, so that the
	 * counters and our own count of fact packets agree. */
	if (d->addrs)
		factsock_receive(d, now);
	bool moved = tunnel_moved(d);
	d->quiet_look = !moved; /* and every look since the last read (it would have read) */
	d->look_at = now + look_wait(d);
	return moved || d->host_dirty || !d->watch || now >= d->next_read ||
	       now >= d->read_at + LOOK_IDLE_MS || glance(d, now);
}

/* The next wake-up: the engine's hard deadline, the next read, or the
 * next look, whichever comes first. */
static void wake_next(struct daemon *d)
{
	int64_t next = d->engine_due < d->next_read ? d->engine_due : d->next_read;
	d->next_round = next < d->look_at ? next : d->look_at;
}

/* When the device is next read, and the round that does it. */
static void plan_next(struct daemon *d, int64_t now, bool read)
{
	/* The engine's hard reasons; the idle read rides with a look. */
	if (read) {
		d->next_read = engine_next_look(d->eng, now, clock_ms(CLOCK_REALTIME), INT64_MAX / 4);
		d->look_at = now + look_wait(d); /* as this read left the loss watch */
	}
	/* Handshakes change without telling us: fast while settling. */
	int64_t poll = now < d->settle_until ? FAST_MS : now < d->active_until ? REFRESH_MS : INT64_MAX;
	if (poll != INT64_MAX && d->next_read > now + poll)
		d->next_read = now + poll;
	d->engine_due = engine_next_due(d->eng, now, &d->engine_soft);
	wake_next(d);
}

/* Static endpoints from the config file, looked up every RESOLVE_MS off
 * the loop; the configured names in order, flattened over the peers. */
static char **static_names(const struct config *cfg, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < cfg->n_peers; i++)
		*n += cfg->peers[i].n_endpoints;
	char **names = calloc(*n + 1, sizeof(*names));
	size_t k = 0;
	for (size_t i = 0; names && i < cfg->n_peers; i++)
		for (size_t e = 0; e < cfg->peers[i].n_endpoints; e++)
			names[k++] = cfg->peers[i].endpoints[e];
	return names;
}

/* A finished lookup: each config peer's endpoints, unless the
 * configuration changed meanwhile (then a new lookup follows). */
static void take_resolved(struct daemon *d, int64_t now)
{
	bool timed_out;
	if (!resolver_done(d->resolver, now, &timed_out))
		return;
	if (d->resolve_gen != d->cfg_gen)
		return;
	size_t k = 0;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		const struct config_peer *cp = &d->cfg->peers[i];
		size_t n = 0;
		for (size_t e = 0; e < cp->n_endpoints; e++, k++)
			n += resolver_result(d->resolver, k, d->resolved[i] + n, MAX_STATIC - n);
		d->peers[i].endpoints = d->resolved[i];
		d->peers[i].n_endpoints = n;
	}
	d->next_round = d->engine_due = now; /* use them at once */
}

static void resolve_static(struct daemon *d, int64_t now)
{
	take_resolved(d, now);
	if (now < d->next_resolve)
		return;
	size_t n;
	char **names = static_names(d->cfg, &n);
	int err = names ? resolver_start(d->resolver, names, n, now) : -ENOMEM;
	free(names);
	/* Busy: a lookup from before still hangs; try again shortly. */
	d->next_resolve = now + (err ? REFRESH_MS : RESOLVE_MS);
	if (!err)
		d->resolve_gen = d->cfg_gen;
}

static void watch_clocks(struct daemon *d)
{
	int64_t mono = clock_ms(CLOCK_MONOTONIC);
	enum clockwatch_event ev =
		clockwatch_check(&d->clocks, mono, clock_ms(CLOCK_BOOTTIME), clock_ms(CLOCK_REALTIME));
	if (ev == CLOCKWATCH_NONE)
		return;
	log_info("%s: taking a new boot id so peers re-send what they know",
		 ev == CLOCKWATCH_SUSPENDED ? "the machine was suspended" : "the wall clock jumped");
	engine_new_boot_id(d->eng);
	d->engine_due = mono; /* every peer needs our new Alive: a full round now */
}

/* STATUS= for the service manager, when the summary changed. */
static void report_status(struct daemon *d)
{
	size_t healthy, direct;
	control_count(d->eng, d->dev, &healthy, &direct);
	char text[sizeof(d->status)];
	size_t facts = engine_fact_count(d->eng) + control_local_facts(d->eng);
	snprintf(text, sizeof(text), "%s on %s: %zu peer%s, %zu healthy, %zu direct, %zu fact%s",
		 engine_is_router(d->eng) ? "router" : "leaf", d->cfg->iface, d->dev->n_peers,
		 d->dev->n_peers == 1 ? "" : "s", healthy, direct, facts, facts == 1 ? "" : "s");
	if (strcmp(text, d->status)) {
		memcpy(d->status, text, sizeof(text));
		service_status(text);
	}
}

static bool round_now(struct daemon *d, int64_t now)
{
	watch_clocks(d);
	resolve_static(d, now);
	bool read = must_read(d, now);
	if (!read && now < d->engine_due && now < d->engine_soft) {
		/* A light look: the counters did not move, nothing is due. */
		wake_next(d);
		return true;
	}
	if (read && !refresh(d, now))
		return false;
	if (read)
		factsock_check_silent(d, now);
	struct engine_round r;
	d->counters.rounds++;
	if (engine_decide(d->eng, now, &r) != 0) {
		log_warnx("out of memory in a round");
		return true;
	}
	log_events(d, &r);
	if (r.change.n_peers && wg_set_device(d->cfg->iface, &r.change) != 0)
		log_warnx("%s", wg_last_error());
	else if (r.change.n_peers && !refresh(d, now))
		return false; /* read back now: a just-added peer's packets must be taken */
	bool changed = r.change.n_peers > 0;
	if (changed)
		d->settle_until = now + SETTLE_MS;
	daemon_save_owned(d);
	hosts_update(d->hosts, d->eng, d->dev);
	if (r.change.n_peers || engine_round_news(&r))
		d->active_until = now + ACTIVE_MS;
	engine_round_free(&r);
	d->send_now = now;
	if (engine_send(d->eng, now, factsock_send_one, d) != 0)
		log_warnx("out of memory while sending facts");
	report_status(d);
	plan_next(d, now, read || changed);
	return true;
}

static void arm(struct daemon *d, int64_t now)
{
	int64_t next = d->next_round, ctl = control_server_deadline(d->ctl_server);
	if (ctl < next)
		next = ctl;
	if (next == d->armed && next > now)
		return; /* set already (a packet woke us) */
	int64_t wait = next > now ? next - now : 1;
	struct itimerspec its = { .it_value = { wait / 1000, (wait % 1000) * 1000000 } };
	timerfd_settime(d->tfd, 0, &its, NULL);
	d->armed = next;
}

/* The engine's view of a configuration; the peers' endpoints are filled in
 * as static endpoints resolve. */
static int engine_config_from(const struct config *cfg, struct engine_config *ec,
			      struct peer_config **peers, struct peer_endpoint (**resolved)[MAX_STATIC])
{
	*peers = calloc(cfg->n_peers + 1, sizeof(**peers));
	*resolved = calloc(cfg->n_peers + 1, sizeof(**resolved));
	if (!*peers || !*resolved) {
		free(*peers);
		free(*resolved);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_peers; i++)
		(*peers)[i] = cfg->peers[i].pc;
	*ec = (struct engine_config){
		.peers = *peers, .n_peers = cfg->n_peers, .router = cfg->router,
		.chatty = cfg->chatty, .report_ifaces = (const char *const *)cfg->report_ifaces,
		.hide_ifaces = (const char *const *)cfg->hide_ifaces, .random = crypto_random,
		.limits = cfg->limits,
	};
	return 0;
}

/* Why factsock_open will fail, when IPv6 is off: clearer than its errno. */
static int check_ipv6(const struct daemon *d)
{
	enum netif_ipv6 v6 = netif_ipv6_state(d->cfg->iface);
	if (v6 == NETIF_IPV6_OFF_HOST)
		log_errorx("IPv6 is disabled on this host (ipv6.disable=1?): wirelink's fact port needs "
			   "an IPv6 link-local address on %s", d->cfg->iface);
	else if (v6 == NETIF_IPV6_OFF_IFACE)
		log_errorx("%s: IPv6 is disabled on the interface (sysctl net.ipv6.conf.%s.disable_ipv6=1); "
			   "wirelink's fact port needs it: set it to 0", d->cfg->iface, d->cfg->iface);
	return v6 == NETIF_IPV6_ON ? 0 : -EAFNOSUPPORT;
}

static int setup(struct daemon *d)
{
	d->lock = -1;
	if (crypto_init() != 0)
		return -EIO;
	int err = daemon_files_open(d);
	if (err)
		return err;
	if (wg_get_device(d->cfg->iface, &d->dev) != 0) {
		char why[600];
		wg_device_problem(d->cfg->iface, why, sizeof(why));
		log_errorx("%s", why);
		return -ENODEV;
	}
	if (!d->dev->has_private_key) {
		log_errorx("%s: the interface has no private key yet", d->cfg->iface);
		return -ENOKEY;
	}
	if (crypto_identity_new(d->dev->private_key, &d->id) || !(d->cache = crypto_cache_new(d->id)))
		return -ENOMEM;
	if (!d->cfg->port && (d->dev->listen_port == 0 || d->dev->listen_port == UINT16_MAX)) {
		log_errorx("%s: WireGuard listens on port %u, so the default fact port (listen port + 1) "
			   "does not exist; set another ListenPort, or a fact port with --port or Port:",
			   d->cfg->iface, d->dev->listen_port);
		return -ERANGE;
	}
	d->port = d->cfg->port ? (uint16_t)d->cfg->port : (uint16_t)(d->dev->listen_port + 1);
	struct engine_config ec;
	if (engine_config_from(d->cfg, &ec, &d->peers, &d->resolved) != 0)
		return -ENOMEM;
	int64_t now = clock_ms(CLOCK_MONOTONIC);
	if (!(d->eng = engine_new(&ec, crypto_identity_public(d->id), now)))
		return -ENOMEM;
	err = check_ipv6(d);
	if (!err)
		err = factsock_open(d);
	if (err)
		return err;
	daemon_files_load(d);
	d->ctl = daemon_control_open(d, d->ctl_path, sizeof(d->ctl_path));
	if (d->ctl == -ESRCH || d->ctl == -EADDRINUSE) {
		if (d->ctl == -ESRCH)
			log_errorx("no control socket %s: no group %s", d->ctl_path, d->cfg->control_group);
		else
			log_errorx("another wirelink already runs for %s (%s answers)", d->cfg->iface,
				   d->ctl_path);
		d->ctl_path[0] = '\0'; /* not ours to remove on the way out */
		return d->ctl;
	}
	if (d->ctl < 0) {
		if (d->rundir >= 0)
			log_warnx("no control socket %s: %s", d->ctl_path, strerror(-d->ctl));
		d->ctl_path[0] = '\0';
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGRTMIN); /* static endpoint lookups done */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->sfd < 0 || d->tfd < 0 || d->ep < 0)
		return -errno;
	/* With notifications the host is read only when they say it changed;
	 * without, it is polled (host_stale). */
	int werr = netif_watch_open(&d->watch);
	if (werr) {
		log_warnx("no rtnetlink address notifications (%s); polling only", strerror(-werr));
		d->watch = NULL;
	}
	int fds[5] = { d->sock, d->sfd, d->tfd, d->watch ? netif_watch_fd(d->watch) : -1, d->ctl };
	for (int i = 0; i < 5; i++) {
		if (fds[i] < 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
			return -errno;
	}
	if (d->ctl >= 0 && !(d->ctl_server = control_server_new(d->ctl, d->ep)))
		return -ENOMEM;
	/* The host's interfaces first: our role depends on the device's
	 * own addresses. */
	if (netif_list(&d->host) != 0)
		d->host = NULL;
	d->host_read = now;
	engine_set_host(d->eng, d->host);
	if (!(d->resolver = resolver_new(SIGRTMIN)) || !(d->hosts = hosts_new(d->cfg->iface, CONTROL_DIR)))
		return -ENOMEM;
	hosts_configure(d->hosts, d->cfg);
	/* Without the counters the device is read every round. */
	if (netif_stats_open(&d->stats) != 0)
		d->stats = NULL;
	engine_set_device(d->eng, d->dev, clock_ms(CLOCK_REALTIME));
	bool router = engine_is_router(d->eng);
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr self;
	autoaddr_from_key(crypto_identity_public(d->id), &self);
	inet_ntop(AF_INET6, &self, addr, sizeof(addr));
	log_info("wirelink %s on %s (%s WireGuard): facts on [%s%%%s]:%u, %s (%s)%s, log level %s",
		 WIRELINK_VERSION, d->cfg->iface,
		 wg_backend_for(d->cfg->iface) == &wg_backend_userspace ? "userspace" : "kernel", addr,
		 d->cfg->iface, d->port, router ? "router" : "leaf",
		 d->cfg->router < 0 ? "detected" : "configured", d->cfg->chatty ? ", chatty" : "",
		 d->cfg->debug ? "debug" : "info");
	d->bad_log = (struct log_ratelimit){ .per_sec = 1, .burst = 5 };
	return 0;
}

static void teardown(struct daemon *d)
{
	control_server_free(d->ctl_server);
	resolver_free(d->resolver);
	hosts_free(d->hosts);
	engine_free(d->eng);
	crypto_cache_free(d->cache);
	crypto_identity_free(d->id);
	wg_device_free(d->dev);
	netif_list_free(d->host);
	free(d->peers);
	free(d->resolved);
	free(d->addrs);
	free(d->unnamed);
	netif_watch_close(d->watch);
	netif_stats_close(d->stats);
	int fds[5] = { d->sock, d->sfd, d->tfd, d->ep, d->ctl };
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (int i = 0; i < FACTPORT_EXTRA; i++)
		if (d->xsock[i] >= 0)
			close(d->xsock[i]);
	daemon_files_close(d);
}

/* One fact as a log line: attribute, subject and source by name, value,
 * TTL left. */
static void log_fact(void *arg, const struct fact *f)
{
	const struct daemon *d = arg;
	char *value = text_fact_string(&f->f, true);
	char kb[KEY_B64_LEN + 1], sb[KEY_B64_LEN + 1];
	bool known = false;
	for (size_t i = 0; i < sizeof(f->source); i++)
		known |= f->source[i] != 0;
	int64_t left = (f->expires - clock_ms(CLOCK_MONOTONIC)) / 1000;
	log_info("fact: %s of %s is %s, %llds left, from %s", control_attr_name(f->f.attr),
		 daemon_peer_label(d, f->f.subject, kb), value ? value : "?", (long long)(left < 0 ? 0 : left),
		 known ? daemon_peer_label(d, f->source, sb) : "?");
	free(value);
}

static void log_state(const struct daemon *d)
{
	engine_each_fact(d->eng, log_fact, (void *)d);
	for (size_t i = 0; d->dev && i < d->dev->n_peers; i++) {
		const struct wg_peer *p = &d->dev->peers[i];
		const struct peerstate *ps = engine_peer(d->eng, p->public_key);
		char kb[KEY_B64_LEN + 1], ep[80] = "no endpoint";
		if (p->endpoint.addr.sa_family != AF_UNSPEC)
			wg_endpoint_format(&p->endpoint, ep, sizeof(ep));
		log_info("peer %s: %s, %s, %s, trust %s", daemon_peer_label(d, p->public_key, kb),
			 ps && ps->healthy ? "healthy" : "unhealthy", ps && ps->alive ? "alive" : "not alive",
			 ep, trust_name(engine_peer_trust(d->eng, p->public_key)));
	}
	size_t received = engine_fact_count(d->eng), own = control_local_facts(d->eng);
	log_info("%zu facts known (%zu received, %zu our own)", received + own, received, own);
}

/* What a reload cannot change without a restart: kept as it is. */
static void keep_fixed(const struct config *old, struct config *next)
{
	if (next->port != old->port || strcmp(next->user, old->user) ||
	    strcmp(next->control_group, old->control_group))
		log_warnx("reload: Port, User and ControlGroup take effect only on a restart");
	next->port = old->port;
	memcpy(next->user, old->user, sizeof(next->user));
	memcpy(next->control_group, old->control_group, sizeof(next->control_group));
}

static bool same_endpoints(const struct config_peer *a, const struct config_peer *b)
{
	if (a->n_endpoints != b->n_endpoints)
		return false;
	for (size_t i = 0; i < a->n_endpoints; i++)
		if (strcmp(a->endpoints[i], b->endpoints[i]))
			return false;
	return true;
}

/* A reloaded peer with the same static endpoints keeps what they resolved
 * to until the next lookup, so it is not left without them meanwhile. */
static void carry_resolved(const struct daemon *d, const struct config *next, struct peer_config *peers,
			   struct peer_endpoint (*resolved)[MAX_STATIC])
{
	for (size_t i = 0; i < next->n_peers; i++)
		for (size_t j = 0; j < d->cfg->n_peers; j++) {
			if (memcmp(next->peers[i].pc.key, d->cfg->peers[j].pc.key, WIRE_KEY_LEN) ||
			    !same_endpoints(&next->peers[i], &d->cfg->peers[j]))
				continue;
			memcpy(resolved[i], d->resolved[j], sizeof(resolved[i]));
			peers[i].endpoints = resolved[i];
			peers[i].n_endpoints = d->peers[j].n_endpoints;
			break;
		}
}

/* The control socket was removed (a tidy-up of /run, say): without it
 * `status` finds no daemon. Made again; the old one is closed. */
static void reopen_control(struct daemon *d)
{
	char path[sizeof(d->ctl_path)];
	int fd = daemon_control_open(d, path, sizeof(path));
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	struct control_server *s =
		fd >= 0 && epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? control_server_new(fd, d->ep) : NULL;
	if (!s) {
		log_warnx("the control socket %s is gone and cannot be made again: %s", d->ctl_path,
			  strerror(fd < 0 ? -fd : errno ? errno : ENOMEM));
		if (fd >= 0) {
			epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
		}
		return;
	}
	control_server_free(d->ctl_server);
	epoll_ctl(d->ep, EPOLL_CTL_DEL, d->ctl, NULL);
	close(d->ctl);
	d->ctl = fd;
	d->ctl_server = s;
	log_info("made the control socket %s again (it was removed)", path);
}

/* SIGHUP: the configuration loaded again exactly as at start, applied
 * without touching links (peers, names, trust, endpoints, router, chatty,
 * the interface globs, the log level). A bad file keeps the old one. */
static void reload(struct daemon *d)
{
	struct config *next = calloc(1, sizeof(*next));
	char err[1024] = "out of memory";
	struct engine_config ec;
	struct peer_config *peers = NULL;
	struct peer_endpoint (*resolved)[MAX_STATIC] = NULL;
	if (d->ctl_path[0] && d->ctl >= 0 && access(d->ctl_path, F_OK) < 0 && errno == ENOENT)
		reopen_control(d);
	if (!next || config_load(d->argc, d->argv, d->env, next, err, sizeof(err)) != 0 ||
	    engine_config_from(next, &ec, &peers, &resolved) != 0 || engine_set_config(d->eng, &ec) != 0) {
		log_warnx("reload failed, keeping the configuration in use: %s", err);
		if (next)
			config_free(next);
		free(next);
		free(peers);
		free(resolved);
		return;
	}
	keep_fixed(d->cfg, next);
	carry_resolved(d, next, peers, resolved);
	free(d->peers);
	free(d->resolved);
	d->peers = peers;
	d->resolved = resolved;
	config_free(d->cfg);
	*d->cfg = *next; /* the heap parts the engine points to move along */
	free(next);
	d->next_resolve = 0;
	d->next_round = d->next_read = d->engine_due = 0;
	d->cfg_gen++;
	hosts_configure(d->hosts, d->cfg);
	log_set_level(d->cfg->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	log_info("reloaded %s: %zu peer%s configured, log level %s",
		 d->cfg->source[0] ? d->cfg->source : "the configuration (no file)", d->cfg->n_peers,
		 d->cfg->n_peers == 1 ? "" : "s", d->cfg->debug ? "debug" : "info");
}

/* After dropping to User:, a reload reads the file as that user: say at
 * once, with the fix, when it cannot (the file was read as root at start;
 * a reload then keeps the configuration in use). */
static void check_reloadable(const struct config *cfg)
{
	if (!cfg->source[0] || faccessat(AT_FDCWD, cfg->source, R_OK, AT_EACCESS) == 0)
		return;
	int err = errno;
	char dir[sizeof(cfg->source)] = ".";
	const char *slash = strrchr(cfg->source, '/');
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", slash == cfg->source ? 1 : (int)(slash - cfg->source),
			 cfg->source);
	const struct group *g = getgrgid(getegid());
	log_warnx("as %s, a reload cannot read %s (%s); until it can, SIGHUP keeps this configuration. "
		  "To allow it: chgrp %s %s %s; chmod g+r %s; chmod g+x %s",
		  cfg->user, cfg->source, strerror(err), g ? g->gr_name : cfg->user, dir, cfg->source,
		  cfg->source, dir);
}

int daemon_run(struct config *cfg, int argc, char **argv, char **env)
{
	struct daemon d = { .cfg = cfg, .argc = argc, .argv = argv, .env = env,
			    .sock = -1, .sfd = -1, .tfd = -1, .ep = -1, .ctl = -1, .armed = INT64_MIN,
			    .lock = -1, .rundir = -1, .state_dir = -1,
			    .xsock = { -1, -1, -1, -1 } };
	log_init();
	log_set_level(cfg->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	int status = 1;
	if (setup(&d) != 0)
		goto out;
	/* wireguard-go's socket is root's: the connection made now is kept
	 * (and as root too: a device read is then one request, not a new
	 * connection each time). */
	if (wg_backend_for(cfg->iface) == &wg_backend_userspace && wg_uapi_keep(cfg->iface) != 0 &&
	    cfg->user[0]) {
		log_errorx("%s: cannot reach the userspace WireGuard control socket", cfg->iface);
		goto out;
	}
	if (cfg->user[0] && service_drop_privileges(cfg->user) != 0)
		goto out;
	if (cfg->user[0])
		check_reloadable(cfg);
	d.next_round = clock_ms(CLOCK_MONOTONIC);
	d.watchdog_ms = service_watchdog_ms();
	d.next_watchdog = d.next_round;
	service_ready();
	bool woke = false; /* by something other than the timer */
	for (;;) {
		int64_t now = clock_ms(CLOCK_MONOTONIC);
		/* Awake anyway with a look due soon: take it now, one wake-up
		 * fewer. */
		bool early = woke && d.look_at - now <= IDLE_MS / 2 && d.next_round > now + COALESCE_MS;
		if ((now >= d.next_round || early) && !round_now(&d, now))
			goto out;
		if (d.watchdog_ms && now >= d.next_watchdog) {
			service_watchdog();
			d.next_watchdog = now + d.watchdog_ms;
		}
		arm(&d, now);
		struct epoll_event evs[16];
		int n = epoll_wait(d.ep, evs, 16, -1);
		now = clock_ms(CLOCK_MONOTONIC);
		woke = false;
		for (int i = 0; i < n; i++) {
			woke |= evs[i].data.fd != d.tfd;
			if (evs[i].data.fd == d.sock || factsock_is_extra(&d, evs[i].data.fd)) {
				factsock_receive(&d, now);
			} else if (d.watch && evs[i].data.fd == netif_watch_fd(d.watch)) {
				if (netif_watch_read(d.watch) != 0) {
					d.host_dirty = true;
					if (d.next_round > now + COALESCE_MS)
						d.next_round = now + COALESCE_MS;
				}
			} else if (evs[i].data.fd == d.tfd) {
				uint64_t x;
				d.armed = INT64_MIN;
				if (read(d.tfd, &x, sizeof(x)) < 0)
					continue;
			} else if (evs[i].data.fd == d.sfd) {
				struct signalfd_siginfo si;
				if (read(d.sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGUSR1) {
					log_state(&d);
					continue;
				}
				if (si.ssi_signo == SIGHUP) {
					reload(&d);
					continue;
				}
				if ((int)si.ssi_signo == SIGRTMIN) {
					take_resolved(&d, now);
					continue;
				}
				log_info("stopping on signal %u", si.ssi_signo);
				status = 0;
				goto out;
			} else {
				/* An operator looks: show a device read at most
				 * REFRESH_MS old. */
				if (now - d.read_at >= REFRESH_MS) {
					d.next_read = now;
					if (!round_now(&d, now))
						goto out;
				}
				struct control_view v = { cfg, d.dev, d.eng, crypto_identity_public(d.id),
							  d.port, now, clock_ms(CLOCK_REALTIME) / 1000,
							  &d.counters, factsock_peer_port, &d, d.hosts };
				control_server_event(d.ctl_server, evs[i].data.fd, &v, now);
			}
		}
		control_server_expire(d.ctl_server, clock_ms(CLOCK_MONOTONIC));
	}
out:
	service_stopping();
	teardown(&d);
	return status;
}
