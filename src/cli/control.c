/* Clients of the control socket: status, facts, log-level. The daemon
 * answers in JSON; --json prints it as it came (indented), otherwise it is
 * laid out for an 80-column terminal. */
#include "cli/cli.h"
#include "control.h"
#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { ANSWER_MAX = 256 << 20 };

/* Whether a daemon answers on the socket (a killed one leaves its
 * socket): 0, or -errno (-EACCES: one may be there, but not for us). */
static int probe_socket(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", CONTROL_DIR, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err = fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return err;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

/* The interface a socket's name is for, in our network namespace (see
 * rundir.h): false when it is another namespace's, or not a socket's. */
static bool socket_iface(const char *file, char iface[static IFNAMSIZ])
{
	char suffix[32], tag[32];
	bool sure = rundir_netns_suffix(suffix);
	rundir_netns_tag(tag);
	size_t n = strlen(file), len = strlen(tag);
	if (n <= 5 || strcmp(file + n - 5, ".sock"))
		return false;
	n -= 5;
	/* "<iface>@ns<digits>": a namespace's (ours when it is our tag and
	 * we are not, or may not be, in the host's); else a plain name, from
	 * the host's namespace (ours, or maybe ours when we cannot tell). */
	const char *at = memrchr(file, '@', n);
	bool tagged = at && at + 3 < file + n && !strncmp(at, "@ns", 3) &&
		      strspn(at + 3, "0123456789") == (size_t)(file + n - at - 3);
	size_t stem = tagged ? (size_t)(at - file) : n;
	bool ours = tagged ? (suffix[0] || !sure) && n - stem == len && !memcmp(at, tag, len)
			   : !suffix[0] || !sure;
	if (!ours || stem == 0 || stem >= IFNAMSIZ)
		return false;
	snprintf(iface, IFNAMSIZ, "%.*s", (int)stem, file);
	return true;
}

/* The interfaces with a daemon answering, sorted; returns how many (at
 * most max). *denied gets the first socket we may not use ("" if none). */
static size_t running(char names[][IFNAMSIZ], size_t max, char denied[static RUNDIR_NAME_MAX + 8])
{
	DIR *d = opendir(CONTROL_DIR);
	size_t found = 0;
	denied[0] = '\0';
	for (struct dirent *de; d && (de = readdir(d));) {
		char iface[IFNAMSIZ];
		if (!socket_iface(de->d_name, iface) || found == max)
			continue;
		int err = probe_socket(de->d_name);
		bool dup = false;
		for (size_t i = 0; i < found; i++)
			dup |= !strcmp(names[i], iface);
		if (!err && !dup)
			snprintf(names[found++], IFNAMSIZ, "%s", iface);
		else if (err == -EACCES && !denied[0])
			snprintf(denied, RUNDIR_NAME_MAX + 8, "%.*s", RUNDIR_NAME_MAX + 7, de->d_name);
	}
	if (d)
		closedir(d);
	qsort(names, found, IFNAMSIZ, cmp_names);
	return found;
}

enum { MAX_DAEMONS = 64 };

/* The interfaces to talk to: -i, or every daemon running when `all`,
 * else the only one. Returns how many, 0 with a message printed. */
static size_t pick_ifaces(const char *given, bool all, char names[][IFNAMSIZ])
{
	if (given) {
		snprintf(names[0], IFNAMSIZ, "%s", given);
		return 1;
	}
	char denied[RUNDIR_NAME_MAX + 8];
	size_t found = running(names, MAX_DAEMONS, denied);
	if (found == 1 || (found && all))
		return found;
	if (!found && denied[0]) {
		/* Not "none runs": one may, behind a socket only root (or the
		 * ControlGroup) may use. */
		fprintf(stderr, "wirelink: error: " CONTROL_DIR "/%s: %s (run as root, or as a member of "
			"the daemon's ControlGroup)\n", denied, strerror(EACCES));
		return 0;
	}
	if (!found) {
		fprintf(stderr, "wirelink: error: no daemon is running (no socket answers in " CONTROL_DIR ")\n");
		return 0;
	}
	fprintf(stderr, "wirelink: error: daemons run for");
	for (size_t i = 0; i < found; i++)
		fprintf(stderr, " %s", names[i]);
	fprintf(stderr, "; choose one with -i IFACE\n");
	return 0;
}

/* Sends one request and returns the parsed answer, or NULL (message printed). */
static json_t *ask(const char *iface, const char *request)
{
	return cli_ask(iface, request, false);
}

/* Connects to the daemon for iface in our network namespace: a socket, or
 * -1 with errno set; sa gets the path tried. */
static int connect_daemon(const char *iface, struct sockaddr_un *sa)
{
	char name[RUNDIR_NAME_MAX], suffix[32];
	bool sure = rundir_netns_suffix(suffix);
	if (rundir_name(iface, name) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = -1;
	/* Unsure of our namespace (taken for the host's): ours by inode too. */
	char tag[32], tagged[RUNDIR_NAME_MAX];
	rundir_netns_tag(tag);
	if (snprintf(tagged, sizeof(tagged), "%s%s", iface, tag) >= (int)sizeof(tagged))
		sure = true; /* too long to be a socket's name: the plain one only */
	for (int other = 0; other < 1 + !sure; other++) {
		snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock", CONTROL_DIR, other ? tagged : name);
		if (fd < 0)
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)sa, sizeof(*sa)) == 0)
			return fd;
		if (errno != ENOENT)
			break;
	}
	int err = errno;
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}

json_t *cli_ask(const char *iface, const char *request, bool quiet)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = connect_daemon(iface, &sa);
	if (fd < 0) {
		if (quiet)
			;
		else if (errno == ENOENT || errno == ECONNREFUSED)
			fprintf(stderr, "wirelink: error: no daemon is running for %s (nothing answers at %s)\n",
				iface, sa.sun_path);
		else
			fprintf(stderr, "wirelink: error: cannot reach the daemon for %s at %s: %s\n", iface,
				sa.sun_path, strerror(errno));
		return NULL;
	}
	size_t len = strlen(request);
	if (write(fd, request, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		if (!quiet)
			fprintf(stderr, "wirelink: error: %s: %s\n", sa.sun_path, strerror(errno));
		close(fd);
		return NULL;
	}
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			char *nb = cap <= ANSWER_MAX ? realloc(buf, cap) : NULL;
			if (!nb)
				break;
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	json_error_t je;
	json_t *j = buf ? json_loadb(buf, n, 0, &je) : NULL;
	free(buf);
	if (!j) {
		if (!quiet)
			fprintf(stderr, "wirelink: error: the daemon for %s gave no answer\n", iface);
		return NULL;
	}
	const char *err = json_string_value(json_object_get(j, "error"));
	if (err) {
		if (!quiet)
			fprintf(stderr, "wirelink: error: the daemon for %s says: %s\n", iface, err);
		json_decref(j);
		return NULL;
	}
	return j;
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : dflt;
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void duration(long long s, char *out, size_t len)
{
	if (s < 60)
		snprintf(out, len, "%llds", s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, len, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

/* "label: a, b, c" wrapped at 80 columns under an indent. */
static void wrapped(const char *label, const char *const *items, size_t n)
{
	const int indent = 2;
	int col = printf("%*s%s:", indent, "", label);
	for (size_t i = 0; i < n; i++) {
		int w = (int)strlen(items[i]) + (i + 1 < n ? 1 : 0);
		if (col + 1 + w > 80 && col > indent + (int)strlen(label) + 1)
			col = printf("\n%*s", indent + (int)strlen(label) + 1, "") - 1;
		col += printf(" %s%s", items[i], i + 1 < n ? "," : "");
	}
	putchar('\n');
}

/* Bytes as wg(8) users read them: B, KiB, MiB, GiB. */
static void bytes(long long n, char *out, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%lld B", n);
	else
		snprintf(out, len, "%.1f %s", v, unit[u]);
}

/* Column widths: a name is at most 16 characters, a path "via " and one;
 * the endpoint comes last so an IPv6 one does not push the others. */
enum { W_NAME = 16, W_PATH = 20, W_HS = 9 };

static void print_peer(const json_t *p)
{
	char hs[32] = "never", rx[24], tx[24], name[24];
	const json_t *ago = json_object_get(p, "handshake_seconds_ago");
	if (json_is_integer(ago)) {
		duration(json_integer_value(ago), hs, sizeof(hs));
		strcat(hs, " ago");
	}
	bytes(num(p, "rx_bytes"), rx, sizeof(rx));
	bytes(num(p, "tx_bytes"), tx, sizeof(tx));
	const char *n = str(p, "name", NULL);
	snprintf(name, sizeof(name), "%.*s", n ? W_NAME : 10, n ? n : str(p, "public_key", "?"));
	printf("%-*s %-*s %*s  %s\n", W_NAME, name, W_PATH, str(p, "path", "?"), W_HS, hs,
	       str(p, "endpoint", "(none)"));
	const int indent = 2;
	printf("%*skey %s, trust %s\n", indent, "", str(p, "public_key", "?"), str(p, "trust", "?"));
	const json_t *names = json_object_get(p, "hostnames");
	if (json_array_size(names))
		printf("%*sby name: %s%s%s\n", indent, "", json_string_value(json_array_get(names, 0)),
		       json_array_size(names) > 1 ? ", " : "",
		       json_array_size(names) > 1 ? json_string_value(json_array_get(names, 1)) : "");
	printf("%*stransfer: %s received, %s sent; %s\n", indent, "", rx, tx,
	       json_is_true(json_object_get(p, "alive")) ? "its daemon is alive" : "no word from its daemon");
	const char *why = str(p, "why_not_direct", NULL);
	if (why)
		printf("%*swhy not direct: %s\n", indent, "", why);
	const json_t *downs = json_object_get(p, "unstable_downs");
	if (json_is_integer(downs))
		printf("%*sunstable: down %lld times since it began to flap (the log says more at debug level)\n",
		       indent, "", (long long)json_integer_value(downs));
	const json_t *ips = json_object_get(p, "allowed_ips"), *cands = json_object_get(p, "candidates");
	const char **items = calloc(json_array_size(ips) + json_array_size(cands) + 1, sizeof(*items));
	char (*texts)[96] = calloc(json_array_size(cands) + 1, sizeof(*texts));
	size_t k;
	const json_t *v;
	if (items && texts) {
		json_array_foreach(ips, k, v)
			items[k] = json_string_value(v);
		if (json_array_size(ips))
			wrapped("allowed IPs", items, json_array_size(ips));
		json_array_foreach(cands, k, v) {
			const json_t *t = json_object_get(v, "last_tried_seconds_ago");
			char when[48] = "never tried";
			if (json_is_integer(t)) {
				char d[32];
				duration(json_integer_value(t), d, sizeof(d));
				snprintf(when, sizeof(when), "tried %s ago", d);
			}
			snprintf(texts[k], sizeof(texts[k]), "%s (%s)", str(v, "endpoint", "?"), when);
			items[k] = texts[k];
		}
		if (json_array_size(cands))
			wrapped("candidates", items, json_array_size(cands));
	}
	free(items);
	free(texts);
}

static void print_status(const json_t *s)
{
	char up[32];
	duration(num(s, "uptime_seconds"), up, sizeof(up));
	printf("%s: %s, up %s, boot %.8s, log level %s\n", str(s, "interface", "?"), str(s, "role", "?"),
	       up, str(s, "boot_id", "?"), str(s, "log_level", "?"));
	printf("key %s\n", str(s, "public_key", "?"));
	printf("facts on [%s]:%lld\n", str(s, "address", "?"), num(s, "port"));
	printf("%lld fact%s: %lld received, %lld our own\n", num(s, "facts"), num(s, "facts") == 1 ? "" : "s",
	       num(s, "facts_received"), num(s, "facts_own"));
	/* Sorted here too: an answer saved by an older daemon was not. */
	json_t *peers = json_copy(json_object_get(s, "peers")), *p;
	(void)control_sort_peers(peers);
	size_t i, direct = 0, down = 0;
	json_array_foreach(peers, i, p) {
		direct += !strcmp(str(p, "path", ""), "direct");
		down += !strcmp(str(p, "path", ""), "down");
	}
	printf("%zu peer%s: %zu direct, %zu via a router, %zu down\n", json_array_size(peers),
	       json_array_size(peers) == 1 ? "" : "s", direct, json_array_size(peers) - direct - down, down);
	if (json_array_size(peers))
		printf("\n%-*s %-*s %*s  %s\n", W_NAME, "NAME", W_PATH, "PATH", W_HS, "HANDSHAKE", "ENDPOINT");
	json_array_foreach(peers, i, p)
		print_peer(p);
	json_decref(peers);
}

static void print_facts(const json_t *f)
{
	const json_t *facts = json_object_get(f, "facts");
	printf("%-15s %-16s %6s %-16s %s\n", "ATTRIBUTE", "SUBJECT", "TTL", "SOURCE", "VALUE");
	size_t i;
	const json_t *x;
	json_array_foreach(facts, i, x) {
		const json_t *src = json_object_get(x, "source");
		const char *subj = str(x, "subject_name", NULL), *from = str(src, "name", NULL);
		printf("%-15s %-16.*s %6lld %-16.*s %s\n", str(x, "attribute", "?"), subj ? 16 : 10,
		       subj ? subj : str(x, "subject", "?"), num(x, "ttl_seconds"), from ? 16 : 10,
		       from ? from : str(src, "public_key", "?"), str(x, "value", "?"));
	}
	printf("%zu fact%s\n", json_array_size(facts), json_array_size(facts) == 1 ? "" : "s");
}

/* The lines as the hosts file has them; names turned away as comments. */
static void print_hosts(const json_t *h)
{
	size_t i, k;
	const json_t *x, *n;
	printf("# %s: %s%s%s\n", str(h, "interface", "?"), str(h, "file", "?"),
	       json_is_string(json_object_get(h, "hosts_file")) ? ", and a block in " : "",
	       str(h, "hosts_file", ""));
	json_array_foreach(json_object_get(h, "hosts"), i, x) {
		printf("%s", str(x, "address", "?"));
		json_array_foreach(json_object_get(x, "names"), k, n)
			printf(" %s", json_string_value(n) ? json_string_value(n) : "?");
		putchar('\n');
	}
	json_array_foreach(json_object_get(h, "rejected"), i, x)
		printf("# not written: '%s' (peer %.10s): %s\n", str(x, "name", "?"), str(x, "public_key", "?"),
		       str(x, "why", "?"));
}

/* ---- metrics, in the Prometheus text format ---- */

/* A label value with \ and " escaped (names are printable, no newline). */
static void label(const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			putchar('\\');
		putchar(*v);
	}
}

static void metric_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{interface="wg0"[,key="value"]} n */
static void sample(const char *name, const char *iface, const char *key, const char *value, long long n)
{
	printf("%s{interface=\"", name);
	label(iface);
	if (key) {
		printf("\",%s=\"", key);
		label(value);
	}
	printf("\"} %lld\n", n);
}

static void print_metrics(const json_t *m)
{
	const char *ifc = str(m, "interface", "?");
	const json_t *peers = json_object_get(m, "peers"), *p, *drops = json_object_get(m, "dropped");
	size_t i, direct = 0, down = 0, alive = 0;
	json_array_foreach(peers, i, p) {
		direct += !strcmp(str(p, "path", ""), "direct");
		down += !strcmp(str(p, "path", ""), "down");
		alive += json_is_true(json_object_get(p, "alive"));
	}
	metric_head("wirelink_peers", "gauge", "WireGuard peers by path: direct, via a router, down.");
	sample("wirelink_peers", ifc, "state", "direct", (long long)direct);
	sample("wirelink_peers", ifc, "state", "via_router", (long long)(json_array_size(peers) - direct - down));
	sample("wirelink_peers", ifc, "state", "down", (long long)down);
	metric_head("wirelink_peers_alive", "gauge", "Peers whose wirelink daemon is alive.");
	sample("wirelink_peers_alive", ifc, NULL, NULL, (long long)alive);
	metric_head("wirelink_facts", "gauge", "Facts known, received or our own.");
	sample("wirelink_facts", ifc, "origin", "received", num(m, "facts_received"));
	sample("wirelink_facts", ifc, "origin", "own", num(m, "facts_own"));
	metric_head("wirelink_uptime_seconds", "gauge", "Seconds since the daemon started.");
	sample("wirelink_uptime_seconds", ifc, NULL, NULL, num(m, "uptime_seconds"));
	metric_head("wirelink_fact_packets_total", "counter", "Fact packets received and sent.");
	sample("wirelink_fact_packets_total", ifc, "direction", "in", num(m, "packets_in"));
	sample("wirelink_fact_packets_total", ifc, "direction", "out", num(m, "packets_out"));
	metric_head("wirelink_fact_bytes_total", "counter", "Fact packet bytes received and sent.");
	sample("wirelink_fact_bytes_total", ifc, "direction", "in", num(m, "bytes_in"));
	sample("wirelink_fact_bytes_total", ifc, "direction", "out", num(m, "bytes_out"));
	metric_head("wirelink_dropped_packets_total", "counter", "Received packets dropped, by reason.");
	const char *reason;
	const json_t *n;
	json_object_foreach((json_t *)drops, reason, n)
		sample("wirelink_dropped_packets_total", ifc, "reason", reason, (long long)json_integer_value(n));
	const json_t *fd = json_object_get(m, "facts_dropped");
	if (fd) {
		metric_head("wirelink_dropped_facts_total", "counter",
			    "Received facts not kept, by reason (untrusted, invalid, over_budget, hijack, restart_ignored).");
		json_object_foreach((json_t *)fd, reason, n)
			sample("wirelink_dropped_facts_total", ifc, "reason", reason, (long long)json_integer_value(n));
	}
	metric_head("wirelink_endpoint_tries_total", "counter", "Endpoints tried for peers without a working link.");
	sample("wirelink_endpoint_tries_total", ifc, NULL, NULL, num(m, "endpoint_tries"));
	metric_head("wirelink_rounds_total", "counter", "Engine rounds run (decisions, sends).");
	sample("wirelink_rounds_total", ifc, NULL, NULL, num(m, "rounds"));
	metric_head("wirelink_device_reads_total", "counter", "Reads of the WireGuard device.");
	sample("wirelink_device_reads_total", ifc, NULL, NULL, num(m, "device_reads"));
	for (int rx = 1; rx >= 0; rx--) {
		/* WireGuard's byte counts only grow (a peer removed and added
		 * again starts over, as a counter may): counters, so _total. */
		const char *name = rx ? "wirelink_peer_rx_bytes_total" : "wirelink_peer_tx_bytes_total";
		metric_head(name, "counter", rx ? "Bytes WireGuard received from the peer." : "Bytes WireGuard sent to the peer.");
		json_array_foreach(peers, i, p)
			sample(name, ifc, "peer", str(p, "name", str(p, "public_key", "?")), num(p, rx ? "rx_bytes" : "tx_bytes"));
	}
}

/* What each request's answer holds, so a saved answer of another kind is
 * named as such rather than printed as an empty table. */
static const struct answer_kind {
	const char *request;
	void (*print)(const json_t *);
	const char *keys[3];
} kinds[] = {
	{ "status", print_status, { "interface", "role", "peers" } },
	{ "facts", print_facts, { "facts", NULL, NULL } },
	{ "metrics", print_metrics, { "interface", "packets_in", "peers" } },
	{ "hosts", print_hosts, { "interface", "hosts", "rejected" } },
};

static bool is_kind(const json_t *j, const struct answer_kind *k)
{
	for (size_t i = 0; i < 3; i++)
		if (k->keys[i] && !json_object_get(j, k->keys[i]))
			return false;
	return json_is_object(j);
}

/* The kind a saved answer is (one, or the list --json gives for several
 * daemons), or NULL. */
static const struct answer_kind *kind_of(const json_t *j)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		bool all = json_is_array(j) ? json_array_size(j) > 0 : is_kind(j, &kinds[i]);
		size_t k;
		const json_t *x;
		json_array_foreach(j, k, x)
			all &= is_kind(x, &kinds[i]);
		if (all)
			return &kinds[i];
	}
	return NULL;
}

/* An answer saved with --json, formatted as if a daemon had given it. */
static int print_saved(const char *path, const struct answer_kind *want)
{
	char *text = NULL;
	size_t len = 0;
	int err = file_read_all(path, ANSWER_MAX, &text, &len);
	if (err) {
		fprintf(stderr, "wirelink: error: %s: %s\n", path, err == -EFBIG ? "too large" : strerror(-err));
		return 1;
	}
	json_error_t je;
	json_t *j = json_loadb(text, len, 0, &je);
	free(text);
	if (!j) {
		fprintf(stderr, "wirelink: error: %s:%d: %s\n", path, je.line, je.text);
		return 1;
	}
	const struct answer_kind *is = kind_of(j);
	if (is != want) {
		fprintf(stderr, "wirelink: error: %s: not a saved `wirelink %s --json` answer", path, want->request);
		if (is)
			fprintf(stderr, " (it is `wirelink %s --json`)", is->request);
		fputc('\n', stderr);
		json_decref(j);
		return 1;
	}
	size_t i;
	const json_t *x;
	if (!json_is_array(j))
		want->print(j);
	json_array_foreach(j, i, x) {
		if (i)
			putchar('\n');
		want->print(x);
	}
	json_decref(j);
	return 0;
}

static int client(int argc, char **argv, const char *request, void (*print)(const json_t *))
{
	static const struct option opts[] = { { "iface", required_argument, NULL, 'i' },
					       { "json", no_argument, NULL, 'j' },
					       { "read", required_argument, NULL, 'r' },
					       { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *iface = NULL, *saved = NULL;
	bool json = false;
	int opt;
	optind = 0;
	opterr = 0; /* our own message, in the one error style */
	while ((opt = getopt_long(argc, argv, ":i:jhr:", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': iface = optarg; break;
		case 'j': json = true; break;
		case 'r': saved = optarg; break;
		case 'h':
			printf("usage: wirelink %s [-i IFACE] [--json]%s\n%s", argv[0],
			       print ? " [--read FILE]" : " debug|info",
			       print == print_status
				       ? "Without -i, every interface with a daemon in this network namespace.\n"
				       : "");
			if (print)
				puts("--read FILE formats an answer saved with --json instead of asking a daemon.");
			return 0;
		default:
			fprintf(stderr, "wirelink: error: %s: %s %s (see --help)\n", argv[0],
				opt == ':' ? "missing value for" : "unknown flag", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!print && (optind != argc - 1 || (strcmp(argv[optind], "debug") && strcmp(argv[optind], "info")))) {
		fprintf(stderr, "wirelink: error: usage: wirelink log-level [-i IFACE] [--json] debug|info\n");
		return EXIT_USAGE;
	}
	if (print && optind != argc) {
		fprintf(stderr, "wirelink: error: %s: unexpected argument '%s' (see --help)\n", argv[0],
			argv[optind]);
		return EXIT_USAGE;
	}
	for (size_t i = 0; saved && print && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].print == print)
			return print_saved(saved, &kinds[i]);
	char names[MAX_DAEMONS][IFNAMSIZ], req[CONTROL_REQUEST_MAX];
	size_t n = pick_ifaces(iface, print == print_status, names);
	if (!n)
		return 1;
	snprintf(req, sizeof(req), "%s%s%s", request, print ? "" : " ", print ? "" : argv[optind]);
	int status = 0;
	/* --json for several daemons: one list of their answers, so the
	 * output stays one JSON document. */
	json_t *all = json && n > 1 ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *answer = ask(names[i], req);
		if (!answer) {
			status = 1;
			continue;
		}
		if (all) {
			json_array_append(all, answer);
		} else if (json) {
			json_dumpf(answer, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
		} else if (print) {
			if (i)
				putchar('\n');
			print(answer);
		} else {
			printf("%s: log level is now %s\n", names[i], str(answer, "log_level", "?"));
		}
		json_decref(answer);
	}
	if (all) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(all);
	}
	return status;
}

int cmd_status(int argc, char **argv) { return client(argc, argv, "status", print_status); }
int cmd_facts(int argc, char **argv) { return client(argc, argv, "facts", print_facts); }
int cmd_log_level(int argc, char **argv) { return client(argc, argv, "log-level", NULL); }
int cmd_metrics(int argc, char **argv) { return client(argc, argv, "metrics", print_metrics); }
int cmd_hosts(int argc, char **argv) { return client(argc, argv, "hosts", print_hosts); }
