/* Whole-file reads for configuration, keys and packet captures. */
#ifndef WIRELINK_FILE_H
#define WIRELINK_FILE_H

#include <stddef.h>

/* Reads a whole file ("-" for standard input) of at most max bytes into a
 * malloc'd, NUL-terminated buffer. 0 or -errno (-EFBIG when larger). */
int file_read_all(const char *path, size_t max, char **out, size_t *len)
	__attribute__((warn_unused_result));

#endif
