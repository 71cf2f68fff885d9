/*
 * usage.c - the usage text of the lockgraph command, and the --exit-code
 * parser the verbs share. Apart from main.c so the verbs, which live in
 * the tool's library for the tests, can print it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Each verb: its synopsis (the lines after "usage: "), and what it does,
 * as the global usage prints them; a verb's --help prints its own. */
static const struct {
    const char *verb, *synopsis, *text;
} verbs[] = {
    {"run",
     "lockgraph run [--report FILE] [--options OPTS] [--exit-code N] [--live]\n"
     "                     -- PROG [ARGS...]\n",
     "run   Run PROG with liblockgraph.so preloaded, then print every finding it\n"
     "      made, with symbolized stacks.\n"
     "        --report FILE   write findings to FILE (%p becomes the pid; its\n"
     "                        directory is made if missing); default: a new\n"
     "                        directory $TMPDIR/lockgraph.XXXXXX\n"
     "        --options OPTS  LOCKGRAPH_OPTIONS for the library (key=value:...),\n"
     "                        checked before the program starts\n"
     "        --exit-code N   exit with N when there are findings (default 66)\n"
     "        --live          also print each finding the moment it is made (the\n"
     "                        default prints them all when the program ends)\n"
     "      The report goes to stderr; the program's stdout is left as it wrote it.\n"
     "      Exit: N on findings (those the library could only write to the\n"
     "      program's stderr too), else the program's status (128+signal when\n"
     "      killed); 67 the program could not be watched: statically linked,\n"
     "      set-user-ID, set-group-ID or with file capabilities (refused before it\n"
     "      starts), or the library never started in it or in what it exec'd\n"
     "      (said after); 127 program not found, 126 not executable, 125\n"
     "      lockgraph could not set up, 2 bad usage or options.\n"
     "      The library is LOCKGRAPH_LIB, else ../lib/liblockgraph.so beside this\n"
     "      program, else the installed one.\n"},
    {"show", "lockgraph show [--exit-code N] [--suppressions FILE] FILE...\n",
     "show  Print findings files (JSON Lines written by liblockgraph), every finding.\n"
     "      Exit: N (default 66) on findings, 0 without, 2 unreadable input.\n"},
    {"report",
     "lockgraph report [--format text|json|sarif|html] [-o OUT] [--suppressions FILE]\n"
     "                        [--color auto|always|never] [--no-dedupe] FILE...\n",
     "report Findings files of one or many processes and runs, each distinct finding\n"
     "      once (the same cycle, or the same code, seen again is counted, not\n"
     "      repeated), stacks symbolized offline from the recorded modules.\n"
     "        --format F      text (default; colour on a terminal), json, sarif\n"
     "                        (SARIF 2.1.0 for code scanning), html (one\n"
     "                        self-contained page)\n"
     "        -o OUT          write it to OUT instead of stdout\n"
     "        --suppressions FILE  silence accepted findings (FINDINGS.md); also\n"
     "                        suppressions=FILE in LOCKGRAPH_OPTIONS\n"
     "        --color WHEN    auto (a terminal, NO_COLOR unset), always, never\n"
     "        --no-dedupe     show every finding, repeats too\n"
     "      Exit: 0 nothing found, 1 findings, 2 input that could not be read.\n"},
    {"dot", "lockgraph dot [-o OUT] [--svg OUT.svg] [--suppressions FILE] FILE...\n",
     "dot   The lock graph as Graphviz DOT: of findings files (their cycles), or of\n"
     "      graph files (the union, cycles in red). --svg OUT.svg renders it with\n"
     "      Graphviz's dot. Exit: 0, or 2 unreadable input or no Graphviz for --svg.\n"},
    {"merge", "lockgraph merge [--format text|json] [-o OUT] [--suppressions FILE] GRAPH...\n",
     "merge Union the graph files of many runs (graph= in LOCKGRAPH_OPTIONS) and\n"
     "      report every lock-order cycle of the union once, with the run each edge\n"
     "      came from, saying which cycles no single run showed.\n"
     "      Exit: 1 a cycle, 0 none, 2 input that could not be read.\n"},
    {"ranks", "lockgraph ranks GRAPH... [-o FILE]\n",
     "ranks Propose a rank file (ranks= in LOCKGRAPH_OPTIONS) from the graph files\n"
     "      of clean runs (graph= in LOCKGRAPH_OPTIONS, or lg_dump_graph): every lock\n"
     "      key gets a rank above every lock it was ever taken under.\n"
     "        -o FILE         write it to FILE instead of stdout\n"
     "      Exit: 0 written; 1 the graphs have a lock-order cycle, so no ranks fit\n"
     "      (the cycle is printed, nothing written); 2 bad usage or a graph file\n"
     "      that could not be read.\n"},
    {"dump", "lockgraph dump [--format text|json] [--timeout SECONDS] PID\n",
     "dump  Every thread of a running process under lockgraph, right now: the locks\n"
     "      it holds (where taken), what it waits for (a lock and its owner, a thread\n"
     "      it joins, a condition variable, a semaphore, a barrier, a process), and\n"
     "      every deadlock, symbolized. The process is not stopped: its lockgraph\n"
     "      answers on the abstract unix socket lockgraph.PID once it has started a\n"
     "      thread (dump=0 turns it off).\n"
     "        --format F      text (default) or json\n"
     "        --timeout S     give up when it stops answering for S seconds (10)\n"
     "      Exit: 0 no thread deadlocked, 1 some are, 2 error (no such process, not\n"
     "      running lockgraph, not permitted, it exited mid-dump).\n"},
};

#define N_VERBS (sizeof verbs / sizeof *verbs)

/* Input limits every verb that reads findings or graph files shares. */
static const char limits[] =
    "      Lines longer than 16 MiB are refused (named with file:line) and skipped;\n"
    "      input that never ends a line (a binary, /dev/zero) stops being read.\n";

void lg_usage(FILE *out)
{
    for (size_t i = 0; i < N_VERBS; i++)
        fprintf(out, "%s%s", i ? "       " : "usage: ", verbs[i].synopsis);
    fputs("       lockgraph help | --help | --version\n\n", out);
    for (size_t i = 0; i < N_VERBS; i++)
        fputs(verbs[i].text, out);
}

bool lg_usage_verb(FILE *out, const char *verb)
{
    for (size_t i = 0; i < N_VERBS; i++) {
        if (strcmp(verbs[i].verb, verb) != 0)
            continue;
        fprintf(out, "usage: %s\n%s", verbs[i].synopsis, verbs[i].text);
        if (strcmp(verb, "run") != 0 && strcmp(verb, "dump") != 0)
            fputs(limits, out);
        return true;
    }
    return false;
}

bool lg_help_asked(int argc, char *const *argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
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
