/*
 * options.h - LOCKGRAPH_OPTIONS: one environment variable, parsed once.
 *
 * Syntax: key=value pairs separated by ':', for example
 *     report=/tmp/lg.%p.jsonl:on_cycle=abort:stack_depth=24:quiet=1
 * The table below is the only place an option is declared; help=1 prints it.
 */
#ifndef LG_OPTIONS_H
#define LG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define LG_REPORT_PATH_MAX 4096
#define LG_IO_ALLOW_MAX 2048

enum lg_action { LG_ACTION_REPORT, LG_ACTION_ABORT, LG_ACTION_OFF };

/* X(name, type, default, lo, hi, help). Types: PATH, ACTION (report|abort),
 * IOACTION (report|abort|off), INT, BOOL, LIST (comma-separated; may hold
 * ':', and ends at the first ':' that starts another key=); lo and hi bound
 * INT values and are ignored for the others. */
#define LG_OPTION_TABLE(X)                                                                         \
    X(report, PATH, "lockgraph.%p.jsonl", 0, 0,                                                    \
      "findings file, JSON Lines; %p becomes the pid (LOCKGRAPH_REPORT sets it too)")               \
    X(on_cycle, ACTION, LG_ACTION_REPORT, 0, 0,                                                    \
      "report|abort: what a lock-order-cycle or self-deadlock does once it is written")           \
    X(on_assert, ACTION, LG_ACTION_ABORT, 0, 0,                                                    \
      "report|abort: what a failed lg_assert_no_locks_held/lg_assert_held does after saying so")  \
    X(on_deadlock, ACTION, LG_ACTION_REPORT, 0, 0,                                                 \
      "report|abort: what a deadlock (threads really blocked on each other) does once written")   \
    X(wait_for, BOOL, true, 0, 0,                                                                  \
      "0: a busy lock is waited for in one call, no wait-for chain (no deadlock findings)")       \
    X(watchdog, INT, 0, 0, 86400,                                                                  \
      "seconds: a thread of lockgraph's reports waits longer than this, and cycles among waits")   \
    X(hold_warn_ms, INT, 0, 0, 86400000, "report locks held longer than this many ms (0: off)")    \
    X(on_rank, ACTION, LG_ACTION_REPORT, 0, 0,                                                     \
      "report|abort: what a rank-violation does once it is written")                               \
    X(ranks, PATH, "", 0, 0, "rank file: the declared lock order to enforce (FINDINGS.md)")         \
    X(graph, PATH, "", 0, 0,                                                                       \
      "write the lock graph, with stable keys, to this file at exit; %p becomes the pid")          \
    X(suppressions, PATH, "", 0, 0,                                                                \
      "suppressions file; the lockgraph command applies it when it reads the findings")            \
    X(on_io, IOACTION, LG_ACTION_REPORT, 0, 0,                                                     \
      "report|abort|off: a blocking I/O call made while holding a lock (held-across-io)")         \
    X(io_allow, LIST, "", 0, 0,                                                                    \
      "held-across-io accepted for these calls and locks: write,read,name:NAME,"                  \
      "site:MODULE+0xOFF,addr:0xADDR")                                                             \
    X(classes, BOOL, true, 0, 0,                                                                   \
      "0: every lock is a class of its own; only cycles the locks themselves close are reported")  \
    X(lock_wrappers, PATH, "", 0, 0,                                                               \
      "lock wrappers beyond the name rule: function symbols, comma-separated; '-' ends the rule")  \
    X(on_wait, IOACTION, LG_ACTION_REPORT, 0, 0,                                                   \
      "report|abort|off: a join, semaphore, barrier, process or condition wait (holding more "    \
      "than its mutex) made while holding a lock (held-across-wait)")                              \
    X(wait_allow, LIST, "", 0, 0,                                                                  \
      "held-across-wait accepted for these calls and locks: pthread_join,sem_wait,name:NAME,"     \
      "site:MODULE+0xOFF,addr:0xADDR")                                                             \
    X(on_fork, IOACTION, LG_ACTION_OFF, 0, 0,                                                      \
      "report|abort|off: a fork made while another thread holds a lock, said in the child "       \
      "(fork-with-locks-held); off by default: a child that only execs is fine")                  \
    X(dump, BOOL, true, 0, 0,                                                                      \
      "1: answer `lockgraph dump PID` (a sleeping thread on a unix socket); 0: no dump thread")    \
    X(stack_depth, INT, 16, 1, 128, "frames kept per stack")                                       \
    X(quiet, BOOL, false, 0, 0, "1: no per-finding lines on stderr")                               \
    X(held_stacks, BOOL, false, 0, 0,                                                              \
      "1: capture a full stack at every lock (slower; exact first stacks in cycle reports)")      \
    X(max_memory, INT, 0, 0, 1048576, "MiB lockgraph may map for itself; 0: no limit")             \
    X(help, BOOL, false, 0, 0, "1: print this list and continue")

struct lg_options {
    /* The scalars first, on one page; the long strings after them. */
    enum lg_action on_cycle;
    enum lg_action on_assert;
    enum lg_action on_deadlock;
    bool wait_for;
    long watchdog;
    long hold_warn_ms;
    enum lg_action on_rank;
    enum lg_action on_io;
    bool classes;
    enum lg_action on_wait;
    enum lg_action on_fork;
    bool dump;
    long stack_depth;
    bool quiet;
    bool held_stacks;
    long max_memory;
    bool help;
    char report[LG_REPORT_PATH_MAX];
    char ranks[LG_REPORT_PATH_MAX];
    char graph[LG_REPORT_PATH_MAX];
    char suppressions[LG_REPORT_PATH_MAX];
    char io_allow[LG_IO_ALLOW_MAX];
    char lock_wrappers[LG_REPORT_PATH_MAX];
    char wait_allow[LG_IO_ALLOW_MAX];
};

extern struct lg_options lg__opt;

void lg__options_defaults(struct lg_options *o);
/* The same onto a struct known to be all zero (lg__opt at start). */
void lg__options_defaults_on_zero(struct lg_options *o);

/* Parse s (may be NULL or empty) into o, which holds the defaults. Returns 0,
 * or -1 with a one-line reason in err. Allocates nothing. */
int lg__options_parse(const char *s, struct lg_options *o, char *err, size_t errlen);

/* LOCKGRAPH_REPORT's value into o->report: the same rule as report=, so an
 * empty or over-long value is an error with a reason in err, never cut
 * short or taken for the default. Returns 0 or -1. */
int lg__options_set_report(struct lg_options *o, const char *value, char *err, size_t errlen);

/* The option table as text, to fd: every option, its type, the range of
 * an INT, and what it does. */
void lg__options_help(int fd);

#endif
