/* Reading a whole file into memory, with a size limit. */
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads f to its end into *buf (capacity *cap, grown as needed); stops
 * once more than max bytes came, so a file of exactly max bytes is read
 * whole and one byte more is -EFBIG. */
static int read_to_end(FILE *f, size_t max, char **buf, size_t *cap, size_t *n)
{
	for (;;) {
		if (*n == *cap) {
			if (*cap > max)
				return -EFBIG;
			size_t want = *cap * 2 > max + 1 ? max + 1 : *cap * 2;
			char *nb = realloc(*buf, want + 1);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap = want;
		}
		size_t got = fread(*buf + *n, 1, *cap - *n, f);
		*n += got;
		if (*n > max)
			return -EFBIG;
		if (got == 0)
			return ferror(f) ? (errno ? -errno : -EIO) : 0;
	}
}

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return -errno;
	/* fopen takes a directory; say so rather than fail at the read. */
	struct stat st;
	size_t cap = max < 4096 ? max + 1 : 4096, n = 0;
	char *buf = NULL;
	int err = fstat(fileno(f), &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
	if (!err)
		err = (buf = malloc(cap + 1)) ? 0 : -ENOMEM;
	if (!err) {
		errno = 0;
		err = read_to_end(f, max, &buf, &cap, &n);
	}
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
