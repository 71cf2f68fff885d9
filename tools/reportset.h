/*
 * reportset.h - what `report`, `dot` and `show` work from: findings files
 * read as a stream, suppressed findings counted out, the rest grouped so
 * each distinct finding is kept once; and the text pieces every format of
 * it shares (the closing line, where else a finding was seen, the
 * suppressions used).
 *
 * The model: findings are read one at a time (findings.c), matched against
 * the suppressions (suppress.c) and handed to a grouper (dedupe.c) that
 * keeps each group's first finding and the first places it was seen, or,
 * without dedupe and for a format that can, handed on to be printed at
 * once and dropped. One symbolizer serves the whole report. Memory follows
 * the distinct findings and the modules they name, not the input: 200 MB
 * of repeats take what one of them takes.
 * The formats that turn a loaded report into output are behind one table
 * (format.h); this file knows none of them.
 */
#ifndef LG_TOOL_REPORTSET_H
#define LG_TOOL_REPORTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dedupe.h"
#include "findings.h"
#include "summary.h"
#include "suppress.h"
#include "symbolize.h"

/* Places kept per group when every place is not asked for: enough for the
 * text ("seen 9 times: a, b, c, d and 5 more") and SARIF's list. */
#define LG_REPORT_SEEN_KEPT 100

struct lg_report {
    char *const *paths; /* the findings files given */
    size_t n_paths;
    struct lg_findings set; /* what went wrong reading (its counters; no items) */
    size_t suppressed;      /* findings a suppression matched */
    struct lg_supp supp;
    struct lg_symbolizer *sym;
    unsigned flags;
    FILE *diag;
    struct lg_grouper *grouper;
    /* After lg_report_read, for the formats: */
    const struct lg_group *groups; /* the distinct findings, in order of their first */
    size_t n_groups;
    size_t distinct;        /* groups but detector errors: what fails a run */
    size_t total;           /* findings those groups stand for */
    size_t errors;          /* groups of detector errors */
    struct lg_tally seen;   /* every finding not suppressed: their processes */
    struct lg_tally shown;  /* the groups' findings: their kinds */
    struct lg_numbering nb; /* numbers per kind, as groups are handed on */
    size_t n_read;          /* findings read */
};

enum {
    LG_REPORT_DEDUPE = 1,     /* group repeats (else every finding is shown) */
    LG_REPORT_NOTE_EMPTY = 2, /* say so for each empty findings file */
    LG_REPORT_ALL_SEEN = 4,   /* keep every place each group was seen (JSON lists them) */
};

/*
 * Load the suppressions files (none when n_supp is 0) and make ready to
 * read `paths`. `flags`: LG_REPORT_*. Returns 0, or -1 after saying why
 * on `diag` when a suppressions file is unusable or memory ran out.
 */
int lg_report_open(struct lg_report *r, char *const *paths, size_t n_paths,
                   const char *const *supp_paths, size_t n_supp, unsigned flags, FILE *diag);

/* A group handed on as it is read (without LG_REPORT_DEDUPE), numbered per
 * kind; the group and its finding are gone after the call. */
typedef int (*lg_report_each_fn)(void *arg, struct lg_report *r, const struct lg_group *g,
                                 size_t number);

/*
 * Read every file. Problems with them go to `diag` and are counted in
 * r->set; they do not fail the read. With `each` (only without
 * LG_REPORT_DEDUPE), every finding not suppressed goes to it at once and
 * is not kept; else the groups are kept for lg_report_each_group. Returns
 * 0, or -1 when out of memory (or `each` failed).
 */
int lg_report_read(struct lg_report *r, lg_report_each_fn each, void *arg);

/* What lg_report_read does with each finding, for findings that do not
 * come from files (the fuzz target): add one (taken, and freed), then
 * finish to make the groups. Each returns 0, or -1 when out of memory. */
int lg_report_add(struct lg_report *r, struct lg_finding *f);
int lg_report_finish(struct lg_report *r);

/* open + read, keeping the groups. */
int lg_report_load(struct lg_report *r, char *const *paths, size_t n_paths,
                   const char *const *supp_paths, size_t n_supp, unsigned flags, FILE *diag);
void lg_report_free(struct lg_report *r);

/* Hand each kept group, in order, numbered per kind, to `each`. Returns 0,
 * or the first nonzero `each` returned. */
int lg_report_each_group(struct lg_report *r, lg_report_each_fn each, void *arg);

/* Distinct findings that fail a run (detector errors are not), and all
 * findings they stand for. */
size_t lg_report_distinct(const struct lg_report *r);
size_t lg_report_total(const struct lg_report *r);

/* Did some input fail to be read (a file, or a corrupt line)? */
bool lg_report_input_failed(const struct lg_report *r);
/* Could no input be read at all: every file missing, unreadable or
 * nothing but garbage? Then there is nothing to write a report file of. */
bool lg_report_nothing_read(const struct lg_report *r);

/* The closing line: distinct findings by kind, how many in all, suppressed,
 * problems reading; `where` names the report (NULL: the files read). */
void lg_report_closing(struct lg_report *r, FILE *out, const char *where);

/* One group's block, as the text report prints it: the finding shown and,
 * after its first line, where else it was seen. */
void lg_report_print_group(struct lg_report *r, const struct lg_group *g, size_t number, FILE *out,
                           enum lg_markup markup);

/* "suppressed 2 findings by FILE:LINE (RULE)", a line per rule used. */
void lg_report_print_suppressions(struct lg_report *r, FILE *out);

/* Is there a lock-order cycle among the groups (the picture has edges)? */
bool lg_report_has_cycle(const struct lg_report *r);

#endif
