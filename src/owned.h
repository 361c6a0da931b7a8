/* What wirelink added to the device, kept in a small state file beside the
 * control socket, so that a restarted daemon (a crash, systemd's restart)
 * can still take back what an earlier run added and nothing else. The file
 * names the interface index: a re-created interface starts clean. */
#ifndef WIRELINK_OWNED_H
#define WIRELINK_OWNED_H

#include <stdint.h>

#include "core/engine.h"

/* Tells the engine what the file says we added; a missing file, another
 * interface index or a damaged file is "nothing". Returns the entries read. */
int owned_load(const char *path, uint32_t ifindex, struct engine *e);
/* Writes the engine's current set (atomically: a temporary and rename).
 * 0 or -errno. */
int owned_save(const char *path, uint32_t ifindex, const struct engine *e);

#endif
