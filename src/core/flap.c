/* A flapping link, for the log: see flap.h. */
#include "core/flap.h"

enum flap_mark flap_change(struct flap *f, bool up, bool down, bool link, int64_t now)
{
	enum flap_mark m = FLAP_NONE;
	if (!link)
		return m;
	if (f->on) {
		m = FLAP_QUIET;
		f->downs += down;
		f->last = now;
	} else if (down && f->up_seen && now - f->up_at < FLAP_MS) {
		m = FLAP_START;
		f->on = true;
		f->since = f->fell_at;
		f->gap = now - f->up_at;
		f->last = f->told = now;
		f->downs = f->told_downs = 2;
	}
	/* Back after a fall (its first start is no coming back). */
	if (up && f->fell) {
		f->up_seen = true;
		f->up_at = now;
	}
	if (down) {
		f->fell = true;
		f->fell_at = now;
	}
	return m;
}

enum flap_mark flap_tick(struct flap *f, bool present, int64_t now)
{
	/* Gone from the device: if it comes back, it starts afresh (its
	 * first start again is no coming back). */
	if (!present) {
		*f = (struct flap){ 0 };
		return FLAP_NONE;
	}
	if (!f->on)
		return FLAP_NONE;
	if (now - f->last >= FLAP_MS) {
		f->on = false;
		return FLAP_STEADY;
	}
	if (now - f->told < FLAP_REPEAT_MS)
		return FLAP_NONE;
	f->told = now;
	f->recent = f->downs - f->told_downs;
	f->told_downs = f->downs;
	return FLAP_STILL;
}

int64_t flap_due(const struct flap *f)
{
	if (!f->on)
		return INT64_MAX;
	int64_t steady = f->last + FLAP_MS, still = f->told + FLAP_REPEAT_MS;
	return steady < still ? steady : still;
}
