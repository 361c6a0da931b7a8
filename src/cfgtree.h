/* The configuration file's syntax: YAML (or JSON, which libyaml reads too)
 * turned into a jansson tree, and the line each setting is on, so that the
 * validator (config.c) can name "file:line" in its errors. */
#ifndef WIRELINK_CFGTREE_H
#define WIRELINK_CFGTREE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* true/false, yes/no, on/off, 1/0 (any case). */
bool cfgtree_bool(const char *s, bool *out);

/* The tree of a YAML document, or NULL with *line and *problem set. */
json_t *cfgtree_from_yaml(const char *text, size_t len, int *line, const char **problem);

/* "Peers[0].Name" -> its line. */
struct line_map {
	struct line_entry {
		char path[96];
		int line;
	} *e;
	size_t n, cap;
};

/* Records the line of every value in text (lines are a courtesy: out of
 * memory, some are missing). Free m->e. */
void cfgtree_lines(const char *text, size_t len, struct line_map *m);

#endif
