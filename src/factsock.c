/* The fact sockets: one on our auto-address and fact port, and a few
 * extra ones for peers that send only to their own port number (the
 * original's rule). Received packets are checked cheaply, verified and
 * handed to the engine; each peer's facts go where its daemon listens,
 * learned from its packets (core/factport.h). */
#include "daemon_int.h"

#include "core/knowledge.h"
#include "proto/autoaddr.h"
#include "proto/pack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int factsock_cmp_addr(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

static struct addr_entry *entry_by_addr(const struct daemon *d, const struct in6_addr *a)
{
	return d->addrs ? bsearch(a, d->addrs, d->dev->n_peers, sizeof(*d->addrs), factsock_cmp_addr) : NULL;
}

static struct addr_entry *entry_by_key(const struct daemon *d, const uint8_t key[WIRE_KEY_LEN])
{
	struct in6_addr a;
	autoaddr_from_key(key, &a);
	return entry_by_addr(d, &a);
}

/* A rebuilt auto-address table keeps what we learned of each peer's fact
 * port (both tables are sorted by address). */
void factsock_keep_ports(const struct daemon *d, struct addr_entry *next, size_t n)
{
	for (size_t i = 0; d->addrs && i < n; i++) {
		const struct addr_entry *old =
			bsearch(&next[i].addr, d->addrs, d->dev->n_peers, sizeof(*d->addrs), factsock_cmp_addr);
		if (old)
			next[i].fp = old->fp;
	}
}

struct send_ctx {
	struct daemon *d;
	struct sockaddr_in6 to;
	uint16_t ports[FACTPORT_TARGETS]; /* each packet goes to each */
	size_t n_ports;
};

static int send_packet(void *arg, const uint8_t *pkt, size_t len)
{
	struct send_ctx *c = arg;
	for (size_t i = 0; i < c->n_ports; i++) {
		c->to.sin6_port = htons(c->ports[i]);
		ssize_t n = sendto(c->d->sock, pkt, len, 0, (struct sockaddr *)&c->to, sizeof(c->to));
		if (n < 0 && errno != EHOSTUNREACH && errno != ENETUNREACH && errno != EAGAIN &&
		    errno != ENOKEY)
			log_debug("send: %s", strerror(errno));
		if (n > 0) {
			c->d->counters.packets_out++;
			c->d->counters.bytes_out += (uint64_t)n;
		}
	}
	return 0; /* unreachable peers are normal: not connected yet */
}

/* Where a peer's facts go (addr: its auto-address): its learned fact
 * port, or our guesses. */
static size_t send_ports(const struct daemon *d, const struct in6_addr *addr, int64_t now,
			 uint16_t out[static FACTPORT_TARGETS])
{
	const struct addr_entry *e = entry_by_addr(d, addr);
	if (!e) {
		out[0] = d->port;
		return 1;
	}
	return factport_targets(&e->fp, d->port, &d->dev->peers[e->peer].endpoint, now, out);
}

void factsock_send_one(void *arg, const struct engine_send *s)
{
	struct daemon *d = arg;
	const uint8_t *shared = crypto_cache_get(d->cache, s->peer);
	if (shared) {
		struct send_ctx c = { d, { .sin6_family = AF_INET6, .sin6_scope_id = d->dev->ifindex }, { 0 }, 0 };
		autoaddr_from_key(s->peer, &c.to.sin6_addr);
		c.n_ports = send_ports(d, &c.to.sin6_addr, d->send_now, c.ports);
		struct pack_target t = { crypto_identity_public(d->id), shared, send_packet, &c };
		int packets = pack_fact_refs(&t, s->facts, s->n, s->fill, s->n_fill);
		if (packets < 0) {
			log_debug("packing facts failed");
		} else if (packets > 0 && log_enabled(LOG_LEVEL_DEBUG)) {
			char kb[KEY_B64_LEN + 1];
			log_debug("sent %zu facts in %d packets to %s", s->n, packets,
				  daemon_peer_label(d, s->peer, kb));
		}
	}
}

/* Once per silence: a peer's WireGuard handshake is fresh, but its daemon
 * sends us no fact packets (factport_check_silent; the status why-line
 * says the same while it lasts). */
void factsock_check_silent(struct daemon *d, int64_t now)
{
	for (size_t i = 0; d->addrs && i < d->dev->n_peers; i++) {
		struct addr_entry *e = &d->addrs[i];
		const struct wg_peer *p = &d->dev->peers[e->peer];
		const struct peerstate *ps = engine_peer(d->eng, p->public_key);
		int64_t ms;
		if (!factport_check_silent(&e->fp, ps && ps->healthy && !ps->basic, p->last_handshake_sec, now,
					   &ms))
			continue;
		char kb[KEY_B64_LEN + 1];
		log_warnx("%s: WireGuard handshake is fresh, but no wirelink fact packet came from it for %lld s "
			  "(another wirelink port there? a firewall dropping UDP to port %u inside the tunnel? "
			  "no wirelink running there?)",
			  daemon_peer_label(d, p->public_key, kb), (long long)(ms / 1000), d->port);
	}
}

/* For status: what we know of a peer's fact port (control.h). */
const struct factport *factsock_peer_port(const void *arg, const uint8_t key[WIRE_KEY_LEN])
{
	const struct addr_entry *e = entry_by_key(arg, key);
	return e ? &e->fp : NULL;
}

static void bad_packet(struct daemon *d, enum control_drop reason, const char *why,
		       const struct sockaddr_in6 *from)
{
	uint64_t suppressed = 0;
	d->counters.dropped[reason]++;
	if (!log_ratelimit_allow(&d->bad_log, clock_ms(CLOCK_MONOTONIC), &suppressed))
		return;
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &from->sin6_addr, a, sizeof(a));
	log_warnx("dropped a packet from %s: %s%s", a, why, suppressed ? " (and others not logged)" : "");
}

/* Takes what is pending on one fact socket (ours on port `port`). */
/* A peer named as silent sends again. Its packets were lost (a firewall, a
 * wrong port) while its daemon believed we had them: when it is a router
 * (it tells us who is in the network), a new boot id makes peers re-send
 * what we missed now rather than in minutes; at most once per FactTTL, so
 * that a peer cannot make us do it over and over. */
static void heard_again(struct daemon *d, const struct wg_peer *p, int64_t now, uint16_t from)
{
	char kb[KEY_B64_LEN + 1];
	bool renew = engine_peer_is_router(d->eng, p) &&
		     (!d->silence_boot_at || now - d->silence_boot_at >= FACT_TTL_MS);
	log_info("%s: fact packets arrive again (from port %u)%s", daemon_peer_label(d, p->public_key, kb), from,
		 renew ? "; taking a new boot id so that peers re-send what we missed" : "");
	if (!renew)
		return;
	d->silence_boot_at = now;
	engine_new_boot_id(d->eng);
	d->engine_due = now;
	if (d->next_round > now)
		d->next_round = now;
}

static void receive_on(struct daemon *d, int sock, uint16_t port, int64_t now)
{
	uint8_t buf[WIRE_RECV_BUF];
	struct sockaddr_in6 from;
	for (int burst = 0; burst < 64; burst++) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(sock, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		d->counters.packets_in++;
		d->counters.bytes_in += (uint64_t)n;
		/* Cheap checks before any crypto: a current peer's auto-address,
		 * signed by that same peer. */
		struct addr_entry *e = entry_by_addr(d, &from.sin6_addr);
		const struct wg_peer *p = e ? &d->dev->peers[e->peer] : NULL;
		struct wire_fact g;
		enum wire_err err;
		if (p)
			engine_fact_packet(d->eng, p->public_key, (size_t)n);
		if (!p) {
			/* Perhaps a peer added since the last read: read again
			 * soon (at most once per REFRESH_MS, floods included). */
			if (d->next_read > d->read_at + REFRESH_MS) {
				d->next_read = d->read_at + REFRESH_MS;
				if (d->next_round > d->next_read)
					d->next_round = d->next_read;
			}
			bad_packet(d, DROP_NOT_PEER, "not from a current peer's auto-address", &from);
			continue;
		}
		if ((err = wire_decode_group_outer(buf, (size_t)n, &g)) != WIRE_OK) {
			bad_packet(d, DROP_MALFORMED, wire_strerror(err), &from);
			continue;
		}
		if (memcmp(g.subject, p->public_key, WIRE_KEY_LEN) != 0) {
			bad_packet(d, DROP_WRONG_SIGNER, "signer is not the peer it came from", &from);
			continue;
		}
		const uint8_t *shared = crypto_cache_get(d->cache, g.subject);
		if (!shared || !crypto_group_verify(shared, &g.v.group)) {
			bad_packet(d, DROP_BAD_TAG, "bad tag", &from);
			continue;
		}
		if (factport_heard(&e->fp, ntohs(from.sin6_port), port, now))
			heard_again(d, p, now, ntohs(from.sin6_port));
		struct wire_fact facts[WIRE_RECV_BUF / 34];
		struct wire_inner_iter it;
		size_t k = 0;
		wire_inner_begin(&it, &g.v.group.inner);
		while (k < sizeof(facts) / sizeof(facts[0]) && wire_inner_next(&it, &facts[k]))
			k++;
		if (it.err) {
			bad_packet(d, DROP_MALFORMED, wire_strerror(it.err), &from);
			continue;
		}
		int accepted = engine_receive(d->eng, g.subject, facts, k, now);
		if (log_enabled(LOG_LEVEL_DEBUG)) {
			char kb[KEY_B64_LEN + 1];
			log_debug("received %zu facts from %s, %d new or renewed", k,
				  daemon_peer_label(d, g.subject, kb), accepted);
		}
		if (accepted > 0 && d->next_round > now + COALESCE_MS)
			d->next_round = d->engine_due = now + COALESCE_MS; /* act on news promptly */
		if (accepted > 0) {
			d->active_until = now + ACTIVE_MS;
			d->next_read = now; /* the handshake that carried it, at once */
		}
	}
}

bool factsock_is_extra(const struct daemon *d, int fd)
{
	for (int i = 0; i < FACTPORT_EXTRA; i++)
		if (d->xsock[i] == fd)
			return true;
	return false;
}

void factsock_receive(struct daemon *d, int64_t now)
{
	receive_on(d, d->sock, d->port, now);
	for (int i = 0; i < FACTPORT_EXTRA; i++)
		if (d->xsock[i] >= 0)
			receive_on(d, d->xsock[i], d->xport[i], now);
}

/* A UDP socket on our auto-address and port, or -errno. */
static int bind_fact_socket(const struct daemon *d, uint16_t port)
{
	struct in6_addr self;
	autoaddr_from_key(crypto_identity_public(d->id), &self);
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	int one = 1;
	/* The address was added without DAD, so it is usable at once; FREEBIND
	 * covers kernels that still mark it tentative for a moment. */
	setsockopt(s, SOL_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = self, .sin6_scope_id = d->dev->ifindex };
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(s);
		return err;
	}
	return s;
}

static bool want_port(const uint16_t *ports, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* Whether binding port failed lately (then it is not tried again for
 * EXTRA_RETRY_MS); with fail, records a failure. */
static bool extra_failed(struct daemon *d, uint16_t port, int64_t now, bool fail)
{
	size_t oldest = 0;
	for (size_t i = 0; i < sizeof(d->xfail) / sizeof(d->xfail[0]); i++) {
		if (d->xfail[i].port == port && now < d->xfail[i].until && !fail)
			return true;
		if (d->xfail[i].until < d->xfail[oldest].until)
			oldest = i;
	}
	if (fail)
		d->xfail[oldest].port = port, d->xfail[oldest].until = now + EXTRA_RETRY_MS;
	return false;
}

/* The extra fact ports (factport_extra), of peers whose handshake is fresh
 * and that run wirelink as far as we know: routers first, FACTPORT_EXTRA
 * at most. */
static size_t wanted_extra(struct daemon *d, int64_t now, uint16_t want[static FACTPORT_EXTRA])
{
	size_t n = 0;
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < d->dev->n_peers && n < FACTPORT_EXTRA; i++) {
			const struct addr_entry *e = &d->addrs[i];
			const struct wg_peer *p = &d->dev->peers[e->peer];
			uint16_t port = factport_extra(&e->fp, d->port, &p->endpoint, now);
			if (!port || want_port(want, n, port) || engine_peer_is_router(d->eng, p) != (pass == 0))
				continue;
			const struct peerstate *ps = engine_peer(d->eng, p->public_key);
			if (ps && ps->healthy && !ps->basic && !extra_failed(d, port, now, false))
				want[n++] = port;
		}
	return n;
}

/* Opens and closes the extra fact sockets to match wanted_extra. */
void factsock_listen_extra(struct daemon *d)
{
	uint16_t want[FACTPORT_EXTRA];
	size_t n = d->addrs ? wanted_extra(d, d->read_at, want) : 0;
	for (int i = 0; i < FACTPORT_EXTRA; i++) {
		if (d->xsock[i] < 0 || want_port(want, n, d->xport[i]))
			continue;
		receive_on(d, d->xsock[i], d->xport[i], d->read_at);
		close(d->xsock[i]); /* epoll forgets a closed socket */
		d->xsock[i] = -1;
		log_debug("%s: no longer listening for facts on port %u", d->cfg->iface, d->xport[i]);
	}
	for (size_t k = 0; k < n; k++) {
		int free_slot = -1;
		bool open = false;
		for (int i = 0; i < FACTPORT_EXTRA; i++) {
			open |= d->xsock[i] >= 0 && d->xport[i] == want[k];
			if (d->xsock[i] < 0 && free_slot < 0)
				free_slot = i;
		}
		if (open || free_slot < 0)
			continue;
		int s = bind_fact_socket(d, want[k]);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = s };
		if (s >= 0 && epoll_ctl(d->ep, EPOLL_CTL_ADD, s, &ev) < 0) {
			int err = -errno;
			close(s);
			s = err;
		}
		if (s < 0) {
			extra_failed(d, want[k], d->read_at, true);
			log_info("%s: cannot also listen for facts on port %u (%s); a peer that sends only to "
				 "its own port number may not reach us", d->cfg->iface, want[k], strerror(-s));
			continue;
		}
		d->xsock[free_slot] = s;
		d->xport[free_slot] = want[k];
		log_debug("%s: also listening for facts on port %u (a peer's endpoint implies it)",
			  d->cfg->iface, want[k]);
	}
}

void factsock_keep_addr(struct daemon *d, const struct netif_list *host)
{
	const struct netif *me = d->sock >= 0 && d->dev ? netif_find(host, d->cfg->iface) : NULL;
	if (!me || !me->up)
		return;
	struct in6_addr self;
	autoaddr_from_key(crypto_identity_public(d->id), &self);
	for (size_t i = 0; i < me->n_addrs; i++)
		if (me->addrs[i].family == AF_INET6 && memcmp(&me->addrs[i].ip6, &self, sizeof(self)) == 0)
			return;
	char a[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &self, a, sizeof(a));
	int err = netif_add_addr6(d->dev->ifindex, &self, 64);
	if (err)
		log_warnx("%s: the auto-address %s is gone and cannot be added again: %s", d->cfg->iface, a,
			  strerror(-err));
	else
		log_info("%s: the auto-address %s was gone (the interface went down?): added it again",
			 d->cfg->iface, a);
}

int factsock_open(struct daemon *d)
{
	struct in6_addr self;
	autoaddr_from_key(crypto_identity_public(d->id), &self);
	int err = netif_add_addr6(d->dev->ifindex, &self, 64);
	if (err) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &self, a, sizeof(a));
		log_errorx("%s: cannot add the auto-address %s/64: %s", d->cfg->iface, a, strerror(-err));
		return err;
	}
	d->sock = bind_fact_socket(d, d->port);
	if (d->sock < 0) {
		err = d->sock;
		log_errorx("%s: cannot bind the fact port %u: %s", d->cfg->iface, d->port, strerror(-err));
		return err;
	}
	return 0;
}
