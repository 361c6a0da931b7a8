/* wirelink: entry point and subcommand dispatch. */
#include "cli/cli.h"
#include "config.h"
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

extern char **environ;

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "status", cmd_status, "show a running daemon's peers and links" },
	{ "facts", cmd_facts, "list the facts a running daemon knows" },
	{ "log-level", cmd_log_level, "set a running daemon's log level (debug or info)" },
	{ "metrics", cmd_metrics, "a running daemon's counters in the Prometheus text format" },
	{ "hosts", cmd_hosts, "the hosts(5) lines a running daemon keeps for its peers" },
	{ "config-from-wg", cmd_config_from_wg, "print a starter config file for an interface" },
	{ "decode", cmd_decode, "print wirelink packets (hex or raw) as canonical text" },
};

static void usage(FILE *out)
{
	config_usage(out);
	fputs("\nOther commands: wirelink COMMAND [ARGS...]\n", out);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-15s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "  %-15s %s\n", "help [COMMAND]", "this help, or a command's options");
	fputs("\nRun `wirelink help COMMAND` (or `wirelink COMMAND --help`) for a command's options.\n", out);
}

/* The daemon: flags, environment and file, then the event loop. Exit
 * status: 0 stopped by a signal, 1 a run-time error, 2 a usage or
 * configuration error (nothing was started). */
static int run_daemon(int argc, char **argv)
{
	static struct config cfg;
	char err[1024] = "";
	int status = 0;
	if (config_load(argc, argv, environ, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "wirelink: error: %s\n", err);
		status = EXIT_USAGE;
	} else if (cfg.help) {
		usage(stdout);
	} else if (cfg.version) {
		printf("wirelink %s\n", WIRELINK_VERSION);
	} else if (cfg.dump) {
		config_dump(&cfg, stdout);
	} else {
		status = daemon_run(&cfg, argc, argv, environ);
	}
	config_free(&cfg);
	return status;
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(name, subcommands[i].name))
			return &subcommands[i];
	return NULL;
}

/* How many leading arguments are "-i IFACE" (or --iface IFACE,
 * --iface=IFACE, -iIFACE): 0 when there is none. */
static int iface_args(int argc, char **argv)
{
	if (argc < 2)
		return 0;
	if (!strcmp(argv[1], "-i") || !strcmp(argv[1], "--iface"))
		return argc > 2 ? 2 : 0;
	return !strncmp(argv[1], "--iface=", 8) || (!strncmp(argv[1], "-i", 2) && argv[1][2]) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		const struct subcommand *sc = argc > 2 ? find_subcommand(argv[2]) : NULL;
		if (sc) {
			char *args[] = { (char *)sc->name, "--help", NULL };
			return sc->run(2, args);
		}
		if (argc > 2 && strcmp(argv[2], "help")) {
			fprintf(stderr, "wirelink: error: help: no command '%s' (see wirelink help)\n", argv[2]);
			return EXIT_USAGE;
		}
		usage(stdout);
		return 0;
	}
	const struct subcommand *sc = argc > 1 ? find_subcommand(argv[1]) : NULL;
	if (sc)
		return sc->run(argc - 1, argv + 1);
	/* "wirelink -i wg0 status": the interface before the subcommand. */
	int skip = iface_args(argc, argv);
	if (skip && argc > 1 + skip && (sc = find_subcommand(argv[1 + skip]))) {
		char **args = calloc((size_t)argc + 1, sizeof(*args));
		if (!args)
			return 1;
		args[0] = argv[1 + skip];
		for (int i = 0; i < skip; i++)
			args[1 + i] = argv[1 + i];
		for (int i = 2 + skip; i < argc; i++)
			args[i - 1] = argv[i];
		int status = sc->run(argc - 1, args);
		free(args);
		return status;
	}
	return run_daemon(argc, argv);
}
