/* Configuration: flags, WIRELINK_* environment variables and the file
 * <config-path>/wirelink.<iface>.json|yaml|yml, with precedence flag >
 * environment > file > default. Keys are case-insensitive; unknown keys are
 * errors. Every error names its source (flag, variable, or file and line
 * where the parser gives one), the key and the value. */
#ifndef WIRELINK_CONFIG_H
#define WIRELINK_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/engine.h"
#include "core/hostnames.h"
#include "core/localfacts.h"

struct config_peer {
	struct peer_config pc; /* endpoints are resolved later, from `endpoints` */
	char **endpoints;      /* "host:port" as written */
	size_t n_endpoints;
	struct wg_allowedip *ips;
};

enum { CONFIG_FROM_LEN = PATH_MAX + 64 };

struct config {
	char iface[IFNAMSIZ];
	unsigned port; /* 0: listen port + 1 */
	int router;    /* -1: detect */
	bool chatty, debug, dump, help, version;
	char config_path[PATH_MAX];
	char user[64];		/* run as this user after set-up; "" stays root */
	char control_group[64]; /* group allowed on the control socket; "": root only */
	char user_from[CONFIG_FROM_LEN], group_from[CONFIG_FROM_LEN]; /* where they were set */
	char **report_ifaces, **hide_ifaces; /* NULL-terminated */
	struct config_peer *peers;
	size_t n_peers;
	struct engine_limits limits; /* the file's Limits; 0: the engine's default */
	char hosts_file[PATH_MAX]; /* HostsFile: a shared hosts file to keep a block in; "": none */
	char domain[254];	   /* Domain: the names' suffix; "": the interface name */
	char source[PATH_MAX + IFNAMSIZ + 32]; /* the file read, or "" */
};

/* Loads the configuration. On error returns -EINVAL with a message in err
 * (the caller exits with status 2). `environ` is passed in for tests. */
int config_load(int argc, char **argv, char **environ, struct config *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void config_free(struct config *c);

/* Parses a file's text (JSON, or YAML when yaml is true) into c. */
int config_parse_text(const char *text, size_t len, bool yaml, const char *name, struct config *c,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

void config_dump(const struct config *c, FILE *out);
void config_usage(FILE *out);

#endif
