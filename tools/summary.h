/*
 * summary.h - the human-readable report of a set of findings.
 *
 * The model: each finding becomes one block headed "== KIND #N (pid P): ...",
 * with its locks labelled L1..Ln, its threads by lockgraph's thread number,
 * and its stacks symbolized; a lock-order cycle also gets a "possible
 * scenario" table in the style of the kernel's lockdep, a rank violation
 * says why each held lock forbids the new one. A lock in a ranked class
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

struct lg_summary_opts {
    FILE *out;
    struct lg_symbolizer *sym;
    /* In `run`: the program's pid and whether it ended by itself. A cycle
     * that process reported then provably did not hang it. */
    long program_pid;
    bool program_completed;
};

struct lg_summary_counts {
    size_t per_kind[LG_KIND_COUNT];
    size_t findings;  /* every kind but detector-error: what fails a run */
    size_t processes; /* distinct pids among those findings */
};

void lg_summary_count(const struct lg_findings *set, struct lg_summary_counts *counts);

/* One block per finding, in the order read. */
void lg_summary_print(const struct lg_findings *set, const struct lg_summary_opts *opts);

/* "lockgraph: 2 findings (1 lock-order-cycle, 1 held-at-exit) in 1 process;
 * report: WHERE", or "lockgraph: no findings; report: WHERE". */
void lg_summary_closing(FILE *out, const struct lg_findings *set, const char *where);

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

/* "thread 2 "name" (tid 1234)" */
void lg_print_thread(FILE *out, const struct lg_thread *t);

/* `s` in double quotes, with quotes, backslashes and control characters
 * escaped: text from the program under test cannot garble the output. */
void lg_put_quoted(FILE *out, const char *s);

#endif
