/* Reading a whole file into memory, with a size limit. */
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int err = buf ? 0 : -ENOMEM;
	while (!err) {
		if (n == cap) {
			char *nb = cap >= max ? NULL : realloc(buf, (cap *= 2) + 1);
			if (!nb) {
				err = cap > max ? -EFBIG : -ENOMEM;
				break;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			err = ferror(f) ? -EIO : 1;
	}
	if (n > max)
		err = -EFBIG;
	if (f != stdin)
		fclose(f);
	if (err < 0) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
