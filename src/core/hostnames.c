/* Peers by name: validation, the line set, and the marked block. */
#include "core/hostnames.h"

#include "util/array.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool hostnames_label_ok(const char *s, size_t len)
{
	if (len == 0 || len > HOSTNAMES_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
		return false;
	bool letter = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isascii(c) || !(isalnum(c) || c == '-'))
			return false;
		letter |= !isdigit(c);
	}
	return letter;
}

bool hostnames_domain_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > HOSTNAMES_DOMAIN_MAX)
		return false;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		/* Inner labels may be all digits (1.example.org); hyphens and
		 * lengths are checked alike. */
		if (n == 0 || n > HOSTNAMES_LABEL_MAX || p[0] == '-' || p[n - 1] == '-')
			return false;
		for (size_t i = 0; i < n; i++)
			if (!isascii((unsigned char)p[i]) || !(isalnum((unsigned char)p[i]) || p[i] == '-'))
				return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}

const char *hostnames_why_text(enum hostnames_why why)
{
	switch (why) {
	case HOSTNAMES_INVALID: return "not a DNS label (letters, digits, inner hyphens, at most 63)";
	case HOSTNAMES_RESERVED: return "reserved (localhost or this host's own name)";
	case HOSTNAMES_TAKEN: return "already in the hosts file outside wirelink's block";
	case HOSTNAMES_DUPLICATE: return "claimed by more than one peer";
	}
	return "?";
}

/* ---- lines of a hosts file ---- */

/* The next line of buf from *pos (with its newline); false at the end. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
	if (*pos >= len)
		return false;
	const char *nl = memchr(buf + *pos, '\n', len - *pos);
	*line = buf + *pos;
	*n = nl ? (size_t)(nl - *line) + 1 : len - *pos;
	*pos += *n;
	return true;
}

/* Whether the line is "# wirelink IFACE WHAT", trailing blanks aside. */
static bool is_marker(const char *line, size_t n, const char *iface, const char *what)
{
	while (n && strchr(" \t\r\n", line[n - 1]))
		n--;
	char want[64];
	int k = snprintf(want, sizeof(want), "# wirelink %s %s", iface, what);
	return k > 0 && (size_t)k < sizeof(want) && n == (size_t)k && !memcmp(line, want, n);
}

/* Calls fn for each line outside iface's block. */
static void each_outside(const char *buf, size_t len, const char *iface,
			 void (*fn)(void *arg, const char *line, size_t n), void *arg)
{
	size_t pos = 0, n;
	const char *line;
	bool in = false;
	while (next_line(buf, len, &pos, &line, &n)) {
		if (!in && is_marker(line, n, iface, "begin"))
			in = true;
		else if (in && is_marker(line, n, iface, "end"))
			in = false;
		else if (!in)
			fn(arg, line, n);
	}
}

/* ---- candidates and the names the file has ---- */

struct cand {
	const struct hostnames_peer *p;
	char lower[HOSTNAMES_LABEL_MAX + 1];
	bool out;
};

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->lower, y->lower);
	return c ? c : memcmp(x->p->key, y->p->key, WIRE_KEY_LEN);
}

static int cmp_lower(const void *key, const void *elem)
{
	return strcmp(key, ((const struct cand *)elem)->lower);
}

struct taken_scan {
	struct cand *c;
	size_t n;
	const char *suffix;
};

/* Marks candidates whose name (or NAME.suffix) is a name on the line. */
static void scan_line(void *arg, const char *line, size_t n)
{
	struct taken_scan *t = arg;
	const char *hash = memchr(line, '#', n);
	if (hash)
		n = (size_t)(hash - line);
	size_t i = 0, field = 0, slen = t->suffix ? strlen(t->suffix) : 0;
	while (i < n) {
		while (i < n && isspace((unsigned char)line[i]))
			i++;
		size_t start = i;
		while (i < n && !isspace((unsigned char)line[i]))
			i++;
		size_t len = i - start;
		if (!len || field++ == 0 || len > HOSTNAMES_DOMAIN_MAX)
			continue; /* the address, or too long to be ours */
		char tok[HOSTNAMES_DOMAIN_MAX + 1];
		for (size_t k = 0; k < len; k++)
			tok[k] = (char)tolower((unsigned char)line[start + k]);
		tok[len] = '\0';
		if (slen && len > slen + 1 && tok[len - slen - 1] == '.' &&
		    !strcasecmp(tok + len - slen, t->suffix))
			tok[len - slen - 1] = '\0';
		struct cand *c = bsearch(tok, t->c, t->n, sizeof(*t->c), cmp_lower);
		/* Equal names sit together: mark the whole run. */
		for (struct cand *x = c; x && x >= t->c && !strcmp(x->lower, tok); x--)
			x->out = true;
		for (struct cand *x = c; x && x < t->c + t->n && !strcmp(x->lower, tok); x++)
			x->out = true;
	}
}

static bool reserved(const char *lower, const char *self)
{
	if (!strcmp(lower, "localhost"))
		return true;
	if (!self || !*self)
		return false;
	size_t first = strcspn(self, ".");
	return !strcasecmp(lower, self) || (strlen(lower) == first && !strncasecmp(lower, self, first));
}

static bool reject(struct hostnames *h, const struct hostnames_peer *p, enum hostnames_why why)
{
	if (!array_grow((void **)&h->rejects, h->n_rejects, &h->cap_rejects, sizeof(*h->rejects)))
		return false;
	struct hostnames_reject *r = &h->rejects[h->n_rejects++];
	memcpy(r->key, p->key, WIRE_KEY_LEN);
	snprintf(r->name, sizeof(r->name), "%s", p->name);
	r->why = why;
	return true;
}

/* Valid, not reserved: the candidates, sorted by name. */
static int gather(const struct hostnames_input *in, struct hostnames *h, struct cand **out, size_t *n)
{
	struct cand *c = calloc(in->n + 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*n = 0;
	for (size_t i = 0; i < in->n; i++) {
		const struct hostnames_peer *p = &in->peers[i];
		if (!p->name || !*p->name)
			continue;
		size_t len = strlen(p->name);
		struct cand *x = &c[*n];
		bool valid = hostnames_label_ok(p->name, len);
		for (size_t k = 0; valid && k <= len; k++)
			x->lower[k] = (char)tolower((unsigned char)p->name[k]);
		enum hostnames_why why = !valid ? HOSTNAMES_INVALID : HOSTNAMES_RESERVED;
		if (!valid || reserved(x->lower, in->self)) {
			if (!reject(h, p, why))
				return free(c), -ENOMEM;
			continue;
		}
		x->p = p;
		(*n)++;
	}
	qsort(c, *n, sizeof(*c), cmp_cand);
	*out = c;
	return 0;
}

/* Two peers with one name: the config's wins, else neither. */
static int settle_duplicates(struct hostnames *h, struct cand *c, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, from_config = c[i].p->from_config;
		while (j < n && !strcmp(c[j].lower, c[i].lower))
			from_config += c[j++].p->from_config;
		for (size_t k = i; j - i > 1 && k < j; k++) {
			if (from_config == 1 && c[k].p->from_config)
				continue;
			if (!c[k].out && !reject(h, c[k].p, HOSTNAMES_DUPLICATE))
				return -ENOMEM;
			c[k].out = true;
		}
		i = j;
	}
	return 0;
}

static bool single_address(const struct wg_allowedip *ip)
{
	if (ip->family == AF_INET)
		return ip->cidr == 32 && ip->ip4.s_addr != 0;
	static const struct in6_addr any = IN6ADDR_ANY_INIT;
	const uint8_t *a = ip->ip6.s6_addr;
	return ip->family == AF_INET6 && ip->cidr == 128 && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80) &&
	       memcmp(&ip->ip6, &any, sizeof(any));
}

static int cmp_line(const void *a, const void *b)
{
	const struct hostnames_line *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);
	if (c)
		return c;
	if (x->ip.family != y->ip.family)
		return x->ip.family == AF_INET ? -1 : 1;
	return memcmp(&x->ip.ip6, &y->ip.ip6, x->ip.family == AF_INET ? 4 : 16);
}

static bool has_line(const struct hostnames *h, size_t from, const struct wg_allowedip *ip)
{
	for (size_t i = from; i < h->n; i++)
		if (h->lines[i].ip.family == ip->family &&
		    !memcmp(&h->lines[i].ip.ip6, &ip->ip6, ip->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

static int add_lines(struct hostnames *h, const struct hostnames_peer *p)
{
	size_t first = h->n;
	for (size_t i = 0; i < p->n_ips; i++) {
		if (!single_address(&p->ips[i]) || has_line(h, first, &p->ips[i]))
			continue;
		if (!array_grow((void **)&h->lines, h->n, &h->cap, sizeof(*h->lines)))
			return -ENOMEM;
		struct hostnames_line *l = &h->lines[h->n++];
		memset(l, 0, sizeof(*l));
		memcpy(l->key, p->key, WIRE_KEY_LEN);
		snprintf(l->name, sizeof(l->name), "%s", p->name);
		l->ip = p->ips[i];
	}
	return 0;
}

static int cmp_reject(const void *a, const void *b)
{
	const struct hostnames_reject *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);
	return c ? c : memcmp(x->key, y->key, WIRE_KEY_LEN);
}

static int cmp_index_key(const void *a, const void *b, void *arg)
{
	const size_t *x = a, *y = b;
	const struct hostnames_line *l = arg;
	int c = memcmp(l[*x].key, l[*y].key, WIRE_KEY_LEN);
	return c ? c : (*x > *y) - (*x < *y);
}

int hostnames_build(const struct hostnames_input *in, struct hostnames *out)
{
	*out = (struct hostnames){ 0 };
	struct cand *c = NULL;
	size_t n = 0;
	int err = gather(in, out, &c, &n);
	if (!err && in->file) {
		struct taken_scan t = { c, n, in->suffix };
		each_outside(in->file, in->file_len, in->iface ? in->iface : "", scan_line, &t);
		for (size_t i = 0; i < n && !err; i++)
			if (c[i].out && !reject(out, c[i].p, HOSTNAMES_TAKEN))
				err = -ENOMEM;
	}
	if (!err)
		err = settle_duplicates(out, c, n);
	for (size_t i = 0; i < n && !err; i++)
		if (!c[i].out)
			err = add_lines(out, c[i].p);
	free(c);
	if (err) {
		hostnames_free(out);
		return err;
	}
	if (out->n)
		qsort(out->lines, out->n, sizeof(*out->lines), cmp_line);
	if (!(out->by_key = calloc(out->n + 1, sizeof(*out->by_key)))) {
		hostnames_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < out->n; i++)
		out->by_key[i] = i;
	if (out->n)
		qsort_r(out->by_key, out->n, sizeof(*out->by_key), cmp_index_key, out->lines);
	if (out->n_rejects)
		qsort(out->rejects, out->n_rejects, sizeof(*out->rejects), cmp_reject);
	return 0;
}

void hostnames_free(struct hostnames *h)
{
	free(h->lines);
	free(h->rejects);
	free(h->by_key);
	*h = (struct hostnames){ 0 };
}

const char *hostnames_of(const struct hostnames *h, const uint8_t key[static WIRE_KEY_LEN])
{
	size_t lo = 0, hi = h->by_key ? h->n : 0;
	while (lo < hi) { /* the first line of the key */
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(h->lines[h->by_key[mid]].key, key, WIRE_KEY_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->n && h->by_key && !memcmp(h->lines[h->by_key[lo]].key, key, WIRE_KEY_LEN)
		       ? h->lines[h->by_key[lo]].name
		       : NULL;
}

/* ---- text ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	bool failed;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void puts_(struct sbuf *b, const char *s) { put(b, s, strlen(s)); }

char *hostnames_format(const struct hostnames *h, const char *suffix)
{
	struct sbuf b = { 0 };
	put(&b, "", 0);
	for (size_t i = 0; i < h->n; i++) {
		char addr[INET6_ADDRSTRLEN], line[INET6_ADDRSTRLEN + 2 * HOSTNAMES_LABEL_MAX + HOSTNAMES_DOMAIN_MAX + 8];
		const struct hostnames_line *l = &h->lines[i];
		inet_ntop(l->ip.family, &l->ip.ip6, addr, sizeof(addr));
		if (suffix && *suffix)
			snprintf(line, sizeof(line), "%s %s %s.%s\n", addr, l->name, l->name, suffix);
		else
			snprintf(line, sizeof(line), "%s %s\n", addr, l->name);
		puts_(&b, line);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static void put_block(struct sbuf *b, const char *iface, const char *lines)
{
	char marker[64];
	snprintf(marker, sizeof(marker), "# wirelink %s begin\n", iface);
	puts_(b, marker);
	puts_(b, lines);
	if (*lines && lines[strlen(lines) - 1] != '\n')
		puts_(b, "\n");
	snprintf(marker, sizeof(marker), "# wirelink %s end\n", iface);
	puts_(b, marker);
}

int hostnames_block(const char *file, size_t len, const char *iface, const char *lines, char **out,
		    size_t *out_len)
{
	*out = NULL;
	struct sbuf b = { 0 };
	size_t pos = 0, n;
	const char *line;
	bool in = false, placed = false;
	put(&b, "", 0);
	while (next_line(file, len, &pos, &line, &n)) {
		if (!in && is_marker(line, n, iface, "begin")) {
			in = true;
			if (lines && !placed)
				put_block(&b, iface, lines);
			placed = true;
		} else if (in) {
			in = !is_marker(line, n, iface, "end");
		} else {
			put(&b, line, n);
		}
	}
	if (in) {
		free(b.p);
		return -EBADMSG;
	}
	if (lines && !placed) {
		if (b.n && b.p[b.n - 1] != '\n')
			puts_(&b, "\n");
		put_block(&b, iface, lines);
	}
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*out_len = b.n;
	return 0;
}
