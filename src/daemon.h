/* The daemon: the engine on a real WireGuard interface. */
#ifndef WIRELINK_DAEMON_H
#define WIRELINK_DAEMON_H

#include "config.h"

/* Runs until SIGINT/SIGTERM (returns 0) or a fatal error such as the
 * interface disappearing (returns 1, having said why). */
int daemon_run(const struct config *cfg);

#endif
