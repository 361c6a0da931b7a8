/* When the next round and the next device read are due. */
#include "core/engine_int.h"

#include "core/facts.h"
#include "core/knowledge.h"

/* How often a watched link is looked at: closer while a probe is out. */
static int64_t watch_ms(const struct peerstate *ps)
{
	return ps->probe_at ? PROBE_LOOK_MS : LINK_WATCH_MS;
}

/* `at`, if it is later than now and sooner than *next. */
static void sooner(int64_t *next, int64_t at, int64_t now)
{
	if (at > now && at < *next)
		*next = at;
}

int64_t engine_next_due(const struct engine *e, int64_t now, int64_t *soft)
{
	/* On time: a first send's repeat, a hello, probe or answer, a
	 * first-contact hold ending, an endpoint try, a watched link. */
	int64_t hard = INT64_MAX;
	/* May wait for the caller's next wake-up: an Alive re-sent, a fact
	 * expiring or getting a new version, what only time changes (a peer's
	 * Alive running out, the settling of membership, our own start
	 * ageing, a flapping link's calm: damp_flaps), and a look at least
	 * every QUIET_ROUND_MS. */
	int64_t late = now + QUIET_ROUND_MS;
	int64_t exp = facts_next_expiry(e->received), bump = knowledge_next_bump(e->knows);
	if (exp < late)
		late = exp;
	if (bump < late)
		late = bump;
	sooner(&late, e->started + FACT_TTL_MS, now);
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (p->ps.alive) {
			sooner(&late, p->ps.alive_until - CHUNK_PERIOD_MS * 3 / 2, now);
			sooner(&late, p->ps.alive_until - CHUNK_PERIOD_MS / 2, now);
			sooner(&late, p->ps.alive_until, now);
			sooner(&late, p->ps.alive_since + FACT_TTL_MS + CHUNK_PERIOD_MS, now);
		}
		sooner(&late, flap_due(&p->ps.flap), now);
		if (!p->wg)
			continue;
		if (p->wg->endpoint.addr.sa_family != AF_UNSPEC) {
			bool held = now < p->hold_until && p->wg->last_handshake_sec == 0;
			if (held) {
				if (p->hold_until < hard)
					hard = p->hold_until;
			} else {
				int64_t alive = known_alive_at(&p->kn);
				if (p->alive_now || p->probe_now || p->answer_now)
					hard = now;
				if (p->kn.rep_at < hard)
					hard = p->kn.rep_at;
				/* Nobody knows it yet, or the first send's repeat. */
				bool first = alive == INT64_MIN || p->kn.alive_first;
				int64_t *at = first ? &hard : &late;
				if (alive < *at)
					*at = alive;
			}
		}
		if (peerstate_watching(&p->ps, e->wall_ms) && now + watch_ms(&p->ps) < hard)
			hard = now + watch_ms(&p->ps);
		if (!p->ps.healthy && p->ps.attempt_until != INT64_MIN && p->ps.attempt_until < hard)
			hard = p->ps.attempt_until;
		if (!p->ps.healthy && p->ps.retry_at != INT64_MIN && p->ps.retry_at < hard)
			hard = p->ps.retry_at;
	}
	*soft = late > now ? late : now;
	return hard > now ? hard : now;
}

int64_t engine_next_deadline(const struct engine *e, int64_t now)
{
	int64_t soft, hard = engine_next_due(e, now, &soft);
	return hard < soft ? hard : soft;
}

int64_t engine_next_look(const struct engine *e, int64_t now, int64_t wall_ms, int64_t idle_ms)
{
	int64_t next = now + idle_ms;
	/* The last read opened a suspicion of a loss: the read that settles
	 * it (a quiet one leaves it to the looks, which read as soon as
	 * anything moves again). */
	int64_t opened = e->wall_ms ? e->wall_ms : 1;
	if ((e->send_pending == opened || e->drop_pending == opened) && now + CONFIRM_MS < next)
		next = now + CONFIRM_MS;
	const struct peer_entry *p, *tmp;
	HASH_ITER(hh, e->peers, p, tmp) {
		if (!p->wg)
			continue;
		int64_t at = peerstate_watching(&p->ps, wall_ms) ? now + watch_ms(&p->ps) : INT64_MAX;
		int64_t wall = peerstate_next_look(&p->ps);
		if (wall != INT64_MAX && now + (wall - wall_ms) < at)
			at = now + (wall - wall_ms);
		/* An endpoint try ends, or a failed peer is tried again: was
		 * there a handshake? */
		if (!p->ps.healthy && p->ps.attempt_until != INT64_MIN && p->ps.attempt_until < at)
			at = p->ps.attempt_until;
		if (!p->ps.healthy && p->ps.retry_at != INT64_MIN && p->ps.retry_at < at)
			at = p->ps.retry_at;
		if (at < next)
			next = at;
	}
	return next > now ? next : now;
}
