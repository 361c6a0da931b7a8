/* sd_notify (optional) and privilege dropping. */
#include "sys/service.h"

#include "log.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

void service_ready(void) { sd_notify(0, "READY=1"); }
void service_stopping(void) { sd_notify(0, "STOPPING=1"); }
void service_watchdog(void) { sd_notify(0, "WATCHDOG=1"); }

void service_status(const char *text) { sd_notifyf(0, "STATUS=%s", text); }

int64_t service_watchdog_ms(void)
{
	uint64_t usec = 0;
	return sd_watchdog_enabled(0, &usec) > 0 ? (int64_t)(usec / 2000) : 0;
}
#else
void service_ready(void) {}
void service_stopping(void) {}
void service_watchdog(void) {}
void service_status(const char *text) { (void)text; }
int64_t service_watchdog_ms(void) { return 0; }
#endif

int service_drop_privileges(const char *user, bool userspace)
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
	if (!r && userspace)
		r = capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_DAC_OVERRIDE);
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
