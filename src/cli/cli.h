/* Subcommands of the wirelink binary. Each takes argv with argv[0] set to the
 * subcommand's name and returns the process exit status. */
#ifndef WIRELINK_CLI_H
#define WIRELINK_CLI_H

#include <stdio.h>

enum { EXIT_USAGE = 2 };

int cmd_decode(int argc, char **argv);

/* Reads a whole file ("-" for standard input) of at most max bytes into a
 * malloc'd buffer. 0 or -errno (-EFBIG when larger than max). */
int cli_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
