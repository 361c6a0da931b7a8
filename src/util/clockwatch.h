/* Notices a suspend (CLOCK_BOOTTIME moves ahead of CLOCK_MONOTONIC) or a
 * wall-clock jump (CLOCK_REALTIME moves against CLOCK_MONOTONIC): either
 * means peers may have forgotten us, so we take a new boot id. Pure: the
 * caller reads the three clocks (ms). */
#ifndef WIRELINK_CLOCKWATCH_H
#define WIRELINK_CLOCKWATCH_H

#include <stdbool.h>
#include <stdint.h>

enum { CLOCKWATCH_SUSPEND_MS = 1000, CLOCKWATCH_JUMP_MS = 5000 };

struct clockwatch {
	int64_t boot_off, real_off; /* boottime - monotonic, realtime - monotonic */
	bool started;
};

enum clockwatch_event { CLOCKWATCH_NONE, CLOCKWATCH_SUSPENDED, CLOCKWATCH_JUMPED };

static inline enum clockwatch_event clockwatch_check(struct clockwatch *w, int64_t mono,
						     int64_t boot, int64_t real)
{
	int64_t boot_off = boot - mono, real_off = real - mono;
	enum clockwatch_event ev = CLOCKWATCH_NONE;
	if (w->started && boot_off - w->boot_off > CLOCKWATCH_SUSPEND_MS)
		ev = CLOCKWATCH_SUSPENDED;
	else if (w->started && (real_off - w->real_off > CLOCKWATCH_JUMP_MS ||
				w->real_off - real_off > CLOCKWATCH_JUMP_MS))
		ev = CLOCKWATCH_JUMPED;
	w->boot_off = boot_off;
	w->real_off = real_off;
	w->started = true;
	return ev;
}

#endif
