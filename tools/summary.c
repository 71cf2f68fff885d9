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
#include "u64map.h"

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

bool lg_class_text(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                   const struct lg_lock *l, bool with_key, char *buf, size_t len)
{
    if (len)
        buf[0] = '\0';
    if (!l->cls.known || len < 2)
        return false;
    FILE *out = fmemopen(buf, len, "w");
    if (!out)
        return false;
    struct lg_printer p;
    lg__printer_init(&p, out, sym, mods, n_mods);
    bool ok = lg__print_class_desc(&p, l, with_key);
    fclose(out);
    buf[len - 1] = '\0';
    return ok;
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

void lg_tally_init(struct lg_tally *t)
{
    memset(t, 0, sizeof *t);
    lg_numbering_init(&t->names);
}

bool lg_tally_add(struct lg_tally *t, const struct lg_finding *f)
{
    t->c.per_kind[(unsigned)f->kind < LG_KIND_COUNT ? f->kind : LG_KIND_OTHER]++;
    if (f->kind == LG_KIND_OTHER)
        lg_numbering_next(&t->names, f);
    if (!counts_as_finding(f))
        return true;
    t->c.findings++;
    if (!t->pids && !(t->pids = calloc(1, sizeof(struct lg_u64map))))
        return false;
    struct lg_u64map *pids = t->pids;
    uint64_t v;
    if (!lg_u64map_get(pids, (uint64_t)f->pid, &v)) {
        if (lg_u64map_put(pids, (uint64_t)f->pid, 1) != 0)
            return false;
        t->c.processes++;
    }
    return true;
}

void lg_tally_free(struct lg_tally *t)
{
    if (t->pids) {
        lg_u64map_free(t->pids);
        free(t->pids);
    }
    lg_numbering_free(&t->names);
    memset(t, 0, sizeof *t);
}

/* A tally of the findings of `set` without the hidden ones. */
static void tally_set(struct lg_tally *t, const struct lg_findings *set, const bool *hidden)
{
    lg_tally_init(t);
    for (size_t i = 0; i < set->n; i++)
        if (!(hidden && hidden[i]))
            lg_tally_add(t, &set->items[i]);
}

void lg_summary_count_visible(const struct lg_findings *set, const bool *hidden,
                              struct lg_summary_counts *c)
{
    struct lg_tally t;
    tally_set(&t, set, hidden);
    *c = t.c;
    lg_tally_free(&t);
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
    [LG_KIND_HELD_ACROSS_WAIT] = lg__print_held_across_wait,
    [LG_KIND_FORK_HELD] = lg__print_fork_held,
    [LG_KIND_HELD_LOCK_FREED] = lg__print_held_lock_freed,
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
    if (!(nb->other[nb->n_other].name = strdup(name)))
        return ++nb->per_kind[LG_KIND_OTHER];
    nb->other[nb->n_other].count = 1;
    nb->n_other++;
    return 1;
}

void lg_numbering_free(struct lg_numbering *nb)
{
    for (size_t i = 0; i < nb->n_other; i++)
        free(nb->other[i].name);
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

void lg_summary_kinds_tally(FILE *out, const struct lg_tally *t)
{
    const struct lg_summary_counts *c = &t->c;
    const char *sep = "";
    for (int k = 0; k < LG_KIND_OTHER; k++) {
        if (k == LG_KIND_DETECTOR_ERROR || c->per_kind[k] == 0)
            continue;
        fprintf(out, "%s%zu %s", sep, c->per_kind[k], lg_kind_name((enum lg_kind)k));
        sep = ", ";
    }
    /* Kinds this lockgraph does not know, by their own names, in the order
     * first seen; there are few names, however many findings. */
    for (size_t i = 0; i < t->names.n_other; i++) {
        fprintf(out, "%s%zu ", sep, t->names.other[i].count);
        for (const char *ch = t->names.other[i].name; *ch; ch++)
            fputc((unsigned char)*ch < ' ' || *ch == 0x7f ? '?' : *ch, out);
        sep = ", ";
    }
}

void lg_summary_kinds(FILE *out, const struct lg_findings *set, const bool *hidden)
{
    struct lg_tally t;
    tally_set(&t, set, hidden);
    lg_summary_kinds_tally(out, &t);
    lg_tally_free(&t);
}

void lg_summary_closing_tally(FILE *out, const struct lg_tally *t,
                              const struct lg_findings *problems, size_t suppressed,
                              const char *where)
{
    const struct lg_summary_counts *c = &t->c;
    if (c->findings == 0) {
        fprintf(out, "lockgraph: no findings");
    } else {
        fprintf(out, "lockgraph: %zu %s (", c->findings,
                lg__plural(c->findings, "finding", "findings"));
        lg_summary_kinds_tally(out, t);
        fprintf(out, ") in %zu %s", c->processes, lg__plural(c->processes, "process", "processes"));
    }
    if (suppressed)
        fprintf(out, "; %zu suppressed", suppressed);
    size_t errors = c->per_kind[LG_KIND_DETECTOR_ERROR];
    if (errors)
        fprintf(out, "; %zu detector %s (results may be incomplete)", errors,
                lg__plural(errors, "error", "errors"));
    size_t bad = problems->corrupt_lines + problems->truncated_lines;
    if (bad)
        fprintf(out, "; %zu unreadable %s skipped", bad, lg__plural(bad, "line", "lines"));
    if (problems->unreadable_files)
        fprintf(out, "; %zu unreadable %s", problems->unreadable_files,
                lg__plural(problems->unreadable_files, "file", "files"));
    fprintf(out, "; report: %s\n", where);
    fflush(out);
}

void lg_summary_closing_visible(FILE *out, const struct lg_findings *set, const bool *hidden,
                                size_t suppressed, const char *where)
{
    struct lg_tally t;
    tally_set(&t, set, hidden);
    lg_summary_closing_tally(out, &t, set, suppressed, where);
    lg_tally_free(&t);
}

void lg_summary_closing(FILE *out, const struct lg_findings *set, const char *where)
{
    lg_summary_closing_visible(out, set, NULL, 0, where);
}
