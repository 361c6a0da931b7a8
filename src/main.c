/* wirelink: entry point and subcommand dispatch. */
#include "cli/cli.h"
#include "config.h"
#include "daemon.h"

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
	{ "config-from-wg", cmd_config_from_wg, "print a starter config file for an interface" },
	{ "decode", cmd_decode, "print wirelink packets (hex or raw) as canonical text" },
};

static void usage(FILE *out)
{
	config_usage(out);
	fputs("\nOther commands: wirelink COMMAND [ARGS...]\n", out);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-15s %s\n", subcommands[i].name, subcommands[i].summary);
	fputs("\nRun `wirelink COMMAND --help` for a command's options.\n", out);
}

/* The daemon: flags, environment and file, then the event loop. */
static int run_daemon(int argc, char **argv)
{
	struct config cfg;
	char err[1024] = "";
	int status = 0;
	if (config_load(argc, argv, environ, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "wirelink: %s\n", err);
		status = EXIT_USAGE;
	} else if (cfg.help) {
		usage(stdout);
	} else if (cfg.version) {
		printf("wirelink %s\n", WIRELINK_VERSION);
	} else if (cfg.dump) {
		config_dump(&cfg, stdout);
	} else {
		status = daemon_run(&cfg);
	}
	config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	for (size_t i = 0; argc > 1 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	return run_daemon(argc, argv);
}
