/* YAML to a jansson tree, and where each setting is (see cfgtree.h). */
#include "cfgtree.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

bool cfgtree_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" }, *const no[] = { "false", "0", "no", "off" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			return (*out = true), true;
		if (!strcasecmp(s, no[i]))
			return (*out = false), true;
	}
	return false;
}

static json_t *yaml_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	bool b;
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (cfgtree_bool(v, &b) && strcmp(v, "0") && strcmp(v, "1"))
			return json_boolean(b);
		char *end = NULL;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (*v && !*end && !errno)
			return json_integer(n);
		double d = strtod(v, &end);
		if (*v && !*end && strpbrk(v, "0123456789") && !strpbrk(v, "xXnN"))
			return json_real(d); /* so "Port: 1.5" is called a number */
		if (!*v || !strcmp(v, "~") || !strcasecmp(v, "null"))
			return json_null();
	}
	return json_string(v);
}

/* Adds a finished node to its parent (object: after a key scalar). */
static bool attach(json_t **stack, char **keys, int depth, json_t *node)
{
	if (depth < 0) {
		json_decref(node);
		return false;
	}
	json_t *parent = stack[depth];
	if (json_is_array(parent))
		return json_array_append_new(parent, node) == 0;
	if (!keys[depth]) {
		if (!json_is_string(node)) {
			json_decref(node);
			return false; /* keys must be scalars */
		}
		keys[depth] = strdup(json_string_value(node));
		json_decref(node);
		return true;
	}
	int r = json_object_set_new(parent, keys[depth], node);
	free(keys[depth]);
	keys[depth] = NULL;
	return r == 0;
}

/* The document's top node; a second document in the stream is an error. */
static bool set_root(json_t **root, json_t *node, const char **problem)
{
	if (*root) {
		json_decref(node);
		*problem = "only one YAML document is allowed";
		return false;
	}
	*root = node;
	return true;
}

json_t *cfgtree_from_yaml(const char *text, size_t len, int *line, const char **problem)
{
	enum { MAX_DEPTH = 32 };
	yaml_parser_t p;
	yaml_event_t ev;
	json_t *stack[MAX_DEPTH] = { 0 }, *root = NULL;
	char *keys[MAX_DEPTH] = { 0 };
	int depth = -1;
	bool ok = true, done = false;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (ok && !done) {
		if (!yaml_parser_parse(&p, &ev)) {
			*line = (int)p.problem_mark.line + 1;
			*problem = p.problem ? p.problem : "syntax error";
			ok = false;
			break;
		}
		*line = (int)ev.start_mark.line + 1;
		json_t *node = NULL;
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth + 1 >= MAX_DEPTH) {
				*problem = "nested too deeply";
				ok = false;
				break;
			}
			stack[++depth] = ev.type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			node = stack[depth];
			stack[depth--] = NULL;
			if (depth < 0)
				ok = set_root(&root, node, problem);
			else if (!(ok = attach(stack, keys, depth, node)))
				*problem = "a mapping key must be a plain value";
			break;
		case YAML_SCALAR_EVENT:
			node = yaml_scalar(&ev);
			if (depth < 0)
				ok = set_root(&root, node, problem);
			else if (!(ok = attach(stack, keys, depth, node)))
				*problem = "a mapping key must be a plain value";
			break;
		case YAML_ALIAS_EVENT:
			*problem = "aliases are not supported";
			ok = false;
			break;
		case YAML_STREAM_END_EVENT: done = true; break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (int i = 0; i < MAX_DEPTH; i++) {
		free(keys[i]);
		if (i <= depth)
			json_decref(stack[i]);
	}
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root ? root : json_object(); /* an empty file is an empty config */
}

/* ---- where each setting is: "Peers[0].Name" -> line ---- */

static void line_add(struct line_map *m, const char *path, int line)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 32;
		struct line_entry *e = realloc(m->e, cap * sizeof(*e));
		if (!e)
			return; /* lines are a courtesy: go without */
		m->e = e;
		m->cap = cap;
	}
	snprintf(m->e[m->n].path, sizeof(m->e[m->n].path), "%s", path);
	m->e[m->n++].line = line;
}

/* One level of the walk: a mapping (the next scalar is a key, then its
 * value) or a sequence (items counted); path_len is the level's own path. */
struct line_level {
	bool mapping, want_key;
	size_t index, path_len;
};

/* A node starts at level l: sets path to its path; false for a key. */
static bool line_node(struct line_level *l, char *path, size_t cap, const char *key)
{
	size_t base = l->path_len;
	if (l->mapping && l->want_key) {
		path[base] = '\0';
		if (key)
			snprintf(path + base, cap - base, "%s%s", base ? "." : "", key);
		l->want_key = false;
		return false;
	}
	if (l->mapping) {
		l->want_key = true;
		return true;
	}
	path[base] = '\0';
	snprintf(path + base, cap - base, "[%zu]", l->index++);
	return true;
}

/* Records the line of every value in text (YAML, or JSON which libyaml
 * reads too); the values themselves come from the real parser. */
void cfgtree_lines(const char *text, size_t len, struct line_map *m)
{
	enum { MAX_DEPTH = 32 };
	struct line_level lv[MAX_DEPTH];
	char path[96] = "";
	int depth = -1;
	yaml_parser_t p;
	yaml_event_t ev;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (bool done = false; !done && yaml_parser_parse(&p, &ev);) {
		bool start = ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT;
		if ((start || ev.type == YAML_SCALAR_EVENT) && depth >= 0 &&
		    line_node(&lv[depth], path, sizeof(path),
			      ev.type == YAML_SCALAR_EVENT ? (const char *)ev.data.scalar.value : NULL))
			line_add(m, path, (int)ev.start_mark.line + 1);
		if (start && depth + 1 < MAX_DEPTH)
			lv[++depth] = (struct line_level){ .mapping = ev.type == YAML_MAPPING_START_EVENT,
							   .want_key = true, .path_len = strlen(path) };
		else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
			depth--;
		done = ev.type == YAML_STREAM_END_EVENT || (start && depth + 1 >= MAX_DEPTH);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
}

