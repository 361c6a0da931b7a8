/* The control socket: one stream socket per interface under
 * CONTROL_DIR (named by rundir_name), one request line per connection,
 * one JSON document (and a newline) back.
 * Requests: "status", "facts", "metrics", "hosts", "log-level debug|info". Replies are objects;
 * a bad request gets {"error": "..."}. The JSON is documented in
 * wirelink(8). */
#ifndef WIRELINK_CONTROL_H
#define WIRELINK_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/engine.h"
#include "config.h"
#include "rundir.h"

#define CONTROL_DIR RUNDIR_PATH
enum { CONTROL_REQUEST_MAX = 256 };

/* Creates <name>.sock in the runtime directory dirfd (rundir_open; name
 * from rundir_name), mode 0600, or 0660 with group `group` when it is not
 * "". A stale socket is replaced; a daemon answering on it is not
 * (-EADDRINUSE), nor anything but a socket (-EEXIST). Returns the
 * listening socket or -errno; *path gets the socket's path. */
int control_open(int dirfd, const char *name, const char *group, char *path, size_t pathlen);

/* One daemon per interface: takes <name>.lock in dirfd (flock, with our
 * pid in it) before anything else is touched. Returns the lock's fd
 * (kept open while the daemon runs), -EWOULDBLOCK when another daemon
 * holds it (*holder: its pid, 0 when unknown), or -errno. *path gets the
 * lock's path. */
int control_lock(int dirfd, const char *name, char *path, size_t pathlen, long *holder)
	__attribute__((warn_unused_result));

/* What the daemon counts, for `metrics`. */
enum control_drop { DROP_NOT_PEER, DROP_MALFORMED, DROP_WRONG_SIGNER, DROP_BAD_TAG, DROP_REASONS };
extern const char *const control_drop_names[DROP_REASONS];
struct control_counters {
	uint64_t packets_in, bytes_in, packets_out, bytes_out, endpoint_tries;
	uint64_t rounds, device_reads; /* engine rounds run; device reads (wg show) */
	uint64_t dropped[DROP_REASONS];
};

struct hosts;

/* What the daemon shows. */
struct control_view {
	const struct config *cfg;
	const struct wg_device *dev;
	const struct engine *eng;
	const uint8_t *self; /* our public key */
	uint16_t port;
	int64_t now;	  /* monotonic ms */
	int64_t wall_sec; /* the wall clock, for handshake ages */
	const struct control_counters *counters;
	/* What the daemon learned of a peer's fact port (NULL: nothing). */
	const struct factport *(*factport)(const void *arg, const uint8_t key[32]);
	const void *factport_arg;
	const struct hosts *hosts; /* the peers by name (hosts.h), or NULL */
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

/* Sorts a status answer's "peers" (JSON objects) by name, then by
 * public key, unnamed peers after named ones: 0 or -ENOMEM. */
typedef struct json_t json_t;
int control_sort_peers(json_t *peers);

/* Answers one request (text up to a newline) into a malloc'd JSON string.
 * *log_level is set to a new level for "log-level" (else left alone). */
char *control_answer(const char *request, const struct control_view *v, int *log_level);

/* The server side: clients are non-blocking, each with its own request
 * and answer buffers and CONTROL_DEADLINE_MS from connecting to the end of
 * the answer; at most CONTROL_CLIENTS at once (a new one displaces the
 * one nearest its deadline), and answers waiting to be read take at most
 * CONTROL_PENDING_MAX bytes in all (a client whose answer does not fit is
 * dropped, with a log line). Requests that change the daemon
 * (control_request_changes) are answered only to uid 0 (SO_PEERCRED); the
 * ControlGroup may read. Client sockets are added to epfd with their fd
 * as the event data. */
enum { CONTROL_CLIENTS = 16, CONTROL_DEADLINE_MS = 10000, CONTROL_PENDING_MAX = 64 << 20 };
/* Whether a request changes the daemon (log-level) rather than reads it. */
bool control_request_changes(const char *request);
struct control_server;
struct control_server *control_server_new(int listen_fd, int epfd);
void control_server_free(struct control_server *s);
/* Handles readiness of fd; false when fd is not the server's. */
bool control_server_event(struct control_server *s, int fd, const struct control_view *v, int64_t now);
/* The nearest client deadline (INT64_MAX: none); clients past theirs are
 * dropped by control_server_expire. */
int64_t control_server_deadline(const struct control_server *s);
void control_server_expire(struct control_server *s, int64_t now);

#endif
