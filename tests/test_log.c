/* Logging: syslog priority prefixes when stderr is the journal, nothing
 * extra on a plain file, and repeated identical events summarised. */
#include "helpers.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *captured(FILE *f)
{
	fflush(stderr);
	long n = ftell(f);
	char *buf = calloc(1, (size_t)n + 1);
	rewind(f);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	return buf;
}

/* Runs fn with stderr sent to a temporary file; returns what it wrote. */
static char *with_stderr(const char *journal, void (*fn)(void))
{
	FILE *f = tmpfile();
	assert_non_null(f);
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	if (journal) {
		struct stat st;
		char v[64];
		fstat(STDERR_FILENO, &st);
		snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
			 !strcmp(journal, "match") ? (unsigned long long)st.st_ino : 1ull);
		setenv("JOURNAL_STREAM", v, 1);
	} else {
		unsetenv("JOURNAL_STREAM");
	}
	log_init();
	fn();
	char *out = captured(f);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fclose(f);
	unsetenv("JOURNAL_STREAM");
	log_init();
	return out;
}

static void some_lines(void)
{
	log_set_level(LOG_LEVEL_INFO);
	log_errorx("boom");
	log_warnx("careful");
	log_info("hello");
	log_debug("hidden");
}

static void test_journal_priorities(void **state)
{
	(void)state;
	char *out = with_stderr("match", some_lines);
	assert_string_equal(out, "<3>error: boom\n<4>warning: careful\n<6>hello\n");
	free(out);
}

static void test_not_the_journal(void **state)
{
	(void)state;
	char *out = with_stderr("other", some_lines); /* another stream's inode */
	assert_string_equal(out, "error: boom\nwarning: careful\nhello\n");
	free(out);
	out = with_stderr(NULL, some_lines);
	assert_string_equal(out, "error: boom\nwarning: careful\nhello\n");
	free(out);
}

static void repeats(void)
{
	log_set_level(LOG_LEVEL_INFO);
	int64_t t = 1000000;
	log_repeated("try laptop", t, "laptop: trying endpoint 192.0.2.1:51820");
	log_repeated("try laptop", t + 15000, "laptop: trying endpoint 192.0.2.2:51820");
	log_repeated("try phone", t + 15000, "phone: trying endpoint 192.0.2.9:51820");
	log_repeated("try laptop", t + 30000, "laptop: trying endpoint 192.0.2.1:51820");
	log_repeated("try laptop", t + LOG_REPEAT_MS + 1, "laptop: trying endpoint 192.0.2.2:51820");
	log_repeated("try laptop", t + LOG_REPEAT_MS + 2, "laptop: trying endpoint 192.0.2.1:51820");
}

static void test_repeats_summarised(void **state)
{
	(void)state;
	char *out = with_stderr(NULL, repeats);
	assert_string_equal(out, "laptop: trying endpoint 192.0.2.1:51820\n"
				 "phone: trying endpoint 192.0.2.9:51820\n"
				 "laptop: trying endpoint 192.0.2.2:51820 (2 more like this in the last 10 min)\n");
	free(out);
}

static void many_keys(void)
{
	log_set_level(LOG_LEVEL_INFO);
	char key[32];
	/* More keys than slots: each new one is still logged. */
	for (int i = 0; i < LOG_REPEAT_SLOTS + 8; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		log_repeated(key, 5000000 + i, "event %d", i);
	}
}

static void test_repeat_slots_recycled(void **state)
{
	(void)state;
	char *out = with_stderr(NULL, many_keys);
	size_t lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, LOG_REPEAT_SLOTS + 8);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_priorities),
		cmocka_unit_test(test_not_the_journal),
		cmocka_unit_test(test_repeats_summarised),
		cmocka_unit_test(test_repeat_slots_recycled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
