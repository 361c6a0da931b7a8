/* Peers by name on disk: the atomic write (the temporary file is separate
 * and the rename is the commit: before it, the old file is whole), and the
 * keeper writing the runtime file and a block in a shared file only when
 * something changed, replacing a hand edit inside the block, keeping one
 * outside, and removing both on exit. */
#include "helpers.h"

#include "core/engine.h"
#include "hosts.h"
#include "proto/crypto.h"
#include "proto/meta.h"
#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/wl-hosts-XXXXXX";

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t n = 0;
	if (file_read_all(path, 1 << 20, &text, &n) != 0)
		return NULL;
	return text;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int files_in(const char *d)
{
	DIR *dp = opendir(d);
	int n = 0;
	for (struct dirent *e; dp && (e = readdir(dp));)
		n += e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, ".."));
	if (dp)
		closedir(dp);
	return n;
}

struct crash {
	const char *path;
	int verdict; /* what the hook returns: non-zero is a crash before the rename */
	bool ran;
};

static int before_commit(void *arg, const char *tmp)
{
	struct crash *c = arg;
	c->ran = true;
	assert_string_not_equal(tmp, c->path);
	/* The new content is all in the temporary file, beside the old one... */
	char *t = slurp(tmp), *old = slurp(c->path);
	assert_string_equal(t, "new content\n");
	/* ...which is still whole. */
	assert_string_equal(old, "old content\n");
	struct stat st;
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640); /* the old file's mode */
	free(t);
	free(old);
	return c->verdict;
}

static void test_atomic(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/atomic", dir);
	spit(path, "old content\n");
	chmod(path, 0640);
	struct crash c = { path, 1, false };
	assert_int_equal(hosts_write_atomic(path, "new content\n", 12, before_commit, &c), -ECANCELED);
	assert_true(c.ran);
	char *text = slurp(path);
	assert_string_equal(text, "old content\n");
	free(text);
	assert_int_equal(files_in(dir), 1); /* the abandoned file is gone */
	c = (struct crash){ path, 0, false };
	assert_int_equal(hosts_write_atomic(path, "new content\n", 12, before_commit, &c), 0);
	text = slurp(path);
	assert_string_equal(text, "new content\n");
	free(text);
	assert_int_equal(files_in(dir), 1);
	/* A new file is world-readable whatever the umask. */
	char fresh[300];
	snprintf(fresh, sizeof(fresh), "%s/fresh", dir);
	mode_t old = umask(077);
	assert_int_equal(hosts_write_atomic(fresh, "x\n", 2, NULL, NULL), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(fresh, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* A directory that does not exist: an error, nothing else. */
	assert_int_equal(hosts_write_atomic("/nonexistent-wl/x", "x", 1, NULL, NULL), -ENOENT);
	unlink(fresh);
	unlink(path);
}

static void zero_random(void *buf, size_t len) { memset(buf, 0, len); }

static struct wg_allowedip ip(const char *text)
{
	struct wg_allowedip a;
	assert_true(wg_allowedip_parse(text, &a));
	return a;
}

static void test_keeper(void **state)
{
	(void)state;
	static struct config cfg;
	static struct config_peer cp[2];
	memset(&cfg, 0, sizeof(cfg));
	memset(cp, 0, sizeof(cp));
	snprintf(cfg.iface, sizeof(cfg.iface), "wltest0");
	snprintf(cfg.hosts_file, sizeof(cfg.hosts_file), "%s/hosts", dir);
	cp[0].pc.key[0] = 1;
	snprintf(cp[0].pc.name, sizeof(cp[0].pc.name), "leaf-a");
	cp[1].pc.key[0] = 2;
	snprintf(cp[1].pc.name, sizeof(cp[1].pc.name), "leaf-b");
	cfg.peers = cp;
	cfg.n_peers = 2;
	struct peer_config pcs[2] = { cp[0].pc, cp[1].pc };
	struct engine_config ec = { .peers = pcs, .n_peers = 2, .router = 1, .random = zero_random };
	static const uint8_t self[32] = { 0xee };
	struct engine *e = engine_new(&ec, self, 1000);
	assert_non_null(e);
	struct wg_allowedip ips[2][2] = { { ip("10.9.0.1/32"), ip("fe80::1/128") },
					  { ip("10.9.0.2/32"), ip("10.9.1.0/24") } };
	struct wg_peer peers[2] = { { .public_key = { 1 }, .allowedips = ips[0], .n_allowedips = 2 },
				    { .public_key = { 2 }, .allowedips = ips[1], .n_allowedips = 2 } };
	struct wg_device dev = { .peers = peers, .n_peers = 2 };
	char shared[256], runtime[256];
	snprintf(shared, sizeof(shared), "%s/hosts", dir);
	snprintf(runtime, sizeof(runtime), "%s/wltest0.hosts", dir);
	spit(shared, "127.0.0.1 localhost\n");
	struct hosts *h = hosts_new("wltest0", dir);
	hosts_configure(h, &cfg);
	hosts_update(h, e, &dev);
	char *text = slurp(runtime);
	assert_non_null(text);
	assert_non_null(strstr(text, "\n10.9.0.1 leaf-a leaf-a.wltest0\n10.9.0.2 leaf-b leaf-b.wltest0\n"));
	free(text);
	text = slurp(shared);
	assert_string_equal(text, "127.0.0.1 localhost\n# wirelink wltest0 begin\n"
				  "10.9.0.1 leaf-a leaf-a.wltest0\n10.9.0.2 leaf-b leaf-b.wltest0\n"
				  "# wirelink wltest0 end\n");
	free(text);
	assert_string_equal(hostnames_of(hosts_names(h), peers[1].public_key), "leaf-b");
	/* Nothing changed: nothing is written (the same inodes). */
	struct stat a, b;
	assert_int_equal(stat(runtime, &a), 0);
	hosts_update(h, e, &dev);
	assert_int_equal(stat(runtime, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	/* A hand edit inside the block is replaced; one outside is kept. */
	spit(shared, "127.0.0.1 localhost\n# wirelink wltest0 begin\n10.9.0.99 leaf-a\n"
		     "# wirelink wltest0 end\n192.168.7.7 printer\n");
	hosts_update(h, e, &dev);
	text = slurp(shared);
	assert_string_equal(text, "127.0.0.1 localhost\n# wirelink wltest0 begin\n"
				  "10.9.0.1 leaf-a leaf-a.wltest0\n10.9.0.2 leaf-b leaf-b.wltest0\n"
				  "# wirelink wltest0 end\n192.168.7.7 printer\n");
	free(text);
	/* A rename in the config (as after a reload), and a name the file
	 * has outside the block: leaf-b is left out. */
	snprintf(cp[0].pc.name, sizeof(cp[0].pc.name), "laptop");
	snprintf(cp[1].pc.name, sizeof(cp[1].pc.name), "printer");
	hosts_configure(h, &cfg);
	hosts_update(h, e, &dev);
	text = slurp(runtime);
	assert_non_null(strstr(text, "\n10.9.0.1 laptop laptop.wltest0\n"));
	assert_null(strstr(text, "printer"));
	free(text);
	assert_int_equal(hosts_names(h)->n_rejects, 1);
	/* A Domain. */
	snprintf(cfg.domain, sizeof(cfg.domain), "wl.example.org");
	hosts_configure(h, &cfg);
	hosts_update(h, e, &dev);
	text = slurp(shared);
	assert_non_null(strstr(text, "\n10.9.0.1 laptop laptop.wl.example.org\n"));
	free(text);
	/* On exit: the runtime file and the block go, the rest stays. */
	hosts_free(h);
	assert_int_equal(access(runtime, F_OK), -1);
	text = slurp(shared);
	assert_string_equal(text, "127.0.0.1 localhost\n192.168.7.7 printer\n");
	free(text);
	unlink(shared);
	engine_free(e);
}

static struct wire_fact meta_fact(uint8_t subject, const char *name, uint8_t *buf, size_t cap)
{
	bool ok = true;
	size_t len = meta_build(name, -1, buf, cap, &ok);
	assert_true(ok);
	struct wire_fact f = { .attr = WIRE_MEMBER_META, .ttl = 255, .subject = { subject } };
	f.v.meta = (struct wire_view){ buf, (uint32_t)len };
	return f;
}

/* Names from the network: a router's count, a leaf's do not; a rename
 * from the router is followed. */
static void test_network_names(void **state)
{
	(void)state;
	static struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.iface, sizeof(cfg.iface), "wltest2");
	struct engine_config ec = { .router = 0, .random = zero_random };
	static const uint8_t self[32] = { 0xee };
	struct engine *e = engine_new(&ec, self, 1000);
	/* Peer 9 routes 198.51.100.0/24 (a router); 1 and 2 are leaves. */
	struct wg_allowedip ips[3] = { ip("198.51.100.0/24"), ip("198.51.100.11/32"), ip("198.51.100.12/32") };
	struct wg_peer peers[3] = { { .public_key = { 9 }, .allowedips = &ips[0], .n_allowedips = 1 },
				    { .public_key = { 1 }, .allowedips = &ips[1], .n_allowedips = 1 },
				    { .public_key = { 2 }, .allowedips = &ips[2], .n_allowedips = 1 } };
	struct wg_device dev = { .peers = peers, .n_peers = 3 };
	engine_set_device(e, &dev, 0);
	uint8_t buf[3][64];
	struct wire_fact from_router[2] = { meta_fact(1, "leaf-a", buf[0], 64), meta_fact(2, "leaf-b", buf[1], 64) };
	assert_int_equal(engine_receive(e, peers[0].public_key, from_router, 2, 2000), 2);
	/* Leaf 2 names itself localhost, and leaf 1 bee: not trusted. */
	struct wire_fact lies[2] = { meta_fact(2, "localhost", buf[2], 64), meta_fact(1, "bee", buf[2], 64) };
	(void)engine_receive(e, peers[2].public_key, lies, 2, 2100);
	struct hosts *h = hosts_new("wltest2", dir);
	hosts_configure(h, &cfg);
	hosts_update(h, e, &dev);
	const struct hostnames *n = hosts_names(h);
	assert_int_equal(n->n, 2);
	assert_string_equal(hostnames_of(n, peers[1].public_key), "leaf-a");
	assert_string_equal(hostnames_of(n, peers[2].public_key), "leaf-b");
	/* The router renames leaf 2. */
	uint8_t rb[64];
	struct wire_fact rename = meta_fact(2, "bee", rb, sizeof(rb));
	assert_int_equal(engine_receive(e, peers[0].public_key, &rename, 1, 3000), 1);
	hosts_update(h, e, &dev);
	assert_string_equal(hostnames_of(hosts_names(h), peers[2].public_key), "bee");
	char path[300];
	snprintf(path, sizeof(path), "%s/wltest2.hosts", dir);
	char *text = slurp(path);
	assert_non_null(strstr(text, "\n198.51.100.12 bee bee.wltest2\n"));
	assert_null(strstr(text, "leaf-b"));
	free(text);
	hosts_free(h);
	engine_free(e);
}

/* A shared file that cannot be read is never rewritten (from nothing). */
static void test_unreadable(void **state)
{
	(void)state;
	static struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.iface, sizeof(cfg.iface), "wltest1");
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(cfg.hosts_file, sizeof(cfg.hosts_file), "%s", sub); /* a directory: EISDIR */
	struct engine_config ec = { .router = 1, .random = zero_random };
	static const uint8_t self[32] = { 0xee };
	struct engine *e = engine_new(&ec, self, 1000);
	struct wg_device dev = { 0 };
	struct hosts *h = hosts_new("wltest1", dir);
	hosts_configure(h, &cfg);
	hosts_update(h, e, &dev);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	hosts_free(h);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	rmdir(sub);
	engine_free(e);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	if (crypto_init() != 0 || !mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_keeper),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_network_names),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return r;
}
