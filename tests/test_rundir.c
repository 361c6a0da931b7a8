/* The runtime directory: refused when it is a symlink, not a directory,
 * or writable by others; the state directory likewise; a socket a daemon
 * answers on is never removed, a stale one is. */
#include "helpers.h"

#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char base[32];

static void path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", base, name);
}

static void test_open_checks(void **state)
{
	(void)state;
	char why[400], dir[128], link[128], file[128];
	path_in(dir, sizeof(dir), "run");
	int fd = rundir_open(dir, why, sizeof(why)); /* made, 0755 */
	assert_true(fd >= 0);
	close(fd);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* Writable by its group or by anyone: refused. */
	assert_int_equal(chmod(dir, 0775), 0);
	assert_int_equal(rundir_open(dir, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "writable by its group"));
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(rundir_open(dir, why, sizeof(why)), -EPERM);
	assert_int_equal(chmod(dir, 0755), 0);
	/* A symlink to a good directory is not followed. */
	path_in(link, sizeof(link), "link");
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(rundir_open(link, why, sizeof(why)), -ENOTDIR);
	assert_non_null(strstr(why, "symlink"));
	/* Nor is a file taken for a directory. */
	path_in(file, sizeof(file), "file");
	int f = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(f >= 0);
	close(f);
	assert_int_equal(rundir_open(file, why, sizeof(why)), -ENOTDIR);
	unlink(link);
	unlink(file);
}

static void test_state_dir(void **state)
{
	(void)state;
	char why[400], dir[128], other[128];
	path_in(dir, sizeof(dir), "run");
	int fd = rundir_open(dir, why, sizeof(why));
	assert_true(fd >= 0);
	bool untrusted;
	int sd = rundir_state_dir(fd, "wgt0", (uid_t)-1, (gid_t)-1, &untrusted, why, sizeof(why));
	assert_true(sd >= 0);
	assert_false(untrusted);
	close(sd);
	struct stat st;
	assert_int_equal(fstatat(fd, "wgt0", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* A symlink planted in its place (to a directory we could write
	 * into) is refused, not followed. */
	path_in(other, sizeof(other), "elsewhere");
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(symlinkat(other, fd, "wgt1"), 0);
	assert_int_equal(rundir_state_dir(fd, "wgt1", (uid_t)-1, (gid_t)-1, &untrusted, why, sizeof(why)),
			 -ENOTDIR);
	/* One others may write to: refused, or as root taken back (0700)
	 * with its contents marked untrusted. */
	assert_int_equal(fchmodat(fd, "wgt0", 0777, 0), 0);
	sd = rundir_state_dir(fd, "wgt0", (uid_t)-1, (gid_t)-1, &untrusted, why, sizeof(why));
	if (geteuid() == 0) {
		assert_true(sd >= 0 && untrusted);
		close(sd);
		assert_int_equal(fstatat(fd, "wgt0", &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
	} else {
		assert_int_equal(sd, -EPERM);
	}
	unlinkat(fd, "wgt1", 0);
	unlinkat(fd, "wgt0", AT_REMOVEDIR);
	rmdir(other);
	close(fd);
}

static int listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 1), 0);
	return s;
}

static void test_clear_socket(void **state)
{
	(void)state;
	char why[400], dir[128], sock[100];
	path_in(dir, sizeof(dir), "run");
	int fd = rundir_open(dir, why, sizeof(why));
	assert_true(fd >= 0);
	assert_true(strlen(dir) + 11 < sizeof(sock));
	snprintf(sock, sizeof(sock), "%.80s/wgt0.sock", dir);
	assert_int_equal(rundir_clear_socket(fd, "wgt0.sock", sock), 0); /* nothing there */
	int s = listener(sock);
	/* A daemon answers: its socket stays. */
	assert_int_equal(rundir_clear_socket(fd, "wgt0.sock", sock), -EADDRINUSE);
	assert_int_equal(access(sock, F_OK), 0);
	close(s);
	/* Nobody listens any more: removed. */
	assert_int_equal(rundir_clear_socket(fd, "wgt0.sock", sock), 0);
	assert_int_equal(access(sock, F_OK), -1);
	/* Something else: left alone. */
	assert_int_equal(symlinkat("/etc/passwd", fd, "wgt0.sock"), 0);
	assert_int_equal(rundir_clear_socket(fd, "wgt0.sock", sock), -EEXIST);
	unlinkat(fd, "wgt0.sock", 0);
	close(fd);
}

static void test_names(void **state)
{
	(void)state;
	char suffix[32], name[RUNDIR_NAME_MAX], want[80];
	rundir_netns_suffix(suffix);
	assert_true(!suffix[0] || !strncmp(suffix, "@ns", 3));
	assert_int_equal(rundir_name("wg0", name), 0);
	snprintf(want, sizeof(want), "wg0%s", suffix);
	assert_string_equal(name, want);
	assert_int_equal(rundir_name("a-name-much-longer-than-any-interface-name-could-be-at-all-0123456789", name),
			 -ENAMETOOLONG);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	snprintf(base, sizeof(base), "/tmp/wl-rundir-XXXXXX");
	if (!mkdtemp(base))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_checks),
		cmocka_unit_test(test_state_dir),
		cmocka_unit_test(test_clear_socket),
		cmocka_unit_test(test_names),
	};
	int status = cmocka_run_group_tests(tests, NULL, NULL);
	char dir[128];
	path_in(dir, sizeof(dir), "run");
	rmdir(dir);
	rmdir(base);
	return status;
}
