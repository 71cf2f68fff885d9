/*
 * main.c - the lockgraph command: dispatch to a verb, print usage and
 * version.
 *
 * Does: `run`, `show`, `report`, `dot`, `merge`, `ranks`, `dump`, `help`, `--help`,
 * `--version` (the usage text is in usage.c).
 * Does not: parse a verb's own options (run.c, show.c, report.c, merge.c,
 * ranks.c, dump.c do).
 */
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        lg_usage(stderr);
        return LG_EXIT_USAGE;
    }
    const char *verb = argv[1];
    /* `lockgraph VERB --help`, and --help after other options, is that
     * verb's usage: each verb looks for it among its own options
     * (lg_help_asked; `run -- prog --help` is the program's). */
    if (strcmp(verb, "run") == 0)
        return lg_cmd_run(argc - 1, argv + 1);
    if (strcmp(verb, "show") == 0)
        return lg_cmd_show(argc - 1, argv + 1);
    if (strcmp(verb, "ranks") == 0)
        return lg_cmd_ranks(argc - 1, argv + 1);
    if (strcmp(verb, "report") == 0)
        return lg_cmd_report(argc - 1, argv + 1);
    if (strcmp(verb, "dot") == 0)
        return lg_cmd_dot(argc - 1, argv + 1);
    if (strcmp(verb, "merge") == 0)
        return lg_cmd_merge(argc - 1, argv + 1);
    if (strcmp(verb, "dump") == 0)
        return lg_cmd_dump(argc - 1, argv + 1);
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        /* `lockgraph help VERB`: that verb's usage. */
        if (argc > 2) {
            if (lg_usage_verb(stdout, argv[2]))
                return LG_EXIT_OK;
            fprintf(stderr, "lockgraph help: unknown command '%s'\n\n", argv[2]);
            lg_usage(stderr);
            return LG_EXIT_USAGE;
        }
        lg_usage(stdout);
        return LG_EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("lockgraph %s\n", LG_VERSION);
        return LG_EXIT_OK;
    }
    fprintf(stderr, "lockgraph: unknown command '%s'\n\n", verb);
    lg_usage(stderr);
    return LG_EXIT_USAGE;
}
