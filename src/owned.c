/* The state file, one line a peer:
 *   wirelink-owned 1 <ifindex>
 *   <base64 key> <1: we added the peer | 0> [<cidr>...]
 * Lines are read whole (getline); one without its newline was cut short
 * and is skipped. */
#include "owned.h"

#include "util/keys.h"
#include "wg/wg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* One peer's line (without its newline): false when malformed. */
static bool load_line(char *line, struct engine *e)
{
	char *save = NULL, *tok = strtok_r(line, " ", &save);
	uint8_t key[KEY_LEN];
	if (!tok || !key_from_base64(tok, strlen(tok), key))
		return false;
	tok = strtok_r(NULL, " ", &save);
	if (!tok || (strcmp(tok, "0") && strcmp(tok, "1")))
		return false;
	engine_adopt(e, key, tok[0] == '1', NULL);
	for (int i = 0; i < OWNED_CIDRS_MAX && (tok = strtok_r(NULL, " ", &save)); i++) {
		struct wg_allowedip ip;
		if (wg_allowedip_parse(tok, &ip))
			engine_adopt(e, key, false, &ip);
	}
	return true;
}

/* A whole line of f (its newline removed), or -1 at the end or for an
 * unfinished or overlong line. */
static ssize_t next_line(FILE *f, char **line, size_t *cap)
{
	ssize_t n = getline(line, cap, f);
	if (n <= 0 || (*line)[n - 1] != '\n' || n > OWNED_LINE_MAX)
		return -1;
	(*line)[--n] = '\0';
	return n;
}

int owned_load(int dirfd, const char *name, uint32_t ifindex, struct engine *e)
{
	/* Non-blocking: a FIFO put there must not hang the start. */
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned long idx = 0;
	int n = 0;
	if (next_line(f, &line, &cap) >= 0 && sscanf(line, "wirelink-owned 1 %lu", &idx) == 1 &&
	    idx == ifindex) {
		/* An overlong line ends the file: what follows is not trusted
		 * to start on a line of its own. */
		while (next_line(f, &line, &cap) >= 0)
			n += load_line(line, e);
	}
	free(line);
	fclose(f);
	return n;
}

struct owned_out {
	FILE *f;
	bool too_many;
};

static void write_one(void *arg, const uint8_t key[static WIRE_KEY_LEN], bool peer,
		      const struct wg_allowedip *ips, size_t n)
{
	struct owned_out *w = arg;
	char b64[KEY_B64_LEN + 1], cidr[64];
	if (n > OWNED_CIDRS_MAX) {
		w->too_many = true;
		return;
	}
	key_to_base64(key, b64);
	fprintf(w->f, "%s %d", b64, peer);
	for (size_t i = 0; i < n; i++) {
		wg_allowedip_format(&ips[i], cidr, sizeof(cidr));
		fprintf(w->f, " %s", cidr);
	}
	fputc('\n', w->f);
}

/* A new file under a random name in dirfd, mode 0600 whatever the umask. */
static int create_temp(int dirfd, char name[static 32])
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t r = 0;
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			return -EIO;
		snprintf(name, 32, ".owned.%016llx", (unsigned long long)r);
		int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 && fchmod(fd, 0600) < 0) {
			int err = -errno;
			close(fd);
			unlinkat(dirfd, name, 0);
			return err;
		}
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int owned_save(int dirfd, const char *name, uint32_t ifindex, const struct engine *e)
{
	char tmp[32];
	int fd = create_temp(dirfd, tmp);
	if (fd < 0)
		return fd;
	struct owned_out w = { fdopen(fd, "w"), false };
	if (!w.f) {
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -ENOMEM;
	}
	fprintf(w.f, "wirelink-owned 1 %lu\n", (unsigned long)ifindex);
	engine_each_owned(e, write_one, &w);
	int err = w.too_many ? -E2BIG : ferror(w.f) ? -EIO : 0;
	if (fclose(w.f) != 0 && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name) != 0)
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}
