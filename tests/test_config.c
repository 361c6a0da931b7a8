/* Configuration: every kind of bad input gets a message naming its source,
 * key and value; JSON and YAML mean the same; flag > env > file > default. */
#include "helpers.h"

#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "wFMQhZK5wQM3v/mMThQfB64UgsUpOTobQBJQYkAby1c="
#define KEY2 "6rxPhfwiMXp40mit6bdCytVlTCubK/qYxdo6K+liS2o="

static void test_bad_files(void **state)
{
	(void)state;
	static const struct {
		bool yaml;
		const char *text, *want;
	} cases[] = {
		{ false, "{\"Peers\": [ {\"PublicKey\": \"nope\"} ]}", "Peers[0].PublicKey: 'nope' is not a base64" },
		{ false, "{\"Peers\": [ {\"PublicKey\": \"" KEY "\", \"Trust\": \"Total\"} ]}", "Peers[0].Trust: unknown trust level 'Total'" },
		{ false, "{\"Peers\": [ {\"PublicKey\": \"" KEY "\", \"AllowedIPs\": [\"10.0.0.0/33\"]} ]}", "Peers[0].AllowedIPs[0]: '10.0.0.0/33' is not a CIDR" },
		{ false, "{\"Peers\": [ {\"PublicKey\": \"" KEY "\", \"Endpoints\": [\"host\"]} ]}", "Peers[0].Endpoints[0]: 'host' is not host:port" },
		{ false, "{\"Peers\": [ {\"PublicKey\": \"" KEY "\", \"Endpoints\": [\"fd00::1:5\"]} ]}", "'fd00::1:5' is not host:port (a port from 1 to 65535; an IPv6 address in brackets" },
		{ false, "{\"HideIfaces\": [\"eth[0\"]}", "HideIfaces[0]: 'eth[0' is not an interface glob" },
		{ false, "{\"Port\": \"x\"}", "Port must be a port number (0-65535), not a string" },
		{ false, "{\"Port\": 70000}", "Port: 70000 is not a port number" },
		{ false, "{\"Chatty\": \"yes\"}", "Chatty must be true or false, not a string" },
		{ false, "{\"Colour\": 1}", "Colour: unknown key" },
		{ false, "{\"Peers\": [ {\"PublicKey\": \"" KEY "\", \"Nickname\": 1} ]}", "Peers[0].Nickname: unknown key" },
		{ false, "{\"Peers\": [ {\"Name\": \"x\"} ]}", "Peers[0]: PublicKey is required" },
		{ false, "{\"Peers\": [ {\"PublicKey\": \"" KEY "\", \"Name\": \"has space\"} ]}", "'has space' is not a name" },
		{ false, "{\"Peers\": [ {\"PublicKey\": \"" KEY "\", \"Name\": \"seventeen-letters\"} ]}", "is not a name of at most 16" },
		{ false, "{\"Iface\": \"wg9\"}", "Iface: 'wg9' does not match" },
		{ false, "[1, 2]", "the top level must be an object" },
		{ false, "{\n\"Port\": 1,\n}", "f.json:3:" },
		{ true, "Peers:\n  - PublicKey: " KEY "\n    Trust: [x]\n", "Peers[0].Trust must be a trust level, not a list" },
		{ true, "Port: 1\n  bad: indent\n", "f.json:2:" },
		{ true, "a: &x 1\nb: *x\n", "aliases are not supported" },
		/* Found by fuzz_config: a second document leaked the first. */
		{ true, "Port: 1\n---\nPort: 2\n", "only one YAML document is allowed" },
		{ true, "User: 'bad name'\n", "User: 'bad name' is not a user or group name" },
		/* Value errors carry the line, in YAML and in JSON. */
		{ true, "Port: 1\nChaty: true\n", "f.json:2: Chaty: unknown key" },
		{ true, "Peers:\n  - PublicKey: " KEY "\n    Name: \"a b\"\n", "f.json:3: Peers[0].Name: 'a b'" },
		{ true, "Peers:\n  - PublicKey: " KEY "\n    Endpoints:\n      - a:1\n      - host\n",
		  "f.json:5: Peers[0].Endpoints[1]: 'host' is not host:port" },
		{ false, "{\n  \"Port\": 1,\n  \"Peers\": [\n    {\"PublicKey\": \"" KEY "\", \"Trust\": \"All\"}\n  ]\n}",
		  "f.json:4: Peers[0].Trust: unknown trust level 'All'" },
		{ true, "Port: 1.5\n", "f.json:1: Port must be a port number (0-65535), not 1.5" },
		{ false, "{\"Port\": 1.5}", "Port must be a port number (0-65535), not 1.5" },
		{ true, "Peers:\n  - PublicKey: " KEY "\n  - PublicKey: " KEY "\n",
		  "f.json:3: Peers[1]: the same PublicKey as Peers[0]" },
		/* The per-peer budget. */
		{ true, "Limits:\n  MaxFacts: 0\n", "Limits.MaxFacts: 0 is not a count from 1 to 10000000" },
		{ true, "Limits:\n  MaxFact: 10\n", "Limits.MaxFact: unknown key" },
		{ true, "Limits: 5\n", "Limits must be a map of limits" },
		/* Peers by name. */
		{ true, "Domain: wl..example\n", "f.json:1: Domain: 'wl..example' is not a domain" },
		{ true, "Domain: -wl\n", "Domain: '-wl' is not a domain" },
		{ true, "Domain: [x]\n", "Domain must be a domain, not a list" },
		{ true, "HostsFile: etc/hosts\n", "HostsFile: 'etc/hosts' is not an absolute file name" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config c = { .router = -1 };
		strcpy(c.iface, "wg0");
		char err[512] = "";
		int r = config_parse_text(cases[i].text, strlen(cases[i].text), cases[i].yaml, "f.json", &c,
					  err, sizeof(err));
		if (r == 0 || !strstr(err, cases[i].want))
			fail_msg("case %zu: r=%d err='%s' want '%s'", i, r, err, cases[i].want);
		config_free(&c);
	}
}

static char *dump_of(const char *text, bool yaml)
{
	struct config c = { .router = -1 };
	strcpy(c.iface, "wg0");
	char err[512] = "";
	if (config_parse_text(text, strlen(text), yaml, "f", &c, err, sizeof(err)))
		fail_msg("%s", err);
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	config_dump(&c, f);
	fclose(f);
	config_free(&c);
	return out;
}

static void test_hosts_keys(void **state)
{
	(void)state;
	struct config c = { .router = -1 };
	strcpy(c.iface, "wg0");
	char err[512] = "";
	const char *text = "HostsFile: /etc/hosts\nDomain: wl.example.org\n";
	assert_int_equal(config_parse_text(text, strlen(text), true, "f", &c, err, sizeof(err)), 0);
	assert_string_equal(c.hosts_file, "/etc/hosts");
	assert_string_equal(c.domain, "wl.example.org");
	config_free(&c);
}

static void test_json_and_yaml_agree(void **state)
{
	(void)state;
	char *j = dump_of("{\"iface\": \"wg0\", \"PORT\": 4000, \"router\": true, \"hideifaces\": [\"docker*\"],"
			  " \"peers\": [{\"publickey\": \"" KEY "\", \"name\": \"hub\", \"trust\": \"membership\","
			  " \"allowedips\": [\"100.64.2.0/24\"], \"endpoints\": [\"hub.example.net:51820\"]},"
			  " {\"PublicKey\": \"" KEY2 "\", \"Basic\": true}]}", false);
	char *y = dump_of("Iface: wg0\nPort: 4000\nRouter: yes\nHideIfaces: [\"docker*\"]\nPeers:\n"
			  "  - PublicKey: " KEY "\n    Name: hub\n    Trust: Membership\n"
			  "    AllowedIPs: [100.64.2.0/24]\n    Endpoints: [\"hub.example.net:51820\"]\n"
			  "  - PublicKey: \"" KEY2 "\"\n    Basic: true\n", true);
	assert_string_equal(j, y);
	assert_non_null(strstr(j, "\"Trust\": \"Membership\""));
	assert_non_null(strstr(j, "\"Port\": 4000"));
	free(j);
	free(y);
	char *empty = dump_of("", true);
	/* Unset settings show their effective defaults, never null. */
	assert_non_null(strstr(empty, "\"Router\": \"detect\""));
	assert_non_null(strstr(empty, "\"User\": \"root\""));
	assert_non_null(strstr(empty, "\"MaxFacts\": 100000"));
	assert_non_null(strstr(empty, "\"EndpointsPerPeer\": 16"));
	assert_non_null(strstr(empty, "\"FactsPerSource\": 100000"));
	assert_non_null(strstr(empty, "\"MembersPerRound\": 64"));
	free(empty);
	char *lim = dump_of("Limits:\n  maxfacts: 5000\n  EndpointsPerPeer: 4\n", true);
	assert_non_null(strstr(lim, "\"MaxFacts\": 5000"));
	assert_non_null(strstr(lim, "\"EndpointsPerPeer\": 4"));
	assert_non_null(strstr(lim, "\"FactsPerSource\": 5000")); /* follows MaxFacts */
	free(lim);
	/* CIDRs as WireGuard keeps them: host bits cleared. */
	char *masked = dump_of("Peers:\n  - PublicKey: " KEY "\n    AllowedIPs: [10.1.2.3/24, \"fd00::1:2/64\"]\n", true);
	assert_non_null(strstr(masked, "\"10.1.2.0/24\""));
	assert_non_null(strstr(masked, "\"fd00::/64\""));
	free(masked);
}

static void test_precedence(void **state)
{
	(void)state;
	char dir[] = "/tmp/wlcfgXXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/wirelink.wgt.yml", dir);
	FILE *f = fopen(path, "w");
	fputs("Port: 1000\nChatty: true\nDebug: true\n", f);
	fclose(f);
	char cp[160];
	snprintf(cp, sizeof(cp), "WIRELINK_CONFIG_PATH=%s", dir);
	char *env[] = { cp, "WIRELINK_IFACE=wgt", "WIRELINK_PORT=2000", "WIRELINK_CHATTY=false", "PATH=/bin", NULL };
	char *argv[] = { "wirelink", "--port", "3000", NULL };
	struct config c;
	char err[512] = "";
	assert_int_equal(config_load(3, argv, env, &c, err, sizeof(err)), 0);
	assert_int_equal(c.port, 3000);	 /* flag */
	assert_false(c.chatty);		 /* env over file */
	assert_true(c.debug);		 /* file over default */
	assert_int_equal(c.router, -1);	 /* default: detect */
	assert_string_equal(c.source, path);
	config_free(&c);

	char *argv2[] = { "wirelink", "--router=maybe", NULL };
	assert_int_equal(config_load(2, argv2, env, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "flag --router: 'maybe' is not true or false"));
	config_free(&c);
	char *env2[] = { "WIRELINK_PORT=x", NULL };
	char *argv3[] = { "wirelink", "--config-path", dir, NULL };
	assert_int_equal(config_load(3, argv3, env2, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "WIRELINK_PORT: 'x' is not a port number"));
	config_free(&c);
	char *env3[] = { "WIRELINK_COLOUR=red", NULL };
	assert_int_equal(config_load(1, argv, env3, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown environment variable WIRELINK_COLOUR"));
	config_free(&c);
	char *argv4[] = { "wirelink", "--bogus", NULL };
	assert_int_equal(config_load(2, argv4, NULL, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown flag --bogus"));
	config_free(&c);
	char *argv5[] = { "wirelink", "-i", "a/b", NULL };
	assert_int_equal(config_load(3, argv5, NULL, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "flag --iface: 'a/b' is not an interface name"));
	config_free(&c);
	/* Two files for one interface: an error naming both. */
	char other[160];
	snprintf(other, sizeof(other), "%s/wirelink.wgt.json", dir);
	f = fopen(other, "w");
	fputs("{}", f);
	fclose(f);
	assert_int_equal(config_load(1, argv, env, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "both "));
	assert_non_null(strstr(err, other));
	assert_non_null(strstr(err, path));
	config_free(&c);
	unlink(other);
	/* A broken file names itself and the line. */
	f = fopen(path, "w");
	fputs("Port: 1\nPeers: [\n", f);
	fclose(f);
	assert_int_equal(config_load(1, argv, env, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	config_free(&c);
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	test_set_vector_dir(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_hosts_keys),
		cmocka_unit_test(test_json_and_yaml_agree),
		cmocka_unit_test(test_precedence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
