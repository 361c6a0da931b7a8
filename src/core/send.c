/* Who needs which fact now: every fact we could send is offered to
 * knowledge once per round, and each peer gets the versions it has not
 * had, the repeats due, and our Alive (as a hello, probe or answer). */
#include "core/engine_int.h"

#include "core/facts.h"
#include "core/knowledge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct wire_fact alive_fact(const struct engine *e)
{
	struct wire_fact f = { .attr = WIRE_ALIVE };
	memcpy(f.subject, e->self, WIRE_KEY_LEN);
	memcpy(f.v.boot_id, e->boot_id, WIRE_BOOT_ID_LEN);
	return f;
}

/* A fact we could send this round, with what every peer's decision needs
 * computed once. */
struct candidate {
	struct wire_fact f;
	int64_t expires;
	const struct fact_version *v;
	const uint8_t *source;		  /* who told us (NULL: our own) */
	uint64_t subject_tag, source_tag; /* keys' first bytes: a quick first test */
};

/* This round's candidates, the sendable ones by version, and room for one
 * peer's send (pointers into the candidates). */
struct plan {
	struct candidate *cand;
	const struct candidate **order;
	size_t n_order;
	const struct wire_fact **out;
};

static uint64_t key_tag(const uint8_t *key)
{
	uint64_t t;
	memcpy(&t, key, sizeof(t));
	return t;
}

static int cmp_version(const void *a, const void *b)
{
	const struct candidate *const *x = a, *const *y = b;
	uint64_t u = (*x)->v->ver, w = (*y)->v->ver;
	return (u > w) - (u < w);
}

static void plan_free(struct plan *p)
{
	free(p->cand);
	free(p->order);
	free(p->out);
}

/* Every fact we could send this round, each offered to knowledge for its
 * version; those whose subject is up go in `order`, by version. */
static int plan_round(struct engine *e, int64_t now, struct plan *p)
{
	size_t cap = e->local.n + facts_count(e->received) + 1, n = 0;
	*p = (struct plan){ .cand = calloc(cap, sizeof(*p->cand)),
			    .order = calloc(cap, sizeof(*p->order)),
			    .out = calloc(cap + 2, sizeof(*p->out)) }; /* + probe answer, Alive */
	if (!p->cand || !p->order || !p->out) {
		plan_free(p);
		return -ENOMEM;
	}
	struct candidate *c = p->cand;
	static const uint8_t nobody[WIRE_KEY_LEN];
	for (size_t i = 0; i < e->local.n; i++, n++) {
		c[n].f = e->local.facts[i].f;
		c[n].f.ttl = FACT_TTL_MS / 1000;
		c[n].expires = now + FACT_TTL_MS;
	}
	for (const struct fact *f = facts_first(e->received); f; f = facts_next(f)) {
		fact_to_wire(f, now, &c[n].f);
		if (c[n].f.ttl == 0)
			continue;
		c[n].expires = f->expires;
		c[n++].source = memcmp(f->source, nobody, WIRE_KEY_LEN) ? f->source : NULL;
	}
	knowledge_begin(e->knows);
	for (size_t i = 0; i < n; i++) {
		bool up = !memcmp(c[i].f.subject, e->self, WIRE_KEY_LEN) ||
			  engine_subject_is_up(e, c[i].f.subject);
		bool again = false;
		c[i].v = knowledge_offer(e->knows, fact_id(&c[i].f), c[i].expires, up, now, &again);
		if (!c[i].v) {
			plan_free(p);
			return -ENOMEM;
		}
		/* One fact both ours and received (two hubs' Members): ours,
		 * first, speaks for both. */
		if (!up || again)
			continue;
		c[i].subject_tag = key_tag(c[i].f.subject);
		c[i].source_tag = c[i].source ? key_tag(c[i].source) : 0;
		p->order[p->n_order++] = &c[i];
	}
	knowledge_end(e->knows);
	qsort(p->order, p->n_order, sizeof(*p->order), cmp_version);
	return 0;
}

/* The first of p's candidates with a version at or above ver. */
static size_t from_version(const struct plan *p, uint64_t ver)
{
	size_t lo = 0, hi = p->n_order;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->order[mid]->v->ver < ver)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether c goes to the peer with this key at all: never a fact about it
 * (but its MemberMetadata, which tells it its name), never back to who told
 * us (it knows it as long as we do). */
static bool for_peer(const struct candidate *c, const uint8_t key[static 32], uint64_t tag)
{
	if (c->subject_tag == tag && !memcmp(c->f.subject, key, WIRE_KEY_LEN) &&
	    c->f.attr != WIRE_MEMBER_META)
		return false;
	return !(c->source_tag == tag && c->source && !memcmp(c->source, key, WIRE_KEY_LEN));
}

static bool wants_facts(const struct engine *e, const struct peer_entry *p)
{
	/* Facts go only to a peer whose Alive we have: its daemon is listening,
	 * so what we send is not lost while it starts (knowledge would then
	 * say it knows them for minutes). Basic peers run no daemon at all. */
	if (!p->ps.alive)
		return false;
	const struct peer_config *c = engine_config_of(e, p->key);
	if ((c && c->has_trust && c->trust >= TRUST_ALLOWED_IPS) || engine_peer_is_router(e, p->wg) ||
	    (c && c->fact_exchanger))
		return true;
	if (!e->cfg.chatty && !e->is_router)
		return false;
	return p->ps.healthy;
}

/* The facts `to` needs now, into plan->out, noting that it will know them:
 * the versions it has not had, and first sends due to go once more. A
 * fact its source stopped refreshing gets no new version, so it goes to
 * each peer at most once more, and never back where it came from. */
static size_t facts_for(struct engine *e, struct peer_entry *to, const struct plan *p,
			int64_t now)
{
	struct known *kn = &to->kn;
	uint64_t tag = key_tag(to->key);
	size_t m = 0;
	bool repeat = kn->rep_at <= now, first = false;
	for (size_t i = repeat ? from_version(p, kn->rep_from) : p->n_order;
	     i < p->n_order && p->order[i]->v->ver < kn->rep_to; i++) {
		const struct candidate *c = p->order[i];
		if (known_repeat(kn, c->v, now) && for_peer(c, to->key, tag))
			p->out[m++] = &c->f;
	}
	for (size_t i = from_version(p, kn->mark); i < p->n_order; i++) {
		const struct candidate *c = p->order[i];
		if (!for_peer(c, to->key, tag))
			continue;
		p->out[m++] = &c->f;
		first = first || known_first(kn, c->v, now);
	}
	known_scanned(kn, e->knows, now, repeat, first);
	return m;
}

/* Whether this round may send to p: it has an endpoint and is not held. */
static bool sends_to(const struct peer_entry *p, int64_t now)
{
	return p && p->wg->endpoint.addr.sa_family != AF_UNSPEC &&
	       !(now < p->hold_until && p->wg->last_handshake_sec == 0);
}

/* Sends: facts to each peer with an endpoint, then our Alive (a "fill" fact
 * riding along unless it is due). A peer is scanned only when a version it
 * has not had exists or a repeat is due: a steady round costs O(peers),
 * and no send copies a fact. */
int engine_plan_sends(struct engine *e, int64_t now, engine_send_fn *fn, void *arg)
{
	struct wire_fact alive = alive_fact(e);
	alive.ttl = FACT_TTL_MS / 1000;
	struct plan plan;
	if (plan_round(e, now, &plan) != 0)
		return -ENOMEM;
	/* Does any peer's Alive re-send fall due? Then those due soon go too. */
	bool alive_round = false;
	for (size_t i = 0; i < e->dev->n_peers && !alive_round; i++) {
		struct peer_entry *p = engine_entry(e, e->dev->peers[i].public_key, false);
		alive_round = sends_to(p, now) && !p->kn.alive_first && known_alive_due(&p->kn, now);
	}
	for (size_t i = 0; i < e->dev->n_peers; i++) {
		struct peer_entry *p = engine_entry(e, e->dev->peers[i].public_key, false);
		if (!sends_to(p, now))
			continue;
		size_t m = 0;
		if (wants_facts(e, p) && known_pending(&p->kn, e->knows, now))
			m = facts_for(e, p, &plan, now);
		/* A hello (a new peer, endpoint or life) counts as a first send. */
		bool hello = p->alive_now;
		/* A probe asks for an answer at once: a hello to a peer not yet
		 * known to answer is one (that is how we learn it answers). */
		bool probe = p->probe_now || (hello && !p->ps.answers);
		bool answer = p->answer_now;
		bool alive_due = hello || probe || answer || known_alive_due(&p->kn, now) ||
				 (alive_round && known_alive_soon(&p->kn, now));
		p->alive_now = p->probe_now = p->answer_now = false;
		struct wire_fact a = alive, ans = alive;
		if (probe || answer)
			a.ttl = probe ? PROBE_TTL : PROBE_ANSWER_TTL;
		if (probe)
			peerstate_probe_sent(&p->ps, e->wall_ms);
		/* Both: the answer rides first, then our own probe. */
		ans.ttl = PROBE_ANSWER_TTL;
		if (probe && answer)
			plan.out[m++] = &ans;
		if (alive_due)
			known_alive_sent(&p->kn, now, hello || probe);
		plan.out[m++] = &a;
		struct engine_send s = { .facts = plan.out, .n = m - !alive_due };
		if (s.n)
			p->ps.fact_tx++; /* explains our tx bytes */
		memcpy(s.peer, p->key, WIRE_KEY_LEN);
		if (!alive_due) {
			s.fill = &a;
			s.n_fill = 1;
		}
		fn(arg, &s);
	}
	plan_free(&plan);
	return 0;
}

int engine_send(struct engine *e, int64_t now, engine_send_fn *fn, void *arg)
{
	return e->dev ? engine_plan_sends(e, now, fn, arg) : 0;
}
