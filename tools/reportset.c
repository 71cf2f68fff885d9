/*
 * reportset.c - findings files read as a stream into the distinct
 * findings a report shows, and the text pieces the formats share.
 *
 * Does: load the suppressions; read each file (findings.c), count out
 * suppressed findings (each rule counts its hits), group the rest
 * (dedupe.c) or hand each on at once; keep the counts of the closing line
 * as findings pass (kinds, processes); print a group's text block with
 * where else it was seen, the closing line, the suppressions used.
 * Does not: parse findings (findings.c), render a finding (summary.c), or
 * know any output format (format_*.c, behind format.h).
 */
#include "reportset.h"

#include "classkey.h"

#include <stdlib.h>
#include <string.h>

/* Places named in "seen N times: ..." before "and N more". */
#define MAX_SEEN_NAMED 4

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* ---- reading ---- */

/* By the report's symbolizer as it is when asked (a caller may swap it). */
static uint64_t fold_identity(void *arg, const struct lg_finding *f, const struct lg_lock *l)
{
    const struct lg_report *r = arg;
    return lg_class_fold_identity(r->sym, f, l);
}

int lg_report_open(struct lg_report *r, char *const *paths, size_t n_paths,
                   const char *const *supp_paths, size_t n_supp, unsigned flags, FILE *diag)
{
    memset(r, 0, sizeof *r);
    r->paths = paths;
    r->n_paths = n_paths;
    r->flags = flags;
    r->diag = diag;
    lg_findings_init(&r->set);
    lg_supp_init(&r->supp);
    lg_tally_init(&r->seen);
    lg_tally_init(&r->shown);
    lg_numbering_init(&r->nb);

    int bad = 0;
    for (size_t i = 0; i < n_supp; i++)
        if (lg_supp_load(&r->supp, supp_paths[i], diag) != 0)
            bad = -1;
    if (bad) {
        fprintf(diag, "lockgraph: the suppressions could not be read; nothing reported\n");
        return -1;
    }
    r->sym = lg_symbolizer_new(diag);
    r->grouper = lg_grouper_new((flags & LG_REPORT_DEDUPE) != 0, true,
                                (flags & LG_REPORT_ALL_SEEN) ? SIZE_MAX : LG_REPORT_SEEN_KEPT);
    if (!r->sym || !r->grouper) {
        fprintf(diag, "lockgraph: out of memory\n");
        return -1;
    }
    /* Classes whose init sites are one source line (a helper inlined in
     * two places) are one class here. */
    lg_grouper_fold_classes(r->grouper, fold_identity, r);
    return 0;
}

struct reading {
    struct lg_report *r;
    lg_report_each_fn each;
    void *arg;
};

/* A group's finding, counted for the closing line. */
static void count_shown(struct lg_report *r, const struct lg_group *g)
{
    lg_tally_add(&r->shown, g->finding);
    if (g->finding->kind == LG_KIND_DETECTOR_ERROR) {
        r->errors++;
    } else {
        r->distinct++;
        r->total += g->n;
    }
}

static int take(void *arg, struct lg_finding *f)
{
    struct reading *rd = arg;
    struct lg_report *r = rd->r;
    size_t index = r->n_read++;
    int rc = 0;
    if (lg_supp_match_finding(&r->supp, f, r->sym)) {
        r->suppressed++;
        lg_finding_free(f);
        return 0;
    }
    if (!lg_tally_add(&r->seen, f))
        rc = -1;
    if (rd->each) {
        struct lg_seen s = {.file = f->file, .line = f->line, .pid = f->pid, .index = index};
        struct lg_group g = {.first = index,
                             .finding = f,
                             .n = 1,
                             .processes = 1,
                             .paths = 1,
                             .seen = &s,
                             .n_seen = 1};
        count_shown(r, &g);
        if (rd->each(rd->arg, r, &g, lg_numbering_next(&r->nb, f)) != 0)
            rc = -1;
        lg_finding_free(f);
        return rc;
    }
    struct lg_finding *copy = malloc(sizeof *copy);
    if (!copy) {
        lg_finding_free(f);
        return -1;
    }
    *copy = *f;
    if (lg_grouper_add(r->grouper, index, copy) != 0)
        rc = -1;
    return rc;
}

int lg_report_add(struct lg_report *r, struct lg_finding *f)
{
    struct reading rd = {.r = r};
    return take(&rd, f);
}

int lg_report_finish(struct lg_report *r)
{
    r->n_groups = lg_grouper_groups(r->grouper, &r->groups);
    if (!r->groups)
        return -1;
    r->distinct = r->total = r->errors = 0;
    lg_tally_free(&r->shown);
    lg_tally_init(&r->shown);
    for (size_t i = 0; i < r->n_groups; i++)
        count_shown(r, &r->groups[i]);
    return 0;
}

int lg_report_read(struct lg_report *r, lg_report_each_fn each, void *arg)
{
    struct reading rd = {.r = r, .each = (r->flags & LG_REPORT_DEDUPE) ? NULL : each, .arg = arg};
    for (size_t i = 0; i < r->n_paths; i++) {
        size_t empty = r->set.empty_files;
        lg_findings_stream_file(&r->set, r->paths[i], r->diag, take, &rd);
        /* An empty file is a process that found nothing, worth a word when
         * it is asked about by name. */
        if ((r->flags & LG_REPORT_NOTE_EMPTY) && r->set.empty_files > empty)
            fprintf(r->diag,
                    "lockgraph: %s: note: empty: no findings (a process that found "
                    "nothing, or one that has not found anything yet)\n",
                    r->paths[i]);
    }
    fflush(r->diag);
    if (rd.each)
        return 0;
    if (lg_report_finish(r) != 0) {
        fprintf(r->diag, "lockgraph: out of memory\n");
        return -1;
    }
    return 0;
}

int lg_report_load(struct lg_report *r, char *const *paths, size_t n_paths,
                   const char *const *supp_paths, size_t n_supp, unsigned flags, FILE *diag)
{
    if (lg_report_open(r, paths, n_paths, supp_paths, n_supp, flags, diag) != 0)
        return -1;
    if (lg_report_read(r, NULL, NULL) != 0) {
        fprintf(diag, "lockgraph: out of memory\n");
        return -1;
    }
    return 0;
}

void lg_report_free(struct lg_report *r)
{
    lg_grouper_free(r->grouper);
    lg_findings_free(&r->set);
    lg_supp_free(&r->supp);
    lg_symbolizer_free(r->sym);
    lg_tally_free(&r->seen);
    lg_tally_free(&r->shown);
    lg_numbering_free(&r->nb);
    memset(r, 0, sizeof *r);
}

int lg_report_each_group(struct lg_report *r, lg_report_each_fn each, void *arg)
{
    struct lg_numbering nb;
    lg_numbering_init(&nb);
    int rc = 0;
    for (size_t i = 0; i < r->n_groups && rc == 0; i++)
        rc = each(arg, r, &r->groups[i], lg_numbering_next(&nb, r->groups[i].finding));
    lg_numbering_free(&nb);
    return rc;
}

size_t lg_report_distinct(const struct lg_report *r)
{
    return r->distinct;
}

size_t lg_report_total(const struct lg_report *r)
{
    return r->total;
}

bool lg_report_input_failed(const struct lg_report *r)
{
    return r->set.unreadable_files > 0 || r->set.corrupt_lines > 0;
}

bool lg_report_nothing_read(const struct lg_report *r)
{
    return r->set.usable_files == 0;
}

bool lg_report_has_cycle(const struct lg_report *r)
{
    for (size_t i = 0; i < r->n_groups; i++)
        if (r->groups[i].finding->kind == LG_KIND_CYCLE)
            return true;
    return false;
}

/* ---- text ---- */

struct annotation {
    struct lg_report *r;
    const struct lg_group *g;
};

/* "   seen 3 times, in 2 processes: a.jsonl:1 (pid 10), b.jsonl:4 (pid 11), ..." */
static void annotate(FILE *out, const struct lg_finding *f, void *arg)
{
    struct annotation *a = arg;
    const struct lg_group *g = a->g;
    if (g->n == 1) {
        /* Several files: say which one each finding is from. */
        if (a->r->n_paths > 1)
            fprintf(out, "   in %s:%zu\n", f->file, f->line);
        return;
    }
    fprintf(out, "   seen %zu times, in %zu %s", g->n, g->processes,
            plural(g->processes, "process", "processes"));
    if (g->paths > 1)
        fprintf(out, ", by %zu code paths (the first shown; --no-dedupe shows each)", g->paths);
    fputc(':', out);
    for (size_t i = 0; i < g->n && i < g->n_seen; i++) {
        if (i == MAX_SEEN_NAMED && g->n > MAX_SEEN_NAMED + 1) {
            fprintf(out, " and %zu more", g->n - i);
            break;
        }
        const struct lg_seen *m = &g->seen[i];
        fprintf(out, "%s %s:%zu (pid %ld)", i ? "," : "", m->file, m->line, m->pid);
    }
    fputc('\n', out);
}

void lg_report_print_group(struct lg_report *r, const struct lg_group *g, size_t number, FILE *out,
                           enum lg_markup markup)
{
    struct annotation a = {.r = r, .g = g};
    /* Notes about its modules before the block, not inside its stacks. */
    lg_symbolizer_prepare(r->sym, g->finding->modules, g->finding->n_modules);
    struct lg_summary_opts o = {
        .out = out, .sym = r->sym, .markup = markup, .annotate = annotate, .annotate_arg = &a};
    lg_summary_print_one(g->finding, number, &o);
}

void lg_report_closing(struct lg_report *r, FILE *out, const char *where)
{
    size_t distinct = r->distinct, total = r->total;
    if (distinct == 0) {
        fputs("lockgraph: no findings", out);
    } else {
        fprintf(out, "lockgraph: %zu %s (", distinct,
                total > distinct ? plural(distinct, "distinct finding", "distinct findings")
                                 : plural(distinct, "finding", "findings"));
        lg_summary_kinds_tally(out, &r->shown);
        fputc(')', out);
        if (total > distinct)
            fprintf(out, " from %zu findings", total);
        fprintf(out, " in %zu %s", r->seen.c.processes,
                plural(r->seen.c.processes, "process", "processes"));
    }
    if (r->suppressed)
        fprintf(out, "; %zu suppressed", r->suppressed);
    if (r->errors)
        fprintf(out, "; %zu detector %s (results may be incomplete)", r->errors,
                plural(r->errors, "error", "errors"));
    size_t bad = r->set.corrupt_lines + r->set.truncated_lines;
    if (bad)
        fprintf(out, "; %zu unreadable %s skipped", bad, plural(bad, "line", "lines"));
    if (r->set.unreadable_files)
        fprintf(out, "; %zu unreadable %s", r->set.unreadable_files,
                plural(r->set.unreadable_files, "file", "files"));
    if (where)
        fprintf(out, "; report: %s\n", where);
    else if (r->n_paths == 1)
        fprintf(out, "; report: %s\n", r->paths[0]);
    else
        fprintf(out, "; report: %zu files\n", r->n_paths);
}

/* "suppressed 2 findings by sup.txt:3 (lock:log*)", a line per rule used. */
void lg_report_print_suppressions(struct lg_report *r, FILE *out)
{
    for (size_t i = 0; i < r->supp.n; i++) {
        const struct lg_supp_rule *rule = &r->supp.rules[i];
        if (rule->hits == 0)
            continue;
        fprintf(out, "suppressed %zu %s by %s:%zu (", rule->hits,
                plural(rule->hits, "finding", "findings"), rule->path, rule->line);
        for (const char *c = rule->text; *c; c++)
            fputc((unsigned char)*c < ' ' ? '?' : *c, out);
        fputs(")\n", out);
    }
}
