/* What wirelink added to the device, kept in a small state file in the
 * interface's own directory beside the control socket (rundir.h), so that
 * a restarted daemon (a crash, systemd's restart) can still take back what
 * an earlier run added and nothing else. The file names the interface
 * index: a re-created interface starts clean. */
#ifndef WIRELINK_OWNED_H
#define WIRELINK_OWNED_H

#include <stdint.h>

#include "core/engine.h"

/* Allowed IPs kept for one peer, by the writer and the reader alike; a
 * line is at most OWNED_LINE_MAX bytes with its newline. */
enum { OWNED_CIDRS_MAX = 65536, OWNED_LINE_MAX = 48 + OWNED_CIDRS_MAX * 44 };

/* Tells the engine what the file `name` in dirfd says we added; a missing
 * file, another interface index or a damaged file is "nothing", and a
 * damaged or unfinished line is skipped. Never follows a symlink. Returns
 * the entries read. */
int owned_load(int dirfd, const char *name, uint32_t ifindex, struct engine *e);
/* Writes the engine's current set, mode 0600: a new file under a random
 * name (never through a link), renamed over `name`. 0, -E2BIG when a peer
 * has more than OWNED_CIDRS_MAX allowed IPs of ours (nothing is written),
 * or -errno. */
int owned_save(int dirfd, const char *name, uint32_t ifindex, const struct engine *e);

#endif
