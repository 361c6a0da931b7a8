/* Peers by name on disk: CONTROL_DIR/<iface>.hosts (hosts(5) format), and
 * optionally a marked block in a shared hosts file such as /etc/hosts.
 * Both are replaced atomically (a temporary file, then rename), only when
 * their content changes, and removed (the file, the block) on a clean
 * exit. */
#ifndef WIRELINK_HOSTS_H
#define WIRELINK_HOSTS_H

#include <stddef.h>

#include "config.h"
#include "core/engine.h"
#include "core/hostnames.h"
#include "wg/wg.h"

struct hosts;

/* For iface; the runtime file goes into dir. NULL on ENOMEM. */
struct hosts *hosts_new(const char *iface, const char *dir);
/* The configuration's HostsFile ("" none), Domain ("" the interface
 * name) and peer names: at start and after every reload. A block in a
 * file no longer named is removed. */
void hosts_configure(struct hosts *h, const struct config *cfg);
/* After a round: rebuilds the names when a peer, its name or its
 * addresses changed, or the shared file changed under us, and writes what
 * changed. Cheap when nothing did (a hash of the inputs and one stat). */
void hosts_update(struct hosts *h, const struct engine *e, const struct wg_device *dev);
/* Removes the runtime file and our block, then frees. NULL is a no-op. */
void hosts_free(struct hosts *h);

/* What is written now (for status and `wirelink hosts`). */
const struct hostnames *hosts_names(const struct hosts *h);
const char *hosts_suffix(const struct hosts *h);
const char *hosts_path(const struct hosts *h);
const char *hosts_shared_path(const struct hosts *h); /* NULL: no HostsFile */

/* Replaces path with data: written to a new file beside it (created with
 * O_EXCL|O_NOFOLLOW, mode 0644, or the old file's mode and owner), synced,
 * then renamed over path, so a reader or a crash sees the old file whole or
 * the new one. before_commit (tests; NULL in the daemon) runs between the
 * two with the temporary file's name; non-zero abandons the write. 0 or
 * -errno. */
int hosts_write_atomic(const char *path, const char *data, size_t len,
		       int (*before_commit)(void *arg, const char *tmp), void *arg)
	__attribute__((warn_unused_result));

#endif
