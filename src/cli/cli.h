/* Subcommands of the wirelink binary. Each takes argv with argv[0] set to the
 * subcommand's name and returns the process exit status. */
#ifndef WIRELINK_CLI_H
#define WIRELINK_CLI_H

#include <stdio.h>

enum { EXIT_USAGE = 2 };

int cmd_decode(int argc, char **argv);

#endif
