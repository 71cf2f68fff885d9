/*
 * cli.h - the verbs of the lockgraph command and what they share: exit
 * codes, usage text, and the read-print-count step that ends both `run` and
 * `show`. `ranks` (ranks.c) reads graph files instead.
 */
#ifndef LG_TOOL_CLI_H
#define LG_TOOL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "summary.h"

#ifndef LG_VERSION
#define LG_VERSION "0.1.0"
#endif

/* Exit codes of the tool itself. `run` otherwise passes the program's
 * status through (its exit code, or 128 + signal). */
enum {
    LG_EXIT_OK = 0,
    LG_EXIT_CYCLE = 1,         /* `ranks`: the graphs have a cycle; no rank file written;
                                  `report`, `merge`: findings, cycles */
    LG_EXIT_USAGE = 2,         /* bad command line; `show`, `report`, `merge`, `dot`:
                                  unreadable input */
    LG_EXIT_FINDINGS = 66,     /* default for --exit-code: findings were made */
    LG_EXIT_NOT_WATCHED = 67,  /* `run`: the program could not be watched (static, set-user-ID,
                                  file capabilities: said before starting it; or the library
                                  never started in it: said after) */
    LG_EXIT_TOOL_FAILED = 125, /* `run` could not set up (no library, no report dir) */
    LG_EXIT_CANNOT_EXEC = 126, /* the program exists but could not be executed */
    LG_EXIT_NOT_FOUND = 127,   /* the program was not found */
};

void lg_usage(FILE *out);
/* One verb's usage (its --help); false, printing nothing, for a verb
 * there is not. */
bool lg_usage_verb(FILE *out, const char *verb);

/* Is --help (or -h) among a verb's own arguments, argv[1..argc), before
 * a "--" that ends them? Anywhere, even where an option's value would go
 * (`run --report --help`): the verb then prints its usage and does nothing
 * else. A value that really is "--help" can be given as --report=--help. */
bool lg_help_asked(int argc, char *const *argv);

/* Parse the value of --exit-code: an integer 0..255. */
bool lg_parse_exit_code(const char *text, int *out);

int lg_cmd_run(int argc, char **argv);
int lg_cmd_show(int argc, char **argv);
int lg_cmd_ranks(int argc, char **argv);
int lg_cmd_report(int argc, char **argv);
int lg_cmd_dot(int argc, char **argv);
int lg_cmd_merge(int argc, char **argv);
/* dump.c: exit 0 no deadlock, 1 deadlocks, 2 error. */
int lg_cmd_dump(int argc, char **argv);

/* What lg_print_reports saw. */
struct lg_report_result {
    struct lg_summary_counts counts;
    size_t corrupt_lines;   /* corrupt lines skipped */
    size_t truncated_lines; /* last lines cut short by a dying writer */
    size_t unreadable_files;
    bool supp_failed; /* the suppressions file could not be used: nothing was suppressed */
};

/*
 * Read `paths[0..n)`, print every finding symbolized to opts->out (problems
 * with the files to stderr, before; notes about symbolizing, after) but
 * those the suppressions file `supp_path` (may be NULL) silences, then
 * `status_line` when not NULL (how the program ended), then the closing
 * line naming `where`, or `none_line` instead when it is not NULL and no
 * finding is shown. opts->sym is filled in here.
 */
void lg_print_reports(char *const *paths, size_t n, const char *where, const char *status_line,
                      const char *none_line, const char *supp_path, struct lg_summary_opts *opts,
                      struct lg_report_result *result);

#endif
