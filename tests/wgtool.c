/* Test tool over the device API: prints a device as `wg show IFACE dump`
 * does, applies `wg set`-like changes, and times full reads.
 *   wgtool dump IFACE
 *   wgtool set IFACE peer KEY [remove] [update-only] [endpoint EP]
 *          [persistent-keepalive N] [replace-allowed-ips] [allowed-ips A,B] [peer ...]
 *   wgtool bulk IFACE N M      adds N generated peers with M allowed IPs each
 *   wgtool time IFACE ROUNDS   prints the median time of a full read
 *   wgtool netif               lists interfaces: name index up|down addr/prefix...
 *   wgtool addaddr IFACE ADDR/PREFIX   adds an IPv6 address */
#include "util/keys.h"
#include "wg/netif.h"
#include "wg/wg.h"

#include <arpa/inet.h>
#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(const char *what)
{
	fprintf(stderr, "wgtool: %s: %s\n", what, wg_last_error());
	return 1;
}

static int cmd_dump(const char *ifname)
{
	struct wg_device *dev;
	if (wg_get_device(ifname, &dev) != 0)
		return fail("get");
	wg_device_dump(dev, stdout);
	wg_device_free(dev);
	return 0;
}

static int parse_ips(char *list, struct wg_allowedip **ips, size_t *n)
{
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		*ips = realloc(*ips, (*n + 1) * sizeof(**ips));
		if (!wg_allowedip_parse(t, &(*ips)[(*n)++]))
			return -1;
	}
	return 0;
}

static int cmd_set(const char *ifname, int argc, char **argv)
{
	struct wg_peer_change *peers = calloc((size_t)argc, sizeof(*peers));
	struct wg_peer_change *p = NULL;
	size_t n = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "peer") && v) {
			p = &peers[n++];
			if (!key_from_base64(v, strlen(v), p->public_key))
				return fprintf(stderr, "bad key %s\n", v), 2;
			i++;
		} else if (!p) {
			return fprintf(stderr, "expected peer\n"), 2;
		} else if (!strcmp(a, "remove")) {
			p->flags |= WG_CHANGE_REMOVE;
		} else if (!strcmp(a, "update-only")) {
			p->flags |= WG_CHANGE_UPDATE_ONLY;
		} else if (!strcmp(a, "replace-allowed-ips")) {
			p->flags |= WG_CHANGE_REPLACE_ALLOWEDIPS;
		} else if (!strcmp(a, "endpoint") && v && wg_endpoint_parse(v, &p->endpoint)) {
			p->flags |= WG_CHANGE_ENDPOINT;
			i++;
		} else if (!strcmp(a, "persistent-keepalive") && v) {
			p->flags |= WG_CHANGE_KEEPALIVE;
			p->keepalive = (uint16_t)atoi(v);
			i++;
		} else if (!strcmp(a, "allowed-ips") && v) {
			struct wg_allowedip *ips = NULL;
			size_t k = 0;
			char *copy = strdup(v);
			if (parse_ips(copy, &ips, &k))
				return fprintf(stderr, "bad allowed ips %s\n", v), 2;
			free(copy);
			p->allowedips = ips;
			p->n_allowedips = k;
			i++;
		} else {
			return fprintf(stderr, "bad argument %s\n", a), 2;
		}
	}
	struct wg_change c = { peers, n };
	int r = wg_set_device(ifname, &c);
	for (size_t i = 0; i < n; i++)
		free((void *)peers[i].allowedips);
	free(peers);
	return r ? fail("set") : 0;
}

static int cmd_bulk(const char *ifname, size_t n, size_t m)
{
	struct wg_peer_change *peers = calloc(n, sizeof(*peers));
	struct wg_allowedip *ips = calloc(n * m, sizeof(*ips));
	for (size_t i = 0; i < n; i++) {
		struct wg_peer_change *p = &peers[i];
		memset(p->public_key, 0x40, WG_KEY_LEN); /* distinct, valid points are not needed */
		p->public_key[0] = (uint8_t)i;
		p->public_key[1] = (uint8_t)(i >> 8);
		for (size_t j = 0; j < m; j++) {
			struct wg_allowedip *ip = &ips[i * m + j];
			ip->family = AF_INET6;
			ip->cidr = 128;
			ip->ip6.s6_addr[0] = 0xfd;
			ip->ip6.s6_addr[13] = (uint8_t)j;
			ip->ip6.s6_addr[14] = (uint8_t)(i >> 8);
			ip->ip6.s6_addr[15] = (uint8_t)i;
		}
		p->allowedips = &ips[i * m];
		p->n_allowedips = m;
	}
	struct wg_change c = { peers, n };
	int r = wg_set_device(ifname, &c);
	free(ips);
	free(peers);
	return r ? fail("set") : 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmd_time(const char *ifname, int rounds)
{
	double t[64];
	size_t peers = 0;
	if (rounds < 1 || rounds > 64)
		return 2;
	for (int i = 0; i < rounds; i++) {
		struct wg_device *dev;
		double start = now_ms();
		if (wg_get_device(ifname, &dev) != 0)
			return fail("get");
		t[i] = now_ms() - start;
		peers = dev->n_peers;
		wg_device_free(dev);
	}
	qsort(t, (size_t)rounds, sizeof(double), cmp_double);
	printf("full read of %zu peers: median %.2f ms (min %.2f, max %.2f, %d rounds)\n", peers,
	       t[rounds / 2], t[0], t[rounds - 1], rounds);
	return 0;
}

static int cmd_netif(void)
{
	struct netif_list *list;
	int err = netif_list(&list);
	if (err)
		return fprintf(stderr, "wgtool: netif: %s\n", strerror(-err)), 1;
	for (size_t i = 0; i < list->n; i++) {
		const struct netif *n = &list->ifs[i];
		printf("%s %u %s", n->name, n->index, n->up ? "up" : "down");
		for (size_t j = 0; j < n->n_addrs; j++) {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(n->addrs[j].family, &n->addrs[j].ip6, a, sizeof(a));
			printf(" %s/%u", a, n->addrs[j].prefix);
		}
		putchar('\n');
	}
	netif_list_free(list);
	return 0;
}

static int cmd_addaddr(const char *ifname, const char *cidr)
{
	struct wg_allowedip ip;
	unsigned idx = if_nametoindex(ifname);
	if (!idx || !wg_allowedip_parse(cidr, &ip) || ip.family != AF_INET6)
		return fprintf(stderr, "wgtool: bad interface or address\n"), 2;
	int err = netif_add_addr6(idx, &ip.ip6, ip.cidr);
	if (err)
		return fprintf(stderr, "wgtool: addaddr: %s\n", strerror(-err)), 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "netif"))
		return cmd_netif();
	if (argc == 4 && !strcmp(argv[1], "addaddr"))
		return cmd_addaddr(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "set"))
		return cmd_set(argv[2], argc - 3, argv + 3);
	if (argc == 5 && !strcmp(argv[1], "bulk"))
		return cmd_bulk(argv[2], (size_t)atol(argv[3]), (size_t)atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "time"))
		return cmd_time(argv[2], atoi(argv[3]));
	fputs("usage: wgtool dump|set|bulk|time IFACE ...\n", stderr);
	return 2;
}
