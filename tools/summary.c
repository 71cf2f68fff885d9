/*
 * summary.c - print findings as text a person can act on.
 *
 * Does: one block per finding (locks, threads, symbolized stacks, and for a
 * cycle the lockdep-style "possible scenario", for a rank violation the
 * reason per held lock, for a deadlock the table of who holds what and
 * waits for what), the closing count line, and
 * the caps that keep a thousand-lock cycle readable.
 * Does not: read files, resolve addresses itself (symbolize.c does), or pick
 * exit codes.
 */
#include "summary.h"

#include <inttypes.h>
#include <json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Frames printed per stack: library stacks are short, but a corrupt or
 * hand-made file must not flood the terminal. */
#define MAX_FRAMES 64

/* Source frames shown for one address whose calls were inlined. */
#define MAX_INLINE 8

/* Lines of the compact scenario of a long cycle before it is summarized. */
#define MAX_SCENARIO_LINES 20

/* A finding of a kind this lockgraph does not know is shown field by field,
 * this deep and this many elements of an array at most. */
#define MAX_OTHER_DEPTH 6
#define MAX_OTHER_ELEMS 20

struct printer {
    FILE *out;
    struct lg_symbolizer *sym;
    const struct lg_finding *f;
    const struct lg_module *mods; /* the module map stacks are symbolized with */
    size_t n_mods;
    enum lg_markup markup;
    const struct lg_summary_opts *opts; /* NULL for the helpers other reports call */
    char cwd[4096];
    size_t cwd_len;
};

static void printer_init(struct printer *p, FILE *out, struct lg_symbolizer *sym,
                         const struct lg_module *mods, size_t n_mods)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->sym = sym;
    p->mods = mods;
    p->n_mods = n_mods;
    if (getcwd(p->cwd, sizeof p->cwd))
        p->cwd_len = strlen(p->cwd);
    if (p->cwd_len == 1) /* "/": every path is under it, nothing to shorten */
        p->cwd_len = 0;
}

/* ---- markup: colour on a terminal, marks for the HTML page ---- */

#define SGR_RESET "\033[0m"
#define SGR_HEAD "\033[1m"      /* a finding's first line */
#define SGR_BAD "\033[1;31m"    /* what deadlocks */
#define SGR_FUNC "\033[1m"      /* a function in a stack */
#define SGR_WHERE "\033[36m"    /* its file:line, or module+offset */
#define SGR_WARN "\033[33m"     /* a finding that does not hang by itself */

static void sgr(const struct printer *p, const char *code)
{
    if (p->markup == LG_MARKUP_ANSI)
        fputs(code, p->out);
}

/* The first line of a finding: bold, red for what hangs. Ended by
 * head_end, which also lets the caller of lg_summary_print annotate it. */
static void head_begin(const struct printer *p, bool hangs)
{
    sgr(p, hangs ? SGR_BAD : SGR_HEAD);
}

static void head_end(const struct printer *p)
{
    sgr(p, SGR_RESET);
    fputc('\n', p->out);
    if (p->opts && p->opts->annotate)
        p->opts->annotate(p->out, p->f, p->opts->annotate_arg);
}

/* ---- small text helpers ---- */

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Source paths under the current directory are shown relative to it: short
 * enough to read, still enough to open. Others stay absolute. */
static const char *show_path(const struct printer *p, const char *path)
{
    if (p->cwd_len && strncmp(path, p->cwd, p->cwd_len) == 0 && path[p->cwd_len] == '/')
        return path + p->cwd_len + 1;
    return path;
}

/* Names come from the program under test: print them quoted, with anything
 * that could garble a terminal escaped. */
static void put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(out, "\\x%02x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

/* Length of a symbol name without its ELF version ("__libc_start_main@@GLIBC_2.34"):
 * the version says nothing about where the code is. */
static int name_len(const char *name)
{
    return (int)strcspn(name, "@");
}

static void frame_text(const struct printer *p, const struct lg_frame *fr, char *buf, size_t len)
{
    bool c = p->markup == LG_MARKUP_ANSI;
    const char *f0 = c ? SGR_FUNC : "", *w0 = c ? SGR_WHERE : "", *r = c ? SGR_RESET : "";
    if (fr->function && fr->file)
        snprintf(buf, len, "%s%.*s%s (%s%s:%d%s)", f0, name_len(fr->function), fr->function, r,
                 w0, show_path(p, fr->file), fr->line, r);
    else if (fr->function && fr->module)
        snprintf(buf, len, "%s%.*s%s+0x%" PRIx64 " (%s%s+0x%" PRIx64 "%s)", f0,
                 name_len(fr->function), fr->function, r, fr->function_offset, w0,
                 basename_of(fr->module), fr->module_offset, r);
    else if (fr->module)
        snprintf(buf, len, "0x%" PRIx64 " (%s%s+0x%" PRIx64 "%s)", fr->pc, w0,
                 basename_of(fr->module), fr->module_offset, r);
    else
        snprintf(buf, len, "0x%" PRIx64 " (in no recorded module)", fr->pc);
}

/* The innermost source frame of `pc`: with inlining, the helper that really
 * made the call. */
static void site_text(const struct printer *p, uint64_t pc, char *buf, size_t len)
{
    struct lg_frame chain[MAX_INLINE];
    lg_symbolize_inline(p->sym, p->mods, p->n_mods, pc, chain, MAX_INLINE);
    frame_text(p, &chain[0], buf, len);
}

static void resolve(const struct printer *p, uint64_t pc, struct lg_frame *fr)
{
    lg_symbolize(p->sym, p->mods, p->n_mods, pc, fr);
}

/* A stack as "#0 ..." lines. With `drop_repeat` (a first_stack that was not
 * captured whole), frame 1 is dropped when it is the same function as frame
 * 0: FINDINGS.md explains it is then the same call, matched twice. */
static void print_stack(const struct printer *p, const struct lg_stack *s, const char *indent,
                        bool drop_repeat)
{
    if (s->n == 0) {
        fprintf(p->out, "%s(no stack recorded)\n", indent);
        return;
    }
    /* The HTML page folds a stack under its first frame. */
    if (p->markup == LG_MARKUP_MARKS)
        fputs(LG_MARK_STACK_BEGIN "\n", p->out);
    size_t skip = (size_t)-1;
    if (drop_repeat && s->n >= 2) {
        struct lg_frame a, b;
        resolve(p, s->pcs[0], &a);
        resolve(p, s->pcs[1], &b);
        if (a.function && b.function && strcmp(a.function, b.function) == 0 && a.module == b.module)
            skip = 1;
    }
    size_t shown = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i == skip)
            continue;
        if (shown >= MAX_FRAMES) {
            fprintf(p->out, "%s... %zu more frames\n", indent, s->n - i);
            break;
        }
        /* One address can stand for several source frames when calls were
         * inlined: each gets its own line, as a debugger would show. */
        struct lg_frame chain[MAX_INLINE];
        size_t n = lg_symbolize_inline(p->sym, p->mods, p->n_mods, s->pcs[i], chain, MAX_INLINE);
        for (size_t k = 0; k < n; k++) {
            char text[1024];
            frame_text(p, &chain[k], text, sizeof text);
            fprintf(p->out, "%s#%zu %s%s\n", indent, shown++, text,
                    chain[k].inlined ? " (inlined)" : "");
        }
    }
    if (p->markup == LG_MARKUP_MARKS)
        fputs(LG_MARK_STACK_END "\n", p->out);
}

static void print_thread(const struct printer *p, const struct lg_thread *t)
{
    fprintf(p->out, "thread %ld", t->seq);
    if (t->name) {
        fputc(' ', p->out);
        put_quoted(p->out, t->name);
    }
    fprintf(p->out, " (tid %ld)", t->tid);
}

/* A word from the program (a class label, a key): bare when it is one
 * plain word, else quoted like a name. */
static void put_word(FILE *out, const char *s)
{
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f) {
            put_quoted(out, s);
            return;
        }
    fputs(*s ? s : "\"\"", out);
}

/* A ranked lock's fields: " [key K, class C, rank N]" in a lock's full
 * description (`with_key`), " (class C, rank N)" after its short name.
 * Nothing for a lock outside any ranked class. */
static void print_rank_fields(const struct printer *p, const struct lg_lock *l, bool with_key)
{
    with_key = with_key && l->key;
    /* A class of one key is labelled by the key: saying it twice is noise. */
    const char *class_name =
        l->class_name && !(l->key && strcmp(l->class_name, l->key) == 0) ? l->class_name : NULL;
    if (!with_key && !class_name && !l->has_rank)
        return;
    fputs(with_key ? " [" : " (", p->out);
    const char *sep = "";
    if (with_key) {
        fputs("key ", p->out);
        put_word(p->out, l->key);
        sep = ", ";
    }
    if (class_name) {
        fprintf(p->out, "%sclass ", sep);
        put_word(p->out, class_name);
        sep = ", ";
    }
    if (l->has_rank)
        fprintf(p->out, "%srank %ld", sep, l->rank);
    fputc(with_key ? ']' : ')', p->out);
}

/* "mutex 0x7ffd5c1e3a40 "account 1" (normal), created at bank_open (bank.c:40)",
 * then "[key K, class C, rank N]" for a ranked lock. */
static void print_lock_desc(const struct printer *p, const struct lg_lock *l)
{
    fprintf(p->out, "%s 0x%" PRIx64, l->type, l->addr);
    if (l->name) {
        fputc(' ', p->out);
        put_quoted(p->out, l->name);
    }
    if (l->mode)
        fprintf(p->out, " (%s)", l->mode);
    if (l->id == 0 && l->stack.n == 0) {
        fprintf(p->out, ", never seen locked by lockgraph");
    } else if (l->stack.n > 0) {
        char text[1024];
        site_text(p, l->stack.pcs[0], text, sizeof text);
        fprintf(p->out, ", %s at %s", l->created ? "created" : "first locked", text);
    }
    print_rank_fields(p, l, true);
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* ---- lock-order-cycle ---- */

/* "L3" for the cycle's lock with this id; locks not in the list (a
 * hand-edited file) are named by id. */
static void lock_label(const struct lg_finding *f, long id, char *buf, size_t len)
{
    for (size_t i = 0; i < f->n_locks; i++)
        if (f->locks[i].id == id) {
            snprintf(buf, len, "L%zu", i + 1);
            return;
        }
    snprintf(buf, len, "lock#%ld", id);
}

static void print_edge(const struct printer *p, const struct lg_edge *e)
{
    const struct lg_finding *f = p->f;
    char from[32], to[32];
    lock_label(f, e->from, from, sizeof from);
    lock_label(f, e->to, to, sizeof to);
    fprintf(p->out, "   edge %s -> %s by ", from, to);
    print_thread(p, &e->thread);
    fprintf(p->out, "%s:\n", e->timed ? ", with a timed lock" : "");
    fprintf(p->out, "     holds %s, taken at:\n", from);
    print_stack(p, &e->first, "       ", !e->first_exact);
    fprintf(p->out, "     then takes %s at:\n", to);
    print_stack(p, &e->second, "       ", false);
}

static bool same_thread(const struct lg_thread *a, const struct lg_thread *b)
{
    return a->tid == b->tid && a->seq == b->seq;
}

static void thread_column(char *buf, size_t len, const struct lg_thread *t)
{
    snprintf(buf, len, "thread %ld", t->seq);
}

/* The lockdep-style interleaving for a two-lock cycle: each thread takes its
 * first lock, then each waits for the other's. */
static void print_scenario2(const struct printer *p)
{
    const struct lg_finding *f = p->f;
    const struct lg_edge *e0 = &f->edges[0], *e1 = &f->edges[1];
    char a[64], b[64], l0[32], l1[32], t0[48], t1[48];
    bool one = same_thread(&e0->thread, &e1->thread);

    if (one) {
        fprintf(p->out,
                "   Possible scenario (thread %ld took both orders at different times; two\n"
                "   threads running those two paths at once deadlock):\n",
                e0->thread.seq);
        snprintf(a, sizeof a, "thread A");
        snprintf(b, sizeof b, "thread B");
    } else {
        fprintf(p->out, "   Possible scenario:\n");
        thread_column(a, sizeof a, &e0->thread);
        thread_column(b, sizeof b, &e1->thread);
    }
    lock_label(f, e0->from, l0, sizeof l0);
    lock_label(f, e0->to, l1, sizeof l1);
    snprintf(t0, sizeof t0, "lock(%s)", l0);
    snprintf(t1, sizeof t1, "lock(%s)", l1);

    int w = 24;
    const char *ind = "       ";
    fprintf(p->out, "%s%-*s%s\n", ind, w, a, b);
    fprintf(p->out, "%s%-*s%s\n", ind, w, "--------", "--------");
    fprintf(p->out, "%s%s\n", ind, t0);
    fprintf(p->out, "%s%-*s%s\n", ind, w, "", t1);
    fprintf(p->out, "%s%s  <- waits for %s\n", ind, t1, b);
    fprintf(p->out, "%s%-*s%s  <- waits for %s: ", ind, w, "", t0, a);
    sgr(p, SGR_BAD);
    fputs("deadlock", p->out);
    sgr(p, SGR_RESET);
    fputc('\n', p->out);
}

/* Longer cycles: one line per edge, each thread holding one lock and
 * waiting for the next; capped for huge cycles. */
static void print_scenario_n(const struct printer *p)
{
    const struct lg_finding *f = p->f;
    size_t n = f->n_edges;
    if (f->single_thread)
        fprintf(p->out,
                "   One thread made every edge; %zu threads running these paths at once "
                "deadlock.\n",
                n);
    fprintf(p->out, "   Possible scenario: each thread holds one lock and waits for the next:\n");
    for (size_t i = 0; i < n; i++) {
        if (i == MAX_SCENARIO_LINES - 1 && n > MAX_SCENARIO_LINES) {
            fprintf(p->out, "       ... %zu more steps ...\n", n - MAX_SCENARIO_LINES);
            i = n - 1; /* still show the step that closes the cycle */
        }
        const struct lg_edge *e = &f->edges[i];
        char from[32], to[32];
        lock_label(f, e->from, from, sizeof from);
        lock_label(f, e->to, to, sizeof to);
        fprintf(p->out, "       ");
        if (f->single_thread)
            fprintf(p->out, "thread #%zu", i + 1);
        else
            fprintf(p->out, "thread %ld", e->thread.seq);
        fprintf(p->out, " holds %s, waits for %s", from, to);
        if (i == n - 1) {
            fputs(": ", p->out);
            sgr(p, SGR_BAD);
            fputs("deadlock", p->out);
            sgr(p, SGR_RESET);
        }
        fputc('\n', p->out);
    }
}

static size_t distinct_threads(const struct lg_finding *f)
{
    size_t count = 0;
    for (size_t i = 0; i < f->n_edges; i++) {
        size_t j = 0;
        while (j < i && !same_thread(&f->edges[j].thread, &f->edges[i].thread))
            j++;
        if (j == i)
            count++;
    }
    return count;
}

static void print_cycle(const struct printer *p, size_t number, const struct lg_summary_opts *o)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;

    head_begin(p, true);
    fprintf(out, "== lock-order-cycle #%zu (pid %ld): potential deadlock among %zu %s", number,
            f->pid, f->n_locks, plural(f->n_locks, "lock", "locks"));
    if (o->program_completed && f->pid == o->program_pid)
        fprintf(out, " (did not hang in this run)");
    head_end(p);

    for (size_t i = 0; i < f->n_locks; i++) {
        if (i == LG_SUMMARY_MAX_EDGES) {
            fprintf(out, "   ... and %zu more locks (L%d to L%zu)\n", f->n_locks - i,
                    LG_SUMMARY_MAX_EDGES + 1, f->n_locks);
            break;
        }
        fprintf(out, "   lock L%zu ", i + 1);
        print_lock_desc(p, &f->locks[i]);
        fputc('\n', out);
    }
    fputc('\n', out);

    size_t full = f->n_edges < LG_SUMMARY_MAX_EDGES ? f->n_edges : LG_SUMMARY_MAX_EDGES;
    for (size_t i = 0; i < full; i++)
        print_edge(p, &f->edges[i]);
    if (f->n_edges > full) {
        char a[32], b[32];
        lock_label(f, f->edges[full].from, a, sizeof a);
        lock_label(f, f->edges[f->n_edges - 1].to, b, sizeof b);
        fprintf(out, "   ... and %zu more edges, %s -> ... -> %s, not shown in full\n",
                f->n_edges - full, a, b);
    }
    if (f->n_edges != f->n_locks)
        fprintf(out, "   (the file lists %zu edges for %zu locks; it may be damaged)\n", f->n_edges,
                f->n_locks);

    if (f->n_edges > 0) {
        size_t threads = distinct_threads(f);
        fprintf(out, "   %zu %s, %zu %s involved.\n", f->n_edges,
                plural(f->n_edges, "edge", "edges"), threads, plural(threads, "thread", "threads"));
    }
    if (f->timed)
        fprintf(out, "   An edge was taken with a timed lock: the threads would stall "
                     "until the timeout rather than hang.\n");
    fputc('\n', out);
    if (f->n_edges == 2 && f->n_locks == 2)
        print_scenario2(p);
    else if (f->n_edges >= 2)
        print_scenario_n(p);
    else if (f->n_edges == 1)
        fprintf(out, "   Possible scenario: the thread waits for a lock it holds.\n");
    fputs("   Fix: take these locks in one order everywhere, or guard all the paths with one "
          "outer lock.\n\n",
          out);
}

/* ---- the other kinds ---- */

static void print_self_deadlock(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    head_begin(p, true);
    fprintf(out, "== self-deadlock #%zu (pid %ld): ", number, f->pid);
    print_thread(p, &f->thread);
    fprintf(out, " takes a lock it already holds");
    head_end(p);
    fprintf(out, "   lock ");
    print_lock_desc(p, &f->lock);
    fprintf(out, "\n   first taken at:\n");
    print_stack(p, &f->first_stack, "     ", true);
    fprintf(out, "   taken again at:\n");
    print_stack(p, &f->second_stack, "     ", false);
    if (f->lock.mode && strcmp(f->lock.mode, "errorcheck") == 0)
        fprintf(out, "   An errorcheck mutex fails here with EDEADLK instead of hanging.\n\n");
    else if (f->timed)
        fprintf(out, "   Taken with a timed lock: the thread stalls until the timeout.\n\n");
    else
        fprintf(out, "   The mutex is not recursive: the thread waits for itself forever.\n\n");
}

static void print_unlock_not_held(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    head_begin(p, false);
    fprintf(out, "== unlock-not-held #%zu (pid %ld): ", number, f->pid);
    print_thread(p, &f->thread);
    fprintf(out, " unlocks a lock it does not hold");
    head_end(p);
    fprintf(out, "   lock ");
    print_lock_desc(p, &f->lock);
    fprintf(out, "\n   unlocked at:\n");
    print_stack(p, &f->stack, "     ", false);
    fputc('\n', out);
}

static void print_held_at_exit(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    head_begin(p, false);
    fprintf(out, "== held-at-exit #%zu (pid %ld): ", number, f->pid);
    print_thread(p, &f->thread);
    fprintf(out, " ended holding %zu %s", f->n_held, plural(f->n_held, "lock", "locks"));
    head_end(p);
    for (size_t i = 0; i < f->n_held; i++) {
        if (i == LG_SUMMARY_MAX_EDGES) {
            fprintf(out, "   ... and %zu more locks\n", f->n_held - i);
            break;
        }
        fprintf(out, "   lock ");
        print_lock_desc(p, &f->held[i].lock);
        fprintf(out, "\n     taken at:\n");
        print_stack(p, &f->held[i].stack, "       ", false);
    }
    fputc('\n', out);
}

/* ---- rank-violation and rank-order-cycle ---- */

/* "mutex L2 "account" (class accounts, rank 20)": the label, then the
 * lock's name, else its key, else its address, then its rank fields. */
static void print_lock_short(const struct printer *p, const struct lg_lock *l, size_t label,
                             bool with_type)
{
    if (with_type)
        fprintf(p->out, "%s ", l->type);
    fprintf(p->out, "L%zu ", label);
    if (l->name)
        put_quoted(p->out, l->name);
    else if (l->key)
        put_word(p->out, l->key);
    else
        fprintf(p->out, "0x%" PRIx64, l->addr);
    print_rank_fields(p, l, false);
}

/* What a declaration calls a lock: its class, else its key, else its label. */
static void print_declared_name(const struct printer *p, const struct lg_lock *l, size_t label)
{
    if (l->class_name)
        put_word(p->out, l->class_name);
    else if (l->key)
        put_word(p->out, l->key);
    else
        fprintf(p->out, "L%zu", label);
}

/* Why held lock L`h` forbids taking L`t` (FINDINGS.md "rank-violation"). */
static void print_rank_why(const struct printer *p, const struct lg_held *h, size_t hl,
                           const struct lg_lock *t, size_t tl, const char *indent)
{
    FILE *out = p->out;
    const struct lg_lock *hk = &h->lock;
    if (!h->why)
        return;
    fprintf(out, "%swhy: ", indent);
    if (strcmp(h->why, "rank") == 0) {
        if (hk->has_rank && t->has_rank && hk->rank == t->rank)
            fprintf(out, "L%zu and L%zu both have rank %ld; locks of equal rank may not nest", hl,
                    tl, t->rank);
        else if (hk->has_rank && t->has_rank)
            fprintf(out,
                    "L%zu has rank %ld, not below L%zu's rank %ld; a lock may be taken only "
                    "while every lock held has a lower rank",
                    hl, hk->rank, tl, t->rank);
        else
            fprintf(out,
                    "L%zu's rank is not below L%zu's; a lock may be taken only while every "
                    "lock held has a lower rank",
                    hl, tl);
        fputs(" (rank)\n", out);
    } else if (strcmp(h->why, "order") == 0) {
        fputs("a declared order (an order line or lg_lock_order) puts ", out);
        print_declared_name(p, t, tl);
        fputs(" before ", out);
        print_declared_name(p, hk, hl);
        fputs(" (order)\n", out);
    } else if (strcmp(h->why, "same-class") == 0) {
        fprintf(out, "L%zu and L%zu are both in class ", hl, tl);
        print_declared_name(p, t, tl);
        /* same=address allows increasing address order only, so a nesting
         * in that order was refused by same=strict. */
        if (hk->addr < t->addr)
            fputs(", whose locks may never nest (same=strict)", out);
        else
            fprintf(out,
                    ", and were nested in decreasing address order (0x%" PRIx64 " then 0x%" PRIx64
                    "), which same=strict and same=address both forbid",
                    hk->addr, t->addr);
        fputs(" (same-class)\n", out);
    } else {
        put_quoted(out, h->why);
        fputc('\n', out);
    }
}

static void print_rank_violation(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t n = f->n_held, shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;
    size_t tl = n + 1; /* held locks are L1..Ln, outermost first; the new one comes after */

    head_begin(p, false);
    fprintf(out, "== rank-violation #%zu (pid %ld): ", number, f->pid);
    print_thread(p, &f->thread);
    fprintf(out, " takes a lock against the declared lock order");
    head_end(p);
    fprintf(out, "   rank violation: ");
    print_lock_short(p, &f->lock, tl, true);
    fputs(" taken while holding ", out);
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            fputs(i + 1 == n ? " and " : ", ", out);
        print_lock_short(p, &f->held[i].lock, i + 1, false);
    }
    if (n > shown)
        fprintf(out, " and %zu more", n - shown);
    if (n == 0)
        fputs("(no held lock recorded)", out);
    fputc('\n', out);

    for (size_t i = 0; i < shown; i++) {
        fprintf(out, "   lock L%zu ", i + 1);
        print_lock_desc(p, &f->held[i].lock);
        fputc('\n', out);
    }
    fprintf(out, "   lock L%zu ", tl);
    print_lock_desc(p, &f->lock);
    fprintf(out, "\n\n   L%zu taken at:\n", tl);
    print_stack(p, &f->stack, "     ", false);
    for (size_t i = 0; i < shown; i++) {
        fprintf(out, "   while holding L%zu, taken at:\n", i + 1);
        print_stack(p, &f->held[i].stack, "     ", !f->held[i].stack_exact);
        print_rank_why(p, &f->held[i], i + 1, &f->lock, tl, "     ");
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more held locks, L%zu to L%zu, not shown\n", n - shown,
                shown + 1, n);
    fputs("   Fix: take these locks in the declared order, or change the declaration if this "
          "order is right.\n\n",
          out);
}

static void print_rank_cycle(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t n = f->n_classes;
    head_begin(p, false);
    fprintf(out,
            "== rank-order-cycle #%zu (pid %ld): the declared lock order contradicts itself "
            "(%zu %s)",
            number, f->pid, n, plural(n, "class", "classes"));
    head_end(p);
    fputs("   ", out);
    for (size_t i = 0; i < n; i++) {
        if (i == LG_SUMMARY_MAX_EDGES - 1 && n > LG_SUMMARY_MAX_EDGES) {
            fprintf(out, "... %zu more ... < ", n - LG_SUMMARY_MAX_EDGES);
            i = n - 1; /* still show the class that closes the cycle */
        }
        put_word(out, f->classes[i]);
        fputs(" < ", out);
    }
    if (n > 0)
        put_word(out, f->classes[0]);
    fputs("\n   Each class must be taken before the next, and the last before the first: no "
          "order satisfies them all.\n"
          "   The declaration that closed the cycle (lg_rank_class or lg_lock_order) was "
          "refused.\n"
          "   Fix: remove or correct one of these declarations.\n\n",
          out);
}

static void print_detector_error(const struct printer *p)
{
    const struct lg_finding *f = p->f;
    head_begin(p, false);
    fprintf(p->out, "== detector-error (pid %ld): lockgraph could not do its job fully: %s",
            f->pid, f->error ? f->error : "unknown error");
    head_end(p);
    if (f->message)
        fprintf(p->out, "   %s\n", f->message);
    fputc('\n', p->out);
}

/* ---- deadlock, long-wait: threads blocked now ---- */

/* The thread as print_thread shows it, an empty name left out (a thread
 * seen at exit may have lost its name). */
static void print_thread_named(const struct printer *p, const struct lg_thread *t)
{
    struct lg_thread u = *t;
    if (u.name && !*u.name)
        u.name = NULL;
    print_thread(p, &u);
}

/* `s` quoted as put_quoted does, into buf (cut short to fit). */
static void quote_into(char *buf, size_t len, const char *s)
{
    size_t k = 0;
    if (len < 3) {
        if (len)
            buf[0] = '\0';
        return;
    }
    buf[k++] = '"';
    for (; *s && k + 6 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            k += (size_t)snprintf(buf + k, len - k, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            k += (size_t)snprintf(buf + k, len - k, "\\x%02x", ch);
        else
            buf[k++] = (char)ch;
    }
    buf[k++] = '"';
    buf[k] = '\0';
}

/* A table cell for a lock: "L2 "b" (mutex)", "L1 0x7f... (rwlock, shared)". */
static void lock_cell(char *buf, size_t len, size_t label, const struct lg_lock *l, bool shared)
{
    char what[120];
    if (l->name)
        quote_into(what, sizeof what, l->name);
    else if (l->key)
        snprintf(what, sizeof what, "%s", l->key);
    else
        snprintf(what, sizeof what, "0x%" PRIx64, l->addr);
    snprintf(buf, len, "L%zu %s (%s%s)", label, what, l->type, shared ? ", shared" : "");
}

static bool waits_shared(const struct lg_waiter *w)
{
    return w->wait && strcmp(w->wait, "shared") == 0;
}

/* The entry of w->held for the lock with this id, or NULL. */
static const struct lg_held *held_by_id(const struct lg_waiter *w, const struct lg_lock *l)
{
    for (size_t i = 0; i < w->n_held; i++)
        if (w->held[i].lock.id == l->id && w->held[i].lock.addr == l->addr)
            return &w->held[i];
    return NULL;
}

/* "waits for L2 (exclusive) for 100 ms, with a timeout, at:" and the
 * stack, saying when only the lock call's frame is known. */
static void print_wait(const struct printer *p, const struct lg_waiter *w, const char *lock,
                       const char *indent)
{
    FILE *out = p->out;
    fprintf(out, "%swaits for %s", indent, lock);
    if (w->wait)
        fprintf(out, " (%s)", w->wait);
    fprintf(out, ", %ld ms so far%s, at:\n", w->waiting_ms, w->timed ? ", with a timeout" : "");
    char sub[64];
    snprintf(sub, sizeof sub, "%s  ", indent);
    print_stack(p, &w->stack, sub, false);
    if (!w->stack_full && w->stack.n > 0)
        fprintf(out,
                "%s(only the lock call's frame is known: the rest of the stack was not "
                "recorded)\n",
                sub);
}

/* A thread of a deadlock that joins another, not a lock. */
static bool joins(const struct lg_waiter *w)
{
    return w->joins_known || (w->waits_for.type && strcmp(w->waits_for.type, "thread") == 0);
}

/* A deadlock through joins, or on a lock whose owner is gone: thread by
 * thread, what it waits for and who will never let it go. */
static void print_deadlock_waits(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t n = f->n_waiters;
    size_t shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;

    head_begin(p, true);
    if (f->gone.known)
        fprintf(out,
                "== DEADLOCK #%zu (pid %ld): %zu %s for a lock whose owner is gone (now, "
                "not a prediction)",
                number, f->pid, n, n == 1 ? "thread waits" : "threads wait");
    else
        fprintf(out,
                "== DEADLOCK #%zu (pid %ld): %zu %s blocked on each other, through a "
                "join (now, not a prediction)",
                number, f->pid, n, n == 1 ? "thread is" : "threads are");
    head_end(p);
    for (size_t i = 0; i < shown; i++) {
        const struct lg_waiter *w = &f->waiters[i];
        const struct lg_waiter *next =
            i + 1 < n || !f->gone.known ? &f->waiters[(i + 1) % n] : NULL;
        fputs("   ", out);
        print_thread_named(p, &w->thread);
        fputs(":\n", out);
        if (joins(w)) {
            fputs("     joins ", out);
            print_thread_named(p, w->joins_known ? &w->joins : next ? &next->thread : &w->thread);
            fprintf(out, ", %ld ms so far, at:\n", w->waiting_ms);
            print_stack(p, &w->stack, "       ", false);
        } else {
            char what[320];
            lock_cell(what, sizeof what, i + 1, &w->waits_for, waits_shared(w));
            print_wait(p, w, what, "     ");
            fputs("       held by ", out);
            if (next)
                print_thread_named(p, &next->thread);
            else
                print_thread_named(p, &f->gone.thread);
            fputc('\n', out);
        }
        for (size_t k = 0; k < w->n_held; k++) {
            fputs("     holds ", out);
            print_lock_desc(p, &w->held[k].lock);
            fputs(", taken at:\n", out);
            print_stack(p, &w->held[k].stack, "       ", true);
        }
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more threads, not shown\n", n - shown);
    if (f->gone.known) {
        bool fork = f->gone.gone && strcmp(f->gone.gone, "not-in-process") == 0;
        bool ended = f->gone.gone && strcmp(f->gone.gone, "ended") == 0;
        fputs("   The lock's owner, ", out);
        print_thread_named(p, &f->gone.thread);
        fputs(fork    ? ", is a thread of the parent process: it does not exist in this one, the "
                        "child of a fork.\n"
              : ended ? ", has ended without letting it go.\n"
                      : ", is gone.\n",
              out);
        if (f->gone.stack.n) {
            fputs("     it took the lock at:\n", out);
            print_stack(p, &f->gone.stack, "       ", true);
        }
        if (f->gone.where.n) {
            fputs(f->gone.fork ? "     the fork was made at:\n" : "     it ended at:\n", out);
            print_stack(p, &f->gone.where, "       ", false);
        }
        fputs(fork ? "   Fix: do not fork while other threads hold locks the child needs "
                     "(fork, then only exec), or take those locks around the fork "
                     "(pthread_atfork).\n\n"
                   : "   Fix: let the lock go on every path out of the thread (cleanup "
                     "handlers, early returns).\n\n",
              out);
        return;
    }
    fputs("   None of these threads can go on: the program hangs here.\n", out);
    fputs("   Fix: do not join a thread while holding a lock it needs; let go first.\n\n", out);
}

static void print_deadlock(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t n = f->n_waiters;
    size_t shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;
    bool through_join = false;
    for (size_t i = 0; i < n; i++)
        through_join |= joins(&f->waiters[i]);
    if (f->gone.known || through_join) {
        print_deadlock_waits(p, number);
        return;
    }

    head_begin(p, true);
    fprintf(out, "== DEADLOCK #%zu (pid %ld): %zu %s blocked on each other (now, not a prediction)",
            number, f->pid, n, n == 1 ? "thread is" : "threads are");
    head_end(p);

    /* threads[i] waits for a lock threads[i+1] holds, the last for one the
     * first holds: thread i holds L(i+1), the lock thread i-1 waits for,
     * and waits for L(i+2), held by thread i+1. */
    enum { COLS = 4 };
    static const char *const heads[COLS] = {"thread", "holds", "waits for", "held by"};
    char(*cells)[COLS][320] = calloc(shown ? shown : 1, sizeof *cells);
    int width[COLS];
    for (int c = 0; c < COLS; c++)
        width[c] = (int)strlen(heads[c]);
    for (size_t i = 0; cells && i < shown; i++) {
        const struct lg_waiter *w = &f->waiters[i], *prev = &f->waiters[(i + n - 1) % n];
        const struct lg_waiter *next = &f->waiters[(i + 1) % n];
        size_t k = 0;
        k += (size_t)snprintf(cells[i][0], sizeof cells[i][0], "%ld", w->thread.seq);
        if (w->thread.name && *w->thread.name) {
            cells[i][0][k++] = ' ';
            quote_into(cells[i][0] + k, sizeof cells[i][0] - k, w->thread.name);
        }
        lock_cell(cells[i][1], sizeof cells[i][1], i + 1, &prev->waits_for, false);
        if (w->n_held > 1) {
            size_t m = strlen(cells[i][1]);
            snprintf(cells[i][1] + m, sizeof cells[i][1] - m, " +%zu", w->n_held - 1);
        }
        lock_cell(cells[i][2], sizeof cells[i][2], (i + 1) % n + 1, &w->waits_for, waits_shared(w));
        snprintf(cells[i][3], sizeof cells[i][3], "thread %ld", next->thread.seq);
        for (int c = 0; c < COLS; c++)
            if ((int)strlen(cells[i][c]) > width[c])
                width[c] = (int)strlen(cells[i][c]);
    }
    fputs("   ", out);
    for (int c = 0; c < COLS; c++)
        fprintf(out, "%-*s  ", width[c], heads[c]);
    fputs("waiting at\n", out);
    for (size_t i = 0; cells && i < shown; i++) {
        char where[1024] = "(no stack recorded)";
        if (f->waiters[i].stack.n)
            site_text(p, f->waiters[i].stack.pcs[0], where, sizeof where);
        fputs("   ", out);
        for (int c = 0; c < COLS; c++)
            fprintf(out, "%-*s  ", width[c], cells[i][c]);
        fprintf(out, "%s\n", where);
    }
    free(cells);
    if (n > shown)
        fprintf(out, "   ... and %zu more threads\n", n - shown);
    fputc('\n', out);

    for (size_t i = 0; i < shown; i++) {
        fprintf(out, "   lock L%zu ", i + 1);
        print_lock_desc(p, &f->waiters[(i + n - 1) % n].waits_for);
        fputc('\n', out);
    }
    fputc('\n', out);

    for (size_t i = 0; i < shown; i++) {
        const struct lg_waiter *w = &f->waiters[i], *prev = &f->waiters[(i + n - 1) % n];
        char lock[32];
        fputs("   ", out);
        print_thread_named(p, &w->thread);
        fputs(":\n", out);
        snprintf(lock, sizeof lock, "L%zu", (i + 1) % n + 1);
        print_wait(p, w, lock, "     ");
        const struct lg_held *cyc = held_by_id(w, &prev->waits_for);
        if (cyc) {
            fprintf(out, "     holds L%zu, taken at:\n", i + 1);
            print_stack(p, &cyc->stack, "       ", true);
        } else {
            fprintf(out, "     holds L%zu (where it took it was not recorded)\n", i + 1);
        }
        for (size_t k = 0; k < w->n_held; k++) {
            if (&w->held[k] == cyc)
                continue;
            fputs("     also holds ", out);
            print_lock_desc(p, &w->held[k].lock);
            fputs(", taken at:\n", out);
            print_stack(p, &w->held[k].stack, "       ", true);
        }
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more threads, not shown\n", n - shown);

    if (f->found_by && strcmp(f->found_by, "watchdog") == 0)
        fputs("   Found by the watchdog, while the threads were blocked.\n", out);
    else if (f->found_by && strcmp(f->found_by, "waiter") == 0)
        fputs("   Found by the thread that closed the cycle, just before it blocked.\n", out);
    else if (f->found_by) {
        fputs("   Found by ", out);
        put_quoted(out, f->found_by);
        fputs(".\n", out);
    }
    if (f->timed)
        fputs("   A wait has a timeout: the threads stall until it expires, rather than hang "
              "for good.\n",
              out);
    else
        fputs("   None of these threads can go on: the program hangs here.\n", out);
    fputs("   Fix: take these locks in one order everywhere, or guard all the paths with one "
          "outer lock.\n\n",
          out);
}

static void print_long_wait(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    const struct lg_waiter *w = &f->waiters[0];

    head_begin(p, false);
    fprintf(out, "== long-wait #%zu (pid %ld): ", number, f->pid);
    print_thread_named(p, &w->thread);
    fprintf(out, " has waited %ld ms for a lock", w->waiting_ms);
    if (f->threshold_ms)
        fprintf(out, " (watchdog: %ld ms)", f->threshold_ms);
    head_end(p);
    fputs("   lock ", out);
    print_lock_desc(p, &w->waits_for);
    fputc('\n', out);
    if (f->owner.known) {
        fputs("   held by ", out);
        print_thread_named(p, &f->owner.thread);
        fputs(", taken at:\n", out);
        print_stack(p, &f->owner.stack, "     ", false);
    } else {
        fputs("   held by a thread lockgraph could not tell\n", out);
    }
    fputs("   ", out);
    print_thread_named(p, &w->thread);
    fputs(":\n", out);
    print_wait(p, w, "the lock", "     ");
    for (size_t k = 0; k < w->n_held; k++) {
        fputs("     while holding ", out);
        print_lock_desc(p, &w->held[k].lock);
        fputs(", taken at:\n", out);
        print_stack(p, &w->held[k].stack, "       ", true);
    }
    fputs("   A stall, not (yet) a deadlock: the owner has not let go. Fix: hold the lock for "
          "less time, or do the slow part outside it.\n\n",
          out);
}

/* ---- long-hold, held-across-io: a lock held while time passes ---- */

static void print_long_hold(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;

    head_begin(p, false);
    fprintf(out, "== long-hold #%zu (pid %ld): ", number, f->pid);
    if (f->final)
        fprintf(out, "a lock held too long %ld %s at one site, the longest %ld ms", f->count,
                plural((size_t)f->count, "time", "times"), f->worst_ms);
    else
        fprintf(out, "a lock held %ld ms", f->has_held_ms ? f->held_ms : f->worst_ms);
    if (f->threshold_ms)
        fprintf(out, " (hold_warn_ms=%ld)", f->threshold_ms);
    head_end(p);
    fputs("   lock ", out);
    print_lock_desc(p, &f->lock);
    fputs("\n   by ", out);
    print_thread_named(p, &f->thread);
    fputs(f->final ? " (the first time), taken at:\n" : ", taken at:\n", out);
    print_stack(p, &f->stack, "     ", false);
    if (f->final)
        fprintf(out,
                "   %ld %s past the threshold at this site, the longest %ld ms (the totals "
                "at exit)\n",
                f->count, plural((size_t)f->count, "time", "times"), f->worst_ms);
    else
        fprintf(out,
                "   held %ld ms, the first time past the threshold at this site (no "
                "totals followed: the only time, or the process did not exit normally)\n",
                f->has_held_ms ? f->held_ms : f->worst_ms);
    fputs("   Every other thread that wants this lock waits that long. Fix: do the slow part "
          "outside the lock.\n\n",
          out);
}

/* "fd 4 (socket "socket:[1]", peer "127.0.0.1:80")". */
static void print_fd(const struct printer *p, const struct lg_fd *fd)
{
    FILE *out = p->out;
    fprintf(out, "fd %ld", fd->num);
    const char *sep = " (";
    if (fd->type) {
        fprintf(out, "%s%s", sep, fd->type);
        sep = " ";
    }
    if (fd->path) {
        fputs(sep, out);
        put_quoted(out, fd->path);
        sep = ", ";
    }
    if (fd->peer) {
        fprintf(out, "%speer ", sep);
        put_quoted(out, fd->peer);
        sep = ", ";
    }
    if (fd->local) {
        fprintf(out, "%slocal ", sep);
        put_quoted(out, fd->local);
        sep = ", ";
    }
    if (strcmp(sep, " (") != 0)
        fputc(')', out);
}

/* held-across-io, and held-across-wait, which has the same shape: a wait
 * on something (waits_on) where the I/O has its fd. */
static void print_held_across_io(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    bool wait = f->kind == LG_KIND_HELD_ACROSS_WAIT;
    const char *call = f->call ? f->call : wait ? "a wait" : "an I/O call";
    const char *allow = wait ? "wait_allow" : "io_allow";
    size_t n = f->n_held, shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;

    head_begin(p, false);
    fprintf(out, "== %s #%zu (pid %ld): ", wait ? "held-across-wait" : "held-across-io", number,
            f->pid);
    print_thread_named(p, &f->thread);
    fprintf(out, " calls %s while holding %zu %s", call, n, plural(n, "lock", "locks"));
    if (f->count > 1)
        fprintf(out, ", %ld times", f->count);
    head_end(p);
    fprintf(out, "   call %s", call);
    if (f->family)
        fprintf(out, " (%s)", f->family);
    if (wait) {
        if (f->waits_on)
            fprintf(out, ", waits on %s", f->waits_on);
    } else if (f->fd.present) {
        fputs(" on ", out);
        print_fd(p, &f->fd);
    } else {
        fputs(", no fd", out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < shown; i++) {
        const struct lg_held *h = &f->held[i];
        fprintf(out, "   lock L%zu ", i + 1);
        print_lock_desc(p, &h->lock);
        if (h->shared)
            fputs(", held for reading", out);
        if (h->key) {
            fprintf(out, ", %s key ", allow);
            put_word(out, h->key);
        }
        fputs("\n     taken at:\n", out);
        print_stack(p, &h->stack, "       ", !h->stack_exact);
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more locks, L%zu to L%zu, not shown\n", n - shown, shown + 1,
                n);
    fprintf(out, "   %s called at:\n", call);
    print_stack(p, &f->stack, "     ", false);
    if (f->final)
        fprintf(out, "   %ld %s from these sites (the total, at exit)\n", f->count,
                plural((size_t)f->count, "call", "calls"));
    else
        fprintf(out,
                "   %ld %s from these sites when reported (no total followed: no more "
                "calls, or the process did not exit normally)\n",
                f->count, plural((size_t)f->count, "call", "calls"));
    if (wait)
        fputs("   Whoever must end the wait (the thread joined, the one that signals, posts or "
              "arrives, the child) may need these locks first: then nothing moves. Fix: let "
              "the locks go before waiting, or accept it with wait_allow=",
              out);
    else
        fputs("   Every thread that wants these locks waits for the I/O too. Fix: do the I/O "
              "outside the locks, or accept it with io_allow=",
              out);
    put_word(out, call);
    if (n > 0 && f->held[0].key) {
        fprintf(out, " (the call) or %s=", allow);
        put_word(out, f->held[0].key);
        fputs(" (the lock)", out);
    }
    fputs(".\n\n", out);
}

static void print_fork_held(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t locks = 0;
    for (size_t i = 0; i < f->n_waiters; i++)
        locks += f->waiters[i].n_held;
    head_begin(p, false);
    fprintf(out,
            "== fork-with-locks-held #%zu (pid %ld): a child of process %ld inherited %zu %s "
            "held by %zu %s it does not have",
            number, f->pid, f->parent_pid, locks, plural(locks, "lock", "locks"), f->n_waiters,
            plural(f->n_waiters, "thread", "threads"));
    head_end(p);
    for (size_t i = 0; i < f->n_waiters; i++) {
        const struct lg_waiter *w = &f->waiters[i];
        fputs("   ", out);
        print_thread_named(p, &w->thread);
        fputs(" of the parent held:\n", out);
        for (size_t k = 0; k < w->n_held; k++) {
            fputs("     ", out);
            print_lock_desc(p, &w->held[k].lock);
            fputs(", taken at:\n", out);
            print_stack(p, &w->held[k].stack, "       ", false);
        }
    }
    fputs("   the fork was made at:\n", out);
    print_stack(p, &f->stack, "     ", false);
    fputs("   In the child these locks stay locked for good: taking one hangs. Fix: fork only "
          "to exec, or take the locks around the fork (pthread_atfork).\n\n",
          out);
}

/* ---- kinds this lockgraph does not know ---- */

/* Fields every finding has; the header already says what matters of them. */
static bool common_field(const char *key)
{
    static const char *const common[] = {"kind", "version", "seq", "pid", "time_ns", "modules"};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        if (strcmp(key, common[i]) == 0)
            return true;
    return false;
}

/* A stack: a non-empty array of hex address strings. Fills *s (to free). */
static bool as_stack(json_object *v, struct lg_stack *s)
{
    s->pcs = NULL;
    s->n = 0;
    if (!json_object_is_type(v, json_type_array))
        return false;
    size_t n = json_object_array_length(v);
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        const char *t = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
        if (t[0] != '0' || t[1] != 'x' || !t[2] || strspn(t + 2, "0123456789abcdefABCDEF") !=
                                                       strlen(t + 2))
            return false;
    }
    if (!(s->pcs = calloc(n, sizeof *s->pcs)))
        return false;
    for (size_t i = 0; i < n; i++)
        s->pcs[i] = strtoull(json_object_get_string(json_object_array_get_idx(v, i)), NULL, 16);
    s->n = n;
    return true;
}

static void print_value(const struct printer *p, const char *key, json_object *v, int depth);

static void print_members(const struct printer *p, json_object *obj, int depth, bool skip_common)
{
    json_object_object_foreach(obj, k, v)
    {
        if (!(skip_common && common_field(k)))
            print_value(p, k, v, depth);
    }
}

/* One field, "   key: value", symbolizing what looks like a stack and
 * describing what looks like a thread or a lock the way known kinds do. */
static void print_value(const struct printer *p, const char *key, json_object *v, int depth)
{
    FILE *out = p->out;
    int ind = 3 + 2 * depth;
    struct lg_stack st;
    fprintf(out, "%*s", ind, "");
    for (const char *c = key; *c; c++) /* keys come from the file: keep them printable */
        fputc((unsigned char)*c < ' ' || *c == 0x7f ? '?' : *c, out);
    fputc(':', out);
    if (depth >= MAX_OTHER_DEPTH) {
        fputs(" ...\n", out);
        return;
    }
    if (as_stack(v, &st)) {
        fputc('\n', out);
        char sub[64];
        snprintf(sub, sizeof sub, "%*s", ind + 2, "");
        print_stack(p, &st, sub, false);
        free(st.pcs);
        return;
    }
    if (json_object_is_type(v, json_type_object)) {
        json_object *tid = NULL, *addr = NULL;
        struct lg_lock l;
        if (json_object_object_get_ex(v, "tid", &tid) && json_object_is_type(tid, json_type_int)) {
            struct lg_thread t = {.tid = (long)json_object_get_int64(tid)};
            json_object *x;
            if (json_object_object_get_ex(v, "seq", &x) && json_object_is_type(x, json_type_int))
                t.seq = (long)json_object_get_int64(x);
            if (json_object_object_get_ex(v, "name", &x) &&
                json_object_is_type(x, json_type_string))
                t.name = (char *)json_object_get_string(x);
            fputc(' ', out);
            print_thread(p, &t);
            fputc('\n', out);
            return;
        }
        if (json_object_object_get_ex(v, "addr", &addr) && lg_lock_from_json(v, &l)) {
            fputc(' ', out);
            print_lock_desc(p, &l);
            fputc('\n', out);
            lg_lock_free(&l);
            return;
        }
        fputc('\n', out);
        print_members(p, v, depth + 1, false);
        return;
    }
    if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        bool scalars = true;
        for (size_t i = 0; i < n && scalars; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            scalars = !json_object_is_type(e, json_type_object) &&
                      !json_object_is_type(e, json_type_array);
        }
        if (scalars) {
            const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED);
            fprintf(out, " %.200s%s\n", t, strlen(t) > 200 ? "..." : "");
            return;
        }
        fprintf(out, " %zu %s\n", n, plural(n, "element", "elements"));
        for (size_t i = 0; i < n; i++) {
            if (i == MAX_OTHER_ELEMS) {
                fprintf(out, "%*s... and %zu more\n", ind + 2, "", n - i);
                break;
            }
            char k[32];
            snprintf(k, sizeof k, "[%zu]", i);
            print_value(p, k, json_object_array_get_idx(v, i), depth + 1);
        }
        return;
    }
    if (json_object_is_type(v, json_type_string)) {
        fputc(' ', out);
        put_quoted(out, json_object_get_string(v));
        fputc('\n', out);
        return;
    }
    fprintf(out, " %s\n", v ? json_object_to_json_string(v) : "null");
}

static void print_other(const struct printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    head_begin(p, false);
    fputs("== ", out);
    for (const char *c = lg_finding_kind(f); *c; c++)
        fputc((unsigned char)*c < ' ' || *c == 0x7f ? '?' : *c, out);
    fprintf(out, " #%zu (pid %ld): a kind this lockgraph does not know; its fields", number,
            f->pid);
    head_end(p);
    if (f->raw)
        print_members(p, f->raw, 0, true);
    fputc('\n', out);
}

/* ---- entry points ---- */

void lg_print_stack(FILE *out, struct lg_symbolizer *sym, const struct lg_module *mods,
                    size_t n_mods, const struct lg_stack *s, const char *indent, bool drop_repeat)
{
    struct printer p;
    printer_init(&p, out, sym, mods, n_mods);
    print_stack(&p, s, indent, drop_repeat);
}

void lg_site_text(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                  uint64_t pc, char *buf, size_t len)
{
    struct printer p;
    printer_init(&p, NULL, sym, mods, n_mods);
    site_text(&p, pc, buf, len);
}

void lg_frame_text(const struct lg_frame *fr, char *buf, size_t len)
{
    struct printer p;
    printer_init(&p, NULL, NULL, NULL, 0);
    frame_text(&p, fr, buf, len);
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
    struct printer p = {.out = out};
    print_thread(&p, t);
}

void lg_put_quoted(FILE *out, const char *s)
{
    put_quoted(out, s);
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

void lg_summary_print_one(const struct lg_finding *f, size_t number,
                          const struct lg_summary_opts *o)
{
    struct printer p;
    printer_init(&p, o->out, o->sym, f->modules, f->n_modules);
    p.markup = o->markup;
    p.opts = o;
    p.f = f;
    switch (f->kind) {
    case LG_KIND_CYCLE:
        print_cycle(&p, number, o);
        break;
    case LG_KIND_SELF_DEADLOCK:
        print_self_deadlock(&p, number);
        break;
    case LG_KIND_UNLOCK_NOT_HELD:
        print_unlock_not_held(&p, number);
        break;
    case LG_KIND_HELD_AT_EXIT:
        print_held_at_exit(&p, number);
        break;
    case LG_KIND_RANK_VIOLATION:
        print_rank_violation(&p, number);
        break;
    case LG_KIND_RANK_CYCLE:
        print_rank_cycle(&p, number);
        break;
    case LG_KIND_DETECTOR_ERROR:
        print_detector_error(&p);
        break;
    case LG_KIND_DEADLOCK:
        print_deadlock(&p, number);
        break;
    case LG_KIND_LONG_WAIT:
        print_long_wait(&p, number);
        break;
    case LG_KIND_LONG_HOLD:
        print_long_hold(&p, number);
        break;
    case LG_KIND_HELD_ACROSS_IO:
    case LG_KIND_HELD_ACROSS_WAIT:
        print_held_across_io(&p, number);
        break;
    case LG_KIND_FORK_HELD:
        print_fork_held(&p, number);
        break;
    default:
        /* LG_KIND_OTHER, and a kind added to the reader but not here yet:
         * field by field. */
        print_other(&p, number);
        break;
    }
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
        fprintf(out, "lockgraph: %zu %s (", c.findings, plural(c.findings, "finding", "findings"));
        lg_summary_kinds(out, set, hidden);
        fprintf(out, ") in %zu %s", c.processes, plural(c.processes, "process", "processes"));
    }
    if (suppressed)
        fprintf(out, "; %zu suppressed", suppressed);
    size_t errors = c.per_kind[LG_KIND_DETECTOR_ERROR];
    if (errors)
        fprintf(out, "; %zu detector %s (results may be incomplete)", errors,
                plural(errors, "error", "errors"));
    size_t bad = set->corrupt_lines + set->truncated_lines;
    if (bad)
        fprintf(out, "; %zu unreadable %s skipped", bad, plural(bad, "line", "lines"));
    if (set->unreadable_files)
        fprintf(out, "; %zu unreadable %s", set->unreadable_files,
                plural(set->unreadable_files, "file", "files"));
    fprintf(out, "; report: %s\n", where);
    fflush(out);
}

void lg_summary_closing(FILE *out, const struct lg_findings *set, const char *where)
{
    lg_summary_closing_visible(out, set, NULL, 0, where);
}
