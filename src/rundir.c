/* The runtime directory: checks, names by namespace, the state directory
 * (rundir.h). */
#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The inode of the host's network namespace on kernels that fix it
 * (PROC_NET_INIT_INO); older ones number it like any other. */
#define NETNS_INIT_INO 0xEFFFFFF9u
/* A sysctl registered for the initial network namespace only. */
#define HOST_ONLY_SYSCTL "netdev_max_backlog"

void rundir_netns_tag(char out[static 32])
{
	struct stat self;
	*out = '\0';
	if (stat("/proc/self/ns/net", &self) == 0)
		snprintf(out, 32, "@ns%llu", (unsigned long long)self.st_ino);
}

bool rundir_netns_suffix(char out[static 32])
{
	struct stat self, init;
	*out = '\0';
	if (stat("/proc/self/ns/net", &self) < 0)
		return true; /* no /proc or no namespaces: one namespace only */
	if (self.st_ino == NETNS_INIT_INO)
		return true;
	rundir_netns_tag(out);
	/* The host's namespace alone has net.core's global sysctls; any
	 * user sees them, so the daemon and the commands agree (PID 1's
	 * namespace, below, is hidden from the unprivileged and from a
	 * daemon without CAP_SYS_PTRACE). */
	if (access("/proc/sys/net/core", F_OK) == 0) {
		if (access("/proc/sys/net/core/" HOST_ONLY_SYSCTL, F_OK) == 0)
			*out = '\0';
		return true;
	}
	/* No /proc/sys (systemd's ProcSubset=pid): PID 1's namespace, when
	 * we may look; else taken for the host's, where a unit runs. */
	int err = stat("/proc/1/ns/net", &init) < 0 ? errno : 0;
	if (err || (init.st_ino == self.st_ino && init.st_dev == self.st_dev))
		*out = '\0';
	return !err;
}

int rundir_name(const char *iface, char out[static RUNDIR_NAME_MAX])
{
	char suffix[32];
	rundir_netns_suffix(suffix);
	int n = snprintf(out, RUNDIR_NAME_MAX, "%s%s", iface, suffix);
	return n < 0 || n >= RUNDIR_NAME_MAX ? -ENAMETOOLONG : 0;
}

/* Whether an opened directory may hold our files: owned by root, by us or
 * by `also`, writable by its owner only. 0 or -errno, why set. */
static int check_dir(int fd, const char *path, uid_t also, char *why, size_t whylen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != also) {
		snprintf(why, whylen, "%s belongs to uid %u, not to root", path, (unsigned)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "%s is writable by %s (mode %04o); only its owner may write there",
			 path, st.st_mode & S_IWOTH ? "anyone" : "its group", (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Opens name in dirfd as a directory, never through a symlink. */
static int open_dir(int dirfd, const char *name, const char *path, char *why, size_t whylen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int err = errno == ELOOP ? ENOTDIR : errno;
	if (err == ENOTDIR)
		snprintf(why, whylen, "%s is a symlink or not a directory", path);
	else
		snprintf(why, whylen, "%s: %s", path, strerror(err));
	return -err;
}

int rundir_open(const char *path, char *why, size_t whylen)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot make %s: %s", path, strerror(errno));
		return -errno;
	}
	int fd = open_dir(AT_FDCWD, path, path, why, whylen);
	if (fd < 0)
		return fd;
	int err = check_dir(fd, path, (uid_t)-1, why, whylen);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int rundir_state_dir(int dirfd, const char *name, uid_t uid, gid_t gid, bool *untrusted, char *why,
		     size_t whylen)
{
	char path[sizeof(RUNDIR_PATH) + RUNDIR_NAME_MAX + 1];
	snprintf(path, sizeof(path), "%s/%s", RUNDIR_PATH, name);
	*untrusted = false;
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot make %s: %s", path, strerror(errno));
		return -errno;
	}
	int fd = open_dir(dirfd, name, path, why, whylen);
	if (fd < 0)
		return fd;
	int err = check_dir(fd, path, uid, why, whylen);
	/* Root takes back a directory someone else had or could write to:
	 * what it holds is not trusted, but the next file is ours again. */
	if (err == -EPERM && geteuid() == 0) {
		*untrusted = true;
		err = 0;
	}
	/* An earlier run's user (or mode) is replaced by ours. */
	if (!err && ((uid != (uid_t)-1 && fchown(fd, uid, gid) < 0) ||
		     (uid == (uid_t)-1 && *untrusted && fchown(fd, 0, 0) < 0) || fchmod(fd, 0700) < 0)) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int rundir_clear_socket(int dirfd, const char *name, const char *path)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	close(fd);
	if (!err)
		return -EADDRINUSE;
	if (err != ECONNREFUSED && err != ENOENT)
		return -err;
	/* Nobody listens: a killed daemon's socket. */
	return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}
