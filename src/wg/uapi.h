/* The userspace backend's text protocol (wireguard-go's control socket),
 * split from the socket I/O so the parser can be tested and fuzzed. */
#ifndef WIRELINK_UAPI_H
#define WIRELINK_UAPI_H

#include "wg/wg.h"

/* Parses a complete `get=1` reply (ending in "errno=N\n\n") into dev.
 * 0, -EPROTO for a malformed reply, or -N for a reply of errno=N. */
int uapi_parse_get(const char *buf, size_t len, struct wg_device *dev)
	__attribute__((warn_unused_result));

/* Parses a `set=1` reply: 0, -EPROTO, or -N. */
int uapi_parse_status(const char *buf, size_t len) __attribute__((warn_unused_result));

/* Builds the `set=1` request text for a change (malloc'd). 0 or -ENOMEM. */
int uapi_format_set(const struct wg_change *change, char **out, size_t *len)
	__attribute__((warn_unused_result));

/* True once buf holds a whole reply (it ends with an empty line). */
bool uapi_reply_complete(const char *buf, size_t len);

#endif
