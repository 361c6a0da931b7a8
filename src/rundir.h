/* The runtime directory, /run/wirelink: checked before anything is made
 * in it (opened without following links; root's or ours, writable by its
 * owner only), and the names of an interface's files there. /run is shared
 * by every network namespace, where the same interface name can exist
 * again: outside the host's namespace the names carry the namespace's
 * inode ("wg0@ns4026532451.sock"). */
#ifndef WIRELINK_RUNDIR_H
#define WIRELINK_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RUNDIR_PATH "/run/wirelink"
enum { RUNDIR_NAME_MAX = 64 };

/* Our network namespace as a file-name suffix: "" in the host's (the
 * kernel's fixed initial inode, or the one with net.core's global
 * sysctls), "@ns<inode>" in any other. Without /proc/sys (systemd's
 * ProcSubset=pid), the host's is PID 1's; when that cannot be seen either
 * (returns false), "" too: the plain name, and the other may be right. */
bool rundir_netns_suffix(char out[static 32]);
/* "@ns<inode>" of our namespace, host's or not ("" without /proc). */
void rundir_netns_tag(char out[static 32]);

/* The base name of an interface's files: iface plus the suffix above.
 * 0 or -ENAMETOOLONG. */
int rundir_name(const char *iface, char out[static RUNDIR_NAME_MAX]);

/* Opens the directory path (made 0755 when missing and we may) without
 * following a symlink and checks it: a directory owned by root or by us,
 * not writable by group or others. An O_DIRECTORY fd, or -errno with why
 * set: -ENOTDIR for a symlink or another kind of file, -EPERM for the owner
 * or mode. */
int rundir_open(const char *path, char *why, size_t whylen);

/* The interface's own directory, <name> in dirfd (mode 0700), where its
 * state file lives: made when missing, given to uid:gid (the user the
 * daemon becomes, so that it can still replace files there after dropping
 * root), checked like rundir_open (a symlink is refused; another owner
 * than root, uid or us, or a mode others may write with, too, unless we
 * are root: then it is taken back and *untrusted set, for its files may
 * be anyone's). An fd or -errno, why set (also when *untrusted). */
int rundir_state_dir(int dirfd, const char *name, uid_t uid, gid_t gid, bool *untrusted, char *why,
		     size_t whylen);

/* Before binding the socket `name` in dirfd (path: its full path): 0 when
 * nothing is there or a stale socket was removed, -EADDRINUSE when a daemon
 * answers on it (it is left alone), -EEXIST when something other than a
 * socket is there (left alone), other -errno. */
int rundir_clear_socket(int dirfd, const char *name, const char *path);

#endif
