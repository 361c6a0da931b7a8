/* Userspace backend: wireguard-go's control socket at
 * /var/run/wireguard/<iface>.sock, text protocol `get=1` / `set=1`. */
#include "wg/uapi.h"

#include "proto/crypto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { REPLY_MAX = 256 << 20, IO_TIMEOUT_MS = 5000 };

static bool parse_hex_key(const char *v, uint8_t out[static WG_KEY_LEN])
{
	size_t n = 0;
	return strlen(v) == 2 * WG_KEY_LEN &&
	       sodium_hex2bin(out, WG_KEY_LEN, v, 2 * WG_KEY_LEN, NULL, &n, NULL) == 0 &&
	       n == WG_KEY_LEN;
}

static bool parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || x > max)
		return false;
	*out = x;
	return true;
}

/* The public key of the last private key seen: the device is read every
 * few seconds, and an X25519 multiplication per read would be most of the
 * read's cost. */
static struct {
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	bool set;
} last_key;

static int public_key_of(const uint8_t priv[static WG_KEY_LEN], uint8_t pub[static WG_KEY_LEN])
{
	if (!last_key.set || sodium_memcmp(last_key.priv, priv, WG_KEY_LEN) != 0) {
		if (crypto_public_key(priv, last_key.pub) != 0) {
			last_key.set = false;
			return -1;
		}
		memcpy(last_key.priv, priv, WG_KEY_LEN);
		last_key.set = true;
	}
	memcpy(pub, last_key.pub, WG_KEY_LEN);
	return 0;
}

/* Applies one key=value line of a get reply; false if malformed. */
static bool get_line(struct wg_device *dev, struct wg_peer **peer, const char *k, const char *v)
{
	uint64_t x = 0;
	struct wg_peer *p = *peer;
	if (!strcmp(k, "private_key")) {
		if (!parse_hex_key(v, dev->private_key))
			return false;
		dev->has_private_key = !sodium_is_zero(dev->private_key, WG_KEY_LEN);
		return !dev->has_private_key || public_key_of(dev->private_key, dev->public_key) == 0;
	}
	if (!strcmp(k, "listen_port") && !p)
		return parse_u64(v, 65535, &x) && ((dev->listen_port = (uint16_t)x), true);
	if (!strcmp(k, "fwmark") && !p)
		return parse_u64(v, UINT32_MAX, &x) && ((dev->fwmark = (uint32_t)x), true);
	if (!strcmp(k, "public_key")) {
		if (!(*peer = p = wg_device_add_peer(dev)))
			return false;
		return parse_hex_key(v, p->public_key);
	}
	if (!p)
		return true; /* unknown device-level key: newer protocol, ignore */
	if (!strcmp(k, "preshared_key")) {
		uint8_t psk[WG_KEY_LEN];
		bool ok = parse_hex_key(v, psk);
		p->has_preshared_key = ok && !sodium_is_zero(psk, WG_KEY_LEN);
		sodium_memzero(psk, sizeof(psk));
		return ok;
	}
	if (!strcmp(k, "endpoint"))
		return wg_endpoint_parse(v, &p->endpoint);
	if (!strcmp(k, "last_handshake_time_sec"))
		return parse_u64(v, INT64_MAX, &x) && ((p->last_handshake_sec = (int64_t)x), true);
	if (!strcmp(k, "last_handshake_time_nsec"))
		return parse_u64(v, 999999999, &x) && ((p->last_handshake_nsec = (int64_t)x), true);
	if (!strcmp(k, "rx_bytes"))
		return parse_u64(v, UINT64_MAX, &p->rx_bytes);
	if (!strcmp(k, "tx_bytes"))
		return parse_u64(v, UINT64_MAX, &p->tx_bytes);
	if (!strcmp(k, "persistent_keepalive_interval"))
		return parse_u64(v, 65535, &x) && ((p->keepalive = (uint16_t)x), true);
	if (!strcmp(k, "allowed_ip")) {
		struct wg_allowedip ip;
		return wg_allowedip_parse(v, &ip) && wg_peer_add_allowedip(p, &ip) == 0;
	}
	return true; /* protocol_version and keys from newer versions */
}

/* Walks the lines of a reply; calls fn for each until the errno line. */
static int walk_reply(const char *buf, size_t len,
		      bool (*fn)(void *arg, const char *k, const char *v), void *arg)
{
	char line[512];
	size_t off = 0;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		if (!nl)
			return -EPROTO;
		size_t n = (size_t)(nl - (buf + off));
		if (n == 0 || n >= sizeof(line))
			return -EPROTO; /* empty line before errno=, or absurd line */
		memcpy(line, buf + off, n);
		line[n] = '\0';
		off += n + 1;
		char *eq = strchr(line, '=');
		if (!eq || memchr(line, '\0', n))
			return -EPROTO;
		*eq = '\0';
		if (!strcmp(line, "errno")) {
			uint64_t e = 0;
			if (!parse_u64(eq + 1, INT_MAX, &e) || off + 1 != len || buf[off] != '\n')
				return -EPROTO;
			return -(int)e;
		}
		if (!fn(arg, line, eq + 1))
			return -EPROTO;
	}
	return -EPROTO; /* ended without errno= */
}

struct get_ctx {
	struct wg_device *dev;
	struct wg_peer *peer;
};

static bool get_fn(void *arg, const char *k, const char *v)
{
	struct get_ctx *c = arg;
	return get_line(c->dev, &c->peer, k, v);
}

int uapi_parse_get(const char *buf, size_t len, struct wg_device *dev)
{
	struct get_ctx c = { dev, NULL };
	return walk_reply(buf, len, get_fn, &c);
}

static bool no_lines(void *arg, const char *k, const char *v)
{
	(void)arg, (void)k, (void)v;
	return false;
}

int uapi_parse_status(const char *buf, size_t len) { return walk_reply(buf, len, no_lines, NULL); }

bool uapi_reply_complete(const char *buf, size_t len)
{
	return len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n';
}

static void put_peer(FILE *f, const struct wg_peer_change *p)
{
	char hex[2 * WG_KEY_LEN + 1], text[128];
	sodium_bin2hex(hex, sizeof(hex), p->public_key, WG_KEY_LEN);
	fprintf(f, "public_key=%s\n", hex);
	if (p->flags & WG_CHANGE_REMOVE) {
		fputs("remove=true\n", f);
		return;
	}
	if (p->flags & WG_CHANGE_UPDATE_ONLY)
		fputs("update_only=true\n", f);
	if (p->flags & WG_CHANGE_ENDPOINT) {
		wg_endpoint_format(&p->endpoint, text, sizeof(text));
		fprintf(f, "endpoint=%s\n", text);
	}
	if (p->flags & WG_CHANGE_KEEPALIVE)
		fprintf(f, "persistent_keepalive_interval=%u\n", p->keepalive);
	if (p->flags & WG_CHANGE_REPLACE_ALLOWEDIPS)
		fputs("replace_allowed_ips=true\n", f);
	for (size_t i = 0; i < p->n_allowedips; i++) {
		wg_allowedip_format(&p->allowedips[i], text, sizeof(text));
		fprintf(f, "allowed_ip=%s\n", text);
	}
}

int uapi_format_set(const struct wg_change *change, char **out, size_t *len)
{
	*out = NULL;
	FILE *f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	fputs("set=1\n", f);
	for (size_t i = 0; i < change->n_peers; i++)
		put_peer(f, &change->peers[i]);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int uapi_connect(const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/var/run/wireguard/%s.sock", ifname);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;
		close(fd);
		/* A stale socket file: the daemon behind it is gone. */
		return err == -ECONNREFUSED ? -ENODEV : err;
	}
	return fd;
}

static int wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;
	while ((r = poll(&p, 1, IO_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	return r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		int err = wait_fd(fd, POLLOUT);
		if (err)
			return err;
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the reply's closing empty line. */
static int read_reply(int fd, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int err = buf ? 0 : -ENOMEM;
	while (!err && !uapi_reply_complete(buf, n)) {
		if (n == cap) {
			/* Grown by hand, not realloc: the old copy (it may hold the
			 * private key) is wiped before it is freed. */
			char *nb = cap >= REPLY_MAX ? NULL : malloc(cap * 2);
			if (!nb) {
				err = cap >= REPLY_MAX ? -EMSGSIZE : -ENOMEM;
				break;
			}
			memcpy(nb, buf, n);
			sodium_memzero(buf, cap);
			free(buf);
			buf = nb;
			cap *= 2;
		}
		if ((err = wait_fd(fd, POLLIN)))
			break;
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = -errno;
		else if (r == 0)
			err = -ECONNRESET; /* closed mid-reply */
		else
			n += (size_t)r;
	}
	if (err) {
		if (buf)
			sodium_memzero(buf, cap);
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The connection wg_uapi_keep opened, used for every request on its
 * interface: wireguard-go answers any number of requests on one. */
static struct {
	char ifname[IFNAMSIZ];
	int fd;
	unsigned ifindex; /* of the interface that wireguard-go drives */
} kept = { .fd = -1 };

int wg_uapi_keep(const char *ifname)
{
	int fd = uapi_connect(ifname);
	if (fd < 0)
		return fd;
	if (kept.fd >= 0)
		close(kept.fd);
	kept.fd = fd;
	snprintf(kept.ifname, sizeof(kept.ifname), "%s", ifname);
	kept.ifindex = if_nametoindex(ifname);
	return 0;
}

bool wg_uapi_kept(const char *ifname)
{
	return kept.fd >= 0 && !strcmp(kept.ifname, ifname);
}

/* Sends a request and reads the reply: 0 or -errno, error message set.
 * On the kept connection; when it failed (wireguard-go closed it, or a
 * reply came short and the stream is out of step), once more on a new
 * one, kept in its place (only while we may still connect). */
static int exchange(const char *ifname, const char *req, size_t req_len, char **reply,
		    size_t *reply_len)
{
	bool on_kept = kept.fd >= 0 && !strcmp(kept.ifname, ifname);
	int err = 0;
	for (int tries = 0; tries < 1 + on_kept; tries++) {
		bool keep = on_kept;
		if (keep && tries) {
			close(kept.fd);
			kept.fd = -1;
			keep = wg_uapi_keep(ifname) == 0;
		}
		int fd = keep ? kept.fd : uapi_connect(ifname);
		if (fd < 0) {
			wg_set_error(-fd, "%s: cannot reach the userspace WireGuard control socket", ifname);
			return fd;
		}
		err = write_all(fd, req, req_len);
		if (!err)
			err = read_reply(fd, reply, reply_len);
		if (!keep)
			close(fd);
		if (!err)
			return 0;
	}
	wg_set_error(-err, "%s: userspace WireGuard control socket", ifname);
	return err;
}

static int uapi_get(const char *ifname, struct wg_device **out)
{
	char *reply = NULL;
	size_t len = 0;
	*out = NULL;
	int err = exchange(ifname, "get=1\n\n", 7, &reply, &len);
	if (err)
		return err;
	struct wg_device *dev = wg_device_new(ifname);
	err = dev ? uapi_parse_get(reply, len, dev) : -ENOMEM;
	sodium_memzero(reply, len);
	free(reply);
	if (!err) {
		/* On the kept connection it is the same wireguard-go, and so the
		 * same interface, as when it was made (a new one ends it). */
		bool on_kept = kept.fd >= 0 && kept.ifindex && !strcmp(kept.ifname, ifname);
		dev->ifindex = on_kept ? kept.ifindex : if_nametoindex(ifname);
		*out = dev;
		return 0;
	}
	wg_device_free(dev);
	if (err == -EPROTO)
		wg_set_error(0, "%s: malformed reply from the userspace WireGuard control socket",
			     ifname);
	else
		wg_set_error(-err, "%s: reading the device failed", ifname);
	return err;
}

static int uapi_set(const char *ifname, const struct wg_change *change)
{
	char *req = NULL, *reply = NULL;
	size_t req_len = 0, len = 0;
	int err = uapi_format_set(change, &req, &req_len);
	if (err) {
		wg_set_error(-err, "%s: building the change", ifname);
		return err;
	}
	err = exchange(ifname, req, req_len, &reply, &len);
	free(req);
	if (err)
		return err;
	err = uapi_parse_status(reply, len);
	free(reply);
	if (err == -EPROTO)
		wg_set_error(0, "%s: malformed reply to a change", ifname);
	else if (err)
		wg_set_error(-err, "%s: the change was refused", ifname);
	return err;
}

const struct wg_backend wg_backend_userspace = { "userspace", uapi_get, uapi_set };
