/*
 * summary_cycle.c - the text block of a lock-order cycle: its locks, each
 * edge with both stacks, and the lockdep-style "possible scenario" table.
 *
 * Does: label the locks L1..Ln, print at most LG_SUMMARY_MAX_EDGES locks
 * and edges in full (a thousand-lock cycle stays readable), the two-lock
 * interleaving table or one line per step of a longer cycle. A cycle
 * between lock classes (scope "class": kinds of lock inverted on different
 * objects) labels its classes C1..Cn, says in words that no one set of
 * locks was taken both ways, names each class by where its locks are made,
 * gives each edge's instances, and plays the scenario on one lock of each
 * class.
 * Does not: symbolize by itself (summary_core.c).
 */
#include "summary_int.h"

#include <inttypes.h>
#include <string.h>

/* Lines of the compact scenario of a long cycle before it is summarized. */
#define MAX_SCENARIO_LINES 20

/* "L3" for the cycle's lock with this id ("C3" for a class of a cycle
 * between classes); locks not in the list (a hand-edited file) are named
 * by id. */
static void lock_label(const struct lg_finding *f, long id, char *buf, size_t len)
{
    bool classes = lg_finding_class_scope(f);
    for (size_t i = 0; i < f->n_locks; i++)
        if (f->locks[i].id == id) {
            snprintf(buf, len, "%c%zu", classes ? 'C' : 'L', i + 1);
            return;
        }
    snprintf(buf, len, "%s#%ld", classes ? "class" : "lock", id);
}

/* The type of the cycle's lock with this id, "lock" when not listed. */
static const char *lock_type(const struct lg_finding *f, long id)
{
    for (size_t i = 0; i < f->n_locks; i++)
        if (f->locks[i].id == id && f->locks[i].type)
            return f->locks[i].type;
    return "lock";
}

static void print_edge(const struct lg_printer *p, const struct lg_edge *e)
{
    const struct lg_finding *f = p->f;
    bool classes = lg_finding_class_scope(f);
    char from[32], to[32];
    lock_label(f, e->from, from, sizeof from);
    lock_label(f, e->to, to, sizeof to);
    fprintf(p->out, "   edge %s -> %s by ", from, to);
    lg__print_thread(p, &e->thread);
    if (classes && e->from_lock.known && e->to_lock.known)
        fprintf(p->out, ", on %s 0x%" PRIx64 " -> %s 0x%" PRIx64, lock_type(f, e->from),
                e->from_lock.addr, lock_type(f, e->to), e->to_lock.addr);
    fprintf(p->out, "%s:\n", e->timed ? ", with a timed lock" : "");
    if (classes && e->from_lock.known)
        fprintf(p->out, "     holds %s lock 0x%" PRIx64 ", taken at:\n", from, e->from_lock.addr);
    else
        fprintf(p->out, "     holds %s, taken at:\n", from);
    lg__print_stack(p, &e->first, "       ", !e->first_exact);
    if (classes && e->to_lock.known)
        fprintf(p->out, "     then takes %s lock 0x%" PRIx64 " at:\n", to, e->to_lock.addr);
    else
        fprintf(p->out, "     then takes %s at:\n", to);
    lg__print_stack(p, &e->second, "       ", false);
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
static void print_scenario2(const struct lg_printer *p)
{
    const struct lg_finding *f = p->f;
    const struct lg_edge *e0 = &f->edges[0], *e1 = &f->edges[1];
    char a[64], b[64], l0[32], l1[32], t0[48], t1[48];
    bool one = same_thread(&e0->thread, &e1->thread);

    lock_label(f, e0->from, l0, sizeof l0);
    lock_label(f, e0->to, l1, sizeof l1);
    if (lg_finding_class_scope(f) && one) {
        fprintf(p->out,
                "   Possible scenario (thread %ld took both orders at different times; two\n"
                "   threads running those two paths at once on the same %s lock and %s lock\n"
                "   deadlock):\n",
                e0->thread.seq, l0, l1);
        snprintf(a, sizeof a, "thread A");
        snprintf(b, sizeof b, "thread B");
    } else if (lg_finding_class_scope(f)) {
        fprintf(p->out, "   Possible scenario, two threads on the same %s lock and %s lock:\n", l0,
                l1);
        thread_column(a, sizeof a, &e0->thread);
        thread_column(b, sizeof b, &e1->thread);
    } else if (one) {
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
    lg__sgr(p, SGR_BAD);
    fputs("deadlock", p->out);
    lg__sgr(p, SGR_RESET);
    fputc('\n', p->out);
}

/* Longer cycles: one line per edge, each thread holding one lock and
 * waiting for the next; capped for huge cycles. */
static void print_scenario_n(const struct lg_printer *p)
{
    const struct lg_finding *f = p->f;
    size_t n = f->n_edges;
    if (f->single_thread)
        fprintf(p->out,
                "   One thread made every edge; %zu threads running these paths at once "
                "deadlock.\n",
                n);
    if (lg_finding_class_scope(f))
        fprintf(p->out, "   Possible scenario: each thread holds a lock of one class and waits for "
                        "the lock of the\n   next class the next thread holds:\n");
    else
        fprintf(p->out,
                "   Possible scenario: each thread holds one lock and waits for the next:\n");
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
            lg__sgr(p, SGR_BAD);
            fputs("deadlock", p->out);
            lg__sgr(p, SGR_RESET);
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

/* Lock instances the edges of a class cycle were taken on, each once. */
static size_t distinct_instances(const struct lg_finding *f)
{
    size_t count = 0;
    for (size_t i = 0; i < 2 * f->n_edges; i++) {
        const struct lg_edge_lock *l =
            i % 2 ? &f->edges[i / 2].to_lock : &f->edges[i / 2].from_lock;
        if (!l->known)
            continue;
        size_t j = 0;
        for (; j < i; j++) {
            const struct lg_edge_lock *m =
                j % 2 ? &f->edges[j / 2].to_lock : &f->edges[j / 2].from_lock;
            if (m->known && m->addr == l->addr && m->id == l->id)
                break;
        }
        if (j == i)
            count++;
    }
    return count;
}

/* What a cycle between classes means, before its classes are listed. */
static void print_class_intro(const struct lg_printer *p)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    if (f->n_locks == 2)
        fputs("   Never on one pair of locks in this run, but any C1 lock and C2 lock taken in\n"
              "   these two orders can deadlock: the edges below were taken on different objects\n"
              "   of each class; two threads meeting on the same ones hang.\n",
              out);
    else
        fprintf(out,
                "   Never on one set of locks in this run, but locks of these %zu classes taken "
                "in\n   these orders can deadlock: the edges below were taken on different "
                "objects of\n   each class; threads meeting on the same ones hang.\n",
                f->n_locks);
}

void lg__print_cycle(const struct lg_printer *p, size_t number)
{
    const struct lg_summary_opts *o = p->opts;
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    bool classes = lg_finding_class_scope(f);
    const char *label = classes ? "C" : "L";

    lg__head_begin(p, true);
    if (classes)
        fprintf(out, "== lock-order-cycle #%zu (pid %ld): potential deadlock between %zu lock %s",
                number, f->pid, f->n_locks, lg__plural(f->n_locks, "class", "classes"));
    else
        fprintf(out, "== lock-order-cycle #%zu (pid %ld): potential deadlock among %zu %s", number,
                f->pid, f->n_locks, lg__plural(f->n_locks, "lock", "locks"));
    if (o->program_completed && f->pid == o->program_pid)
        fprintf(out, " (did not hang in this run)");
    lg__head_end(p);
    if (classes)
        print_class_intro(p);

    for (size_t i = 0; i < f->n_locks; i++) {
        if (i == LG_SUMMARY_MAX_EDGES) {
            fprintf(out, "   ... and %zu more %s (%s%d to %s%zu)\n", f->n_locks - i,
                    classes ? "classes" : "locks", label, LG_SUMMARY_MAX_EDGES + 1, label,
                    f->n_locks);
            break;
        }
        if (classes) {
            fprintf(out, "   class C%zu: ", i + 1);
            if (!lg__print_class_desc(p, &f->locks[i], true))
                lg__print_lock_desc(p, &f->locks[i]);
        } else {
            fprintf(out, "   lock L%zu ", i + 1);
            lg__print_lock_desc(p, &f->locks[i]);
        }
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
        fprintf(out, "   (the file lists %zu edges for %zu %s; it may be damaged)\n", f->n_edges,
                f->n_locks, classes ? "classes" : "locks");

    if (f->n_edges > 0) {
        size_t threads = distinct_threads(f);
        fprintf(out, "   %zu %s, %zu %s", f->n_edges, lg__plural(f->n_edges, "edge", "edges"),
                threads, lg__plural(threads, "thread", "threads"));
        size_t locks = classes ? distinct_instances(f) : 0;
        if (locks)
            fprintf(out, " and %zu %s", locks, lg__plural(locks, "lock", "locks"));
        fputs(" involved.\n", out);
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
    if (classes)
        fputs("   Fix: take locks of these classes in one order everywhere, or guard all the "
              "paths with one\n   outer lock.\n\n",
              out);
    else
        fputs("   Fix: take these locks in one order everywhere, or guard all the paths with one "
              "outer lock.\n\n",
              out);
}
