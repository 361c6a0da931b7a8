/* The service manager's notification protocol (sd_notify(3)), spoken
 * directly, and privilege dropping. */
#include "sys/service.h"

#include "log.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef WIRELINK_NOTIFY
static int notify_fd = -1;
static bool notify_warned;

/* NOTIFY_SOCKET as an address: an absolute path, or an abstract name
 * written with a leading '@' (sent with a leading NUL and no terminator). */
static bool notify_addr(struct sockaddr_un *sa, socklen_t *len)
{
	const char *e = getenv("NOTIFY_SOCKET");
	if (!e || !*e)
		return false;
	size_t n = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || n < 2 || n > sizeof(sa->sun_path) ||
	    (e[0] == '/' && n == sizeof(sa->sun_path))) {
		if (!notify_warned)
			log_warnx("NOTIFY_SOCKET=%s: not a unix socket path or abstract name; "
				  "not notifying the service manager", e);
		notify_warned = true;
		return false;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e, n);
	if (e[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return true;
}

/* One datagram of newline-separated assignments; never blocks. */
static void notify(const char *text)
{
	struct sockaddr_un sa;
	socklen_t len;
	if (!notify_addr(&sa, &len))
		return;
	if (notify_fd < 0)
		notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (notify_fd < 0 ||
	    sendto(notify_fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
		if (!notify_warned)
			log_warn("cannot notify the service manager at %s", getenv("NOTIFY_SOCKET"));
		notify_warned = true;
	}
}

void service_ready(void) { notify("READY=1"); }
void service_stopping(void) { notify("STOPPING=1"); }
void service_watchdog(void) { notify("WATCHDOG=1"); }

void service_status(const char *text)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "STATUS=%s", text);
	notify(buf);
}

/* A decimal number without sign, spaces or overflow; false otherwise. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

int64_t service_watchdog_ms(void)
{
	uint64_t usec, pid;
	if (!parse_u64(getenv("WATCHDOG_USEC"), &usec) || usec == 0)
		return 0;
	/* WATCHDOG_PID, when set, names the process the watchdog is for. */
	const char *p = getenv("WATCHDOG_PID");
	if (p && (!parse_u64(p, &pid) || pid != (uint64_t)getpid()))
		return 0;
	uint64_t ms = usec / 2000;
	return ms ? (int64_t)(ms > INT64_MAX / 2 ? INT64_MAX / 2 : ms) : 1;
}
#else
void service_ready(void) {}
void service_stopping(void) {}
void service_watchdog(void) {}
void service_status(const char *text) { (void)text; }
int64_t service_watchdog_ms(void) { return 0; }
#endif

int service_drop_privileges(const char *user)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		int err = errno ? errno : ESRCH;
		log_errorx("no user %s", user);
		return -err;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	int r = capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
	if (!r)
		r = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
				    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (r) {
		log_errorx("cannot become %s keeping CAP_NET_ADMIN (libcap-ng error %d)", user, r);
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_warn("cannot set no-new-privileges");
		return -errno;
	}
	return 0;
}
