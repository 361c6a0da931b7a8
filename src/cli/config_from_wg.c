/* config-from-wg: a starter configuration file (YAML) from a live
 * interface: the peers configured by hand, with the names a running daemon
 * knows, routers given Membership trust. Peers wirelink itself added are
 * left out (listing them would pin them forever). */
#include "cli/cli.h"
#include "core/trust.h"
#include "proto/autoaddr.h"
#include "util/keys.h"
#include "wg/netif.h"
#include "wg/wg.h"

#include <getopt.h>
#include <jansson.h>
#include <string.h>

/* The daemon's status peer for key, or NULL (no daemon, or not listed). */
static const json_t *daemon_peer(const json_t *status, const char *key)
{
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(status, "peers"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "public_key")) ?: "", key))
			return p;
	return NULL;
}

/* Whether an allowed IP is the peer's own auto-address (wirelink's). */
static bool is_autoaddr(const struct wg_peer *p, const struct wg_allowedip *ip)
{
	struct in6_addr a;
	autoaddr_from_key(p->public_key, &a);
	return ip->family == AF_INET6 && ip->cidr == 128 && !memcmp(&ip->ip6, &a, sizeof(a));
}

static void print_peer(const struct wg_peer *p, const char *key, const json_t *dp, const struct netif *device)
{
	char buf[80];
	const char *name = json_string_value(json_object_get(dp, "name"));
	printf("  - PublicKey: \"%s\"\n", key);
	if (name && strcmp(name, "(self)")) {
		fputs("    Name: \"", stdout);
		for (const char *c = name; *c; c++)
			printf("%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
		fputs("\"\n", stdout);
	}
	if (!name)
		printf("    # Name: a name of at most 16 characters\n");
	/* The daemon's router rule (a routed network holding one of our own
	 * addresses): on a hub, a leaf that routes its LAN is no router. */
	if (trust_peer_is_router_for(p, device))
		printf("    Trust: Membership\n");
	if (p->endpoint.addr.sa_family != AF_UNSPEC) {
		wg_endpoint_format(&p->endpoint, buf, sizeof(buf));
		printf("    # Endpoints: [\"%s\"]   # its endpoint now\n", buf);
	}
	size_t shown = 0;
	for (size_t k = 0; k < p->n_allowedips && shown < 8; k++) {
		if (is_autoaddr(p, &p->allowedips[k]))
			continue;
		wg_allowedip_format(&p->allowedips[k], buf, sizeof(buf));
		printf("    %s%s\n", shown++ ? "#   " : "# AllowedIPs now: ", buf);
	}
}

static void usage(FILE *out)
{
	fputs("usage: wirelink config-from-wg [-i] IFACE\n"
	      "Prints a starter wirelink.IFACE.yaml built from the live interface.\n",
	      out);
}

/* The interface: "-i IFACE", "--iface IFACE" or just "IFACE"; NULL after
 * printing help or a usage error (*status says which). */
static const char *parse_args(int argc, char **argv, int *status)
{
	static const struct option opts[] = { { "iface", required_argument, NULL, 'i' },
					       { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *iface = NULL;
	int opt;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			*status = 0;
			return NULL;
		}
		if (opt != 'i') {
			fprintf(stderr, "wirelink: error: config-from-wg: unknown flag or missing value: %s\n",
				argv[optind - 1]);
			usage(stderr);
			*status = EXIT_USAGE;
			return NULL;
		}
		iface = optarg;
	}
	if (!iface && optind < argc)
		iface = argv[optind++];
	if (!iface || optind < argc) {
		fprintf(stderr, "wirelink: error: config-from-wg: %s\n",
			iface ? "one interface only" : "which interface? (wirelink config-from-wg IFACE)");
		usage(stderr);
		*status = EXIT_USAGE;
		return NULL;
	}
	return iface;
}

int cmd_config_from_wg(int argc, char **argv)
{
	int status = 0;
	const char *iface = parse_args(argc, argv, &status);
	if (!iface)
		return status;
	struct wg_device *dev = NULL;
	if (wg_get_device(iface, &dev) != 0) {
		char why[600];
		wg_device_problem(iface, why, sizeof(why));
		fprintf(stderr, "wirelink: error: %s\n", why);
		return 1;
	}
	json_t *daemon = cli_ask(iface, "status", true); /* names; what wirelink added */
	struct netif_list *host = NULL;
	if (netif_list(&host) != 0)
		host = NULL; /* then any routed network counts, as in the daemon */
	const struct netif *device = host ? netif_find(host, iface) : NULL;
	printf("# wirelink configuration for %s, from `wirelink config-from-wg %s`.\n"
	       "# Edit it, then save it as /etc/wireguard/wirelink.%s.yaml; every key is\n"
	       "# described in wirelink.conf(5).\n"
	       "# Peers that route a network holding this interface's own address (a\n"
	       "# router) get Membership trust: their word decides who belongs to the\n"
	       "# network.\n",
	       iface, iface, iface);
	size_t listed = 0, left_out = 0;
	for (size_t i = 0; i < dev->n_peers; i++) {
		char key[KEY_B64_LEN + 1];
		key_to_base64(dev->peers[i].public_key, key);
		const json_t *dp = daemon_peer(daemon, key);
		if (json_is_true(json_object_get(dp, "learned"))) {
			left_out++;
			continue;
		}
		if (!listed++)
			printf("Peers:\n");
		print_peer(&dev->peers[i], key, dp, device);
	}
	if (!listed)
		printf("Peers: []\n");
	if (left_out)
		printf("# %zu peer%s that wirelink learned from others %s left out.\n", left_out,
		       left_out == 1 ? "" : "s", left_out == 1 ? "is" : "are");
	json_decref(daemon);
	netif_list_free(host);
	wg_device_free(dev);
	return 0;
}
