/* Operator-facing logging: one line per event, levels, and a rate limiter
 * for messages triggered by packets from the network. */
#ifndef WIRELINK_LOG_H
#define WIRELINK_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Token bucket: allows `burst` events at once and `per_sec` on average.
 * Times are monotonic milliseconds supplied by the caller. */
struct log_ratelimit {
	uint32_t per_sec, burst;
	double tokens;
	int64_t last_ms;
	uint64_t suppressed;
	bool started;
};

/* True when the event may be logged. When it returns true after some events
 * were suppressed, *suppressed (if not NULL) says how many. */
bool log_ratelimit_allow(struct log_ratelimit *rl, int64_t now_ms, uint64_t *suppressed);

#endif
