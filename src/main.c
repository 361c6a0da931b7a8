/* wirelink: entry point and subcommand dispatch. */
#include "cli/cli.h"

#include <string.h>

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "decode", cmd_decode, "print wirelink packets (hex or raw) as canonical text" },
};

static void usage(FILE *out)
{
	fputs("usage: wirelink COMMAND [ARGS...]\n"
	      "       wirelink --version | --help\n\nCommands:\n",
	      out);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fputs("\nRun `wirelink COMMAND --help` for a command's options.\n", out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("wirelink %s\n", WIRELINK_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "wirelink: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
