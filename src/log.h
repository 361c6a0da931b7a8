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

/* How lines are decorated: "<N>" syslog priorities when stderr is the
 * journal (JOURNAL_STREAM names stderr's device:inode), a timestamp when it
 * is a terminal, nothing otherwise. Called once at start (and by tests). */
/* Set (to anything): each line starts with the time even when standard
 * error is no terminal (a log file). */
#define LOG_TIME_ENV "WIRELINK_LOG_TIME"
void log_init(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A fatal error, always shown, labelled "error:" (the caller exits). */
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

/* Repeated identical events (same key, e.g. "try <peer>"): the first is
 * logged at info, repeats within LOG_REPEAT_MS only at debug, and the next
 * info line after that window says how many there were. */
enum { LOG_REPEAT_MS = 10 * 60 * 1000, LOG_REPEAT_SLOTS = 64 };
void log_repeated(const char *key, int64_t now_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
