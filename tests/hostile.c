/* Test tool: sends hostile datagrams at a wirelink daemon.
 *   hostile IFACE ADDR PORT MODE [ARGS]
 * ADDR is the daemon's IPv6 address (link-local is scoped to IFACE). Modes:
 *   random N                      N datagrams of random bytes, 0..1500 long
 *   truncated KEYFILE TO          every prefix of a valid group
 *   oversized N                   N datagrams of 1,213..65,000 bytes
 *   badtag KEYFILE TO N           N valid groups with one tag byte flipped
 *   signed KEYFILE TO N           N valid groups signed with KEYFILE's key
 *                                 for peer TO (base64 public key)
 *   flood KEYFILE TO RATE SECONDS all of the above, mixed, RATE per second
 * A peer with a valid key that lies (each packet signed, full of facts):
 *   members KEYFILE TO N          N packets of Member facts about random keys
 *   endpoints KEYFILE TO N        N Endpoint facts about the signer (random
 *                                 203.0.113.0/24 addresses and ports)
 *   claim KEYFILE TO CIDR...      AllowedCidr facts about the signer
 *   reboots KEYFILE TO N MS       N Alives, each with a new boot id, MS apart
 *   bigmeta KEYFILE TO            a 1,100-byte MemberMetadata about the signer
 *   name KEYFILE TO NAME [KEY]    a MemberMetadata naming the signer (or the
 *                                 peer with base64 public key KEY) NAME
 * Valid groups carry an Alive and a MemberMetadata about the signer.
 * Prints how many datagrams it sent. */
#include "proto/crypto.h"
#include "proto/meta.h"
#include "proto/pack.h"
#include "util/file.h"
#include "util/keys.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;
static struct sockaddr_in6 dest;
static unsigned long sent;

static void send_bytes(const uint8_t *p, size_t len)
{
	if (sendto(sock, p, len, 0, (struct sockaddr *)&dest, sizeof(dest)) >= 0)
		sent++;
}

/* One valid signed group, kept for the modes that bend it. */
static uint8_t group[1400];
static size_t group_len;

static int keep(void *arg, const uint8_t *pkt, size_t len)
{
	(void)arg;
	if (len <= sizeof(group)) {
		memcpy(group, pkt, len);
		group_len = len;
	}
	return 0;
}

/* The signer and what it shares with the recipient, for the lying modes. */
static struct crypto_identity *liar;
static uint8_t liar_shared[32];

static int emit_packet(void *arg, const uint8_t *pkt, size_t len)
{
	(void)arg;
	send_bytes(pkt, len);
	return 0;
}

/* Packs and sends facts as the signer (as many packets as they need). */
static void send_facts(const struct wire_fact *f, size_t n)
{
	struct pack_target t = { crypto_identity_public(liar), liar_shared, emit_packet, NULL };
	if (pack_facts(&t, f, n, NULL, 0) < 0)
		fprintf(stderr, "hostile: packing failed\n");
}

static struct wire_fact about_signer(uint8_t attr)
{
	struct wire_fact f = { .attr = attr, .ttl = 255 };
	memcpy(f.subject, crypto_identity_public(liar), 32);
	return f;
}

static void lie_members(long packets)
{
	enum { PER = 30 };
	struct wire_fact f[PER];
	while (packets-- > 0) {
		for (int i = 0; i < PER; i++) {
			f[i] = (struct wire_fact){ .attr = WIRE_MEMBER, .ttl = 65535 };
			crypto_random(f[i].subject, 32);
		}
		send_facts(f, PER);
	}
}

static void lie_endpoints(long n)
{
	enum { PER = 30 };
	struct wire_fact f[PER];
	while (n > 0) {
		int k = n < PER ? (int)n : PER;
		for (int i = 0; i < k; i++) {
			f[i] = about_signer(WIRE_ENDPOINT_V4);
			uint8_t a[4] = { 203, 0, 113, (uint8_t)(1 + rand() % 254) };
			memcpy(f[i].v.endpoint.addr, a, 4);
			f[i].v.endpoint.port = (uint16_t)(1024 + rand() % 60000);
		}
		send_facts(f, (size_t)k);
		n -= k;
	}
}

static int lie_claims(int n, char **cidrs)
{
	struct wire_fact f[64];
	int k = 0;
	for (int i = 0; i < n && k < 64; i++) {
		char text[64];
		snprintf(text, sizeof(text), "%s", cidrs[i]);
		char *slash = strchr(text, '/');
		if (!slash)
			return -1;
		*slash = '\0';
		bool v6 = strchr(text, ':') != NULL;
		f[k] = about_signer(v6 ? WIRE_CIDR_V6 : WIRE_CIDR_V4);
		if (inet_pton(v6 ? AF_INET6 : AF_INET, text, f[k].v.cidr.addr) != 1)
			return -1;
		f[k++].v.cidr.prefix = (uint8_t)atoi(slash + 1);
	}
	send_facts(f, (size_t)k);
	return 0;
}

static void lie_reboots(long n, long ms)
{
	while (n-- > 0) {
		struct wire_fact a = about_signer(WIRE_ALIVE);
		crypto_random(a.v.boot_id, sizeof(a.v.boot_id));
		send_facts(&a, 1);
		usleep((useconds_t)ms * 1000);
	}
}

static void lie_bigmeta(void)
{
	static uint8_t meta[1100];
	meta[0] = 'n';
	meta[1] = 0xca; /* 1,098 as a uvarint */
	meta[2] = 0x08;
	memset(meta + 3, 'x', sizeof(meta) - 3);
	struct wire_fact f = about_signer(WIRE_MEMBER_META);
	f.v.meta = (struct wire_view){ meta, sizeof(meta) };
	/* Larger than a group may be: sealed by hand, past pack_facts' check. */
	uint8_t inner[1400], nonce[WIRE_NONCE_LEN], pkt[1500];
	size_t len = 0;
	crypto_random_nonce(nonce);
	if (!wire_encode_fact(&f, inner, sizeof(inner), &len)) {
		fprintf(stderr, "hostile: cannot encode the metadata\n");
		return;
	}
	size_t n = pack_seal(crypto_identity_public(liar), liar_shared, nonce, inner, len, pkt, sizeof(pkt));
	if (n)
		send_bytes(pkt, n);
}

static int lie_name(const char *name, const char *subject)
{
	uint8_t meta[80];
	bool ok = true;
	size_t len = meta_build(name, -1, meta, sizeof(meta), &ok);
	struct wire_fact f = about_signer(WIRE_MEMBER_META);
	if (!ok || (subject && !key_from_base64(subject, strlen(subject), f.subject)))
		return -1;
	f.v.meta = (struct wire_view){ meta, (uint32_t)len };
	send_facts(&f, 1);
	return 0;
}

static int make_group(const char *keyfile, const char *to_b64)
{
	char *text = NULL;
	size_t n = 0;
	uint8_t priv[32], to[32], shared[32];
	struct crypto_identity *id = NULL;
	bool ok = file_read_all(keyfile, 256, &text, &n) == 0 && key_from_base64(text, n, priv) &&
		  key_from_base64(to_b64, strlen(to_b64), to) && crypto_identity_new(priv, &id) == 0 &&
		  crypto_shared(id, to, shared) == 0;
	free(text);
	if (!ok) {
		fprintf(stderr, "hostile: bad key file or peer key\n");
		crypto_identity_free(id);
		return -1;
	}
	struct wire_fact f[2] = { { .attr = WIRE_ALIVE, .ttl = 255 },
				  { .attr = WIRE_MEMBER_META, .ttl = 255 } };
	static const uint8_t meta[] = { 'n', 7, 'h', 'o', 's', 't', 'i', 'l', 'e' };
	for (int i = 0; i < 2; i++)
		memcpy(f[i].subject, crypto_identity_public(id), 32);
	crypto_random(f[0].v.boot_id, sizeof(f[0].v.boot_id));
	f[1].v.meta = (struct wire_view){ meta, sizeof(meta) };
	struct pack_target t = { crypto_identity_public(id), shared, keep, NULL };
	int r = pack_facts(&t, f, 2, NULL, 0);
	liar = id;
	memcpy(liar_shared, shared, sizeof(shared));
	return r == 1 ? 0 : -1;
}

static void send_random(void)
{
	uint8_t buf[1500];
	size_t len = (size_t)(rand() % (int)sizeof(buf));
	crypto_random(buf, len);
	send_bytes(buf, len);
}

static void send_oversized(void)
{
	static uint8_t buf[65000];
	size_t len = 1213 + (size_t)rand() % (sizeof(buf) - 1213);
	crypto_random(buf, len);
	if (group_len)
		memcpy(buf, group, group_len); /* a valid start */
	send_bytes(buf, len);
}

static void send_badtag(void)
{
	uint8_t copy[sizeof(group)];
	memcpy(copy, group, group_len);
	copy[1 + (size_t)rand() % 16] ^= 0x40; /* inside the tag, after the attribute */
	send_bytes(copy, group_len);
}

static void send_truncated(void)
{
	for (size_t len = 0; len < group_len; len++)
		send_bytes(group, len);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void flood(double rate, double seconds)
{
	double start = now_s();
	unsigned long i = 0;
	while (now_s() - start < seconds) {
		/* Paced in batches of 1/100 s. */
		double due = start + (double)i / rate;
		double wait = due - now_s();
		if (wait > 0)
			usleep((useconds_t)(wait * 1e6));
		switch (i % 4) {
		case 0: send_random(); break;
		case 1: send_bytes(group, group_len); break; /* replayed */
		case 2: send_badtag(); break;
		default: send_bytes(group, 1 + (size_t)rand() % (group_len - 1)); break;
		}
		if (i % 1000 == 999)
			send_oversized();
		i++;
	}
}

int main(int argc, char **argv)
{
	if (argc < 5 || crypto_init() != 0) {
		fprintf(stderr, "usage: hostile IFACE ADDR PORT MODE [ARGS]\n");
		return 2;
	}
	dest.sin6_family = AF_INET6;
	dest.sin6_port = htons((uint16_t)atoi(argv[3]));
	dest.sin6_scope_id = if_nametoindex(argv[1]);
	if (inet_pton(AF_INET6, argv[2], &dest.sin6_addr) != 1 ||
	    (sock = socket(AF_INET6, SOCK_DGRAM, 0)) < 0) {
		fprintf(stderr, "hostile: bad address\n");
		return 2;
	}
	srand((unsigned)getpid());
	const char *mode = argv[4];
	bool keyed = !strcmp(mode, "truncated") || !strcmp(mode, "badtag") ||
		     !strcmp(mode, "signed") || !strcmp(mode, "flood") || !strcmp(mode, "members") ||
		     !strcmp(mode, "endpoints") || !strcmp(mode, "claim") || !strcmp(mode, "reboots") ||
		     !strcmp(mode, "bigmeta") || !strcmp(mode, "name");
	if (keyed && (argc < 7 || make_group(argv[5], argv[6]) != 0))
		return 2;
	long n = argc > (keyed ? 7 : 5) ? atol(argv[keyed ? 7 : 5]) : 1;
	if (!strcmp(mode, "random"))
		while (n-- > 0)
			send_random();
	else if (!strcmp(mode, "oversized"))
		while (n-- > 0)
			send_oversized();
	else if (!strcmp(mode, "truncated"))
		send_truncated();
	else if (!strcmp(mode, "badtag"))
		while (n-- > 0)
			send_badtag();
	else if (!strcmp(mode, "signed"))
		while (n-- > 0)
			send_bytes(group, group_len);
	else if (!strcmp(mode, "flood") && argc >= 9)
		flood(atof(argv[7]), atof(argv[8]));
	else if (!strcmp(mode, "members"))
		lie_members(n);
	else if (!strcmp(mode, "endpoints"))
		lie_endpoints(n);
	else if (!strcmp(mode, "claim") && argc >= 8) {
		if (lie_claims(argc - 7, argv + 7) != 0) {
			fprintf(stderr, "hostile: bad CIDR\n");
			return 2;
		}
	} else if (!strcmp(mode, "reboots") && argc >= 9)
		lie_reboots(n, atol(argv[8]));
	else if (!strcmp(mode, "bigmeta"))
		lie_bigmeta();
	else if (!strcmp(mode, "name") && argc >= 8) {
		if (lie_name(argv[7], argc > 8 ? argv[8] : NULL) != 0) {
			fprintf(stderr, "hostile: bad name or key\n");
			return 2;
		}
	}
	else {
		fprintf(stderr, "hostile: unknown mode %s\n", mode);
		return 2;
	}
	crypto_identity_free(liar);
	printf("%lu\n", sent);
	return 0;
}
