/* The sd_notify protocol spoken directly: path and abstract sockets, the
 * watchdog variables, and never blocking on a service manager that does not
 * read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sys/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A bound datagram socket playing the service manager at `name` (a path, or
 * '@' and an abstract name). */
static int sink(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	assert_true(n < sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)), 0);
	return fd;
}

/* The next datagram, or "" when none is waiting. */
static const char *next(int fd)
{
	static char buf[2048];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void sends_each_message(int fd)
{
	service_ready();
	assert_string_equal(next(fd), "READY=1");
	service_status("router on wg0: 2 peers");
	assert_string_equal(next(fd), "STATUS=router on wg0: 2 peers");
	service_watchdog();
	assert_string_equal(next(fd), "WATCHDOG=1");
	service_stopping();
	assert_string_equal(next(fd), "STOPPING=1");
	assert_string_equal(next(fd), "");
}

static void test_path_socket(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/wl-notify-%d.sock", (int)getpid());
	unlink(path);
	int fd = sink(path);
	setenv("NOTIFY_SOCKET", path, 1);
	sends_each_message(fd);
	close(fd);
	unlink(path);
	unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
	(void)state;
	char name[64];
	snprintf(name, sizeof(name), "@wl-notify-test-%d", (int)getpid());
	int fd = sink(name);
	setenv("NOTIFY_SOCKET", name, 1);
	sends_each_message(fd);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

static void test_no_or_bad_socket(void **state)
{
	(void)state;
	char name[64];
	snprintf(name, sizeof(name), "@wl-notify-none-%d", (int)getpid());
	int fd = sink(name);
	unsetenv("NOTIFY_SOCKET");
	service_ready(); /* nowhere to send: nothing happens */
	setenv("NOTIFY_SOCKET", name + 1, 1); /* relative: refused */
	service_ready();
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	service_ready();
	setenv("NOTIFY_SOCKET", "/nonexistent/wl-notify.sock", 1);
	service_ready(); /* logged once, not fatal */
	service_status("x");
	assert_string_equal(next(fd), "");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_never_blocks(void **state)
{
	(void)state;
	char name[64];
	snprintf(name, sizeof(name), "@wl-notify-full-%d", (int)getpid());
	int fd = sink(name);
	setenv("NOTIFY_SOCKET", name, 1);
	/* The manager never reads: the queue fills and later sends are dropped
	 * (a blocking socket would hang here until the test times out). */
	for (int i = 0; i < 5000; i++)
		service_watchdog();
	assert_string_equal(next(fd), "WATCHDOG=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog(void **state)
{
	(void)state;
	char pid[32], other[32];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(other, sizeof(other), "%d", (int)getpid() + 1);
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(service_watchdog_ms(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(service_watchdog_ms(), 15000);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(service_watchdog_ms(), 15000);
	setenv("WATCHDOG_PID", other, 1); /* meant for another process */
	assert_int_equal(service_watchdog_ms(), 0);
	setenv("WATCHDOG_PID", "12x", 1);
	assert_int_equal(service_watchdog_ms(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "1000", 1); /* below 2 ms: still a period */
	assert_int_equal(service_watchdog_ms(), 1);
	const char *bad[] = { "0", "", "-5", " 30", "30s", "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		assert_int_equal(service_watchdog_ms(), 0);
	}
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_no_or_bad_socket),
		cmocka_unit_test(test_never_blocks),
		cmocka_unit_test(test_watchdog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
