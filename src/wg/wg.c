/* Device model helpers, text forms, backend choice and error reporting. */
#include "wg/wg.h"

#include "util/keys.h"

#include <arpa/inet.h>
#include "util/array.h"

#include <errno.h>
#include <net/if.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static __thread char last_error[512];

const char *wg_last_error(void) { return last_error; }

/* Why the interface cannot be read, naming the real cause: it does not
 * exist, or it is not a WireGuard interface (neither wireguard-go's
 * socket nor the kernel's "wireguard" device type), else the backend's
 * reason. */
void wg_device_problem(const char *iface, char *out, size_t len)
{
	char path[96], line[128];
	if (if_nametoindex(iface) == 0) {
		snprintf(out, len, "%s: no such interface", iface);
		return;
	}
	bool wireguard = wg_backend_for(iface) == &wg_backend_userspace;
	snprintf(path, sizeof(path), "/sys/class/net/%s/uevent", iface);
	FILE *f = wireguard ? NULL : fopen(path, "re");
	bool known = f != NULL;
	while (f && fgets(line, sizeof(line), f))
		wireguard |= !strcmp(line, "DEVTYPE=wireguard\n");
	if (f)
		fclose(f);
	if (known && !wireguard)
		snprintf(out, len, "%s: not a WireGuard interface", iface);
	else
		snprintf(out, len, "%s", wg_last_error());
}

void wg_set_error(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (err && n >= 0 && (size_t)n < sizeof(last_error))
		snprintf(last_error + n, sizeof(last_error) - (size_t)n, ": %s", strerror(err));
}

struct wg_device *wg_device_new(const char *ifname)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));
	if (dev)
		snprintf(dev->name, sizeof(dev->name), "%s", ifname);
	return dev;
}

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->n_peers; i++)
		free(dev->peers[i].allowedips);
	free(dev->peers);
	sodium_memzero(dev->private_key, sizeof(dev->private_key));
	free(dev);
}

/* Grows *arr (of *cap elements of size) to hold one more; false on ENOMEM. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev)
{
	if (!array_grow((void **)&dev->peers, dev->n_peers, &dev->cap_peers, sizeof(*dev->peers)))
		return NULL;
	struct wg_peer *p = &dev->peers[dev->n_peers++];
	memset(p, 0, sizeof(*p));
	return p;
}

int wg_peer_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *ip)
{
	if (!array_grow((void **)&peer->allowedips, peer->n_allowedips, &peer->cap_allowedips,
		  sizeof(*peer->allowedips)))
		return -ENOMEM;
	peer->allowedips[peer->n_allowedips++] = *ip;
	return 0;
}

const struct wg_peer *wg_device_find_peer(const struct wg_device *dev,
					  const uint8_t key[static WG_KEY_LEN])
{
	for (size_t i = 0; i < dev->n_peers; i++)
		if (memcmp(dev->peers[i].public_key, key, WG_KEY_LEN) == 0)
			return &dev->peers[i];
	return NULL;
}

bool wg_allowedip_parse(const char *text, struct wg_allowedip *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return false;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	char *end = NULL;
	errno = 0;
	unsigned long cidr = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end)
		return false;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, &out->ip4) == 1 && cidr <= 32)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &out->ip6) == 1 && cidr <= 128)
		out->family = AF_INET6;
	else
		return false;
	out->cidr = (uint8_t)cidr;
	return true;
}

void wg_allowedip_format(const struct wg_allowedip *ip, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(ip->family, ip->family == AF_INET ? (const void *)&ip->ip4 : (const void *)&ip->ip6,
		  addr, sizeof(addr));
	snprintf(out, cap, "%s/%u", addr, ip->cidr);
}

bool wg_endpoint_parse(const char *text, union wg_endpoint *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *start = text;
	size_t hlen;
	memset(out, 0, sizeof(*out));
	if (*text == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return false;
		start = text + 1;
		hlen = (size_t)(close - start);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, start, hlen);
	host[hlen] = '\0';
	char *end = NULL;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return false;
	if (*text != '[' && inet_pton(AF_INET, host, &out->addr4.sin_addr) == 1) {
		out->addr4.sin_family = AF_INET;
		out->addr4.sin_port = htons((uint16_t)port);
		return true;
	}
	if (*text == '[' && inet_pton(AF_INET6, host, &out->addr6.sin6_addr) == 1) {
		out->addr6.sin6_family = AF_INET6;
		out->addr6.sin6_port = htons((uint16_t)port);
		return true;
	}
	return false;
}

void wg_endpoint_format(const union wg_endpoint *ep, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN];
	if (ep->addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr4.sin_addr, addr, sizeof(addr));
		snprintf(out, cap, "%s:%u", addr, ntohs(ep->addr4.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr6.sin6_addr, addr, sizeof(addr));
		snprintf(out, cap, "[%s]:%u", addr, ntohs(ep->addr6.sin6_port));
	} else {
		snprintf(out, cap, "(none)");
	}
}

static void dump_key(FILE *out, const uint8_t *key, bool present)
{
	char b64[KEY_B64_LEN + 1];
	if (!present) {
		fputs("(none)", out);
		return;
	}
	key_to_base64(key, b64);
	fputs(b64, out);
}

void wg_device_dump(const struct wg_device *dev, FILE *out)
{
	char buf[128];
	dump_key(out, dev->private_key, dev->has_private_key);
	fputc('\t', out);
	dump_key(out, dev->public_key, dev->has_private_key);
	fprintf(out, "\t%u\t", dev->listen_port);
	if (dev->fwmark)
		fprintf(out, "0x%x\n", dev->fwmark);
	else
		fputs("off\n", out);
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		dump_key(out, p->public_key, true);
		wg_endpoint_format(&p->endpoint, buf, sizeof(buf));
		fprintf(out, "\t%s\t%s\t", p->has_preshared_key ? "(hidden)" : "(none)", buf);
		for (size_t j = 0; j < p->n_allowedips; j++) {
			wg_allowedip_format(&p->allowedips[j], buf, sizeof(buf));
			fprintf(out, "%s%s", j ? "," : "", buf);
		}
		if (!p->n_allowedips)
			fputs("(none)", out);
		fprintf(out, "\t%lld\t%llu\t%llu\t", (long long)p->last_handshake_sec,
			(unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes);
		if (p->keepalive)
			fprintf(out, "%u\n", p->keepalive);
		else
			fputs("off\n", out);
	}
}

const struct wg_backend *wg_backend_for(const char *ifname)
{
	char path[128];
	struct stat st;
	/* A kept connection to its control socket (one that broke is closed
	 * on its first failed request): no need to look. */
	if (wg_uapi_kept(ifname))
		return &wg_backend_userspace;
	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", ifname);
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		return &wg_backend_userspace;
	return &wg_backend_kernel;
}

static bool valid_ifname(const char *ifname)
{
	size_t n = strlen(ifname);
	return n > 0 && n < IFNAMSIZ && !strchr(ifname, '/') && strcmp(ifname, ".") &&
	       strcmp(ifname, "..");
}

int wg_get_device(const char *ifname, struct wg_device **out)
{
	*out = NULL;
	if (!valid_ifname(ifname)) {
		wg_set_error(0, "invalid interface name '%s'", ifname);
		return -EINVAL;
	}
	return wg_backend_for(ifname)->get(ifname, out);
}

int wg_set_device(const char *ifname, const struct wg_change *change)
{
	if (!valid_ifname(ifname)) {
		wg_set_error(0, "invalid interface name '%s'", ifname);
		return -EINVAL;
	}
	return wg_backend_for(ifname)->set(ifname, change);
}
