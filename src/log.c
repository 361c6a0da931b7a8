/* Logging to stderr: syslog priority prefixes for the journal, timestamps
 * on a terminal. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level current = LOG_LEVEL_INFO;
static enum { PLAIN, JOURNAL, TERMINAL } style = PLAIN;

void log_set_level(enum log_level level) { current = level; }
enum log_level log_get_level(void) { return current; }
bool log_enabled(enum log_level level) { return level <= current; }

void log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;
	style = PLAIN;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	    st.st_dev == dev && st.st_ino == ino)
		style = JOURNAL;
	else if (isatty(STDERR_FILENO) || getenv(LOG_TIME_ENV))
		style = TERMINAL;
}

/* syslog priorities: 3 err, 4 warning, 6 info, 7 debug. */
__attribute__((format(printf, 4, 0)))
static void vlog(int prio, bool shown, const char *prefix, const char *fmt, va_list ap,
		 const char *suffix)
{
	if (!shown)
		return;
	char line[2048], head[40] = "";
	vsnprintf(line, sizeof(line), fmt, ap);
	if (style == JOURNAL) {
		snprintf(head, sizeof(head), "<%d>", prio);
	} else if (style == TERMINAL) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		size_t n = strftime(head, sizeof(head), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(head + n, sizeof(head) - n, ".%03ld ", ts.tv_nsec / 1000000);
	}
	fprintf(stderr, "%s%s%s%s%s\n", head, prefix, line, suffix ? ": " : "", suffix ? suffix : "");
}

#define LOG_FN(name, prio, level, prefix, with_errno)                              \
	void name(const char *fmt, ...)                                            \
	{                                                                          \
		int saved = errno;                                                 \
		va_list ap;                                                        \
		va_start(ap, fmt);                                                 \
		vlog(prio, log_enabled(level), prefix, fmt, ap,                    \
		     with_errno ? strerror(saved) : NULL);                         \
		va_end(ap);                                                        \
		errno = saved;                                                     \
	}

LOG_FN(log_info, 6, LOG_LEVEL_INFO, "", false)
LOG_FN(log_debug, 7, LOG_LEVEL_DEBUG, "debug: ", false)
LOG_FN(log_warn, 4, LOG_LEVEL_WARN, "warning: ", true)
LOG_FN(log_warnx, 4, LOG_LEVEL_WARN, "warning: ", false)
LOG_FN(log_errorx, 3, LOG_LEVEL_WARN, "error: ", false)

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

static struct repeat_slot {
	uint64_t hash;
	int64_t logged; /* when it was last logged at info */
	uint32_t repeats;
	bool used;
} repeats[LOG_REPEAT_SLOTS];

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot for a key: its own, else a free one, else the oldest. */
static struct repeat_slot *repeat_slot(uint64_t h)
{
	struct repeat_slot *free_slot = NULL, *oldest = &repeats[0];
	for (size_t i = 0; i < LOG_REPEAT_SLOTS; i++) {
		if (repeats[i].used && repeats[i].hash == h)
			return &repeats[i];
		if (!repeats[i].used && !free_slot)
			free_slot = &repeats[i];
		else if (repeats[i].used && repeats[i].logged < oldest->logged)
			oldest = &repeats[i];
	}
	struct repeat_slot *s = free_slot ? free_slot : oldest;
	*s = (struct repeat_slot){ .hash = h };
	return s;
}

void log_repeated(const char *key, int64_t now_ms, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	struct repeat_slot *s = repeat_slot(hash_key(key));
	if (s->used && now_ms - s->logged < LOG_REPEAT_MS) {
		s->repeats++;
		log_debug("%s", line);
		return;
	}
	if (s->used && s->repeats)
		log_info("%s (%u more like this in the last %lld min)", line, s->repeats,
			 (long long)((now_ms - s->logged) / 60000));
	else
		log_info("%s", line);
	s->used = true;
	s->logged = now_ms;
	s->repeats = 0;
}
