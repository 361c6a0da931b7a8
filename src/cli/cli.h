/* Subcommands of the wirelink binary. Each takes argv with argv[0] set to the
 * subcommand's name and returns the process exit status. */
#ifndef WIRELINK_CLI_H
#define WIRELINK_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { EXIT_USAGE = 2 };

int cmd_decode(int argc, char **argv);
/* Clients of a running daemon's control socket. */
int cmd_status(int argc, char **argv);
int cmd_facts(int argc, char **argv);
int cmd_log_level(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_hosts(int argc, char **argv);
/* One request to the daemon for iface; the parsed JSON answer, or NULL
 * (with a message on stderr unless quiet). */
typedef struct json_t json_t;
json_t *cli_ask(const char *iface, const char *request, bool quiet);
/* A starter configuration file from a live interface. */
int cmd_config_from_wg(int argc, char **argv);

#endif
