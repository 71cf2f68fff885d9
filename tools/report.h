/*
 * report.h - what `lockgraph report` (and `dot` on findings files) works
 * from, and its output formats.
 *
 * The model: findings files are read (findings.c), suppressed findings
 * marked (suppress.c), the rest grouped so each distinct finding is shown
 * once (dedupe.c), and one symbolizer serves every format. Each writer
 * takes the loaded report and a stream:
 *   text  - summary.c's blocks, one per group, with where else it was seen
 *   json  - each group's finding as written, stacks symbolized beside them
 *   sarif - SARIF 2.1.0 for code scanning (sarif.c)
 *   html  - one self-contained page (html.c)
 *   dot   - the cycles' lock graph for Graphviz (dot.c)
 */
#ifndef LG_TOOL_REPORT_H
#define LG_TOOL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dedupe.h"
#include "findings.h"
#include "summary.h"
#include "suppress.h"
#include "symbolize.h"

struct lg_report {
    char *const *paths; /* the findings files given */
    size_t n_paths;
    struct lg_findings set;
    bool *hidden;      /* hidden[i]: set.items[i] was suppressed */
    size_t suppressed; /* how many were */
    struct lg_supp supp;
    struct lg_groups groups; /* the findings not suppressed, grouped */
    struct lg_symbolizer *sym;
};

enum {
    LG_REPORT_DEDUPE = 1,     /* group repeats (else every finding is shown) */
    LG_REPORT_NOTE_EMPTY = 2, /* say so for each empty findings file */
};

/*
 * Read `paths`, load the suppressions files (none when n_supp is 0), mark
 * and group. Problems with the findings files go to `diag` and are counted
 * in r->set; they do not fail the load. `flags`: LG_REPORT_*. Returns 0,
 * or -1 after saying why when a suppressions file is unusable or memory ran
 * out.
 */
int lg_report_load(struct lg_report *r, char *const *paths, size_t n_paths,
                   const char *const *supp_paths, size_t n_supp, unsigned flags, FILE *diag);
void lg_report_free(struct lg_report *r);

/* Distinct findings that fail a run (detector errors are not), and all
 * findings they stand for. */
size_t lg_report_distinct(const struct lg_report *r);
size_t lg_report_total(const struct lg_report *r);

/* Did some input fail to be read (a file, or a corrupt line)? */
bool lg_report_input_failed(const struct lg_report *r);

void lg_report_text(struct lg_report *r, FILE *out, enum lg_markup markup);
/* The writers below return 0, or -1 when out of memory. */
int lg_report_json(struct lg_report *r, FILE *out);
int lg_report_sarif(struct lg_report *r, FILE *out);
/* `svg`: the lock graph picture to embed (a whole <svg> element), or NULL
 * for a list of each cycle instead. */
int lg_report_html(struct lg_report *r, FILE *out, const char *svg);
void lg_report_dot(struct lg_report *r, FILE *out);

/* The closing line: distinct findings by kind, how many in all, suppressed,
 * problems reading; `where` names the report (NULL: the files read). */
void lg_report_closing(struct lg_report *r, FILE *out, const char *where);

/* One group's block, as the text report prints it: the finding shown and,
 * after its first line, where else it was seen. */
void lg_report_print_group(struct lg_report *r, const struct lg_group *g, size_t number, FILE *out,
                           enum lg_markup markup);

/* "suppressed 2 findings by FILE:LINE (RULE)", a line per rule used. */
void lg_report_print_suppressions(struct lg_report *r, FILE *out);

/* ---- pieces the writers share ---- */

struct json_object;
/* A stack symbolized: [{"pc","function","file","line","module","offset",
 * "inlined"}], inlined calls expanded; absent parts left out. */
struct json_object *lg_report_frames_json(struct lg_symbolizer *sym, const struct lg_module *mods,
                                          size_t n_mods, const struct lg_stack *s);

/* Write `text` to `path` ("-": stdout), under a temporary name renamed into
 * place. Returns 0, or -1 after saying why on stderr. */
int lg_write_file(const char *path, const char *text, size_t len, const char *who);

#endif
