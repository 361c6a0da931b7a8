/* Configuration loading. The file (JSON, or YAML turned into the same tree)
 * is checked by one table-driven validator. */
#include "config.h"
#include "log.h"

#include "cfgtree.h"

#include "util/file.h"
#include "util/keys.h"
#include "util/utf8.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct errbuf {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3))) static int fail(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool parse_port(const char *s, unsigned *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > 65535)
		return false;
	*out = (unsigned)v;
	return true;
}

/* ---- validation ---- */

struct where {
	const char *file;
	char path[96];
	const struct line_map *lines;
	char loc[PATH_MAX + 32];
};

/* "file:line" for the current path, or "file" when the line is unknown. */
static const char *loc(struct where *w)
{
	for (size_t i = 0; w->lines && i < w->lines->n; i++)
		if (!strcmp(w->lines->e[i].path, w->path)) {
			snprintf(w->loc, sizeof(w->loc), "%s:%d", w->file, w->lines->e[i].line);
			return w->loc;
		}
	return w->file;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "a number";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "true/false";
	default: return "null";
	}
}

static int want_type(struct errbuf *e, struct where *w, const json_t *v, json_type t, const char *what)
{
	bool ok = json_typeof(v) == t || (t == JSON_TRUE && json_is_boolean(v));
	if (ok)
		return 0;
	if (json_is_real(v))
		return fail(e, "%s: %s must be %s, not %g", loc(w), w->path, what, json_real_value(v));
	return fail(e, "%s: %s must be %s, not %s", loc(w), w->path, what, type_name(v));
}

/* A list of strings, each passing check (what says what one must be). */
static int string_list(struct errbuf *e, struct where *w, const json_t *v, char ***out, size_t *n,
		       bool (*check)(const char *), const char *what)
{
	int r = want_type(e, w, v, JSON_ARRAY, "a list of strings");
	if (r)
		return r;
	size_t count = json_array_size(v);
	char **list = calloc(count + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const json_t *s = json_array_get(v, i);
		if (!json_is_string(s) || (check && !check(json_string_value(s)))) {
			for (size_t k = 0; k < i; k++)
				free(list[k]);
			free(list);
			size_t at = strlen(w->path);
			snprintf(w->path + at, sizeof(w->path) - at, "[%zu]", i);
			return json_is_string(s)
				       ? fail(e, "%s: %s: '%s' is not %s", loc(w), w->path, json_string_value(s), what)
				       : fail(e, "%s: %s must be a string, not %s", loc(w), w->path, type_name(s));
		}
		list[i] = strdup(json_string_value(s));
	}
	*out = list;
	if (n)
		*n = count;
	return 0;
}

static bool glob_ok(const char *g)
{
	/* fnmatch has no compile step: refuse an unclosed bracket expression. */
	const char *open = strchr(g, '[');
	return *g && (!open || strchr(open + 1, ']'));
}

static bool endpoint_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	unsigned port;
	if (!colon || colon == s || !parse_port(colon + 1, &port) || port == 0)
		return false;
	if (*s == '[')
		return colon[-1] == ']' && colon - s > 2;
	return !memchr(s, ':', (size_t)(colon - s)); /* IPv6 needs brackets */
}

static bool name_ok(const char *s)
{
	size_t chars;
	if (!utf8_valid((const uint8_t *)s, strlen(s), &chars) || chars > META_NAME_SEND_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int peer_field(struct errbuf *e, struct where *w, const char *k, const json_t *v,
		      struct config_peer *cp, bool *has_key)
{
	struct peer_config *pc = &cp->pc;
	int r;
	if (!strcasecmp(k, "PublicKey")) {
		if ((r = want_type(e, w, v, JSON_STRING, "a base64 key")))
			return r;
		const char *s = json_string_value(v);
		*has_key = true;
		return key_from_base64(s, strlen(s), pc->key) ? 0
			: fail(e, "%s: %s: '%s' is not a base64 WireGuard key", loc(w), w->path, s);
	}
	if (!strcasecmp(k, "Name")) {
		if ((r = want_type(e, w, v, JSON_STRING, "a string")))
			return r;
		const char *s = json_string_value(v);
		if (!name_ok(s))
			return fail(e, "%s: %s: '%s' is not a name of at most %d printable characters without spaces",
				    loc(w), w->path, s, META_NAME_SEND_MAX);
		snprintf(pc->name, sizeof(pc->name), "%s", s);
		return 0;
	}
	if (!strcasecmp(k, "Trust")) {
		if ((r = want_type(e, w, v, JSON_STRING, "a trust level")))
			return r;
		pc->has_trust = true;
		return trust_parse(json_string_value(v), &pc->trust) ? 0
			: fail(e, "%s: %s: unknown trust level '%s' (Untrusted, Endpoint, AllowedIPs, Membership, DelegateTrust)",
			       loc(w), w->path, json_string_value(v));
	}
	if (!strcasecmp(k, "FactExchanger") || !strcasecmp(k, "Basic")) {
		if ((r = want_type(e, w, v, JSON_TRUE, "true or false")))
			return r;
		*(!strcasecmp(k, "Basic") ? &pc->basic : &pc->fact_exchanger) = json_is_true(v);
		return 0;
	}
	if (!strcasecmp(k, "Endpoints"))
		return string_list(e, w, v, &cp->endpoints, &cp->n_endpoints, endpoint_ok,
				   "host:port (a port from 1 to 65535; an IPv6 address in brackets: [2001:db8::1]:51820)");
	if (!strcasecmp(k, "AllowedIPs")) {
		char **list = NULL;
		size_t n = 0;
		if ((r = string_list(e, w, v, &list, &n, NULL, "")))
			return r;
		cp->ips = calloc(n ? n : 1, sizeof(*cp->ips));
		for (size_t i = 0; i < n && !r; i++) {
			if (!cp->ips || !wg_allowedip_parse(list[i], &cp->ips[i]))
				r = fail(e, "%s: %s[%zu]: '%s' is not a CIDR (address/prefix)", loc(w), w->path, i, list[i]);
			else /* as WireGuard keeps it: 10.1.2.3/24 is 10.1.2.0/24 */
				trust_mask_allowedip(&cp->ips[i]);
		}
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		pc->allowed_ips = cp->ips;
		pc->n_allowed_ips = r ? 0 : n;
		return r;
	}
	return fail(e, "%s: %s: unknown key", loc(w), w->path);
}

static int parse_peers(struct errbuf *e, struct where *w, const json_t *v, struct config *c)
{
	int r = want_type(e, w, v, JSON_ARRAY, "a list of peers");
	if (r)
		return r;
	c->peers = calloc(json_array_size(v) + 1, sizeof(*c->peers));
	if (!c->peers)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *obj = json_array_get(v, i);
		struct config_peer *cp = &c->peers[c->n_peers++];
		snprintf(w->path, sizeof(w->path), "Peers[%zu]", i);
		if ((r = want_type(e, w, obj, JSON_OBJECT, "an object")))
			return r;
		bool has_key = false;
		const char *k;
		json_t *fv;
		json_object_foreach((json_t *)obj, k, fv) {
			snprintf(w->path, sizeof(w->path), "Peers[%zu].%s", i, k);
			if ((r = peer_field(e, w, k, fv, cp, &has_key)))
				return r;
		}
		snprintf(w->path, sizeof(w->path), "Peers[%zu]", i);
		if (!has_key)
			return fail(e, "%s: %s: PublicKey is required", loc(w), w->path);
		for (size_t j = 0; j < i; j++)
			if (!memcmp(c->peers[j].pc.key, cp->pc.key, sizeof(cp->pc.key)))
				return fail(e, "%s: %s: the same PublicKey as Peers[%zu]", loc(w), w->path, j);
	}
	return 0;
}

/* User and group names: what useradd accepts, and short. */
static int set_name(struct errbuf *e, const char *src, const char *key, const char *v, char out[64],
		    char from[CONFIG_FROM_LEN])
{
	bool ok = *v && strlen(v) < 32 && *v != '-';
	for (const char *p = v; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		     *p == '_' || *p == '-' || *p == '.';
	if (!ok)
		return fail(e, "%s%s%s: '%s' is not a user or group name", src, *key ? ": " : "", key, v);
	snprintf(out, 64, "%s", v);
	snprintf(from, CONFIG_FROM_LEN, "%s%s%s", src, *key ? ": " : "", key);
	return 0;
}

/* Limits: the per-peer budget (see engine.h), each a count >= 1. The
 * defaults are the engine's (engine.h), shown by --dump; 0 there means
 * "as MaxFacts". */
static const struct {
	const char *key;
	size_t off, dflt;
} limit_keys[] = {
	{ "MaxFacts", offsetof(struct engine_limits, max_facts), 100000 },
	{ "MaxSubjects", offsetof(struct engine_limits, max_subjects), 20000 },
	{ "EndpointsPerPeer", offsetof(struct engine_limits, endpoints_per_peer), 16 },
	{ "CidrsPerPeer", offsetof(struct engine_limits, cidrs_per_peer), 256 },
	{ "FactsPerSource", offsetof(struct engine_limits, facts_per_source), 0 },
	{ "MembersPerRound", offsetof(struct engine_limits, members_per_round), 64 },
};
enum { N_LIMITS = sizeof(limit_keys) / sizeof(limit_keys[0]) };

static size_t *limit_at(struct engine_limits *l, size_t i)
{
	return (size_t *)((char *)l + limit_keys[i].off);
}

static int parse_limits(struct errbuf *e, struct where *w, const json_t *v, struct config *c)
{
	int r;
	if ((r = want_type(e, w, v, JSON_OBJECT, "a map of limits")))
		return r;
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x) {
		size_t i = 0;
		while (i < N_LIMITS && strcasecmp(k, limit_keys[i].key))
			i++;
		snprintf(w->path, sizeof(w->path), "Limits.%s", k);
		if (i == N_LIMITS)
			return fail(e, "%s: Limits.%s: unknown key (MaxFacts, MaxSubjects, EndpointsPerPeer, "
				       "CidrsPerPeer, FactsPerSource, MembersPerRound)", loc(w), k);
		if ((r = want_type(e, w, x, JSON_INTEGER, "a count from 1 to 10000000")))
			return r;
		json_int_t n = json_integer_value(x);
		if (n < 1 || n > 10000000)
			return fail(e, "%s: Limits.%s: %lld is not a count from 1 to 10000000", loc(w), k,
				    (long long)n);
		*limit_at(&c->limits, i) = (size_t)n;
	}
	return 0;
}

/* Domain: DNS labels joined by dots; HostsFile: an absolute path. */
static int hosts_field(struct errbuf *e, struct where *w, const char *k, const json_t *v, struct config *c)
{
	bool dom = !strcasecmp(k, "Domain");
	int r = want_type(e, w, v, JSON_STRING, dom ? "a domain" : "a file name");
	const char *s = r ? "" : json_string_value(v);
	if (!r && (dom ? !hostnames_domain_ok(s) : s[0] != '/' || strlen(s) >= sizeof(c->hosts_file)))
		r = fail(e, "%s: %s: '%s' is not %s", loc(w), k, s, dom ? "a domain (DNS labels of letters, "
			 "digits and inner hyphens, at most 63 each, joined by dots)" : "an absolute file name");
	if (!r)
		snprintf(dom ? c->domain : c->hosts_file, dom ? sizeof(c->domain) : sizeof(c->hosts_file), "%s", s);
	return r;
}

static int top_field(struct errbuf *e, struct where *w, const char *k, const json_t *v, struct config *c)
{
	int r;
	snprintf(w->path, sizeof(w->path), "%s", k);
	if (!strcasecmp(k, "Iface")) {
		if ((r = want_type(e, w, v, JSON_STRING, "an interface name")))
			return r;
		return !strcmp(json_string_value(v), c->iface) ? 0
			: fail(e, "%s: Iface: '%s' does not match the interface this file is for ('%s')",
			       loc(w), json_string_value(v), c->iface);
	}
	if (!strcasecmp(k, "Port")) {
		if ((r = want_type(e, w, v, JSON_INTEGER, "a port number (0-65535)")))
			return r;
		json_int_t p = json_integer_value(v);
		if (p < 0 || p > 65535)
			return fail(e, "%s: Port: %lld is not a port number (0-65535)", loc(w), (long long)p);
		c->port = (unsigned)p;
		return 0;
	}
	if (!strcasecmp(k, "Router") || !strcasecmp(k, "Chatty") || !strcasecmp(k, "Debug")) {
		if ((r = want_type(e, w, v, JSON_TRUE, "true or false")))
			return r;
		if (!strcasecmp(k, "Router"))
			c->router = json_is_true(v);
		else
			*(!strcasecmp(k, "Chatty") ? &c->chatty : &c->debug) = json_is_true(v);
		return 0;
	}
	if (!strcasecmp(k, "User") || !strcasecmp(k, "ControlGroup")) {
		if ((r = want_type(e, w, v, JSON_STRING, "a user or group name")))
			return r;
		bool user = !strcasecmp(k, "User");
		return set_name(e, loc(w), k, json_string_value(v), user ? c->user : c->control_group,
				user ? c->user_from : c->group_from);
	}
	if (!strcasecmp(k, "ReportIfaces"))
		return string_list(e, w, v, &c->report_ifaces, NULL, glob_ok, "an interface glob (a [ needs its ])");
	if (!strcasecmp(k, "HideIfaces"))
		return string_list(e, w, v, &c->hide_ifaces, NULL, glob_ok, "an interface glob (a [ needs its ])");
	if (!strcasecmp(k, "Domain") || !strcasecmp(k, "HostsFile"))
		return hosts_field(e, w, k, v, c);
	if (!strcasecmp(k, "Peers"))
		return parse_peers(e, w, v, c);
	if (!strcasecmp(k, "Limits"))
		return parse_limits(e, w, v, c);
	return fail(e, "%s: %s: unknown key", loc(w), k);
}

int config_parse_text(const char *text, size_t len, bool yaml, const char *name, struct config *c,
		      char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	json_t *root;
	if (yaml) {
		int line = 0;
		const char *problem = NULL;
		root = cfgtree_from_yaml(text, len, &line, &problem);
		if (!root)
			return fail(&e, "%s:%d: %s", name, line, problem ? problem : "invalid YAML");
	} else {
		json_error_t je;
		root = json_loadb(text, len, 0, &je);
		if (!root)
			return fail(&e, "%s:%d: %s", name, je.line, je.text);
	}
	struct line_map lines = { 0 };
	cfgtree_lines(text, len, &lines);
	struct where w = { .file = name, .lines = &lines };
	int r = json_is_object(root) ? 0 : fail(&e, "%s: the top level must be an object of settings", name);
	const char *k;
	json_t *v;
	if (!r)
		json_object_foreach(root, k, v)
			if ((r = top_field(&e, &w, k, v, c)))
				break;
	json_decref(root);
	free(lines.e);
	return r;
}

/* ---- flags, environment, file ---- */

struct layer {
	const char *iface, *port, *router, *chatty, *debug, *dump, *config_path, *user, *control_group;
	const char *src_iface, *src_port, *src_router, *src_chatty, *src_debug, *src_dump;
};

static const struct option long_opts[] = {
	{ "iface", required_argument, NULL, 'i' },  { "port", required_argument, NULL, 'p' },
	{ "router", optional_argument, NULL, 'r' }, { "chatty", optional_argument, NULL, 'c' },
	{ "debug", optional_argument, NULL, 'd' },  { "dump", no_argument, NULL, 'D' },
	{ "version", no_argument, NULL, 'V' },	    { "help", no_argument, NULL, 'h' },
	{ "config-path", required_argument, NULL, 'C' }, { "user", required_argument, NULL, 'u' },
	{ "control-group", required_argument, NULL, 'g' }, { 0 },
};

void config_usage(FILE *out)
{
	fputs("usage: wirelink [OPTIONS]\n"
	      "  -i, --iface NAME         WireGuard interface (default wg0)\n"
	      "      --port N             fact port (default 0: listen port + 1)\n"
	      "      --router[=BOOL]      act as a router (omitted: detect)\n"
	      "      --chatty[=BOOL]      send facts to all healthy peers, not just routers\n"
	      "  -d, --debug[=BOOL]       log everything\n"
	      "      --dump               print the effective configuration as JSON and exit\n"
	      "      --config-path DIR    where wirelink.<iface>.json|yaml|yml is (default /etc/wireguard)\n"
	      "      --user NAME          after set-up, run as NAME with only CAP_NET_ADMIN\n"
	      "      --control-group NAME let group NAME use the control socket (default: root only)\n"
	      "  -V, --version            print the version and exit\n"
	      "  -h, --help               print this help and exit\n"
	      "Every option is also read from WIRELINK_<OPTION> (dashes as underscores),\n"
	      "e.g. WIRELINK_IFACE=wg1; flags win over the environment, which wins over the file.\n",
	      out);
}

static int parse_flags(int argc, char **argv, struct config *c, struct layer *f, struct errbuf *e)
{
	optind = 0; /* reset: callers may parse more than once */
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":i:d::Vh", long_opts, NULL)) != -1) {
		const char *arg = optarg ? optarg : "true";
		switch (opt) {
		case 'i': f->iface = arg; break;
		case 'p': f->port = arg; break;
		case 'r': f->router = arg; break;
		case 'c': f->chatty = arg; break;
		case 'd': f->debug = arg; break;
		case 'D': f->dump = "true"; break;
		case 'C': f->config_path = arg; break;
		case 'u': f->user = arg; break;
		case 'g': f->control_group = arg; break;
		case 'V': c->version = true; break;
		case 'h': c->help = true; break;
		case ':': return fail(e, "flag %s needs a value", argv[optind - 1]);
		default: return fail(e, "unknown flag %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(e, "unexpected argument '%s' (see --help)", argv[optind]);
	f->src_iface = f->src_port = f->src_router = f->src_chatty = f->src_debug = f->src_dump = "flag --";
	return 0;
}

static int parse_env(char **env, struct layer *l, struct errbuf *e)
{
	static const struct {
		const char *name;
		size_t off;
	} vars[] = {
		{ "WIRELINK_IFACE", offsetof(struct layer, iface) },
		{ "WIRELINK_PORT", offsetof(struct layer, port) },
		{ "WIRELINK_ROUTER", offsetof(struct layer, router) },
		{ "WIRELINK_CHATTY", offsetof(struct layer, chatty) },
		{ "WIRELINK_DEBUG", offsetof(struct layer, debug) },
		{ "WIRELINK_DUMP", offsetof(struct layer, dump) },
		{ "WIRELINK_CONFIG_PATH", offsetof(struct layer, config_path) },
		{ "WIRELINK_USER", offsetof(struct layer, user) },
		{ "WIRELINK_CONTROL_GROUP", offsetof(struct layer, control_group) },
	};
	for (char **p = env; p && *p; p++) {
		if (strncmp(*p, "WIRELINK_", 9) != 0)
			continue;
		const char *eq = strchr(*p, '=');
		size_t n = eq ? (size_t)(eq - *p) : strlen(*p), i;
		if (n == strlen(LOG_TIME_ENV) && !strncmp(*p, LOG_TIME_ENV, n))
			continue; /* the logger's own */
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (strlen(vars[i].name) == n && !strncmp(*p, vars[i].name, n))
				break;
		if (i == sizeof(vars) / sizeof(vars[0]))
			return fail(e, "unknown environment variable %.*s", (int)n, *p);
		*(const char **)((char *)l + vars[i].off) = eq ? eq + 1 : "";
	}
	l->src_iface = l->src_port = l->src_router = l->src_chatty = l->src_debug = l->src_dump = "WIRELINK_";
	return 0;
}

/* Applies one layer over c; `flags` says how to name the source. */
static int apply_layer(const struct layer *l, bool flags, struct config *c, struct errbuf *e)
{
	struct {
		const char *value, *name, *env;
		bool *target;
		int *tri;
	} bools[] = {
		{ l->router, "router", "ROUTER", NULL, &c->router },
		{ l->chatty, "chatty", "CHATTY", &c->chatty, NULL },
		{ l->debug, "debug", "DEBUG", &c->debug, NULL },
		{ l->dump, "dump", "DUMP", &c->dump, NULL },
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		bool b;
		if (!bools[i].value)
			continue;
		if (!cfgtree_bool(bools[i].value, &b))
			return flags ? fail(e, "flag --%s: '%s' is not true or false", bools[i].name, bools[i].value)
				     : fail(e, "WIRELINK_%s: '%s' is not true or false", bools[i].env, bools[i].value);
		if (bools[i].target)
			*bools[i].target = b;
		else
			*bools[i].tri = b;
	}
	int r;
	if (l->user && (r = set_name(e, flags ? "flag --user" : "WIRELINK_USER", "", l->user, c->user,
				     c->user_from)))
		return r;
	if (l->control_group && (r = set_name(e, flags ? "flag --control-group" : "WIRELINK_CONTROL_GROUP",
					      "", l->control_group, c->control_group, c->group_from)))
		return r;
	if (l->port && !parse_port(l->port, &c->port))
		return flags ? fail(e, "flag --port: '%s' is not a port number", l->port)
			     : fail(e, "WIRELINK_PORT: '%s' is not a port number", l->port);
	return 0;
}

/* The one file there is: two (say .json and .yaml) are an error, not a
 * silent choice. Returns its index in exts, -1 for none. */
static int pick_file(const struct config *c, const char *const *exts, size_t n, struct errbuf *e)
{
	int found = -1;
	char a[sizeof(c->source)], b[sizeof(c->source)];
	for (size_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%s/wirelink.%s.%s", c->config_path, c->iface, exts[i]);
		/* Only a file that is not there is "no file": one we cannot
		 * look at (a directory we may not search, a path through a
		 * file) would otherwise start, or reload, with no settings. */
		if (access(b, F_OK) != 0) {
			if (errno == ENOENT)
				continue;
			int err = errno;
			/* A directory we cannot look into: name it, not a file
			 * that may not exist (.json when there is a .yaml). */
			struct stat st;
			int dir_err = stat(c->config_path, &st) != 0 ? errno
				      : !S_ISDIR(st.st_mode)	     ? ENOTDIR
				      : access(c->config_path, X_OK) != 0 ? errno
									     : 0;
			if (dir_err)
				return fail(e, "%s: %s (cannot look for wirelink.%s.json, .yaml or .yml there)",
					    c->config_path, strerror(dir_err), c->iface), -2;
			return fail(e, "%s: %s", b, strerror(err)), -2;
		}
		if (found >= 0)
			return fail(e, "both %s and %s exist: keep one", a, b), -2;
		found = (int)i;
		memcpy(a, b, sizeof(a));
	}
	return found;
}

static int read_file(struct config *c, struct errbuf *e)
{
	static const char *const exts[] = { "json", "yaml", "yml" };
	int only = pick_file(c, exts, 3, e);
	if (only == -2)
		return -EINVAL;
	for (size_t i = 0; i < 3; i++) {
		if ((int)i != only)
			continue;
		snprintf(c->source, sizeof(c->source), "%s/wirelink.%s.%s", c->config_path, c->iface, exts[i]);
		char *text = NULL;
		size_t len = 0;
		int err = file_read_all(c->source, 1u << 20, &text, &len);
		if (err == -ENOENT)
			continue;
		if (err == -EFBIG)
			return fail(e, "%s: too large (a configuration file is at most 1 MiB)", c->source);
		if (err)
			return fail(e, "%s: %s", c->source, strerror(-err));
		int r = config_parse_text(text ? text : "", len, i > 0, c->source, c, e->buf, e->len);
		free(text);
		return r;
	}
	c->source[0] = '\0'; /* a missing file is fine */
	return 0;
}

/* The user and group must exist now, not after set-up as root. */
static int check_accounts(const struct config *c, struct errbuf *e)
{
	if (c->user[0] && !getpwnam(c->user))
		return fail(e, "%s: no user '%s' on this system", c->user_from, c->user);
	if (c->control_group[0] && !getgrnam(c->control_group))
		return fail(e, "%s: no group '%s' on this system", c->group_from, c->control_group);
	return 0;
}

int config_load(int argc, char **argv, char **env, struct config *c, char *err, size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct layer flags = { 0 }, envl = { 0 };
	memset(c, 0, sizeof(*c));
	c->router = -1;
	int r = parse_flags(argc, argv, c, &flags, &e);
	if (!r)
		r = parse_env(env, &envl, &e);
	if (r || c->help || c->version)
		return r;
	const char *iface = flags.iface ? flags.iface : envl.iface ? envl.iface : "wg0";
	const char *path = flags.config_path ? flags.config_path : envl.config_path ? envl.config_path : "/etc/wireguard";
	if (!*iface || strlen(iface) >= IFNAMSIZ || strchr(iface, '/'))
		return fail(&e, "%s: '%s' is not an interface name", flags.iface ? "flag --iface" : "WIRELINK_IFACE", iface);
	snprintf(c->iface, sizeof(c->iface), "%s", iface);
	snprintf(c->config_path, sizeof(c->config_path), "%s", path);
	if ((r = read_file(c, &e)) || (r = apply_layer(&envl, false, c, &e)) ||
	    (r = apply_layer(&flags, true, c, &e)))
		return r;
	return check_accounts(c, &e);
}

static void free_list(char **l)
{
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		free_list(c->peers[i].endpoints);
		free(c->peers[i].ips);
	}
	free(c->peers);
	free_list(c->report_ifaces);
	free_list(c->hide_ifaces);
	memset(c, 0, sizeof(*c));
}

static json_t *list_json(char **l)
{
	json_t *a = json_array();
	for (size_t i = 0; l && l[i]; i++)
		json_array_append_new(a, json_string(l[i]));
	return a;
}

void config_dump(const struct config *c, FILE *out)
{
	json_t *root = json_object(), *peers = json_array();
	json_object_set_new(root, "Iface", json_string(c->iface));
	json_object_set_new(root, "Port", json_integer(c->port));
	/* Unset settings show what they mean, not null. */
	json_object_set_new(root, "Router", c->router < 0 ? json_string("detect") : json_boolean(c->router));
	json_object_set_new(root, "Chatty", json_boolean(c->chatty));
	json_object_set_new(root, "Debug", json_boolean(c->debug));
	json_object_set_new(root, "ConfigPath", json_string(c->config_path));
	json_object_set_new(root, "ConfigFile", c->source[0] ? json_string(c->source) : json_null());
	json_object_set_new(root, "User", json_string(c->user[0] ? c->user : "root"));
	json_object_set_new(root, "ControlGroup", json_string(c->control_group[0] ? c->control_group : "root"));
	json_object_set_new(root, "ReportIfaces", list_json(c->report_ifaces));
	json_object_set_new(root, "HostsFile", c->hosts_file[0] ? json_string(c->hosts_file) : json_null());
	json_object_set_new(root, "Domain", json_string(c->domain[0] ? c->domain : c->iface));
	/* Unset: the defaults, as the daemon uses them. */
	char **hide = c->hide_ifaces ? c->hide_ifaces : (char **)localfacts_default_hide;
	json_object_set_new(root, "HideIfaces", list_json(hide));
	json_t *lim = json_object();
	struct engine_limits l = c->limits;
	for (size_t i = 0; i < N_LIMITS; i++) {
		size_t *v = limit_at(&l, i);
		if (!*v)
			*v = limit_keys[i].dflt ? limit_keys[i].dflt : l.max_facts;
		json_object_set_new(lim, limit_keys[i].key, json_integer((json_int_t)*v));
	}
	json_object_set_new(root, "Limits", lim);
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct peer_config *pc = &c->peers[i].pc;
		json_t *p = json_object(), *ips = json_array();
		char key[KEY_B64_LEN + 1], ip[64];
		key_to_base64(pc->key, key);
		json_object_set_new(p, "PublicKey", json_string(key));
		json_object_set_new(p, "Name", json_string(pc->name));
		json_object_set_new(p, "Trust", pc->has_trust ? json_string(trust_name(pc->trust)) : json_null());
		json_object_set_new(p, "FactExchanger", json_boolean(pc->fact_exchanger));
		json_object_set_new(p, "Basic", json_boolean(pc->basic));
		json_object_set_new(p, "Endpoints", list_json(c->peers[i].endpoints));
		for (size_t k = 0; k < pc->n_allowed_ips; k++) {
			wg_allowedip_format(&pc->allowed_ips[k], ip, sizeof(ip));
			json_array_append_new(ips, json_string(ip));
		}
		json_object_set_new(p, "AllowedIPs", ips);
		json_array_append_new(peers, p);
	}
	json_object_set_new(root, "Peers", peers);
	json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
}
