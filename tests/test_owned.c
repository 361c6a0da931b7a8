/* The state file of what wirelink added: a round trip keeps peers and
 * allowed IPs (however many); another interface index or a damaged file
 * adopts nothing; an unfinished line is skipped; the file is 0600 and
 * never written or read through a symlink. */
#include "helpers.h"

#include "core/engine.h"
#include "owned.h"
#include "proto/crypto.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void zero_random(void *buf, size_t len) { memset(buf, 0, len); }

struct seen {
	int peers, ips;
};

static void count(void *arg, const uint8_t key[static 32], bool peer, const struct wg_allowedip *ips,
		  size_t n)
{
	struct seen *s = arg;
	(void)key;
	(void)ips;
	s->peers += peer;
	s->ips += (int)n;
}

static struct engine *fresh(void)
{
	static const uint8_t self[32] = { 0xee };
	struct engine_config ec = { .router = -1, .random = zero_random };
	struct engine *e = engine_new(&ec, self, 1000);
	assert_non_null(e);
	return e;
}

/* Loads the file into a fresh engine: the entries read, and in *s what
 * the engine then holds as ours. */
static int load_counting(int dirfd, uint32_t ifindex, struct seen *s)
{
	struct engine *e = fresh();
	int n = owned_load(dirfd, "owned", ifindex, e);
	*s = (struct seen){ 0 };
	engine_each_owned(e, count, s);
	engine_free(e);
	return n;
}

/* A fresh directory for the state file; its fd in *fd. */
static char *temp_dir(int *fd)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/wl-owned-XXXXXX");
	assert_non_null(mkdtemp(dir));
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(*fd >= 0);
	return dir;
}

static void remove_dir(int fd, const char *dir)
{
	unlinkat(fd, "owned", 0);
	unlinkat(fd, "victim", 0);
	close(fd);
	rmdir(dir);
}

static void write_file(int dirfd, const char *text)
{
	int fd = openat(dirfd, "owned", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_round_trip(void **state)
{
	(void)state;
	int dfd;
	char *dir = temp_dir(&dfd);
	struct engine *e = fresh();
	uint8_t a[32], b[32];
	memset(a, 0x0a, 32);
	memset(b, 0x0b, 32);
	struct wg_allowedip ip1, ip2;
	assert_true(wg_allowedip_parse("10.77.0.12/32", &ip1));
	assert_true(wg_allowedip_parse("2001:db8:5::/48", &ip2));
	engine_adopt(e, a, true, NULL);
	engine_adopt(e, b, false, &ip1);
	engine_adopt(e, b, false, &ip2);
	uint64_t gen = engine_owned_gen(e);
	assert_true(gen > 0);
	assert_int_equal(owned_save(dfd, "owned", 7, e), 0);
	engine_free(e);

	struct seen s;
	assert_int_equal(load_counting(dfd, 7, &s), 2);
	assert_int_equal(s.peers, 1);
	assert_int_equal(s.ips, 2);

	/* Another interface (re-created): nothing is ours. */
	assert_int_equal(load_counting(dfd, 8, &s), 0);

	/* Damaged lines are skipped, the rest is read. */
	write_file(dfd, "wirelink-owned 1 7\nnot-a-key 1\nCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo= 2\n"
			"CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo= 1 10.0.0.0/99 10.1.0.0/16\n");
	assert_int_equal(load_counting(dfd, 7, &s), 1);
	assert_int_equal(s.peers, 1);
	assert_int_equal(s.ips, 1);

	/* A line cut short (no newline: a write that did not finish) is not
	 * taken, not even in part. */
	write_file(dfd, "wirelink-owned 1 7\n"
			"CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo= 1 10.1.0.0/16\n"
			"CwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCwsLCws= 1 10.2.0.0/16 10.3");
	assert_int_equal(load_counting(dfd, 7, &s), 1);
	assert_int_equal(s.peers, 1);
	assert_int_equal(s.ips, 1);

	unlinkat(dfd, "owned", 0);
	/* A missing file is nothing. */
	assert_int_equal(load_counting(dfd, 7, &s), 0);
	remove_dir(dfd, dir);
}

/* 250 IPv6 /128s for one peer make a line of about 10 KB: every one comes
 * back (an 8 KiB line buffer kept 189 of them), and so do 300 (the writer
 * stopped at 256). */
static void test_long_line(void **state)
{
	(void)state;
	int dfd;
	char *dir = temp_dir(&dfd);
	static const int counts[] = { 250, 300 };
	for (size_t c = 0; c < 2; c++) {
		struct engine *e = fresh();
		uint8_t key[32];
		memset(key, 0x0c, 32);
		engine_adopt(e, key, true, NULL);
		for (int i = 0; i < counts[c]; i++) {
			char text[64];
			struct wg_allowedip ip;
			snprintf(text, sizeof(text), "2001:db8:ffff:ffff:ffff:ffff:ffff:%x/128", 0x1000 + i);
			assert_true(wg_allowedip_parse(text, &ip));
			engine_adopt(e, key, false, &ip);
		}
		struct seen s = { 0 };
		engine_each_owned(e, count, &s);
		assert_int_equal(s.ips, counts[c]);
		assert_int_equal(owned_save(dfd, "owned", 3, e), 0);
		engine_free(e);
		assert_int_equal(load_counting(dfd, 3, &s), 1);
		assert_int_equal(s.peers, 1);
		assert_int_equal(s.ips, counts[c]);
	}
	remove_dir(dfd, dir);
}

/* 0600 whatever the umask; a symlink in place of the file is neither read
 * nor written through (it is replaced), and its target stays as it was. */
static void test_mode_and_links(void **state)
{
	(void)state;
	int dfd;
	char *dir = temp_dir(&dfd);
	struct engine *e = fresh();
	uint8_t key[32];
	memset(key, 0x0d, 32);
	engine_adopt(e, key, true, NULL);
	mode_t old = umask(0);
	assert_int_equal(owned_save(dfd, "owned", 4, e), 0);
	umask(old);
	struct stat st;
	assert_int_equal(fstatat(dfd, "owned", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* The victim holds a valid state file: read through the link, it
	 * would be adopted. */
	assert_int_equal(renameat(dfd, "owned", dfd, "victim"), 0);
	char target[128];
	snprintf(target, sizeof(target), "%s/victim", dir);
	assert_int_equal(symlinkat(target, dfd, "owned"), 0);
	struct seen s;
	assert_int_equal(load_counting(dfd, 4, &s), 0);
	assert_int_equal(fstatat(dfd, "victim", &st, 0), 0);
	off_t size = st.st_size;
	engine_adopt(e, key, false, &(struct wg_allowedip){ .family = AF_INET, .cidr = 32 });
	assert_int_equal(owned_save(dfd, "owned", 4, e), 0);
	assert_int_equal(fstatat(dfd, "owned", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fstatat(dfd, "victim", &st, 0), 0);
	assert_int_equal(st.st_size, size);
	engine_free(e);
	remove_dir(dfd, dir);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	if (crypto_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_mode_and_links),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
