/* `wirelink decode`: prints packets (hex lines or a raw payload) in the
 * canonical text form, optionally checking each group's tag for a recipient. */
#include "cli/cli.h"

#include "proto/crypto.h"
#include "proto/text.h"
#include "util/file.h"
#include "util/hex.h"
#include "util/keys.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { UDP_MAX = 65535, INPUT_MAX = 64 << 20 };

struct decode_ctx {
	struct crypto_identity *id; /* set with --verify */
	struct crypto_cache *cache;
	unsigned failed;
};

static void usage(FILE *out)
{
	fputs("usage: wirelink decode [--raw] [--verify PRIVATE-KEY-FILE|-] [FILE]\n"
	      "Prints each packet in FILE (default: standard input) as canonical text.\n"
	      "  Input is one packet per line as hex (blank and # lines skipped),\n"
	      "  --raw      or the whole file as the raw bytes of one packet;\n"
	      "  --verify   checks each signed group's tag for that recipient\n"
	      "             (a base64 private key as `wg genkey` prints it).\n"
	      "Exit status: 0 when every packet decodes (and verifies), 1 otherwise.\n",
	      out);
}

static int load_identity(const char *path, struct crypto_identity **id)
{
	char *text = NULL;
	size_t len = 0;
	uint8_t priv[KEY_LEN];
	int err = file_read_all(path, 4096, &text, &len);
	if (err) {
		fprintf(stderr, "wirelink: error: decode: cannot read private key %s: %s\n", path, strerror(-err));
		return err;
	}
	if (!key_from_base64(text, len, priv)) {
		fprintf(stderr, "wirelink: error: decode: %s: not a base64 WireGuard private key\n", path);
		err = -EINVAL;
	} else {
		err = crypto_identity_new(priv, id);
		if (err)
			fprintf(stderr, "wirelink: error: decode: %s: unusable private key\n", path);
	}
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(text, len);
	free(text);
	return err;
}

/* Checks the tag of a packet whose outer signed-group header decodes. */
static void verify_packet(struct decode_ctx *c, const uint8_t *buf, size_t len)
{
	struct wire_fact g;
	if (wire_decode_group_outer(buf, len, &g) != WIRE_OK)
		return;
	/* Our own packet: its tag is made with the key we share with the
	 * peer it went to, which this one key cannot rebuild. */
	if (!memcmp(g.subject, crypto_identity_public(c->id), KEY_LEN)) {
		puts("tag not checked: signed with this private key (our own packet); "
		     "only its recipient can check it: --verify with the recipient's key");
		c->failed++;
		return;
	}
	const uint8_t *shared = crypto_cache_get(c->cache, g.subject);
	if (!shared) {
		puts("tag bad (signer key is low-order)");
		c->failed++;
	} else if (crypto_group_verify(shared, &g.v.group)) {
		puts("tag ok");
	} else {
		puts("tag bad");
		c->failed++;
	}
}

static void decode_one(struct decode_ctx *c, const uint8_t *buf, size_t len)
{
	if (text_packet(stdout, buf, len) != WIRE_OK)
		c->failed++;
	if (c->id)
		verify_packet(c, buf, len);
}

static void decode_hex_lines(struct decode_ctx *c, const char *text, size_t len)
{
	static uint8_t pkt[UDP_MAX];
	const char *end = text + len;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *stop = nl ? nl : end;
		const char *p = line;
		while (p < stop && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		size_t n = 0;
		if (p == stop || *p == '#') {
			/* blank or comment */
		} else if (!hex_parse(p, (size_t)(stop - p), pkt, sizeof(pkt), &n)) {
			puts("error: not a hex packet of at most 65535 bytes");
			c->failed++;
		} else {
			decode_one(c, pkt, n);
		}
		line = stop + 1;
	}
}

int cmd_decode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "verify", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool raw = false;
	const char *key_path = NULL;
	int opt;
	optind = 0;
	opterr = 0; /* our own message, in the one error style */
	while ((opt = getopt_long(argc, argv, ":rv:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': raw = true; break;
		case 'v': key_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "wirelink: error: decode: %s %s\n", opt == ':' ? "missing value for" : "unknown flag",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fputs("wirelink: error: decode: one input file at most\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *input = optind < argc ? argv[optind] : "-";
	if (key_path && strcmp(key_path, "-") == 0 && strcmp(input, "-") == 0) {
		fputs("wirelink: error: decode: the key and the packets cannot both come from standard input\n",
		      stderr);
		return EXIT_USAGE;
	}
	struct decode_ctx c = { 0 };
	int status = EXIT_USAGE;
	char *text = NULL;
	size_t len = 0;
	if (crypto_init() != 0 || (key_path && load_identity(key_path, &c.id) != 0))
		goto out;
	if (c.id && !(c.cache = crypto_cache_new(c.id)))
		goto out;
	int err = file_read_all(input, raw ? UDP_MAX : INPUT_MAX, &text, &len);
	if (err) {
		fprintf(stderr, "wirelink: error: decode: %s: %s%s\n", input, strerror(-err),
			err == -EFBIG && raw ? " (a packet is at most 65535 bytes)" : "");
		goto out;
	}
	if (raw)
		decode_one(&c, (const uint8_t *)text, len);
	else
		decode_hex_lines(&c, text, len);
	status = c.failed ? 1 : 0;
out:
	free(text);
	crypto_cache_free(c.cache);
	crypto_identity_free(c.id);
	return status;
}
