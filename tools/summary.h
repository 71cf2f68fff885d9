/*
 * summary.h - the human-readable report of a set of findings.
 *
 * The model: each finding becomes one block headed "== KIND #N (pid P): ...",
 * with its locks labelled L1..Ln, its threads by lockgraph's thread number,
 * and its stacks symbolized; a lock-order cycle also gets a "possible
 * scenario" table in the style of the kernel's lockdep (a cycle between
 * lock classes labels classes C1..Cn, names each by where its locks are
 * made and each edge by its two locks), a rank violation
 * says why each held lock forbids the new one, a deadlock (threads blocked
 * now) is headed "DEADLOCK" with a table of each thread's held and awaited
 * lock. A lock in a ranked class
 * shows its key, class and rank. One closing line
 * counts the findings by kind. Output goes to one FILE; nothing here decides
 * exit codes.
 */
#ifndef LG_TOOL_SUMMARY_H
#define LG_TOOL_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "findings.h"
#include "symbolize.h"

/* Edges (and locks) of a cycle printed in full; the rest are summarized so a
 * thousand-lock cycle stays readable. */
#define LG_SUMMARY_MAX_EDGES 20

/* How the text is dressed: plain; ANSI colour for a terminal; or plain
 * with each stack between LG_MARK_STACK_BEGIN and LG_MARK_STACK_END lines,
 * which the HTML page turns into folding (text from the program is escaped,
 * so these bytes never come from it). */
enum lg_markup { LG_MARKUP_NONE, LG_MARKUP_ANSI, LG_MARKUP_MARKS };
#define LG_MARK_STACK_BEGIN "\x01"
#define LG_MARK_STACK_END "\x02"

struct lg_summary_opts {
    FILE *out;
    struct lg_symbolizer *sym;
    /* In `run`: the program's pid and whether it ended by itself. A cycle
     * that process reported then provably did not hang it. */
    long program_pid;
    bool program_completed;
    enum lg_markup markup;
    /* Called after each finding's first line, to add lines of its own
     * (`report`: where else the same finding was seen). May be NULL. */
    void (*annotate)(FILE *out, const struct lg_finding *f, void *arg);
    void *annotate_arg;
};

struct lg_summary_counts {
    size_t per_kind[LG_KIND_COUNT];
    size_t findings;  /* every kind but detector-error: what fails a run (kinds
                         this lockgraph does not know included) */
    size_t processes; /* distinct pids among those findings */
};

void lg_summary_count(const struct lg_findings *set, struct lg_summary_counts *counts);
/* The same, leaving out the findings with hidden[i] set (suppressed);
 * hidden may be NULL. */
void lg_summary_count_visible(const struct lg_findings *set, const bool *hidden,
                              struct lg_summary_counts *counts);

/* One block per finding, in the order read, numbered per kind. */
void lg_summary_print(const struct lg_findings *set, const struct lg_summary_opts *opts);
void lg_summary_print_visible(const struct lg_findings *set, const bool *hidden,
                              const struct lg_summary_opts *opts);

/* One finding's block, as "KIND #number". */
void lg_summary_print_one(const struct lg_finding *f, size_t number,
                          const struct lg_summary_opts *opts);

/* Numbers findings per kind (kinds this lockgraph does not know by their
 * own names) for lg_summary_print_one. */
struct lg_numbering {
    size_t per_kind[LG_KIND_COUNT];
    struct {
        char *name; /* a copy: the findings may be gone */
        size_t count;
    } * other;
    size_t n_other, cap_other;
};
void lg_numbering_init(struct lg_numbering *nb);
size_t lg_numbering_next(struct lg_numbering *nb, const struct lg_finding *f);
void lg_numbering_free(struct lg_numbering *nb);

/* Counts kept while findings stream past, for the closing line: per
 * kind, kinds this lockgraph does not know by name (in order first seen),
 * and the distinct pids. Memory follows the pids and names, not the
 * findings. */
struct lg_tally {
    struct lg_summary_counts c;
    struct lg_numbering names; /* per_kind unused; other: the unknown kinds */
    void *pids;                /* a set of the pids of c.findings */
};
void lg_tally_init(struct lg_tally *t);
/* Count `f`; false when out of memory (its pid is then not counted). */
bool lg_tally_add(struct lg_tally *t, const struct lg_finding *f);
void lg_tally_free(struct lg_tally *t);
/* "1 lock-order-cycle, 2 held-across-io": the kinds counted, detector
 * errors left out. */
void lg_summary_kinds_tally(FILE *out, const struct lg_tally *t);
/* The closing line of lg_summary_closing_visible, from a tally and the
 * problems counted reading (`problems`: only its counters are used). */
void lg_summary_closing_tally(FILE *out, const struct lg_tally *t,
                              const struct lg_findings *problems, size_t suppressed,
                              const char *where);

/* "lockgraph: 2 findings (1 lock-order-cycle, 1 held-at-exit) in 1 process;
 * report: WHERE", or "lockgraph: no findings; report: WHERE". */
void lg_summary_closing(FILE *out, const struct lg_findings *set, const char *where);
/* The same, without the hidden findings, saying how many were suppressed. */
void lg_summary_closing_visible(FILE *out, const struct lg_findings *set, const bool *hidden,
                                size_t suppressed, const char *where);
/* "1 lock-order-cycle, 2 held-across-io": the kinds of the visible
 * findings, detector errors left out. */
void lg_summary_kinds(FILE *out, const struct lg_findings *set, const bool *hidden);

/* ---- the pieces, for the other reports (`lockgraph ranks`) ---- */

/* A stack as "INDENT#0 function (file:line)" lines, symbolized against
 * `mods`; with `drop_repeat` (a stack reconstructed like a first_stack),
 * frame 1 is dropped when it repeats frame 0's function. */
void lg_print_stack(FILE *out, struct lg_symbolizer *sym, const struct lg_module *mods,
                    size_t n_mods, const struct lg_stack *s, const char *indent, bool drop_repeat);

/* One address as a site: "function (file:line)" with debug info,
 * "function+0x12 (module+0x1234)" with symbols only, else
 * "0x... (module+0x1234)"; the innermost frame when calls were inlined. */
void lg_site_text(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                  uint64_t pc, char *buf, size_t len);

/* One resolved frame as the reports show it: "function (file:line)",
 * "function+0x12 (module+0x1234)" or "0x... (module+0x1234)". */
void lg_frame_text(const struct lg_frame *fr, char *buf, size_t len);

/* A source path under the current directory, relative to it; others as
 * they are. */
const char *lg_show_path(const char *path);

/* A lock's class in words, as the text report names it: "every mutex
 * (normal) made by mutex_create (x.c:56) called from conn_new (x.c:61)",
 * and with `with_key` its key. False (buf empty) for a lock without a
 * class (a file of an earlier version). */
bool lg_class_text(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                   const struct lg_lock *l, bool with_key, char *buf, size_t len);

/* "thread 2 "name" (tid 1234)" */
void lg_print_thread(FILE *out, const struct lg_thread *t);

/* `s` in double quotes, with quotes, backslashes and control characters
 * escaped: text from the program under test cannot garble the output. */
void lg_put_quoted(FILE *out, const char *s);

#endif
