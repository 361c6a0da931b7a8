/* Peers by name on disk: gathers each device peer's name (our config's, or
 * a MemberMetadata fact from a source trusted for Membership) and its
 * single-address IPs (the device's and trusted AllowedCidr facts), lets
 * core/hostnames.c decide the lines, and writes what changed. */
#include "hosts.h"

#include "log.h"
#include "proto/meta.h"
#include "util/file.h"
#include "util/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { HOSTS_FILE_MAX = 16 << 20, ALLOWED_MAX = 1024 };

struct file_sig {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool exists;
};

struct hosts {
	char iface[IFNAMSIZ];
	char path[PATH_MAX], shared[PATH_MAX];
	char suffix[HOSTNAMES_DOMAIN_MAX + 1], self[256];
	uint64_t hash;	     /* of the inputs last built from */
	struct file_sig sig; /* of the file whose names are taken, as last read */
	bool built;
	struct hostnames names;
	char *written;		    /* the runtime file as last written, or NULL */
	bool said_path, said_shared; /* a write failure was logged */
	struct hostnames_reject *said; /* names turned away, as last logged */
	size_t n_said;
	struct named {
		uint8_t key[WIRE_KEY_LEN];
		char name[HOSTNAMES_LABEL_MAX + 2];
	} *named; /* the config's named peers, by key */
	size_t n_named;
};

/* One peer as gathered, with storage for its name and addresses. */
struct gathered {
	struct hostnames_peer p;
	char name[HOSTNAMES_LABEL_MAX + 2];
	struct wg_allowedip *ips;
	size_t n, cap;
};

struct hosts *hosts_new(const char *iface, const char *dir)
{
	struct hosts *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	snprintf(h->iface, sizeof(h->iface), "%s", iface);
	if (snprintf(h->path, sizeof(h->path), "%s/%s.hosts", dir, iface) >= (int)sizeof(h->path))
		h->path[0] = '\0';
	if (gethostname(h->self, sizeof(h->self)) != 0)
		h->self[0] = '\0';
	h->self[sizeof(h->self) - 1] = '\0';
	snprintf(h->suffix, sizeof(h->suffix), "%s", hostnames_label_ok(iface, strlen(iface)) ? iface : "");
	return h;
}

/* ---- writing ---- */

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates a new temporary file beside path; its fd, or -errno. */
static int open_temp(const char *path, char *tmp, size_t cap)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	for (unsigned tries = 0; tries < 16; tries++) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long r = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^ tries * 7919u;
		if (snprintf(tmp, cap, "%.*s.%s.wl%08lx", dirlen, path, path + dirlen, r & 0xffffffffUL) >=
		    (int)cap)
			return -ENAMETOOLONG;
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int hosts_write_atomic(const char *path, const char *data, size_t len,
		       int (*before_commit)(void *arg, const char *tmp), void *arg)
{
	char tmp[PATH_MAX];
	struct stat st;
	bool had = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	int fd = open_temp(path, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	int err = write_all(fd, data, len);
	/* The old file's mode and owner (/etc/hosts is root's, 0644); a new
	 * one is world-readable whatever the umask: resolvers run as anyone. */
	if (!err && fchmod(fd, had ? st.st_mode & 07777 : 0644) < 0)
		err = -errno;
	if (!err && had && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0)
		err = -errno;
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && before_commit && before_commit(arg, tmp) != 0)
		err = -ECANCELED;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* ---- the file whose names are taken ---- */

static struct file_sig sig_of(const char *path)
{
	struct stat st;
	struct file_sig s = { 0 };
	if (stat(path, &st) == 0)
		s = (struct file_sig){ st.st_dev, st.st_ino, st.st_size, st.st_mtim, true };
	return s;
}

static bool same_sig(const struct file_sig *a, const struct file_sig *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Our block holds the shared file's names; without HostsFile, /etc/hosts
 * still says which names are the host's own. */
static const char *names_file(const struct hosts *h)
{
	return h->shared[0] ? h->shared : "/etc/hosts";
}

/* Rewrites our block in the shared file (lines NULL: removes it). */
static void update_shared(struct hosts *h, const char *file, size_t len, const char *lines)
{
	char *next = NULL;
	size_t n = 0;
	int err = hostnames_block(file ? file : "", file ? len : 0, h->iface, lines, &next, &n);
	if (!err && (n != len || !file || memcmp(next, file, n)))
		err = hosts_write_atomic(h->shared, next, n, NULL, NULL);
	free(next);
	if (err && !h->said_shared)
		log_warnx("hosts: cannot keep wirelink's block in %s: %s", h->shared,
			  err == -EBADMSG ? "it has a '# wirelink IFACE begin' line without its end; fix it by hand"
					  : strerror(-err));
	h->said_shared = err != 0;
}

static void remove_block(struct hosts *h)
{
	char *file = NULL;
	size_t len = 0;
	if (h->shared[0] && file_read_all(h->shared, HOSTS_FILE_MAX, &file, &len) == 0)
		update_shared(h, file, len, NULL);
	free(file);
}

static int cmp_named(const void *a, const void *b) { return memcmp(a, b, WIRE_KEY_LEN); }

/* The config's names, sorted for a binary search per device peer. */
static void take_names(struct hosts *h, const struct config *cfg)
{
	free(h->named);
	h->n_named = 0;
	if (!(h->named = calloc(cfg->n_peers + 1, sizeof(*h->named))))
		return;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct peer_config *pc = &cfg->peers[i].pc;
		if (!pc->name[0])
			continue;
		memcpy(h->named[h->n_named].key, pc->key, WIRE_KEY_LEN);
		snprintf(h->named[h->n_named++].name, sizeof(h->named->name), "%s", pc->name);
	}
	qsort(h->named, h->n_named, sizeof(*h->named), cmp_named);
}

void hosts_configure(struct hosts *h, const struct config *cfg)
{
	take_names(h, cfg);
	char shared[PATH_MAX] = "";
	if (cfg->hosts_file[0] && !realpath(cfg->hosts_file, shared))
		snprintf(shared, sizeof(shared), "%s", cfg->hosts_file); /* made at the first write */
	if (strcmp(shared, h->shared)) {
		remove_block(h);
		snprintf(h->shared, sizeof(h->shared), "%s", shared);
		h->said_shared = false;
	}
	const char *suffix = cfg->domain[0] ? cfg->domain : h->iface;
	snprintf(h->suffix, sizeof(h->suffix), "%s",
		 cfg->domain[0] || hostnames_label_ok(h->iface, strlen(h->iface)) ? suffix : "");
	h->built = false; /* rebuilt at the next update */
}

/* ---- gathering ---- */

struct fact_scan {
	const struct engine *e;
	struct gathered *g;
	const char *current; /* the name the engine holds for the peer */
	char best[HOSTNAMES_LABEL_MAX + 2];
	int64_t best_expires;
	bool current_ok;
	bool failed;
};

static bool add_ip(struct gathered *g, const struct wg_allowedip *ip)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 8;
		struct wg_allowedip *p = cap > ALLOWED_MAX ? NULL : realloc(g->ips, cap * sizeof(*p));
		if (!p)
			return false;
		g->ips = p;
		g->cap = cap;
	}
	g->ips[g->n++] = *ip;
	return true;
}

/* A fact about the peer: an address, or a name from a trusted source. */
static void scan_fact(void *arg, const struct fact *f)
{
	struct fact_scan *s = arg;
	enum trust_level from = engine_peer_trust(s->e, f->source);
	if ((f->f.attr == WIRE_CIDR_V4 || f->f.attr == WIRE_CIDR_V6) && from >= TRUST_ALLOWED_IPS) {
		bool v4 = f->f.attr == WIRE_CIDR_V4;
		struct wg_allowedip ip = { .family = v4 ? AF_INET : AF_INET6, .cidr = f->f.v.cidr.prefix };
		memcpy(&ip.ip6, f->f.v.cidr.addr, v4 ? 4 : 16);
		if (ip.cidr == (v4 ? 32 : 128) && !add_ip(s->g, &ip))
			s->failed = true;
		return;
	}
	struct meta_entries m;
	if (f->f.attr != WIRE_MEMBER_META || from < TRUST_MEMBERSHIP ||
	    meta_parse(f->f.v.meta.data, f->f.v.meta.len, &m) != WIRE_OK)
		return;
	struct wire_view name = meta_get(&m, META_NAME);
	if (!name.len || name.len > HOSTNAMES_LABEL_MAX + 1)
		return;
	if (s->current && strlen(s->current) == name.len && !memcmp(s->current, name.data, name.len))
		s->current_ok = true;
	if (f->expires > s->best_expires) {
		memcpy(s->best, name.data, name.len);
		s->best[name.len] = '\0';
		s->best_expires = f->expires;
	}
}

/* Its name and addresses: false on ENOMEM. */
static bool gather_one(const struct hosts *h, const struct engine *e, const struct wg_peer *wp,
		       struct gathered *g)
{
	memcpy(g->p.key, wp->public_key, WIRE_KEY_LEN);
	for (size_t i = 0; i < wp->n_allowedips; i++)
		if (!add_ip(g, &wp->allowedips[i]))
			return false;
	const struct named *pc = bsearch(wp->public_key, h->named, h->n_named, sizeof(*h->named), cmp_named);
	struct fact_scan s = { .e = e, .g = g, .best_expires = INT64_MIN };
	/* The engine's name is the latest a trusted source sent; kept only
	 * while such a source still stands behind it. */
	s.current = pc ? NULL : engine_peer_name(e, wp->public_key);
	engine_each_subject_fact(e, wp->public_key, scan_fact, &s);
	if (pc) {
		snprintf(g->name, sizeof(g->name), "%s", pc->name);
		g->p.from_config = true;
	} else {
		snprintf(g->name, sizeof(g->name), "%s", s.current_ok ? s.current : s.best);
	}
	g->p.name = g->name[0] ? g->name : NULL;
	g->p.ips = g->ips;
	g->p.n_ips = g->n;
	return !s.failed;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ULL;
	return h;
}

static uint64_t inputs_hash(const struct gathered *g, size_t n, const char *suffix)
{
	uint64_t h = fnv(14695981039346656037ULL, suffix, strlen(suffix) + 1);
	for (size_t i = 0; i < n; i++) {
		h = fnv(h, g[i].p.key, WIRE_KEY_LEN);
		h = fnv(h, g[i].name, strlen(g[i].name) + 1);
		h = fnv(h, &g[i].p.from_config, sizeof(g[i].p.from_config));
		for (size_t k = 0; k < g[i].n; k++) {
			h = fnv(h, &g[i].ips[k].family, sizeof(g[i].ips[k].family));
			h = fnv(h, &g[i].ips[k].cidr, 1);
			h = fnv(h, &g[i].ips[k].ip6, g[i].ips[k].family == AF_INET ? 4 : 16);
		}
	}
	return h;
}

static void free_gathered(struct gathered *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++)
		free(g[i].ips);
	free(g);
}

/* ---- logging what was turned away, once ---- */

static bool said_before(const struct hosts *h, const struct hostnames_reject *r)
{
	for (size_t i = 0; i < h->n_said; i++)
		if (h->said[i].why == r->why && !memcmp(h->said[i].key, r->key, WIRE_KEY_LEN) &&
		    !strcmp(h->said[i].name, r->name))
			return true;
	return false;
}

static void log_rejects(struct hosts *h, const struct hostnames *next)
{
	for (size_t i = 0; i < next->n_rejects; i++) {
		const struct hostnames_reject *r = &next->rejects[i];
		char kb[KEY_B64_LEN + 1], other[KEY_B64_LEN + 1];
		key_to_base64(r->key, kb);
		if (r->why != HOSTNAMES_DUPLICATE) {
			if (!said_before(h, r))
				log_warnx("hosts: peer %.10s is named '%s', %s; not written", kb, r->name,
					  hostnames_why_text(r->why));
			continue;
		}
		/* One line for a clash: the first two peers that claim it. */
		bool fresh = !said_before(h, r);
		size_t j = i + 1;
		for (; j < next->n_rejects && next->rejects[j].why == HOSTNAMES_DUPLICATE &&
		       !strcasecmp(next->rejects[j].name, r->name); j++)
			fresh |= !said_before(h, &next->rejects[j]);
		key_to_base64(next->rejects[i + 1 < j ? i + 1 : i].key, other);
		if (fresh)
			log_warnx("hosts: peers %.10s and %.10s are both named '%s'; neither is written", kb, other,
				  r->name);
		i = j - 1;
	}
	free(h->said);
	h->said = NULL;
	h->n_said = 0;
	if (next->n_rejects && (h->said = malloc(next->n_rejects * sizeof(*h->said)))) {
		memcpy(h->said, next->rejects, next->n_rejects * sizeof(*h->said));
		h->n_said = next->n_rejects;
	}
}

/* ---- the update ---- */

static void write_runtime(struct hosts *h, const char *lines)
{
	if (!h->path[0])
		return;
	char head[128];
	snprintf(head, sizeof(head), "# wirelink %s: its peers by name (kept by the daemon)\n", h->iface);
	size_t hl = strlen(head), ll = strlen(lines);
	char *text = malloc(hl + ll + 1);
	if (!text)
		return;
	memcpy(text, head, hl);
	memcpy(text + hl, lines, ll + 1);
	if (h->written && !strcmp(h->written, text)) {
		free(text);
		return;
	}
	int err = hosts_write_atomic(h->path, text, hl + ll, NULL, NULL);
	if (err && !h->said_path)
		log_warnx("hosts: cannot write %s: %s", h->path, strerror(-err));
	h->said_path = err != 0;
	free(h->written);
	h->written = err ? NULL : text;
	if (err)
		free(text);
}

/* Builds the lines from the gathered peers and the names file's text
 * (NULL: none); the shared file is rewritten only when it was read whole
 * or does not exist (readable), never from a read that failed. */
static void rebuild(struct hosts *h, const struct gathered *g, size_t n, const char *file, size_t len,
		    bool readable)
{
	struct hostnames_peer *peers = calloc(n + 1, sizeof(*peers));
	struct hostnames next;
	for (size_t i = 0; peers && i < n; i++)
		peers[i] = g[i].p;
	struct hostnames_input in = { peers, n, h->suffix, h->self, file, len, h->iface };
	if (!peers || hostnames_build(&in, &next) != 0) {
		free(peers);
		log_warnx("hosts: out of memory; names not updated");
		return;
	}
	free(peers);
	char *lines = hostnames_format(&next, h->suffix);
	if (!lines) {
		hostnames_free(&next);
		return;
	}
	log_rejects(h, &next);
	hostnames_free(&h->names);
	h->names = next;
	write_runtime(h, lines);
	if (h->shared[0] && readable)
		update_shared(h, file, len, lines);
	free(lines);
}

void hosts_update(struct hosts *h, const struct engine *e, const struct wg_device *dev)
{
	if (!h || !dev)
		return;
	struct gathered *g = calloc(dev->n_peers + 1, sizeof(*g));
	bool ok = g != NULL;
	for (size_t i = 0; ok && i < dev->n_peers; i++)
		ok = gather_one(h, e, &dev->peers[i], &g[i]);
	if (!ok) {
		free_gathered(g, dev->n_peers);
		return;
	}
	uint64_t hash = inputs_hash(g, dev->n_peers, h->suffix);
	struct file_sig sig = sig_of(names_file(h));
	if (h->built && hash == h->hash && same_sig(&sig, &h->sig)) {
		free_gathered(g, dev->n_peers);
		return;
	}
	char *file = NULL;
	size_t len = 0;
	int err = sig.exists ? file_read_all(names_file(h), HOSTS_FILE_MAX, &file, &len) : -ENOENT;
	if (err && err != -ENOENT && !h->said_shared) {
		log_warnx("hosts: cannot read %s: %s", names_file(h), strerror(-err));
		h->said_shared = true;
	}
	rebuild(h, g, dev->n_peers, err ? NULL : file, len, !err || err == -ENOENT);
	free(file);
	free_gathered(g, dev->n_peers);
	h->hash = hash;
	h->sig = sig_of(names_file(h)); /* after our own write */
	h->built = true;
}

void hosts_free(struct hosts *h)
{
	if (!h)
		return;
	if (h->written)
		unlink(h->path);
	remove_block(h);
	hostnames_free(&h->names);
	free(h->written);
	free(h->said);
	free(h->named);
	free(h);
}

const struct hostnames *hosts_names(const struct hosts *h) { return &h->names; }
const char *hosts_suffix(const struct hosts *h) { return h->suffix; }
const char *hosts_path(const struct hosts *h) { return h->path; }
const char *hosts_shared_path(const struct hosts *h) { return h->shared[0] ? h->shared : NULL; }
