/*
 * main.c - the lockgraph command: dispatch to a verb, print usage and
 * version.
 *
 * Does: `run`, `show`, `ranks`, `help`, `--help`, `--version`; the usage text
 * and the --exit-code parser the verbs share.
 * Does not: parse a verb's own options (run.c, show.c, ranks.c do).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void lg_usage(FILE *out)
{
    fputs("usage: lockgraph run [--report FILE] [--options OPTS] [--exit-code N] [--live]\n"
          "                     -- PROG [ARGS...]\n"
          "       lockgraph show [--exit-code N] FILE...\n"
          "       lockgraph ranks GRAPH... [-o FILE]\n"
          "       lockgraph help | --help | --version\n"
          "\n"
          "run   Run PROG with liblockgraph.so preloaded, then print every finding it\n"
          "      made, with symbolized stacks.\n"
          "        --report FILE   write findings to FILE (%p becomes the pid); default:\n"
          "                        a new directory $TMPDIR/lockgraph.XXXXXX\n"
          "        --options OPTS  LOCKGRAPH_OPTIONS for the library (key=value:...)\n"
          "        --exit-code N   exit with N when there are findings (default 66)\n"
          "        --live          also print each finding the moment it is made (the\n"
          "                        default prints them all when the program ends)\n"
          "      The report goes to stderr; the program's stdout is left as it wrote it.\n"
          "      Exit: N on findings, else the program's status (128+signal when\n"
          "      killed); 127 program not found, 126 not executable, 125 lockgraph\n"
          "      could not set up, 2 bad usage.\n"
          "      The library is LOCKGRAPH_LIB, else ../lib/liblockgraph.so beside this\n"
          "      program, else the installed one.\n"
          "show  Print findings files (JSON Lines written by liblockgraph).\n"
          "      Exit: N (default 66) on findings, 0 without, 2 unreadable input.\n"
          "ranks Propose a rank file (ranks= in LOCKGRAPH_OPTIONS) from the graph files\n"
          "      of clean runs (graph= in LOCKGRAPH_OPTIONS, or lg_dump_graph): every lock\n"
          "      key gets a rank above every lock it was ever taken under.\n"
          "        -o FILE         write it to FILE instead of stdout\n"
          "      Exit: 0 written; 1 the graphs have a lock-order cycle, so no ranks fit\n"
          "      (the cycle is printed, nothing written); 2 bad usage or a graph file\n"
          "      that could not be read.\n",
          out);
}

bool lg_parse_exit_code(const char *text, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < 0 || v > 255)
        return false;
    *out = (int)v;
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        lg_usage(stderr);
        return LG_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "run") == 0)
        return lg_cmd_run(argc - 1, argv + 1);
    if (strcmp(verb, "show") == 0)
        return lg_cmd_show(argc - 1, argv + 1);
    if (strcmp(verb, "ranks") == 0)
        return lg_cmd_ranks(argc - 1, argv + 1);
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
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
