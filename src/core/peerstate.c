/* Peer health, liveness and endpoint rotation. */
#include "core/peerstate.h"

#include "proto/meta.h"

#include <stdio.h>
#include <string.h>

void peerstate_init(struct peerstate *ps, const uint8_t key[static WIRE_KEY_LEN])
{
	memset(ps, 0, sizeof(*ps));
	memcpy(ps->key, key, WIRE_KEY_LEN);
	ps->last_switch = INT64_MIN;
}

static unsigned transition(bool *flag, bool now, unsigned on, unsigned off)
{
	if (*flag == now)
		return 0;
	*flag = now;
	return now ? on : off;
}

unsigned peerstate_observe(struct peerstate *ps, const struct wg_peer *p, int64_t wall_ms)
{
	/* The first look has nothing to compare with: an old handshake seen at
	 * start-up has not "advanced". */
	bool advanced = ps->observed && (p->last_handshake_sec > ps->handshake_sec ||
					 (p->last_handshake_sec == ps->handshake_sec &&
					  p->last_handshake_nsec > ps->handshake_nsec));
	/* Keepalives (32 bytes each, e.g. a persistent keepalive) get no
	 * answer from a live peer: they do not count as sending. */
	uint64_t sent = p->tx_bytes - ps->tx_bytes;
	bool keepalives = sent % 32 == 0 && sent <= 3 * 32;
	if (!ps->observed || p->rx_bytes != ps->rx_bytes)
		ps->unanswered_since = 0;
	else if (!keepalives && !ps->unanswered_since)
		ps->unanswered_since = wall_ms;
	bool stalled = ps->unanswered_since && wall_ms - ps->unanswered_since >= LINK_STALL_MS;
	ps->rx_bytes = p->rx_bytes;
	ps->tx_bytes = p->tx_bytes;
	ps->observed = true;
	ps->handshake_sec = p->last_handshake_sec;
	ps->handshake_nsec = p->last_handshake_nsec;
	int64_t hs_ms = p->last_handshake_sec * 1000 + p->last_handshake_nsec / 1000000;
	bool recent = p->last_handshake_sec != 0 && wall_ms - hs_ms < HANDSHAKE_VALIDITY_MS;
	bool healthy = p->endpoint.addr.sa_family != AF_UNSPEC && (recent || advanced) && !stalled;
	return transition(&ps->healthy, healthy, PEER_EV_HEALTHY, PEER_EV_UNHEALTHY);
}

unsigned peerstate_alive(struct peerstate *ps, const uint8_t boot_id[static WIRE_BOOT_ID_LEN],
			 int64_t expires, int64_t now)
{
	unsigned ev = 0;
	if (expires <= now)
		return peerstate_tick(ps, now);
	if (ps->has_boot_id && memcmp(ps->boot_id, boot_id, WIRE_BOOT_ID_LEN) != 0) {
		ev |= PEER_EV_REBOOTED;
		ps->alive_since = now; /* a new life */
	}
	memcpy(ps->boot_id, boot_id, WIRE_BOOT_ID_LEN);
	ps->has_boot_id = true;
	if (!ps->alive)
		ps->alive_since = now;
	if (expires > ps->alive_until || (ev & PEER_EV_REBOOTED))
		ps->alive_until = expires;
	return ev | transition(&ps->alive, true, PEER_EV_ALIVE, PEER_EV_DEAD);
}

unsigned peerstate_tick(struct peerstate *ps, int64_t now)
{
	return transition(&ps->alive, ps->alive && now < ps->alive_until, PEER_EV_ALIVE, PEER_EV_DEAD);
}

static bool loggable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

void peerstate_set_meta(struct peerstate *ps, const struct wire_view *meta)
{
	struct meta_entries m;
	if (meta_parse(meta->data, meta->len, &m) != WIRE_OK)
		return;
	struct wire_view name = meta_get(&m, META_NAME), basic = meta_get(&m, META_BASIC);
	if (name.len > 0 && name.len < sizeof(ps->name) && loggable(name.data, name.len)) {
		memcpy(ps->name, name.data, name.len);
		ps->name[name.len] = '\0';
	}
	if (basic.len == 1)
		ps->basic = basic.data[0] == 1;
}

bool peerstate_alive_for(const struct peerstate *ps, int64_t now, int64_t ms)
{
	return ps->alive && now < ps->alive_until && ps->alive_until - now >= ms;
}

bool peerstate_alive_since(const struct peerstate *ps, int64_t now, int64_t ms)
{
	return ps->alive && now < ps->alive_until && now - ps->alive_since >= ms;
}

static bool same_endpoint(const struct peer_endpoint *a, const struct peer_endpoint *b)
{
	size_t alen = a->attr == WIRE_ENDPOINT_V4 ? 4 : 16;
	return a->attr == b->attr && a->ep.port == b->ep.port && !memcmp(a->ep.addr, b->ep.addr, alen);
}

static int64_t tried_at(const struct peerstate *ps, const struct peer_endpoint *e)
{
	for (size_t i = 0; i < ps->n_tried; i++)
		if (same_endpoint(&ps->tried[i].e, e))
			return ps->tried[i].at;
	return INT64_MIN;
}

static void record_try(struct peerstate *ps, const struct peer_endpoint *e, int64_t now)
{
	size_t slot = ps->n_tried, oldest = 0;
	for (size_t i = 0; i < ps->n_tried; i++) {
		if (same_endpoint(&ps->tried[i].e, e))
			slot = i;
		if (ps->tried[i].at < ps->tried[oldest].at)
			oldest = i;
	}
	if (slot == PEERSTATE_MAX_TRIED)
		slot = oldest; /* forget the longest-ago try */
	else if (slot == ps->n_tried)
		ps->n_tried++;
	ps->tried[slot].e = *e;
	ps->tried[slot].at = now;
}

int peerstate_next_endpoint(struct peerstate *ps, const struct peer_endpoint *candidates,
			    size_t n, int64_t now)
{
	if (n == 0 || (ps->last_switch != INT64_MIN && now - ps->last_switch < ENDPOINT_INTERVAL_MS))
		return -1;
	size_t best = 0;
	int64_t best_at = INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		int64_t at = tried_at(ps, &candidates[i]);
		if (at < best_at) {
			best_at = at;
			best = i;
		}
	}
	record_try(ps, &candidates[best], now);
	ps->last_switch = now;
	return (int)best;
}

const char *peerstate_event_text(unsigned ev, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *text;
	} words[] = {
		{ PEER_EV_REBOOTED, "restarted" }, { PEER_EV_HEALTHY, "healthy" },
		{ PEER_EV_UNHEALTHY, "unhealthy" }, { PEER_EV_ALIVE, "alive" },
		{ PEER_EV_DEAD, "no longer alive" },
	};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!(ev & words[i].bit))
			continue;
		int n = snprintf(buf + used, cap - used, "%s%s", used ? " and " : "", words[i].text);
		if (n < 0 || (size_t)n >= cap - used) {
			buf[used] = '\0'; /* whole words only */
			break;
		}
		used += (size_t)n;
	}
	return buf;
}
