/* Fact ports of peers: learned, guessed, and silence (factport.h). */
#include "core/factport.h"

#include <arpa/inet.h>

uint16_t factport_implied(const union wg_endpoint *ep)
{
	uint16_t port;
	if (ep->addr.sa_family == AF_INET)
		port = ntohs(ep->addr4.sin_port);
	else if (ep->addr.sa_family == AF_INET6)
		port = ntohs(ep->addr6.sin6_port);
	else
		return 0;
	return port == 0 || port == UINT16_MAX ? 0 : (uint16_t)(port + 1);
}

bool factport_heard(struct factport *fp, uint16_t from, uint16_t to, int64_t now)
{
	bool was_said = fp->said;
	fp->port = from;
	fp->to = to;
	fp->heard = now;
	fp->said = false;
	return was_said;
}

static bool current(const struct factport *fp, int64_t now)
{
	return fp->port && now - fp->heard < FACTPORT_HEARD_MS;
}

static size_t add_port(uint16_t *out, size_t n, uint16_t port)
{
	if (!port)
		return n;
	for (size_t i = 0; i < n; i++)
		if (out[i] == port)
			return n;
	out[n] = port;
	return n + 1;
}

size_t factport_targets(const struct factport *fp, uint16_t own, const union wg_endpoint *ep, int64_t now,
			uint16_t out[static FACTPORT_TARGETS])
{
	if (current(fp, now)) {
		out[0] = fp->port;
		return 1;
	}
	size_t n = add_port(out, 0, fp->port);
	n = add_port(out, n, own);
	return add_port(out, n, factport_implied(ep));
}

uint16_t factport_extra(const struct factport *fp, uint16_t own, const union wg_endpoint *ep, int64_t now)
{
	if (current(fp, now))
		return fp->to != own ? fp->to : 0;
	uint16_t implied = factport_implied(ep);
	return implied != own ? implied : 0;
}

bool factport_check_silent(struct factport *fp, bool handshake_fresh, int64_t handshake, int64_t now,
			   int64_t *for_ms)
{
	if (!handshake_fresh) {
		fp->fresh_since = 0;
		fp->said = false;
		return false;
	}
	if (!fp->fresh_since)
		fp->fresh_since = now;
	if (handshake != fp->handshake) {
		fp->handshake = handshake;
		fp->renewed = now;
	}
	if (fp->said || !factport_is_silent(fp, now, for_ms))
		return false;
	fp->said = true;
	return true;
}

bool factport_is_silent(const struct factport *fp, int64_t now, int64_t *for_ms)
{
	if (!fp->fresh_since)
		return false;
	if (fp->heard < fp->fresh_since) {
		*for_ms = now - fp->fresh_since; /* nothing since it became fresh */
		return *for_ms >= FACTPORT_SILENT_MS;
	}
	*for_ms = now - fp->heard;
	return *for_ms >= FACTPORT_SILENT_AGAIN_MS && fp->renewed > fp->heard;
}
