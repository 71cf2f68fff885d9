/*
 * summary.c - print findings as text a person can act on: the entry
 * points of the text report.
 *
 * Does: one block per finding, picked from a table by kind (the blocks
 * are in summary_cycle.c, summary_misuse.c, summary_rank.c,
 * summary_wait.c, summary_hold.c and summary_other.c, their pieces in
 * summary_core.c); the numbering per kind, the counts and the closing
 * count line; the pieces the other reports borrow (a stack, a site, a
 * thread, quoting).
 * Does not: read files, resolve addresses itself (symbolize.c does), or pick
 * exit codes.
 */
#include "summary.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "summary_int.h"

/* ---- the helpers other reports use ---- */

void lg_print_stack(FILE *out, struct lg_symbolizer *sym, const struct lg_module *mods,
                    size_t n_mods, const struct lg_stack *s, const char *indent, bool drop_repeat)
{
    struct lg_printer p;
    lg__printer_init(&p, out, sym, mods, n_mods);
    lg__print_stack(&p, s, indent, drop_repeat);
}

void lg_site_text(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                  uint64_t pc, char *buf, size_t len)
{
    struct lg_printer p;
    lg__printer_init(&p, NULL, sym, mods, n_mods);
    lg__site_text(&p, pc, buf, len);
}

void lg_frame_text(const struct lg_frame *fr, char *buf, size_t len)
{
    struct lg_printer p;
    lg__printer_init(&p, NULL, NULL, NULL, 0);
    lg__frame_text(&p, fr, buf, len);
}

const char *lg_show_path(const char *path)
{
    static char cwd[4096];
    static size_t cwd_len;
    static bool done;
    if (!done) {
        done = true;
        if (getcwd(cwd, sizeof cwd))
            cwd_len = strlen(cwd);
        if (cwd_len == 1)
            cwd_len = 0;
    }
    if (cwd_len && strncmp(path, cwd, cwd_len) == 0 && path[cwd_len] == '/')
        return path + cwd_len + 1;
    return path;
}

void lg_print_thread(FILE *out, const struct lg_thread *t)
{
    struct lg_printer p = {.out = out};
    lg__print_thread(&p, t);
}

void lg_put_quoted(FILE *out, const char *s)
{
    lg__put_quoted(out, s);
}

/* Does the finding fail a run? Everything but lockgraph's own errors,
 * including kinds this lockgraph does not know. */
static bool counts_as_finding(const struct lg_finding *f)
{
    return f->kind != LG_KIND_DETECTOR_ERROR;
}

static int by_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

void lg_summary_count_visible(const struct lg_findings *set, const bool *hidden,
                              struct lg_summary_counts *c)
{
    memset(c, 0, sizeof *c);
    /* Distinct pids by sorting: a run of many processes may leave a
     * hundred thousand findings. */
    long *pids = malloc((set->n ? set->n : 1) * sizeof *pids);
    size_t n_pids = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct lg_finding *f = &set->items[i];
        if (hidden && hidden[i])
            continue;
        c->per_kind[f->kind]++;
        if (!counts_as_finding(f))
            continue;
        c->findings++;
        if (pids)
            pids[n_pids++] = f->pid;
    }
    if (pids) {
        qsort(pids, n_pids, sizeof *pids, by_long);
        for (size_t i = 0; i < n_pids; i++)
            if (i == 0 || pids[i] != pids[i - 1])
                c->processes++;
        free(pids);
    }
}

void lg_summary_count(const struct lg_findings *set, struct lg_summary_counts *c)
{
    lg_summary_count_visible(set, NULL, c);
}

/* The block of each kind, in one table: a kind added to the reader
 * without an entry here is printed field by field, like one this
 * lockgraph does not know. */
static void (*const blocks[LG_KIND_COUNT])(const struct lg_printer *, size_t) = {
    [LG_KIND_CYCLE] = lg__print_cycle,
    [LG_KIND_SELF_DEADLOCK] = lg__print_self_deadlock,
    [LG_KIND_UNLOCK_NOT_HELD] = lg__print_unlock_not_held,
    [LG_KIND_HELD_AT_EXIT] = lg__print_held_at_exit,
    [LG_KIND_RANK_VIOLATION] = lg__print_rank_violation,
    [LG_KIND_RANK_CYCLE] = lg__print_rank_cycle,
    [LG_KIND_DETECTOR_ERROR] = lg__print_detector_error,
    [LG_KIND_DEADLOCK] = lg__print_deadlock,
    [LG_KIND_LONG_WAIT] = lg__print_long_wait,
    [LG_KIND_LONG_HOLD] = lg__print_long_hold,
    [LG_KIND_HELD_ACROSS_IO] = lg__print_held_across_io,
    [LG_KIND_OTHER] = lg__print_other,
};

void lg_summary_print_one(const struct lg_finding *f, size_t number,
                          const struct lg_summary_opts *o)
{
    struct lg_printer p;
    lg__printer_init(&p, o->out, o->sym, f->modules, f->n_modules);
    p.markup = o->markup;
    p.opts = o;
    p.f = f;
    void (*block)(const struct lg_printer *, size_t) =
        (unsigned)f->kind < LG_KIND_COUNT ? blocks[f->kind] : NULL;
    (block ? block : lg__print_other)(&p, number);
}

void lg_numbering_init(struct lg_numbering *nb)
{
    memset(nb, 0, sizeof *nb);
}

size_t lg_numbering_next(struct lg_numbering *nb, const struct lg_finding *f)
{
    if (f->kind != LG_KIND_OTHER)
        return ++nb->per_kind[f->kind];
    const char *name = lg_finding_kind(f);
    for (size_t i = 0; i < nb->n_other; i++)
        if (strcmp(nb->other[i].name, name) == 0)
            return ++nb->other[i].count;
    if (nb->n_other == nb->cap_other) {
        size_t cap = nb->cap_other ? 2 * nb->cap_other : 8;
        void *q = realloc(nb->other, cap * sizeof *nb->other);
        if (!q)
            return ++nb->per_kind[LG_KIND_OTHER];
        nb->other = q;
        nb->cap_other = cap;
    }
    nb->other[nb->n_other].name = name;
    nb->other[nb->n_other].count = 1;
    nb->n_other++;
    return 1;
}

void lg_numbering_free(struct lg_numbering *nb)
{
    free(nb->other);
    lg_numbering_init(nb);
}

void lg_summary_print_visible(const struct lg_findings *set, const bool *hidden,
                              const struct lg_summary_opts *o)
{
    struct lg_numbering nb;
    lg_numbering_init(&nb);
    for (size_t i = 0; i < set->n; i++) {
        if (hidden && hidden[i])
            continue;
        lg_summary_print_one(&set->items[i], lg_numbering_next(&nb, &set->items[i]), o);
    }
    lg_numbering_free(&nb);
    fflush(o->out);
}

void lg_summary_print(const struct lg_findings *set, const struct lg_summary_opts *o)
{
    lg_summary_print_visible(set, NULL, o);
}

void lg_summary_kinds(FILE *out, const struct lg_findings *set, const bool *hidden)
{
    struct lg_summary_counts c;
    lg_summary_count_visible(set, hidden, &c);
    const char *sep = "";
    for (int k = 0; k < LG_KIND_OTHER; k++) {
        if (k == LG_KIND_DETECTOR_ERROR || c.per_kind[k] == 0)
            continue;
        fprintf(out, "%s%zu %s", sep, c.per_kind[k], lg_kind_name((enum lg_kind)k));
        sep = ", ";
    }
    /* Kinds this lockgraph does not know, by their own names, in the order
     * first seen; there are few names, however many findings. */
    struct lg_numbering nb;
    lg_numbering_init(&nb);
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].kind == LG_KIND_OTHER && !(hidden && hidden[i]))
            lg_numbering_next(&nb, &set->items[i]);
    for (size_t i = 0; i < nb.n_other; i++) {
        fprintf(out, "%s%zu ", sep, nb.other[i].count);
        for (const char *ch = nb.other[i].name; *ch; ch++)
            fputc((unsigned char)*ch < ' ' || *ch == 0x7f ? '?' : *ch, out);
        sep = ", ";
    }
    lg_numbering_free(&nb);
}

void lg_summary_closing_visible(FILE *out, const struct lg_findings *set, const bool *hidden,
                                size_t suppressed, const char *where)
{
    struct lg_summary_counts c;
    lg_summary_count_visible(set, hidden, &c);

    if (c.findings == 0) {
        fprintf(out, "lockgraph: no findings");
    } else {
        fprintf(out, "lockgraph: %zu %s (", c.findings,
                lg__plural(c.findings, "finding", "findings"));
        lg_summary_kinds(out, set, hidden);
        fprintf(out, ") in %zu %s", c.processes, lg__plural(c.processes, "process", "processes"));
    }
    if (suppressed)
        fprintf(out, "; %zu suppressed", suppressed);
    size_t errors = c.per_kind[LG_KIND_DETECTOR_ERROR];
    if (errors)
        fprintf(out, "; %zu detector %s (results may be incomplete)", errors,
                lg__plural(errors, "error", "errors"));
    size_t bad = set->corrupt_lines + set->truncated_lines;
    if (bad)
        fprintf(out, "; %zu unreadable %s skipped", bad, lg__plural(bad, "line", "lines"));
    if (set->unreadable_files)
        fprintf(out, "; %zu unreadable %s", set->unreadable_files,
                lg__plural(set->unreadable_files, "file", "files"));
    fprintf(out, "; report: %s\n", where);
    fflush(out);
}

void lg_summary_closing(FILE *out, const struct lg_findings *set, const char *where)
{
    lg_summary_closing_visible(out, set, NULL, 0, where);
}
