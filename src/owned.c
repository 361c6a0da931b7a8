/* The state file, one line a peer:
 *   wirelink-owned 1 <ifindex>
 *   <base64 key> <1: we added the peer | 0> [<cidr>...] */
#include "owned.h"

#include "util/keys.h"
#include "wg/wg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { LINE_MAX_LEN = 8192, CIDRS_MAX = 256 };

int owned_load(const char *path, uint32_t ifindex, struct engine *e)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[LINE_MAX_LEN];
	unsigned long idx = 0;
	int n = 0;
	if (!fgets(line, sizeof(line), f) || sscanf(line, "wirelink-owned 1 %lu", &idx) != 1 ||
	    idx != ifindex) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok = strtok_r(line, " \n", &save);
		uint8_t key[KEY_LEN];
		if (!tok || !key_from_base64(tok, strlen(tok), key))
			continue;
		tok = strtok_r(NULL, " \n", &save);
		if (!tok || (strcmp(tok, "0") && strcmp(tok, "1")))
			continue;
		bool peer = tok[0] == '1';
		engine_adopt(e, key, peer, NULL);
		for (int i = 0; i < CIDRS_MAX && (tok = strtok_r(NULL, " \n", &save)); i++) {
			struct wg_allowedip ip;
			if (wg_allowedip_parse(tok, &ip))
				engine_adopt(e, key, false, &ip);
		}
		n++;
	}
	fclose(f);
	return n;
}

static void write_one(void *arg, const uint8_t key[static WIRE_KEY_LEN], bool peer,
		      const struct wg_allowedip *ips, size_t n)
{
	FILE *f = arg;
	char b64[KEY_B64_LEN + 1], cidr[64];
	key_to_base64(key, b64);
	fprintf(f, "%s %d", b64, peer);
	for (size_t i = 0; i < n && i < CIDRS_MAX; i++) {
		wg_allowedip_format(&ips[i], cidr, sizeof(cidr));
		fprintf(f, " %s", cidr);
	}
	fputc('\n', f);
}

int owned_save(const char *path, uint32_t ifindex, const struct engine *e)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "wirelink-owned 1 %lu\n", (unsigned long)ifindex);
	engine_each_owned(e, write_one, f);
	int err = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
