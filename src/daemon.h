/* The daemon: the engine on a real WireGuard interface. */
#ifndef WIRELINK_DAEMON_H
#define WIRELINK_DAEMON_H

#include "config.h"

/* Runs until SIGINT/SIGTERM (returns 0) or a fatal error such as the
 * interface disappearing (returns 1, having said why). SIGHUP loads the
 * configuration again from argv and env (as at start) and applies it; *cfg
 * then holds the new one. */
int daemon_run(struct config *cfg, int argc, char **argv, char **env);

#endif
