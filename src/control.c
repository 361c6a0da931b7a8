/* Control socket: requests in, JSON out (jansson). */
#include "control.h"
#include "core/factport.h"

#include "core/facts.h"
#include "core/knowledge.h"
#include "core/trust.h"
#include "hosts.h"
#include "log.h"
#include "proto/autoaddr.h"
#include "proto/text.h"
#include "util/keys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int control_open(int dirfd, const char *name, const char *group, char *path, size_t pathlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char file[RUNDIR_NAME_MAX + 8];
	snprintf(file, sizeof(file), "%s.sock", name);
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", CONTROL_DIR, file);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(path, pathlen, "%s", sa.sun_path);
	gid_t gid = (gid_t)-1;
	if (group && *group) {
		struct group *g = getgrnam(group);
		if (!g)
			return -ESRCH;
		gid = g->gr_gid;
	}
	if (dirfd < 0)
		return -EBADF;
	/* A live daemon's socket is never taken over; a killed one's is. */
	int err = rundir_clear_socket(dirfd, file, sa.sun_path);
	if (err)
		return err;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* The mode comes from the umask at bind (nothing to chmod, through a
	 * link or not); the group is set on the socket itself, never through
	 * a symlink. The directory was checked (rundir_open): only root
	 * makes entries in it. */
	mode_t old = umask(gid != (gid_t)-1 ? 0117 : 0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (!err && gid != (gid_t)-1 && fchownat(dirfd, file, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0)
		err = -errno;
	if (!err && listen(fd, 8) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* The pid written in a lock file, 0 when there is none yet. */
static long lock_holder(int fd)
{
	char buf[24] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	return n > 0 ? strtol(buf, NULL, 10) : 0;
}

int control_lock(int dirfd, const char *name, char *path, size_t pathlen, long *holder)
{
	*holder = 0;
	char file[RUNDIR_NAME_MAX + 8];
	snprintf(file, sizeof(file), "%s.lock", name);
	int n = snprintf(path, pathlen, "%s/%s", CONTROL_DIR, file);
	if (n < 0 || (size_t)n >= pathlen)
		return -ENAMETOOLONG;
	if (dirfd < 0)
		return -EBADF;
	/* A daemon on its way out removes its lock file: the one we locked
	 * must still be the one at path, or a third daemon could lock a new
	 * file beside us. Retry a few times on such a race. */
	for (int tries = 0; tries < 5; tries++) {
		int fd = openat(dirfd, file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int err = -errno;
			if (err == -EWOULDBLOCK)
				*holder = lock_holder(fd);
			close(fd);
			return err;
		}
		struct stat locked, named;
		if (fstat(fd, &locked) == 0 && fstatat(dirfd, file, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
		    locked.st_ino == named.st_ino && locked.st_dev == named.st_dev) {
			char pid[24];
			int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
			/* Without the pid the lock still holds; only another
			 * daemon's message loses it. */
			if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len)
				log_debug("%s: cannot write our pid", path);
			return fd;
		}
		close(fd);
	}
	return -EAGAIN;
}

static json_t *key_json(const uint8_t key[static 32])
{
	char b64[KEY_B64_LEN + 1];
	key_to_base64(key, b64);
	return json_string(b64);
}

static json_t *fact_text(const struct wire_fact *f)
{
	char *text = text_fact_string(f, true);
	json_t *j = text ? json_string(text) : NULL;
	free(text);
	return j ? j : json_null();
}

/* How we reach a peer: it is a router, or healthy (direct), or not. */
static const char *link_of(const struct engine *e, const struct wg_peer *p, const struct peerstate *ps)
{
	return engine_peer_is_router(e, p) ? "router" : ps && ps->healthy ? "direct" : "via-router";
}

void control_count(const struct engine *eng, const struct wg_device *dev, size_t *healthy,
		   size_t *direct)
{
	*healthy = *direct = 0;
	for (size_t i = 0; dev && i < dev->n_peers; i++) {
		const struct peerstate *ps = engine_peer(eng, dev->peers[i].public_key);
		*healthy += ps && ps->healthy;
		*direct += !strcmp(link_of(eng, &dev->peers[i], ps), "direct");
	}
}

const char *control_attr_name(uint8_t attr)
{
	switch (attr) {
	case WIRE_ALIVE: return "alive";
	case WIRE_ENDPOINT_V4: case WIRE_ENDPOINT_V6: return "endpoint";
	case WIRE_CIDR_V4: case WIRE_CIDR_V6: return "allowed-ip";
	case WIRE_MEMBER: return "member";
	case WIRE_MEMBER_META: return "member-metadata";
	default: return "unknown";
	}
}

static json_t *name_json(const struct control_view *v, const uint8_t key[static 32])
{
	if (!memcmp(key, v->self, 32))
		return json_string("(self)");
	const char *name = engine_peer_name(v->eng, key);
	return name ? json_string(name) : json_null();
}

static void count_local(void *arg, const struct wire_fact *f)
{
	(void)f;
	++*(size_t *)arg;
}

size_t control_local_facts(const struct engine *eng)
{
	size_t n = 0;
	engine_each_local_fact(eng, count_local, &n);
	return n;
}

/* ---- status ---- */

struct candidates {
	json_t *list;
	const struct peerstate *ps;
	int64_t now;
	const struct netif_list *host;
};

static void add_candidate(void *arg, const struct fact *f)
{
	struct candidates *c = arg;
	if (f->f.attr != WIRE_ENDPOINT_V4 && f->f.attr != WIRE_ENDPOINT_V6)
		return;
	json_t *o = json_object();
	json_object_set_new(o, "endpoint", fact_text(&f->f));
	json_t *ago = json_null();
	for (size_t i = 0; c->ps && i < c->ps->n_tried; i++)
		if (c->ps->tried[i].e.attr == f->f.attr &&
		    !memcmp(&c->ps->tried[i].e.ep, &f->f.v.endpoint, sizeof(f->f.v.endpoint))) {
			json_decref(ago);
			ago = json_integer((c->now - c->ps->tried[i].at) / 1000);
		}
	json_object_set_new(o, "last_tried_seconds_ago", ago);
	/* Its last try's result and how it ranks (field topologies). */
	struct peer_endpoint pe = { .attr = f->f.attr, .ep = f->f.v.endpoint };
	static const char *const results[] = { "trying", "answered", "unanswered" };
	int64_t at;
	enum try_result r;
	json_object_set_new(o, "result",
			    c->ps && peerstate_tried(c->ps, &pe, &at, &r) ? json_string(results[r]) : json_null());
	json_object_set_new(o, "rank", json_string(peerstate_rank_name(peerstate_rank(&pe, c->host))));
	json_array_append_new(c->list, o);
}

/* The first healthy router peer after `after` (NULL: from the start), or
 * NULL. */
static const struct wg_peer *healthy_router(const struct control_view *v, const struct wg_peer *after)
{
	size_t from = after ? (size_t)(after - v->dev->peers) + 1 : 0;
	for (size_t i = from; v->dev && i < v->dev->n_peers; i++) {
		const struct wg_peer *p = &v->dev->peers[i];
		const struct peerstate *ps = engine_peer(v->eng, p->public_key);
		if (engine_peer_is_router(v->eng, p) && ps && ps->healthy)
			return p;
	}
	return NULL;
}

static void peer_label(const struct control_view *v, const uint8_t key[static 32], char *out, size_t len)
{
	const char *name = engine_peer_name(v->eng, key);
	char b64[KEY_B64_LEN + 1];
	key_to_base64(key, b64);
	snprintf(out, len, "%.*s", name ? 64 : 10, name ? name : b64);
}

/* How long a peer's daemon has been silent though its handshake is fresh
 * (factport.h); 0 when it is not. */
static int64_t silent_ms(const struct control_view *v, const struct wg_peer *p)
{
	const struct factport *fp = v->factport && p ? v->factport(v->factport_arg, p->public_key) : NULL;
	int64_t ms = 0;
	return fp && factport_is_silent(fp, v->now, &ms) ? ms : 0;
}

/* The why-line when wirelink facts do not flow: the cause is not NAT. */
static bool why_silent(const struct control_view *v, const struct wg_peer *p, const char *whose, char *why,
		       size_t len)
{
	int64_t ms = silent_ms(v, p);
	if (!ms)
		return false;
	char who[80];
	peer_label(v, p->public_key, who, sizeof(who));
	snprintf(why, len,
		 "no wirelink facts from %s%s for %lld s though its handshake is fresh: another wirelink "
		 "port, a firewall on UDP port %u inside the tunnel, or no wirelink there",
		 whose, who, (long long)(ms / 1000), v->port);
	return true;
}

/* Whether router's allowed IPs cover ip. */
static bool carried_by(const struct wg_peer *router, const struct wg_allowedip *ip)
{
	for (size_t i = 0; i < router->n_allowedips; i++)
		if (trust_prefix_within(ip, &router->allowedips[i]))
			return true;
	return false;
}

struct carry {
	const struct wg_peer *router;
	struct wg_allowedip missing; /* the first address it does not cover */
	bool all;
};

static void carry_fact(void *arg, const struct fact *f)
{
	struct carry *c = arg;
	if (!c->all || (f->f.attr != WIRE_CIDR_V4 && f->f.attr != WIRE_CIDR_V6))
		return;
	struct wg_allowedip ip = { .family = f->f.attr == WIRE_CIDR_V4 ? AF_INET : AF_INET6,
				   .cidr = f->f.v.cidr.prefix };
	memcpy(&ip.ip6, f->f.v.cidr.addr, ip.family == AF_INET ? 4 : 16);
	if (!carried_by(c->router, &ip)) {
		c->all = false;
		c->missing = ip;
	}
}

/* Whether traffic for p can go through router: the router's allowed IPs
 * cover every address p is known by (facts about it, and its own allowed
 * IPs but the auto-address); else *missing is one that is not covered. */
static bool router_carries(const struct control_view *v, const struct wg_peer *router, const struct wg_peer *p,
			   struct wg_allowedip *missing)
{
	struct carry c = { router, { 0 }, true };
	for (size_t i = 0; c.all && i < p->n_allowedips; i++) {
		const struct wg_allowedip *ip = &p->allowedips[i];
		bool auto_addr = ip->family == AF_INET6 && ip->cidr == 128 &&
				 autoaddr_matches(p->public_key, &ip->ip6);
		if (!auto_addr && !carried_by(router, ip)) {
			c.all = false;
			c.missing = *ip;
		}
	}
	engine_each_subject_fact(v->eng, p->public_key, carry_fact, &c);
	*missing = c.missing;
	return c.all;
}

/* Path and, when it is not direct, why: what an operator asks first. A
 * peer is "via" a healthy router only when that router carries it. */
static void path_json(const struct control_view *v, const struct wg_peer *p, const struct peerstate *ps,
		      json_t *o, size_t n_candidates, size_t n_tried)
{
	bool healthy = ps && ps->healthy;
	/* A healthy peer is direct: no router to look for (on a hub of many
	 * leaves, that would be a walk over every peer for each). */
	const struct wg_peer *router = healthy ? NULL : healthy_router(v, NULL);
	char via[96], why[320] = "";
	const char *path = "down";
	struct wg_allowedip missing;
	bool carried = false;
	for (const struct wg_peer *r = router; r && r != p && !carried; r = healthy_router(v, r))
		if ((carried = router_carries(v, r, p, &missing)))
			router = r;
	if (!carried && router && router != p)
		router_carries(v, router, p, &missing); /* the first router's reason */
	if (ps && ps->healthy) {
		path = "direct";
	} else if (!engine_peer_is_router(v->eng, p) && carried) {
		peer_label(v, router->public_key, via + 4, sizeof(via) - 4);
		memcpy(via, "via ", 4);
		path = via;
	}
	size_t n_tried_ever = ps ? ps->n_tried : 0;
	if (ps && ps->healthy)
		why_silent(v, p, "", why, sizeof(why));
	else if (ps && ps->basic)
		snprintf(why, sizeof(why), "a basic peer: only its configured endpoint is used");
	else if (ps && ps->dead)
		snprintf(why, sizeof(why), "the direct link went down (%s); trying its endpoints again",
			 peerstate_down_why(ps));
	else if (router && router != p && !carried && !engine_peer_is_router(v->eng, p)) {
		char r[80], ip[64];
		peer_label(v, router->public_key, r, sizeof(r));
		wg_allowedip_format(&missing, ip, sizeof(ip));
		snprintf(why, sizeof(why), "unreachable: the router %s does not carry its address %s, and %s",
			 r, ip, !n_candidates && !n_tried_ever ? "no endpoint is known for it" : "no direct link is up");
	} else if (router && router != p && why_silent(v, router, "the router ", why, sizeof(why)))
		;
	else if (!n_candidates && !n_tried_ever)
		snprintf(why, sizeof(why), "no endpoint known for it");
	else if (!n_candidates)
		snprintf(why, sizeof(why), "no answer from %zu endpoint%s tried; none known now", n_tried_ever,
			 n_tried_ever == 1 ? "" : "s");
	else if (!n_tried)
		snprintf(why, sizeof(why), "%zu endpoint%s known, not tried yet", n_candidates,
			 n_candidates == 1 ? "" : "s");
	else
		snprintf(why, sizeof(why), "no answer from %zu endpoint%s tried%s", n_tried,
			 n_tried == 1 ? "" : "s",
			 engine_is_router(v->eng) ? "" : " (NAT on both sides, or it does not know us yet?)");
	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "why_not_direct", *why ? json_string(why) : json_null());
	/* A flapping link (core/flap.h), which the log is quiet about. */
	json_object_set_new(o, "unstable_downs",
			    ps && ps->flap.on ? json_integer(ps->flap.downs) : json_null());
}

static void find_member(void *arg, const struct fact *f)
{
	*(bool *)arg |= f->f.attr == WIRE_MEMBER || f->f.attr == WIRE_MEMBER_META;
}

/* A member other peers told us about and the config file does not list:
 * wirelink added it (or would have). */
static bool learned(const struct control_view *v, const uint8_t key[static 32])
{
	for (size_t i = 0; i < v->cfg->n_peers; i++)
		if (!memcmp(v->cfg->peers[i].pc.key, key, 32))
			return false;
	bool member = false;
	engine_each_subject_fact(v->eng, key, find_member, &member);
	return member;
}

/* The names a user can type for the peer: [] when none is written. */
static json_t *hostnames_json(const struct control_view *v, const uint8_t key[static 32])
{
	json_t *a = json_array();
	const char *name = v->hosts ? hostnames_of(hosts_names(v->hosts), key) : NULL;
	if (name) {
		char fqdn[HOSTNAMES_LABEL_MAX + HOSTNAMES_DOMAIN_MAX + 2];
		json_array_append_new(a, json_string(name));
		snprintf(fqdn, sizeof(fqdn), "%s.%s", name, hosts_suffix(v->hosts));
		if (*hosts_suffix(v->hosts))
			json_array_append_new(a, json_string(fqdn));
	}
	return a;
}

static json_t *peer_json(const struct control_view *v, const struct wg_peer *p)
{
	const struct peerstate *ps = engine_peer(v->eng, p->public_key);
	json_t *o = json_object(), *ips = json_array();
	bool healthy = ps && ps->healthy, alive = ps && ps->alive;
	char buf[80];
	json_object_set_new(o, "name", name_json(v, p->public_key));
	json_object_set_new(o, "public_key", key_json(p->public_key));
	json_object_set_new(o, "hostnames", hostnames_json(v, p->public_key));
	json_object_set_new(o, "healthy", json_boolean(healthy));
	json_object_set_new(o, "alive", json_boolean(alive));
	json_object_set_new(o, "link", json_string(link_of(v->eng, p, ps)));
	if (p->endpoint.addr.sa_family != AF_UNSPEC) {
		wg_endpoint_format(&p->endpoint, buf, sizeof(buf));
		json_object_set_new(o, "endpoint", json_string(buf));
	} else {
		json_object_set_new(o, "endpoint", json_null());
	}
	struct candidates c = { json_array(), ps, v->now, engine_host(v->eng) };
	engine_each_subject_fact(v->eng, p->public_key, add_candidate, &c);
	size_t tried = 0, k;
	json_t *cand;
	json_array_foreach(c.list, k, cand)
		tried += json_is_integer(json_object_get(cand, "last_tried_seconds_ago"));
	path_json(v, p, ps, o, json_array_size(c.list), tried);
	json_object_set_new(o, "candidates", c.list);
	for (size_t i = 0; i < p->n_allowedips; i++) {
		wg_allowedip_format(&p->allowedips[i], buf, sizeof(buf));
		json_array_append_new(ips, json_string(buf));
	}
	json_object_set_new(o, "allowed_ips", ips);
	/* Where its wirelink takes our facts, learned from its packets. */
	const struct factport *fp = v->factport ? v->factport(v->factport_arg, p->public_key) : NULL;
	json_object_set_new(o, "fact_port", fp && fp->port ? json_integer(fp->port) : json_null());
	json_object_set_new(o, "facts_heard_seconds_ago",
			    fp && fp->heard ? json_integer((v->now - fp->heard) / 1000) : json_null());
	json_object_set_new(o, "trust", json_string(trust_name(engine_peer_trust(v->eng, p->public_key))));
	json_object_set_new(o, "last_handshake", json_integer(p->last_handshake_sec));
	json_object_set_new(o, "handshake_seconds_ago",
			    p->last_handshake_sec ? json_integer(v->wall_sec - p->last_handshake_sec) : json_null());
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)p->rx_bytes));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)p->tx_bytes));
	json_object_set_new(o, "learned", json_boolean(learned(v, p->public_key)));
	return o;
}

/* Named peers first, by name; then by key (unnamed ones, or equal names). */
static int cmp_peer(const void *a, const void *b)
{
	const json_t *pa = *(const json_t *const *)a, *pb = *(const json_t *const *)b;
	const char *na = json_string_value(json_object_get(pa, "name"));
	const char *nb = json_string_value(json_object_get(pb, "name"));
	int by_name = na && nb ? strcmp(na, nb) : (nb != NULL) - (na != NULL);
	if (by_name)
		return by_name;
	const char *ka = json_string_value(json_object_get(pa, "public_key"));
	const char *kb = json_string_value(json_object_get(pb, "public_key"));
	return strcmp(ka ? ka : "", kb ? kb : "");
}

int control_sort_peers(json_t *peers)
{
	size_t n = json_array_size(peers);
	json_t **items = calloc(n + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(peers, i));
	qsort(items, n, sizeof(*items), cmp_peer);
	json_array_clear(peers);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(peers, items[i]);
	free(items);
	return 0;
}

static json_t *status_json(const struct control_view *v)
{
	json_t *o = json_object(), *peers = json_array();
	char addr[INET6_ADDRSTRLEN], boot[2 * WIRE_BOOT_ID_LEN + 1];
	struct in6_addr self;
	autoaddr_from_key(v->self, &self);
	inet_ntop(AF_INET6, &self, addr, sizeof(addr));
	const uint8_t *b = engine_boot_id(v->eng);
	for (size_t i = 0; i < WIRE_BOOT_ID_LEN; i++)
		snprintf(boot + 2 * i, 3, "%02x", b[i]);
	size_t healthy, direct;
	control_count(v->eng, v->dev, &healthy, &direct);
	for (size_t i = 0; v->dev && i < v->dev->n_peers; i++)
		json_array_append_new(peers, peer_json(v, &v->dev->peers[i]));
	/* The device's order is the order peers were added: meaningless to a
	 * reader. On ENOMEM they stay in that order. */
	(void)control_sort_peers(peers);
	json_object_set_new(o, "interface", json_string(v->cfg->iface));
	json_object_set_new(o, "public_key", key_json(v->self));
	json_object_set_new(o, "role", json_string(engine_is_router(v->eng) ? "router" : "leaf"));
	json_object_set_new(o, "backend", json_string(wg_backend_for(v->cfg->iface) == &wg_backend_userspace
							      ? "userspace"
							      : "kernel"));
	json_object_set_new(o, "address", json_string(addr));
	json_object_set_new(o, "port", json_integer(v->port));
	json_object_set_new(o, "boot_id", json_string(boot));
	json_object_set_new(o, "uptime_seconds", json_integer((v->now - engine_started(v->eng)) / 1000));
	size_t local = control_local_facts(v->eng), received = engine_fact_count(v->eng);
	json_object_set_new(o, "facts", json_integer((json_int_t)(local + received)));
	json_object_set_new(o, "facts_received", json_integer((json_int_t)received));
	json_object_set_new(o, "facts_own", json_integer((json_int_t)local));
	json_object_set_new(o, "log_level", json_string(log_get_level() == LOG_LEVEL_DEBUG ? "debug" : "info"));
	json_object_set_new(o, "peers_total", json_integer((json_int_t)json_array_size(peers)));
	json_object_set_new(o, "peers_healthy", json_integer((json_int_t)healthy));
	json_object_set_new(o, "peers_direct", json_integer((json_int_t)direct));
	json_object_set_new(o, "peers", peers);
	return o;
}

/* ---- metrics: counters and gauges as JSON; the client writes the
 * Prometheus text ---- */

const char *const control_drop_names[DROP_REASONS] = {
	[DROP_NOT_PEER] = "not_from_peer", [DROP_MALFORMED] = "malformed",
	[DROP_WRONG_SIGNER] = "wrong_signer", [DROP_BAD_TAG] = "bad_tag",
};

static json_t *metrics_json(const struct control_view *v)
{
	json_t *o = json_object(), *peers = json_array(), *drops = json_object();
	const struct control_counters *c = v->counters;
	for (size_t i = 0; v->dev && i < v->dev->n_peers; i++) {
		const struct wg_peer *p = &v->dev->peers[i];
		const struct peerstate *ps = engine_peer(v->eng, p->public_key);
		json_t *pj = json_object(), *full = peer_json(v, p);
		json_object_set_new(pj, "name", name_json(v, p->public_key));
		json_object_set_new(pj, "public_key", key_json(p->public_key));
		json_object_set(pj, "path", json_object_get(full, "path"));
		json_object_set_new(pj, "alive", json_boolean(ps && ps->alive));
		json_object_set_new(pj, "rx_bytes", json_integer((json_int_t)p->rx_bytes));
		json_object_set_new(pj, "tx_bytes", json_integer((json_int_t)p->tx_bytes));
		json_decref(full);
		json_array_append_new(peers, pj);
	}
	(void)control_sort_peers(peers); /* as status lists them */
	for (size_t i = 0; c && i < DROP_REASONS; i++)
		json_object_set_new(drops, control_drop_names[i], json_integer((json_int_t)c->dropped[i]));
	json_object_set_new(o, "interface", json_string(v->cfg->iface));
	json_object_set_new(o, "uptime_seconds", json_integer((v->now - engine_started(v->eng)) / 1000));
	json_object_set_new(o, "facts_received", json_integer((json_int_t)engine_fact_count(v->eng)));
	json_object_set_new(o, "facts_own", json_integer((json_int_t)control_local_facts(v->eng)));
	json_object_set_new(o, "packets_in", json_integer(c ? (json_int_t)c->packets_in : 0));
	json_object_set_new(o, "bytes_in", json_integer(c ? (json_int_t)c->bytes_in : 0));
	json_object_set_new(o, "packets_out", json_integer(c ? (json_int_t)c->packets_out : 0));
	json_object_set_new(o, "bytes_out", json_integer(c ? (json_int_t)c->bytes_out : 0));
	json_object_set_new(o, "endpoint_tries", json_integer(c ? (json_int_t)c->endpoint_tries : 0));
	json_object_set_new(o, "rounds", json_integer(c ? (json_int_t)c->rounds : 0));
	json_object_set_new(o, "device_reads", json_integer(c ? (json_int_t)c->device_reads : 0));
	json_object_set_new(o, "dropped", drops);
	struct engine_stats st = engine_stats(v->eng);
	json_t *facts = json_object();
	json_object_set_new(facts, "untrusted", json_integer((json_int_t)st.untrusted));
	json_object_set_new(facts, "invalid", json_integer((json_int_t)st.invalid));
	json_object_set_new(facts, "over_budget", json_integer((json_int_t)st.over_budget));
	json_object_set_new(facts, "hijack", json_integer((json_int_t)st.hijack));
	json_object_set_new(facts, "restart_ignored", json_integer((json_int_t)st.restarts_ignored));
	json_object_set_new(o, "facts_dropped", facts);
	json_object_set_new(o, "peers", peers);
	return o;
}

/* ---- facts ---- */

struct fact_list {
	const struct control_view *v;
	json_t *list;
};

static json_t *fact_json(const struct control_view *v, const struct wire_fact *f, json_int_t ttl,
			 json_t *source)
{
	json_t *o = json_object();
	json_object_set_new(o, "attribute", json_string(control_attr_name(f->attr)));
	json_object_set_new(o, "subject", key_json(f->subject));
	json_object_set_new(o, "subject_name", name_json(v, f->subject));
	json_object_set_new(o, "value", fact_text(f));
	json_object_set_new(o, "ttl_seconds", json_integer(ttl));
	json_object_set_new(o, "source", source);
	return o;
}

static void add_received(void *arg, const struct fact *f)
{
	struct fact_list *l = arg;
	bool known = false;
	for (size_t i = 0; i < sizeof(f->source); i++)
		known |= f->source[i] != 0;
	json_t *src = json_object();
	json_object_set_new(src, "public_key", known ? key_json(f->source) : json_null());
	json_object_set_new(src, "name", known ? name_json(l->v, f->source) : json_null());
	int64_t left = (f->expires - l->v->now) / 1000;
	json_array_append_new(l->list, fact_json(l->v, &f->f, left < 0 ? 0 : left, src));
}

static void add_local(void *arg, const struct wire_fact *f)
{
	struct fact_list *l = arg;
	json_t *src = json_object();
	json_object_set_new(src, "public_key", key_json(l->v->self));
	json_object_set_new(src, "name", json_string("(self)"));
	json_array_append_new(l->list, fact_json(l->v, f, FACT_TTL_MS / 1000, src));
}

static json_t *facts_json(const struct control_view *v)
{
	struct fact_list l = { v, json_array() };
	engine_each_local_fact(v->eng, add_local, &l);
	engine_each_fact(v->eng, add_received, &l);
	json_t *o = json_object();
	json_object_set_new(o, "facts", l.list);
	return o;
}

/* The hosts lines being kept and the names turned away. */
static json_t *hosts_json(const struct control_view *v)
{
	json_t *o = json_object(), *lines = json_array(), *rejected = json_array();
	const struct hostnames *h = v->hosts ? hosts_names(v->hosts) : NULL;
	const char *suffix = v->hosts ? hosts_suffix(v->hosts) : "";
	for (size_t i = 0; h && i < h->n; i++) {
		char addr[INET6_ADDRSTRLEN];
		json_t *l = json_object();
		inet_ntop(h->lines[i].ip.family, &h->lines[i].ip.ip6, addr, sizeof(addr));
		json_object_set_new(l, "address", json_string(addr));
		json_object_set_new(l, "names", hostnames_json(v, h->lines[i].key));
		json_object_set_new(l, "public_key", key_json(h->lines[i].key));
		json_array_append_new(lines, l);
	}
	for (size_t i = 0; h && i < h->n_rejects; i++) {
		json_t *r = json_object();
		json_object_set_new(r, "name", json_string(h->rejects[i].name));
		json_object_set_new(r, "public_key", key_json(h->rejects[i].key));
		json_object_set_new(r, "why", json_string(hostnames_why_text(h->rejects[i].why)));
		json_array_append_new(rejected, r);
	}
	const char *shared = v->hosts ? hosts_shared_path(v->hosts) : NULL;
	json_object_set_new(o, "interface", json_string(v->cfg->iface));
	json_object_set_new(o, "file", v->hosts ? json_string(hosts_path(v->hosts)) : json_null());
	json_object_set_new(o, "hosts_file", shared ? json_string(shared) : json_null());
	json_object_set_new(o, "domain", json_string(suffix));
	json_object_set_new(o, "hosts", lines);
	json_object_set_new(o, "rejected", rejected);
	return o;
}

static json_t *error_json(const char *why)
{
	json_t *o = json_object();
	json_object_set_new(o, "error", json_string(why));
	return o;
}

char *control_answer(const char *request, const struct control_view *v, int *log_level)
{
	char req[CONTROL_REQUEST_MAX + 1];
	snprintf(req, sizeof(req), "%s", request);
	req[strcspn(req, "\r\n")] = '\0';
	json_t *o;
	bool needs_state = !strcmp(req, "status") || !strcmp(req, "facts") ||
			   !strcmp(req, "metrics") || !strcmp(req, "hosts");
	if (needs_state && !v) {
		o = error_json("no daemon state to answer from");
	} else if (!strcmp(req, "status")) {
		o = status_json(v);
	} else if (!strcmp(req, "facts")) {
		o = facts_json(v);
	} else if (!strcmp(req, "metrics")) {
		o = metrics_json(v);
	} else if (!strcmp(req, "hosts")) {
		o = hosts_json(v);
	} else if (!strncmp(req, "log-level ", 10)) {
		const char *lv = req + 10;
		if (!strcmp(lv, "debug") || !strcmp(lv, "info")) {
			*log_level = !strcmp(lv, "debug") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
			o = json_object();
			json_object_set_new(o, "log_level", json_string(lv));
		} else {
			o = error_json("log-level takes debug or info");
		}
	} else {
		o = error_json("unknown request (status, facts, metrics, hosts, log-level debug|info)");
	}
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return text;
}

/* ---- the server: non-blocking clients, each with its own buffers and a
 * deadline, so a slow or silent client never holds up the daemon. ---- */

struct control_client {
	int fd;
	bool root; /* the peer is uid 0: it may change the daemon */
	int64_t deadline;
	char in[CONTROL_REQUEST_MAX + 1];
	size_t n_in;
	char *out; /* the answer, once the request is complete */
	size_t out_len, out_off;
};

struct control_server {
	int listen_fd, epfd;
	struct control_client clients[CONTROL_CLIENTS];
	size_t pending; /* bytes of answers not yet read, all clients */
};

struct control_server *control_server_new(int listen_fd, int epfd)
{
	struct control_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->listen_fd = listen_fd;
	s->epfd = epfd;
	for (size_t i = 0; i < CONTROL_CLIENTS; i++)
		s->clients[i].fd = -1;
	return s;
}

static void drop(struct control_server *s, struct control_client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	s->pending -= c->out_len;
	*c = (struct control_client){ .fd = -1 };
}

void control_server_free(struct control_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < CONTROL_CLIENTS; i++)
		drop(s, &s->clients[i]);
	free(s);
}

/* A free slot, else the one with the nearest deadline (dropped): a new
 * client always gets in, so `status` answers even when others hang. */
static struct control_client *free_slot(struct control_server *s)
{
	struct control_client *pick = &s->clients[0];
	for (size_t i = 0; i < CONTROL_CLIENTS; i++) {
		if (s->clients[i].fd < 0)
			return &s->clients[i];
		if (s->clients[i].deadline < pick->deadline)
			pick = &s->clients[i];
	}
	drop(s, pick);
	return pick;
}

static void accept_clients(struct control_server *s, int64_t now)
{
	for (int burst = 0; burst < CONTROL_CLIENTS; burst++) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct control_client *c = free_slot(s);
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		struct ucred cred;
		socklen_t len = sizeof(cred);
		bool root = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
		*c = (struct control_client){ .fd = fd, .root = root, .deadline = now + CONTROL_DEADLINE_MS };
	}
}

/* Writes what the socket takes; true when the client is finished with. */
static bool flush_out(struct control_server *s, struct control_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c->fd };
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return false;
		}
		if (w <= 0)
			return true;
		c->out_off += (size_t)w;
	}
	return true;
}

bool control_request_changes(const char *request)
{
	return !strncmp(request, "log-level", 9);
}

/* The request is complete (a newline), or can no longer be: answer it.
 * No answer (c->out stays NULL, the client is dropped) when it does not
 * fit in CONTROL_PENDING_MAX. */
static void answer(struct control_server *s, struct control_client *c, const struct control_view *v)
{
	c->in[c->n_in] = '\0';
	int level = -1;
	bool whole = memchr(c->in, '\n', c->n_in);
	char *text = NULL;
	if (whole && control_request_changes(c->in) && !c->root)
		text = strdup("{\"error\":\"only root may change the daemon (log-level); the control group "
			      "may read status, facts and metrics\"}");
	else if (whole)
		text = control_answer(c->in, v, &level);
	if (!text)
		text = strdup("{\"error\":\"a request is one line of at most 255 bytes\"}");
	if (level >= 0) {
		log_set_level((enum log_level)level);
		log_info("log level is now %s", level == LOG_LEVEL_DEBUG ? "debug" : "info");
	}
	size_t len = text ? strlen(text) : 0;
	if (s->pending + len + 1 > CONTROL_PENDING_MAX) {
		log_warnx("control socket: dropping a client, answers not yet read take %zu bytes already",
			  s->pending);
		free(text);
		return;
	}
	char *out = text ? realloc(text, len + 2) : NULL;
	if (!out) {
		free(text);
		return;
	}
	out[len] = '\n';
	c->out = out;
	c->out_len = len + 1;
	s->pending += c->out_len;
}

/* Reads what has arrived; answers once a line is complete. True when
 * done reading (an answer in c->out, or none: drop the client). */
static bool read_request(struct control_server *s, struct control_client *c, const struct control_view *v)
{
	for (;;) {
		ssize_t r = read(c->fd, c->in + c->n_in, CONTROL_REQUEST_MAX - c->n_in);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (r > 0)
			c->n_in += (size_t)r;
		if (r <= 0 || memchr(c->in, '\n', c->n_in) || c->n_in == CONTROL_REQUEST_MAX) {
			answer(s, c, v);
			return true;
		}
	}
}

bool control_server_event(struct control_server *s, int fd, const struct control_view *v, int64_t now)
{
	if (!s)
		return false;
	if (fd == s->listen_fd) {
		accept_clients(s, now);
		return true;
	}
	for (size_t i = 0; i < CONTROL_CLIENTS; i++) {
		struct control_client *c = &s->clients[i];
		if (c->fd != fd)
			continue;
		if (!c->out && !read_request(s, c, v))
			return true;
		if (!c->out || flush_out(s, c))
			drop(s, c);
		return true;
	}
	return false;
}

int64_t control_server_deadline(const struct control_server *s)
{
	int64_t next = INT64_MAX;
	for (size_t i = 0; s && i < CONTROL_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && s->clients[i].deadline < next)
			next = s->clients[i].deadline;
	return next;
}

void control_server_expire(struct control_server *s, int64_t now)
{
	for (size_t i = 0; s && i < CONTROL_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && now >= s->clients[i].deadline)
			drop(s, &s->clients[i]);
}
