/* The control socket: one stream socket per interface under
 * CONTROL_DIR, one request line per connection, one JSON document back.
 * Requests: "status", "facts", "log-level debug|info". Replies are objects;
 * a bad request gets {"error": "..."}. The JSON is documented in
 * wirelink(8). */
#ifndef WIRELINK_CONTROL_H
#define WIRELINK_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/engine.h"
#include "config.h"

#define CONTROL_DIR "/run/wirelink"
enum { CONTROL_REQUEST_MAX = 256 };

/* Creates CONTROL_DIR/<iface>.sock (replacing a stale one), mode 0600, or
 * 0660 with group `group` when it is not "". Returns the listening socket
 * or -errno; *path gets the socket's path. */
int control_open(const char *iface, const char *group, char *path, size_t pathlen);

/* What the daemon shows. */
struct control_view {
	const struct config *cfg;
	const struct wg_device *dev;
	const struct engine *eng;
	const uint8_t *self; /* our public key */
	uint16_t port;
	int64_t now;	  /* monotonic ms */
	int64_t wall_sec; /* the wall clock, for handshake ages */
};

/* Peers that are healthy, and those reached directly (healthy and not a
 * router): for `status` and the service manager's STATUS=. */
void control_count(const struct engine *eng, const struct wg_device *dev, size_t *healthy,
		   size_t *direct);

/* How many facts we originate (what `facts` lists besides those received). */
size_t control_local_facts(const struct engine *eng);

/* A fact attribute's name as status, facts and logs show it ("endpoint",
 * "allowed-ip", "member", ...). */
const char *control_attr_name(uint8_t attr);

/* Answers one request (text up to a newline) into a malloc'd JSON string.
 * *log_level is set to a new level for "log-level" (else left alone). */
char *control_answer(const char *request, const struct control_view *v, int *log_level);

/* Accepts one client on the listening socket and answers it (1 s time
 * limits on reading and writing). */
void control_serve(int listen_fd, const struct control_view *v);

#endif
