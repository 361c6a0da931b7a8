/* Peers by name: label validation, the line set (reserved and taken names,
 * two peers with one name), and the marked block rewritten inside other
 * content, idempotently. */
#include "helpers.h"

#include "core/hostnames.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_labels(void **state)
{
	(void)state;
	static const char *const good[] = { "a", "laptop", "office-nas", "Leaf-B", "x1", "1x",
					    "a23456789012345678901234567890123456789012345678901234567890123" };
	static const char *const bad[] = { "", "-a", "a-", "a.b", "a_b", "a b", "1234", "é",
					   "a234567890123456789012345678901234567890123456789012345678901234",
					   "a\nb", "a;rm" };
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(hostnames_label_ok(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(hostnames_label_ok(bad[i], strlen(bad[i])));
	assert_true(hostnames_domain_ok("wg0"));
	assert_true(hostnames_domain_ok("wl.example.org"));
	assert_true(hostnames_domain_ok("10.in-addr"));
	assert_false(hostnames_domain_ok(""));
	assert_false(hostnames_domain_ok("a..b"));
	assert_false(hostnames_domain_ok(".a"));
	assert_false(hostnames_domain_ok("a."));
	assert_false(hostnames_domain_ok("-a.b"));
	assert_false(hostnames_domain_ok("a_b.c"));
	char longd[300];
	memset(longd, 'a', sizeof(longd));
	for (size_t i = 50; i < sizeof(longd); i += 51)
		longd[i] = '.';
	longd[sizeof(longd) - 1] = '\0';
	assert_false(hostnames_domain_ok(longd)); /* over 253 */
}

static struct wg_allowedip ip(const char *text)
{
	struct wg_allowedip a;
	assert_true(wg_allowedip_parse(text, &a));
	return a;
}

/* Peers for the tests: key byte k, a name, from the config or not. */
struct fixture {
	struct hostnames_peer p[8];
	struct wg_allowedip ips[8][3];
	size_t n;
};

static void add(struct fixture *f, const char *name, bool from_config, const char *a, const char *b)
{
	struct hostnames_peer *p = &f->p[f->n];
	memset(p, 0, sizeof(*p));
	p->key[0] = (uint8_t)(f->n + 1);
	p->name = name;
	p->from_config = from_config;
	f->ips[f->n][0] = ip(a);
	f->ips[f->n][1] = ip(b ? b : "fe80::1/128");
	f->ips[f->n][2] = ip("10.0.0.0/24");
	p->ips = f->ips[f->n];
	p->n_ips = 3;
	f->n++;
}

static char *build_text(const struct fixture *f, const char *file, struct hostnames *h)
{
	struct hostnames_input in = { f->p, f->n, "wg0", "myhost.example.org", file, file ? strlen(file) : 0,
				      "wg0" };
	assert_int_equal(hostnames_build(&in, h), 0);
	char *text = hostnames_format(h, "wg0");
	assert_non_null(text);
	return text;
}

static void test_lines(void **state)
{
	(void)state;
	struct fixture f = { .n = 0 };
	add(&f, "leaf-b", false, "10.0.0.12/32", "fd00::12/128");
	add(&f, "leaf-a", true, "10.0.0.11/32", NULL);
	add(&f, NULL, false, "10.0.0.13/32", NULL);
	struct hostnames h;
	char *text = build_text(&f, NULL, &h);
	/* Sorted by name; the /24 and the link-local address make no line. */
	assert_string_equal(text, "10.0.0.11 leaf-a leaf-a.wg0\n"
				  "10.0.0.12 leaf-b leaf-b.wg0\n"
				  "fd00::12 leaf-b leaf-b.wg0\n");
	assert_string_equal(hostnames_of(&h, f.p[0].key), "leaf-b");
	assert_null(hostnames_of(&h, f.p[2].key));
	assert_int_equal(h.n_rejects, 0);
	free(text);
	hostnames_free(&h);
	/* Without a suffix, the name alone. */
	struct hostnames_input in = { f.p, 1, "", NULL, NULL, 0, "wg0" };
	assert_int_equal(hostnames_build(&in, &h), 0);
	text = hostnames_format(&h, "");
	assert_string_equal(text, "10.0.0.12 leaf-b\nfd00::12 leaf-b\n");
	free(text);
	hostnames_free(&h);
}

static void test_untrusted_names(void **state)
{
	(void)state;
	struct fixture f = { .n = 0 };
	add(&f, "localhost", false, "10.0.0.1/32", NULL);
	add(&f, "LocalHost", true, "10.0.0.2/32", NULL); /* even from our config */
	add(&f, "myhost", false, "10.0.0.3/32", NULL);	  /* this host's own name */
	add(&f, "bad_name", false, "10.0.0.4/32", NULL);
	add(&f, "router", false, "10.0.0.5/32", NULL);	  /* in the file already */
	add(&f, "nas", false, "10.0.0.6/32", NULL);	  /* its fqdn is in the file */
	add(&f, "ok", false, "10.0.0.7/32", NULL);
	const char *file = "127.0.0.1 localhost\n"
			   "192.168.1.1\tRouter gw # the box\n"
			   "192.168.1.2 storage nas.wg0\n"
			   "# wirelink wg0 begin\n"
			   "10.0.0.7 ok ok.wg0\n" /* ours: not taken */
			   "# wirelink wg0 end\n";
	struct hostnames h;
	char *text = build_text(&f, file, &h);
	assert_string_equal(text, "10.0.0.7 ok ok.wg0\n");
	assert_int_equal(h.n_rejects, 6);
	/* By name: bad_name, localhost, LocalHost, myhost, nas, router. */
	assert_int_equal(h.rejects[0].why, HOSTNAMES_INVALID);
	assert_int_equal(h.rejects[1].why, HOSTNAMES_RESERVED);
	assert_int_equal(h.rejects[2].why, HOSTNAMES_RESERVED);
	assert_int_equal(h.rejects[3].why, HOSTNAMES_RESERVED);
	assert_string_equal(h.rejects[4].name, "nas");
	assert_int_equal(h.rejects[4].why, HOSTNAMES_TAKEN);
	assert_int_equal(h.rejects[5].why, HOSTNAMES_TAKEN);
	free(text);
	hostnames_free(&h);
}

static void test_duplicates(void **state)
{
	(void)state;
	struct fixture f = { .n = 0 };
	/* Two from the network: neither. */
	add(&f, "twin", false, "10.0.0.1/32", NULL);
	add(&f, "TWIN", false, "10.0.0.2/32", NULL);
	/* One from the config: it wins. */
	add(&f, "leaf-b", false, "10.0.0.3/32", NULL);
	add(&f, "leaf-b", true, "10.0.0.4/32", NULL);
	add(&f, "leaf-b", false, "10.0.0.5/32", NULL);
	/* Two from the config: neither. */
	add(&f, "same", true, "10.0.0.6/32", NULL);
	add(&f, "same", true, "10.0.0.7/32", NULL);
	struct hostnames h;
	char *text = build_text(&f, NULL, &h);
	assert_string_equal(text, "10.0.0.4 leaf-b leaf-b.wg0\n");
	assert_int_equal(h.n_rejects, 6);
	for (size_t i = 0; i < h.n_rejects; i++)
		assert_int_equal(h.rejects[i].why, HOSTNAMES_DUPLICATE);
	free(text);
	hostnames_free(&h);
}

static char *block(const char *file, const char *lines)
{
	char *out = NULL;
	size_t n = 0;
	assert_int_equal(hostnames_block(file, strlen(file), "wg0", lines, &out, &n), 0);
	assert_int_equal(strlen(out), n);
	return out;
}

static void test_block(void **state)
{
	(void)state;
	const char *before = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n";
	const char *after = "192.168.1.1 router # hand-made\n";
	const char *other = "# wirelink wg1 begin\n10.1.0.1 x x.wg1\n# wirelink wg1 end\n";
	char file[512];
	/* Appended to a file without one, even one without a final newline. */
	char *a = block("127.0.0.1 localhost", "10.0.0.1 a a.wg0\n");
	assert_string_equal(a, "127.0.0.1 localhost\n# wirelink wg0 begin\n10.0.0.1 a a.wg0\n# wirelink wg0 end\n");
	free(a);
	/* Replaced in place, the lines before and after (and wg1's block) kept;
	 * a hand edit inside the block is replaced. */
	snprintf(file, sizeof(file), "%s%s# wirelink wg0 begin\n10.0.0.9 hand-edit\n# wirelink wg0 end\n%s", before,
		 other, after);
	a = block(file, "10.0.0.1 a a.wg0\n10.0.0.2 b b.wg0\n");
	char want[512];
	snprintf(want, sizeof(want), "%s%s# wirelink wg0 begin\n10.0.0.1 a a.wg0\n10.0.0.2 b b.wg0\n"
		 "# wirelink wg0 end\n%s", before, other, after);
	assert_string_equal(a, want);
	/* Idempotent. */
	char *b = block(a, "10.0.0.1 a a.wg0\n10.0.0.2 b b.wg0\n");
	assert_string_equal(a, b);
	free(b);
	/* An empty set keeps the markers; NULL removes the block. */
	b = block(a, "");
	snprintf(want, sizeof(want), "%s%s# wirelink wg0 begin\n# wirelink wg0 end\n%s", before, other, after);
	assert_string_equal(b, want);
	free(b);
	b = block(a, NULL);
	snprintf(want, sizeof(want), "%s%s%s", before, other, after);
	assert_string_equal(b, want);
	free(b);
	free(a);
	/* Two blocks (a second added by hand): one left, where the first was. */
	snprintf(file, sizeof(file), "%s# wirelink wg0 begin\nold\n# wirelink wg0 end\n%s"
		 "# wirelink wg0 begin\nold2\n# wirelink wg0 end\n", before, after);
	a = block(file, "new\n");
	snprintf(want, sizeof(want), "%s# wirelink wg0 begin\nnew\n# wirelink wg0 end\n%s", before, after);
	assert_string_equal(a, want);
	free(a);
	/* A begin without its end: left alone, lines after it would be lost. */
	snprintf(file, sizeof(file), "%s# wirelink wg0 begin\n%s", before, after);
	char *out = (char *)1;
	size_t n;
	assert_int_equal(hostnames_block(file, strlen(file), "wg0", "x\n", &out, &n), -EBADMSG);
	assert_null(out);
	/* Markers with trailing blanks or CRLF count; another text does not. */
	a = block("# wirelink wg0 begin \r\nold\n# wirelink wg0 end\t\n", "new\n");
	assert_string_equal(a, "# wirelink wg0 begin\nnew\n# wirelink wg0 end\n");
	free(a);
	a = block("#wirelink wg0 begin\n", "new\n");
	assert_string_equal(a, "#wirelink wg0 begin\n# wirelink wg0 begin\nnew\n# wirelink wg0 end\n");
	free(a);
	/* An empty file. */
	a = block("", "x\n");
	assert_string_equal(a, "# wirelink wg0 begin\nx\n# wirelink wg0 end\n");
	free(a);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_untrusted_names),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
