/* Shared test helpers. */
#include "helpers.h"

#include "proto/text.h"
#include "util/hex.h"
#include "util/keys.h"

#include <stdlib.h>
#include <string.h>

const char *test_vector_dir = "tests/vectors";

void test_set_vector_dir(int argc, char **argv)
{
	if (argc > 1)
		test_vector_dir = argv[1];
}

int vec_each(const char *file, int max_fields, vec_line_fn fn, void *arg)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", test_vector_dir, file);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	char *line = NULL;
	size_t cap = 0;
	int count = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		char *fields[16] = { 0 };
		int nf = 0;
		char *p = line;
		while (nf < max_fields && p && *p) {
			while (*p == ' ')
				p++;
			fields[nf++] = p;
			if (nf == max_fields)
				break;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		count++;
		fn(arg, nf, fields);
	}
	free(line);
	fclose(f);
	return count;
}

size_t hex_bytes(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (!hex_parse(hex, strlen(hex), out, cap, &n))
		fail_msg("bad hex: %.40s", hex);
	return n;
}

void key_b64(const char *b64, uint8_t out[static 32])
{
	if (!key_from_base64(b64, strlen(b64), out))
		fail_msg("bad key: %s", b64);
}

static char *capture_end(FILE *f, char **buf)
{
	fclose(f);
	size_t n = strlen(*buf);
	if (n && (*buf)[n - 1] == '\n')
		(*buf)[n - 1] = '\0';
	return *buf;
}

char *packet_text(const uint8_t *buf, size_t len)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	text_packet(f, buf, len);
	return capture_end(f, &out);
}

char *fact_text(const struct wire_fact *fact)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	text_fact(f, fact);
	return capture_end(f, &out);
}
