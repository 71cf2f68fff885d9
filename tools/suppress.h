/*
 * suppress.h - the suppressions file (FINDINGS.md "The suppressions file"):
 * patterns that silence findings a team has looked at and accepted.
 *
 * The model: one rule a line, each a list of TYPE:GLOB patterns that must
 * all match the finding - `kind:` its kind, `lock:` the name or key of one
 * of its locks, `function:` a function in one of its stacks (inlined frames
 * included), `file:` a source file in one of its stacks. A finding matching
 * any rule is suppressed; each rule counts what it silenced, so a report
 * can say how many were and by which line. Named by --suppressions FILE or
 * `suppressions=FILE` in LOCKGRAPH_OPTIONS (the library accepts the option
 * and leaves it to this tool).
 *
 * Cost: a function or file pattern symbolizes the finding's stacks; the
 * symbolizer caches, so a report pays for each module once.
 */
#ifndef LG_TOOL_SUPPRESS_H
#define LG_TOOL_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "findings.h"
#include "symbolize.h"

enum lg_supp_type { LG_SUPP_KIND, LG_SUPP_LOCK, LG_SUPP_FUNCTION, LG_SUPP_FILE };

struct lg_supp_pattern {
    enum lg_supp_type type;
    char *glob; /* fnmatch(3) pattern */
};

struct lg_supp_rule {
    const char *path; /* the file it is in (points into lg_supp) */
    size_t line;
    char *text; /* the line as written, for messages */
    struct lg_supp_pattern *pats;
    size_t n_pats;
    size_t hits; /* findings it suppressed */
};

struct lg_supp {
    struct lg_supp_rule *rules;
    size_t n, cap;
    char **paths; /* files loaded */
    size_t n_paths;
};

void lg_supp_init(struct lg_supp *s);
void lg_supp_free(struct lg_supp *s);

/* Add the rules of the file at `path`. A file that cannot be read, or has
 * a bad line, is an error: each problem goes to `diag` with file:line and
 * -1 is returned (the good lines are kept, but a report should not run on
 * half its suppressions). */
int lg_supp_load(struct lg_supp *s, const char *path, FILE *diag);

/* The value of suppressions= in an options string ("a=1:suppressions=F"),
 * copied to buf; false when absent or empty. */
bool lg_supp_from_options(const char *options, char *buf, size_t len);

/* What a rule is matched against: a finding, or a merged cycle. */
struct lg_supp_stack {
    const struct lg_stack *stack;
    const struct lg_module *mods;
    size_t n_mods;
};
struct lg_supp_subject {
    const char *kind;
    const char *const *locks; /* names and keys */
    size_t n_locks;
    const struct lg_supp_stack *stacks;
    size_t n_stacks;
};

/* The first rule that matches, its hits counted; NULL when none does. */
const struct lg_supp_rule *lg_supp_match(struct lg_supp *s, const struct lg_supp_subject *subj,
                                         struct lg_symbolizer *sym);

/* The same for a finding: its kind, every lock it names (a rank-order-cycle's
 * classes count as lock names) and every stack, creation stacks included. */
const struct lg_supp_rule *lg_supp_match_finding(struct lg_supp *s, const struct lg_finding *f,
                                                 struct lg_symbolizer *sym);

#endif
