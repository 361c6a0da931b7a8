/* Event loop and fact server: one UDP socket on our auto-address, signals
 * and a timer in one epoll set. A verified packet goes through the engine at
 * once; rounds that follow packets are coalesced for COALESCE_MS. */
#include "daemon.h"

#include "control.h"
#include "core/engine.h"
#include "core/trust.h"
#include "log.h"
#include "proto/autoaddr.h"
#include "proto/crypto.h"
#include "proto/pack.h"
#include "proto/text.h"
#include "sys/service.h"
#include "util/clockwatch.h"
#include "util/keys.h"
#include "wg/netif.h"
#include "wg/wg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* The device is re-read every IDLE_MS when all is quiet (so a vanished
 * interface is noticed within 5 s), every REFRESH_MS for ACTIVE_MS after any
 * news or change, and every FAST_MS for SETTLE_MS after we changed it
 * (handshakes and the next step then follow quickly). */
enum {
	COALESCE_MS = 20,
	IDLE_MS = 4000,
	REFRESH_MS = 1000,
	ACTIVE_MS = 30000,
	FAST_MS = 50,
	SETTLE_MS = 3000,
	RESOLVE_MS = 300000,
	MAX_STATIC = 16,
};

struct daemon {
	const struct config *cfg;
	struct peer_config *peers;
	struct wg_device *dev;
	struct netif_list *host;
	struct engine *eng;
	struct crypto_identity *id;
	struct crypto_cache *cache;
	int sock, sfd, tfd, ep, ctl;
	char ctl_path[128];
	int64_t watchdog_ms, next_watchdog;
	char status[128]; /* the last STATUS= sent */
	uint16_t port;
	int64_t next_round;
	int64_t settle_until; /* poll the device fast until then */
	int64_t active_until; /* poll it every second until then */
	int64_t host_read;    /* when d->host was read */
	struct netif_watch *watch; /* address and link notifications, or NULL */
	bool host_dirty;	   /* one came: read the host again now */
	struct log_ratelimit bad_log;
	struct clockwatch clocks;
	/* Each device peer's auto-address, sorted: built once per device read,
	 * so a received packet costs a binary search, not a SHA-1 per peer. */
	struct addr_entry {
		struct in6_addr addr;
		size_t peer; /* index into dev->peers */
	} *addrs;
	struct peer_endpoint (*resolved)[MAX_STATIC]; /* per config peer */
	int64_t next_resolve;
};

static int64_t clock_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *peer_label(const struct daemon *d, const uint8_t key[32], char buf[KEY_B64_LEN + 1])
{
	const char *name = engine_peer_name(d->eng, key);
	if (name)
		return name;
	key_to_base64(key, buf);
	buf[10] = '\0'; /* short key, as wg(8) users recognise it */
	return buf;
}

static void log_events(const struct daemon *d, const struct engine_round *r)
{
	for (size_t i = 0; i < r->n_events; i++) {
		char kb[KEY_B64_LEN + 1], text[128];
		unsigned ev = r->events[i].events;
		const char *who = peer_label(d, r->events[i].peer, kb);
		if (ev & 0xff)
			log_info("%s is now %s", who, peerstate_event_text(ev & 0xff, text, sizeof(text)));
		if (ev & ENGINE_EV_PEER_ADDED)
			log_info("adding peer %s", who);
		if (ev & ENGINE_EV_PEER_REMOVED)
			log_info("removing peer %s: no trusted source says it is a member", who);
		if (ev & ENGINE_EV_ENDPOINT_TRIED)
			log_debug("trying another endpoint for %s", who);
		if (ev & ENGINE_EV_NO_DIRECT)
			log_info("%s: no endpoint answered; staying via the router, retrying quietly", who);
		if (ev & ENGINE_EV_ALLOWEDIPS_MOVED)
			log_info("%s: allowed IPs moved onto the direct link", who);
		if (ev & ENGINE_EV_RESTRICTED)
			log_info("%s: direct link down, traffic falls back through the router", who);
	}
}

static int cmp_addr(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

/* Reads the device and host; false when the interface is gone. */
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

/* Reads the device (every round) and the host's interfaces (at most once
 * per REFRESH_MS: they change rarely, and rounds come every FAST_MS while
 * settling). */
static bool refresh(struct daemon *d, int64_t now)
{
	struct wg_device *dev = NULL;
	if (wg_get_device(d->cfg->iface, &dev) != 0) {
		log_warnx("%s", wg_last_error());
		return false;
	}
	if (!d->host || d->host_dirty || now - d->host_read >= REFRESH_MS) {
		struct netif_list *host = NULL;
		if (netif_list(&host) != 0)
			host = NULL;
		/* We moved (an address came or went): tell peers our new
		 * endpoints now and check every direct link from here. */
		if (d->host && host && !netif_list_same(d->host, host)) {
			log_info("host addresses changed: telling peers, checking direct links");
			engine_host_changed(d->eng);
			d->active_until = now + ACTIVE_MS;
		}
		d->host_dirty = false;
		netif_list_free(d->host);
		d->host = host;
		d->host_read = now;
	}
	engine_set_device(d->eng, dev, clock_ms(CLOCK_REALTIME));
	engine_set_host(d->eng, d->host);
	/* The auto-address table: rebuilt (a SHA-1 per peer) only when the
	 * peers changed. */
	if (!d->addrs || !same_peers(d->dev, dev)) {
		struct addr_entry *addrs = calloc(dev->n_peers + 1, sizeof(*addrs));
		for (size_t i = 0; addrs && i < dev->n_peers; i++) {
			autoaddr_from_key(dev->peers[i].public_key, &addrs[i].addr);
			addrs[i].peer = i;
		}
		if (addrs)
			qsort(addrs, dev->n_peers, sizeof(*addrs), cmp_addr);
		free(d->addrs);
		d->addrs = addrs; /* NULL (out of memory): packets are dropped until the next read */
	}
	wg_device_free(d->dev);
	d->dev = dev;
	return true;
}

struct send_ctx {
	struct daemon *d;
	struct sockaddr_in6 to;
};

static int send_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct send_ctx *c = arg;
	if (sendto(c->d->sock, pkt, len, 0, (struct sockaddr *)&c->to, sizeof(c->to)) < 0 &&
	    errno != EHOSTUNREACH && errno != ENETUNREACH && errno != EAGAIN && errno != ENOKEY)
		log_debug("send: %s", strerror(errno));
	return 0; /* unreachable peers are normal: not connected yet */
}

static void send_one(void *arg, const struct engine_send *s)
{
	struct daemon *d = arg;
	const uint8_t *shared = crypto_cache_get(d->cache, s->peer);
	if (shared) {
		struct send_ctx c = { d, { .sin6_family = AF_INET6, .sin6_port = htons(d->port),
					  .sin6_scope_id = d->dev->ifindex } };
		autoaddr_from_key(s->peer, &c.to.sin6_addr);
		struct pack_target t = { crypto_identity_public(d->id), shared, send_packet, &c };
		int packets = pack_facts(&t, s->facts, s->n, s->fill, s->n_fill);
		if (packets < 0) {
			log_debug("packing facts failed");
		} else if (packets > 0 && log_enabled(LOG_LEVEL_DEBUG)) {
			char kb[KEY_B64_LEN + 1];
			log_debug("sent %zu facts in %d packets to %s", s->n, packets,
				  peer_label(d, s->peer, kb));
		}
	}
}

/* Resolves one "host:port" (host may be [IPv6]) into global-unicast
 * endpoints; returns how many were added. */
static size_t resolve_one(const char *text, struct peer_endpoint *out, size_t room)
{
	char host[256];
	const char *colon = strrchr(text, ':'), *start = text;
	size_t hlen = colon ? (size_t)(colon - text) : 0;
	if (*text == '[' && hlen >= 2) {
		start++;
		hlen -= 2;
	}
	if (!colon || hlen == 0 || hlen >= sizeof(host))
		return 0;
	memcpy(host, start, hlen);
	host[hlen] = '\0';
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV }, *res = NULL;
	int err = getaddrinfo(host, colon + 1, &hints, &res);
	if (err) {
		log_warnx("cannot resolve static endpoint %s: %s", text, gai_strerror(err));
		return 0;
	}
	size_t n = 0;
	for (struct addrinfo *a = res; a && n < room; a = a->ai_next) {
		struct peer_endpoint *pe = &out[n];
		memset(pe, 0, sizeof(*pe));
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)a->ai_addr;
			pe->attr = WIRE_ENDPOINT_V4;
			memcpy(pe->ep.addr, &sin->sin_addr, 4);
			pe->ep.port = ntohs(sin->sin_port);
		} else if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)a->ai_addr;
			pe->attr = WIRE_ENDPOINT_V6;
			memcpy(pe->ep.addr, &sin6->sin6_addr, 16);
			pe->ep.port = ntohs(sin6->sin6_port);
		} else {
			continue;
		}
		if (trust_is_global_unicast(a->ai_family, pe->ep.addr))
			n++;
	}
	freeaddrinfo(res);
	return n;
}

/* Static endpoints from the config file, looked up again every few minutes.
 * getaddrinfo blocks; it runs rarely and only for configured names. */
static void resolve_static(struct daemon *d, int64_t now)
{
	if (now < d->next_resolve)
		return;
	d->next_resolve = now + RESOLVE_MS;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		const struct config_peer *cp = &d->cfg->peers[i];
		size_t n = 0;
		for (size_t k = 0; k < cp->n_endpoints && n < MAX_STATIC; k++)
			n += resolve_one(cp->endpoints[k], d->resolved[i] + n, MAX_STATIC - n);
		d->peers[i].endpoints = d->resolved[i];
		d->peers[i].n_endpoints = n;
	}
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
}

/* STATUS= for the service manager, when the summary changed. */
static void report_status(struct daemon *d)
{
	size_t healthy, direct;
	control_count(d->eng, d->dev, &healthy, &direct);
	char text[sizeof(d->status)];
	snprintf(text, sizeof(text), "%s on %s: %zu peers, %zu healthy, %zu direct, %zu facts",
		 engine_is_router(d->eng) ? "router" : "leaf", d->cfg->iface, d->dev->n_peers, healthy,
		 direct, engine_fact_count(d->eng));
	if (strcmp(text, d->status)) {
		memcpy(d->status, text, sizeof(text));
		service_status(text);
	}
}

static bool round_now(struct daemon *d, int64_t now)
{
	watch_clocks(d);
	resolve_static(d, now);
	if (!refresh(d, now))
		return false;
	struct engine_round r;
	if (engine_decide(d->eng, now, &r) != 0) {
		log_warnx("out of memory in a round");
		return true;
	}
	log_events(d, &r);
	if (r.change.n_peers && wg_set_device(d->cfg->iface, &r.change) != 0)
		log_warnx("%s", wg_last_error());
	if (r.change.n_peers)
		d->settle_until = now + SETTLE_MS;
	if (r.change.n_peers || r.n_events)
		d->active_until = now + ACTIVE_MS;
	engine_round_free(&r);
	if (engine_send(d->eng, now, send_one, d) != 0)
		log_warnx("out of memory while sending facts");
	report_status(d);
	d->next_round = engine_next_deadline(d->eng, now);
	/* Handshakes change without telling us: poll, fast while settling. */
	int64_t poll = now < d->settle_until ? FAST_MS : now < d->active_until ? REFRESH_MS : IDLE_MS;
	if (d->next_round > now + poll)
		d->next_round = now + poll;
	return true;
}

static void arm(struct daemon *d, int64_t now)
{
	int64_t wait = d->next_round > now ? d->next_round - now : 1;
	struct itimerspec its = { .it_value = { wait / 1000, (wait % 1000) * 1000000 } };
	timerfd_settime(d->tfd, 0, &its, NULL);
}

static const struct wg_peer *peer_by_addr(const struct daemon *d, const struct in6_addr *a)
{
	const struct addr_entry *e =
		d->addrs ? bsearch(a, d->addrs, d->dev->n_peers, sizeof(*d->addrs), cmp_addr) : NULL;
	return e ? &d->dev->peers[e->peer] : NULL;
}

static void bad_packet(struct daemon *d, const char *why, const struct sockaddr_in6 *from)
{
	uint64_t suppressed = 0;
	if (!log_ratelimit_allow(&d->bad_log, clock_ms(CLOCK_MONOTONIC), &suppressed))
		return;
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &from->sin6_addr, a, sizeof(a));
	log_warnx("dropped a packet from %s: %s%s", a, why, suppressed ? " (and others not logged)" : "");
}

static void receive(struct daemon *d, int64_t now)
{
	uint8_t buf[WIRE_RECV_BUF];
	struct sockaddr_in6 from;
	for (int burst = 0; burst < 64; burst++) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(d->sock, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		/* Cheap checks before any crypto: a current peer's auto-address,
		 * signed by that same peer. */
		const struct wg_peer *p = peer_by_addr(d, &from.sin6_addr);
		struct wire_fact g;
		enum wire_err err;
		if (!p) {
			bad_packet(d, "not from a current peer's auto-address", &from);
			continue;
		}
		if ((err = wire_decode_group_outer(buf, (size_t)n, &g)) != WIRE_OK) {
			bad_packet(d, wire_strerror(err), &from);
			continue;
		}
		if (memcmp(g.subject, p->public_key, WIRE_KEY_LEN) != 0) {
			bad_packet(d, "signer is not the peer it came from", &from);
			continue;
		}
		const uint8_t *shared = crypto_cache_get(d->cache, g.subject);
		if (!shared || !crypto_group_verify(shared, &g.v.group)) {
			bad_packet(d, "bad tag", &from);
			continue;
		}
		struct wire_fact facts[WIRE_RECV_BUF / 34];
		struct wire_inner_iter it;
		size_t k = 0;
		wire_inner_begin(&it, &g.v.group.inner);
		while (k < sizeof(facts) / sizeof(facts[0]) && wire_inner_next(&it, &facts[k]))
			k++;
		if (it.err) {
			bad_packet(d, wire_strerror(it.err), &from);
			continue;
		}
		int accepted = engine_receive(d->eng, g.subject, facts, k, now);
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char kb[KEY_B64_LEN + 1];
			log_debug("received %zu facts from %s, %d new or renewed", k,
				  peer_label(d, g.subject, kb), accepted);
		}
		if (accepted > 0 && d->next_round > now + COALESCE_MS)
			d->next_round = now + COALESCE_MS; /* act on news promptly */
		if (accepted > 0)
			d->active_until = now + ACTIVE_MS;
	}
}

static int open_socket(struct daemon *d)
{
	struct in6_addr self;
	autoaddr_from_key(crypto_identity_public(d->id), &self);
	int err = netif_add_addr6(d->dev->ifindex, &self, 64);
	if (err) {
		log_warnx("%s: cannot add %s/64: %s", d->cfg->iface, "auto-address", strerror(-err));
		return err;
	}
	d->sock = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->sock < 0)
		return -errno;
	int one = 1;
	/* The address was added without DAD, so it is usable at once; FREEBIND
	 * covers kernels that still mark it tentative for a moment. */
	setsockopt(d->sock, SOL_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(d->port),
				   .sin6_addr = self, .sin6_scope_id = d->dev->ifindex };
	if (bind(d->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		log_warn("%s: cannot bind the fact port %u", d->cfg->iface, d->port);
		return err;
	}
	return 0;
}

static int setup(struct daemon *d)
{
	if (crypto_init() != 0)
		return -EIO;
	if (wg_get_device(d->cfg->iface, &d->dev) != 0) {
		log_warnx("%s", wg_last_error());
		return -ENODEV;
	}
	if (!d->dev->has_private_key) {
		log_warnx("%s: the interface has no private key yet", d->cfg->iface);
		return -ENOKEY;
	}
	if (crypto_identity_new(d->dev->private_key, &d->id) || !(d->cache = crypto_cache_new(d->id)))
		return -ENOMEM;
	d->port = d->cfg->port ? (uint16_t)d->cfg->port : (uint16_t)(d->dev->listen_port + 1);
	d->peers = calloc(d->cfg->n_peers + 1, sizeof(*d->peers));
	d->resolved = calloc(d->cfg->n_peers + 1, sizeof(*d->resolved));
	if (!d->resolved)
		return -ENOMEM;
	for (size_t i = 0; d->peers && i < d->cfg->n_peers; i++)
		d->peers[i] = d->cfg->peers[i].pc; /* endpoints: resolved in each round */
	struct engine_config ec = {
		.peers = d->peers, .n_peers = d->cfg->n_peers, .router = d->cfg->router,
		.chatty = d->cfg->chatty, .report_ifaces = (const char *const *)d->cfg->report_ifaces,
		.hide_ifaces = (const char *const *)d->cfg->hide_ifaces, .random = crypto_random,
	};
	int64_t now = clock_ms(CLOCK_MONOTONIC);
	if (!d->peers || !(d->eng = engine_new(&ec, crypto_identity_public(d->id), now)))
		return -ENOMEM;
	int err = open_socket(d);
	if (err)
		return err;
	d->ctl = control_open(d->cfg->iface, d->cfg->control_group, d->ctl_path, sizeof(d->ctl_path));
	if (d->ctl < 0) {
		log_warnx("no control socket %s: %s", d->ctl_path,
			  d->ctl == -ESRCH ? "no such group" : strerror(-d->ctl));
		if (d->ctl == -ESRCH)
			return d->ctl;
		d->ctl_path[0] = '\0';
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->sfd < 0 || d->tfd < 0 || d->ep < 0)
		return -errno;
	/* Without notifications the host is still re-read every round. */
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
	engine_set_device(d->eng, d->dev, clock_ms(CLOCK_REALTIME));
	bool router = engine_is_router(d->eng);
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr self;
	autoaddr_from_key(crypto_identity_public(d->id), &self);
	inet_ntop(AF_INET6, &self, addr, sizeof(addr));
	log_info("wirelink %s on %s (%s WireGuard): facts on [%s%%%s]:%u, %s (%s), %s", WIRELINK_VERSION,
		 d->cfg->iface, wg_backend_for(d->cfg->iface) == &wg_backend_userspace ? "userspace" : "kernel",
		 addr, d->cfg->iface, d->port, router ? "router" : "leaf",
		 d->cfg->router < 0 ? "detected" : "configured", d->cfg->chatty ? "chatty" : "quiet");
	d->bad_log = (struct log_ratelimit){ .per_sec = 1, .burst = 5 };
	return 0;
}

static void teardown(struct daemon *d)
{
	engine_free(d->eng);
	crypto_cache_free(d->cache);
	crypto_identity_free(d->id);
	wg_device_free(d->dev);
	netif_list_free(d->host);
	free(d->peers);
	free(d->resolved);
	free(d->addrs);
	netif_watch_close(d->watch);
	int fds[5] = { d->sock, d->sfd, d->tfd, d->ep, d->ctl };
	for (int i = 0; i < 5; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (d->ctl_path[0])
		unlink(d->ctl_path); /* fails harmlessly after dropping root */
}

struct fact_log {
	const struct daemon *d;
	int64_t now;
};

/* One fact as a log line: its canonical text with the TTL left. */
static void log_fact(void *arg, const struct fact *f)
{
	const struct fact_log *fl = arg;
	struct wire_fact w;
	fact_to_wire(f, fl->now, &w);
	char *text = text_fact_string(&w, false);
	if (text)
		log_info("fact %s", text);
	free(text);
}

static void log_state(const struct daemon *d)
{
	struct fact_log fl = { d, clock_ms(CLOCK_MONOTONIC) };
	engine_each_fact(d->eng, log_fact, &fl);
	for (size_t i = 0; d->dev && i < d->dev->n_peers; i++) {
		const struct peerstate *ps = engine_peer(d->eng, d->dev->peers[i].public_key);
		char kb[KEY_B64_LEN + 1];
		log_info("peer %s: %s, %s", peer_label(d, d->dev->peers[i].public_key, kb),
			 ps && ps->healthy ? "healthy" : "unhealthy", ps && ps->alive ? "alive" : "not alive");
	}
	log_info("%zu facts known", engine_fact_count(d->eng));
}

int daemon_run(const struct config *cfg)
{
	struct daemon d = { .cfg = cfg, .sock = -1, .sfd = -1, .tfd = -1, .ep = -1, .ctl = -1 };
	log_set_level(cfg->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	int status = 1;
	if (setup(&d) != 0)
		goto out;
	if (cfg->user[0] &&
	    service_drop_privileges(cfg->user, wg_backend_for(cfg->iface) == &wg_backend_userspace) != 0)
		goto out;
	d.next_round = clock_ms(CLOCK_MONOTONIC);
	d.watchdog_ms = service_watchdog_ms();
	d.next_watchdog = d.next_round;
	service_ready();
	for (;;) {
		int64_t now = clock_ms(CLOCK_MONOTONIC);
		if (now >= d.next_round && !round_now(&d, now)) {
			log_warnx("%s: the interface is gone; exiting", cfg->iface);
			goto out;
		}
		if (d.watchdog_ms && now >= d.next_watchdog) {
			service_watchdog();
			d.next_watchdog = now + d.watchdog_ms;
		}
		arm(&d, now);
		struct epoll_event evs[5];
		int n = epoll_wait(d.ep, evs, 5, -1);
		now = clock_ms(CLOCK_MONOTONIC);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == d.sock) {
				receive(&d, now);
			} else if (evs[i].data.fd == d.ctl) {
				struct control_view v = { cfg, d.dev, d.eng, crypto_identity_public(d.id),
							  d.port, now };
				control_serve(d.ctl, &v);
			} else if (d.watch && evs[i].data.fd == netif_watch_fd(d.watch)) {
				if (netif_watch_read(d.watch) != 0) {
					d.host_dirty = true;
					if (d.next_round > now + COALESCE_MS)
						d.next_round = now + COALESCE_MS;
				}
			} else if (evs[i].data.fd == d.tfd) {
				uint64_t x;
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
				log_info("stopping on signal %u", si.ssi_signo);
				status = 0;
				goto out;
			}
		}
	}
out:
	service_stopping();
	teardown(&d);
	return status;
}
