/* config-from-wg: a starter configuration file (YAML) from a live
 * interface: every peer listed, routers given Membership trust. */
#include "cli/cli.h"
#include "core/trust.h"
#include "util/keys.h"
#include "wg/wg.h"

#include <string.h>

int cmd_config_from_wg(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
			"usage: wirelink config-from-wg IFACE\n"
			"Prints a starter wirelink.IFACE.yaml built from the live interface.\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : EXIT_USAGE;
	}
	struct wg_device *dev = NULL;
	if (wg_get_device(argv[1], &dev) != 0) {
		fprintf(stderr, "wirelink: %s\n", wg_last_error());
		return 1;
	}
	printf("# wirelink configuration for %s, from `wirelink config-from-wg %s`.\n"
	       "# Edit it, then save it as /etc/wireguard/wirelink.%s.yaml; every key is\n"
	       "# described in wirelink.conf(5).\n"
	       "# Peers that route whole networks (a router) get Membership trust: their\n"
	       "# word decides who belongs to the network.\n"
	       "Peers:\n",
	       argv[1], argv[1], argv[1]);
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *p = &dev->peers[i];
		char key[KEY_B64_LEN + 1], buf[80];
		key_to_base64(p->public_key, key);
		bool router = trust_peer_is_router(p);
		printf("  - PublicKey: \"%s\"\n", key);
		printf("    # Name: peer%zu\n", i + 1);
		if (router)
			printf("    Trust: Membership\n");
		if (p->endpoint.addr.sa_family != AF_UNSPEC) {
			wg_endpoint_format(&p->endpoint, buf, sizeof(buf));
			printf("    # Endpoints: [\"%s\"]   # its endpoint now\n", buf);
		}
		for (size_t k = 0; k < p->n_allowedips && k < 8; k++) {
			wg_allowedip_format(&p->allowedips[k], buf, sizeof(buf));
			printf("    %s%s\n", k ? "#   " : "# AllowedIPs now: ", buf);
		}
	}
	if (!dev->n_peers)
		printf("  []\n");
	wg_device_free(dev);
	return 0;
}
