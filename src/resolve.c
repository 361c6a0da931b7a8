/* Static endpoint lookups with getaddrinfo_a: never blocks the caller. */
#include "resolve.h"

#include "core/trust.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct lookup {
	struct gaicb cb;
	struct addrinfo hints;
	char host[256];
	const char *port;
	char *name; /* "host:port" as written */
	bool ok;    /* the request was made */
};

struct resolver {
	int signo;
	struct lookup *batch; /* NULL when idle */
	size_t n;
	int64_t started;
	bool reported; /* resolver_done said so for this batch */
};

/* A resolver freed while a lookup hangs (see resolver_free). */
static struct resolver *still_running;

struct resolver *resolver_new(int signo)
{
	struct resolver *r = calloc(1, sizeof(*r));
	if (r)
		r->signo = signo;
	return r;
}

bool resolver_split(const char *text, char *host, size_t hostlen, const char **port)
{
	const char *colon = strrchr(text, ':'), *start = text;
	size_t len = colon ? (size_t)(colon - text) : 0;
	if (*text == '[' && len >= 2 && colon[-1] == ']') {
		start++;
		len -= 2;
	}
	if (!colon || len == 0 || len >= hostlen || !colon[1])
		return false;
	memcpy(host, start, len);
	host[len] = '\0';
	*port = colon + 1;
	return true;
}

/* Whether every lookup made has ended. */
static bool all_ended(struct resolver *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->batch[i].ok && gai_error(&r->batch[i].cb) == EAI_INPROGRESS)
			return false;
	return true;
}

static void free_batch(struct resolver *r)
{
	for (size_t i = 0; r->batch && i < r->n; i++) {
		if (r->batch[i].ok && gai_error(&r->batch[i].cb) == 0)
			freeaddrinfo(r->batch[i].cb.ar_result);
		free(r->batch[i].name);
	}
	free(r->batch);
	r->batch = NULL;
	r->n = 0;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	if (r->batch) {
		for (size_t i = 0; i < r->n; i++)
			if (r->batch[i].ok)
				gai_cancel(&r->batch[i].cb);
		if (!all_ended(r)) {
			/* A helper thread still writes into it: kept (and
			 * reachable) until the process exits. */
			still_running = r;
			return;
		}
	}
	free_batch(r);
	free(r);
}

int resolver_start(struct resolver *r, char *const *names, size_t n, int64_t now)
{
	if (r->batch) {
		if (!all_ended(r))
			return -EBUSY;
		free_batch(r);
	}
	if (!n)
		return 0;
	struct lookup *b = calloc(n, sizeof(*b));
	struct gaicb **list = calloc(n, sizeof(*list));
	if (!b || !list) {
		free(b);
		free(list);
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		b[i].name = strdup(names[i]);
		if (!b[i].name || !resolver_split(names[i], b[i].host, sizeof(b[i].host), &b[i].port))
			continue;
		b[i].port = b[i].name + (b[i].port - names[i]);
		b[i].hints = (struct addrinfo){ .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
		b[i].cb = (struct gaicb){ .ar_name = b[i].host, .ar_service = b[i].port, .ar_request = &b[i].hints };
		b[i].ok = true;
		list[k++] = &b[i].cb;
	}
	struct sigevent sev = { .sigev_notify = r->signo ? SIGEV_SIGNAL : SIGEV_NONE, .sigev_signo = r->signo };
	int err = k ? getaddrinfo_a(GAI_NOWAIT, list, (int)k, &sev) : 0;
	free(list);
	if (err) {
		/* Some requests may not be queued (their status stays 0 with
		 * no result): those count as failed. */
		log_warnx("cannot look up static endpoints: %s", gai_strerror(err));
		for (size_t i = 0; i < n; i++)
			b[i].ok = b[i].ok && (gai_error(&b[i].cb) == EAI_INPROGRESS || b[i].cb.ar_result);
	}
	*r = (struct resolver){ .signo = r->signo, .batch = b, .n = n, .started = now };
	return 0;
}

static void log_failures(const struct resolver *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct lookup *l = &r->batch[i];
		int e = l->ok ? gai_error((struct gaicb *)&l->cb) : EAI_NONAME;
		if (e == EAI_INPROGRESS || e == EAI_CANCELED)
			log_warnx("static endpoint %s: no answer from DNS within %d s", l->name,
				  RESOLVE_TIMEOUT_MS / 1000);
		else if (e)
			log_warnx("cannot resolve static endpoint %s: %s", l->name ? l->name : "?",
				  l->ok ? gai_strerror(e) : "not host:port");
	}
}

bool resolver_done(struct resolver *r, int64_t now, bool *timed_out)
{
	*timed_out = false;
	if (!r->batch || r->reported)
		return false;
	if (!all_ended(r)) {
		if (now - r->started < RESOLVE_TIMEOUT_MS)
			return false;
		for (size_t i = 0; i < r->n; i++)
			if (r->batch[i].ok)
				gai_cancel(&r->batch[i].cb);
		*timed_out = true;
	}
	r->reported = true;
	log_failures(r);
	return true;
}

size_t resolver_result(const struct resolver *r, size_t i, struct peer_endpoint *out, size_t room)
{
	if (!r->batch || i >= r->n || !r->batch[i].ok)
		return 0;
	struct gaicb *cb = (struct gaicb *)&r->batch[i].cb;
	if (gai_error(cb) != 0)
		return 0;
	size_t n = 0;
	for (const struct addrinfo *a = cb->ar_result; a && n < room; a = a->ai_next) {
		struct peer_endpoint *pe = &out[n];
		memset(pe, 0, sizeof(*pe));
		if (a->ai_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)a->ai_addr;
			pe->attr = WIRE_ENDPOINT_V4;
			memcpy(pe->ep.addr, &sin->sin_addr, 4);
			pe->ep.port = ntohs(sin->sin_port);
		} else if (a->ai_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)a->ai_addr;
			pe->attr = WIRE_ENDPOINT_V6;
			memcpy(pe->ep.addr, &sin6->sin6_addr, 16);
			pe->ep.port = ntohs(sin6->sin6_port);
		} else {
			continue;
		}
		if (trust_is_global_unicast(a->ai_family, pe->ep.addr))
			n++;
	}
	return n;
}
