/* Logging to stderr (journald adds timestamps when run as a service). */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current = LOG_LEVEL_INFO;

void log_set_level(enum log_level level) { current = level; }
enum log_level log_get_level(void) { return current; }
bool log_enabled(enum log_level level) { return level <= current; }

__attribute__((format(printf, 3, 0)))
static void vlog(enum log_level level, const char *prefix, const char *fmt, va_list ap,
		 const char *suffix)
{
	if (!log_enabled(level))
		return;
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s%s%s%s\n", prefix, line, suffix ? ": " : "", suffix ? suffix : "");
}

#define LOG_FN(name, level, prefix, with_errno)                                   \
	void name(const char *fmt, ...)                                           \
	{                                                                         \
		int saved = errno;                                                \
		va_list ap;                                                       \
		va_start(ap, fmt);                                                \
		vlog(level, prefix, fmt, ap, with_errno ? strerror(saved) : NULL); \
		va_end(ap);                                                       \
		errno = saved;                                                    \
	}

LOG_FN(log_info, LOG_LEVEL_INFO, "", false)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, "debug: ", false)
LOG_FN(log_warn, LOG_LEVEL_WARN, "warning: ", true)
LOG_FN(log_warnx, LOG_LEVEL_WARN, "warning: ", false)

bool log_ratelimit_allow(struct log_ratelimit *rl, int64_t now_ms, uint64_t *suppressed)
{
	if (!rl->started) {
		rl->started = true;
		rl->tokens = rl->burst;
	} else if (now_ms > rl->last_ms) {
		rl->tokens += (double)(now_ms - rl->last_ms) * rl->per_sec / 1000.0;
	}
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
	rl->last_ms = now_ms;
	if (rl->tokens < 1.0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens -= 1.0;
	if (suppressed)
		*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}
