/* Static endpoints ("host:port" from the config file) resolved off the
 * event loop: getaddrinfo_a runs the lookups on glibc's helper threads and
 * signals completion; the loop only polls. A batch that takes longer than
 * RESOLVE_TIMEOUT_MS is given up (what finished is used). */
#ifndef WIRELINK_RESOLVE_H
#define WIRELINK_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/peerstate.h"

enum { RESOLVE_TIMEOUT_MS = 10000 };

struct resolver;

/* signo: the signal sent when a batch completes (block it and read it
 * from a signalfd); 0 for none (poll only). */
struct resolver *resolver_new(int signo);
void resolver_free(struct resolver *r);

/* Starts looking up names[0..n) unless a batch is still running (then
 * returns -EBUSY). 0 or -errno. */
int resolver_start(struct resolver *r, char *const *names, size_t n, int64_t now);

/* Whether the current batch finished, or timed out, since the last call
 * that returned true: then its results can be read. */
bool resolver_done(struct resolver *r, int64_t now, bool *timed_out);

/* The global-unicast endpoints of names[i] in the finished batch; how many
 * were written. */
size_t resolver_result(const struct resolver *r, size_t i, struct peer_endpoint *out, size_t room);

/* Splits "host:port" or "[v6]:port" into host and port; false if malformed. */
bool resolver_split(const char *text, char *host, size_t hostlen, const char **port);

#endif
