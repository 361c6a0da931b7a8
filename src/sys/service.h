/* The service manager and privileges: the sd_notify(3) datagram protocol
 * spoken directly (NOTIFY_SOCKET, a path or an '@' abstract name;
 * WATCHDOG_USEC and WATCHDOG_PID), unless built with -Dsystemd=disabled
 * (then these do nothing), and dropping to an unprivileged user with only
 * the capabilities the daemon needs (libcap-ng). */
#ifndef WIRELINK_SERVICE_H
#define WIRELINK_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

/* READY=1, STOPPING=1, STATUS=<text>, WATCHDOG=1: one non-blocking
 * datagram each to NOTIFY_SOCKET; nothing when it is unset. A failure is
 * logged once. */
void service_ready(void);
void service_stopping(void);
void service_status(const char *text);
void service_watchdog(void);
/* Half the watchdog period the unit set (WATCHDOG_USEC, for this process
 * if WATCHDOG_PID is set), in ms, at least 1; 0 when there is none. */
int64_t service_watchdog_ms(void);

/* Becomes `user` (its uid, primary gid, no supplementary groups), keeping
 * only CAP_NET_ADMIN, with no-new-privileges and an emptied bounding set.
 * 0, or -errno with a message logged. */
int service_drop_privileges(const char *user);

#endif
