/*
 * summary_wait.c - the text blocks of threads blocked now: a deadlock
 * (threads waiting on each other: the table of who holds and awaits what,
 * then each thread's wait and held locks; through a join, or on a lock
 * whose owner is gone, thread by thread) and a long wait the watchdog saw.
 */
#include "summary_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
static void print_wait(const struct lg_printer *p, const struct lg_waiter *w, const char *lock,
                       const char *indent)
{
    FILE *out = p->out;
    fprintf(out, "%swaits for %s", indent, lock);
    if (w->wait)
        fprintf(out, " (%s)", w->wait);
    fprintf(out, ", %ld ms so far%s, at:\n", w->waiting_ms, w->timed ? ", with a timeout" : "");
    char sub[64];
    snprintf(sub, sizeof sub, "%s  ", indent);
    lg__print_stack(p, &w->stack, sub, false);
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
static void print_deadlock_waits(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t n = f->n_waiters;
    size_t shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;

    lg__head_begin(p, true);
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
    lg__head_end(p);
    for (size_t i = 0; i < shown; i++) {
        const struct lg_waiter *w = &f->waiters[i];
        const struct lg_waiter *next =
            i + 1 < n || !f->gone.known ? &f->waiters[(i + 1) % n] : NULL;
        fputs("   ", out);
        lg__print_thread_named(p, &w->thread);
        fputs(":\n", out);
        if (joins(w)) {
            fputs("     joins ", out);
            lg__print_thread_named(p, w->joins_known ? &w->joins
                                      : next         ? &next->thread
                                                     : &w->thread);
            fprintf(out, ", %ld ms so far, at:\n", w->waiting_ms);
            lg__print_stack(p, &w->stack, "       ", false);
        } else {
            char what[320];
            lock_cell(what, sizeof what, i + 1, &w->waits_for, waits_shared(w));
            print_wait(p, w, what, "     ");
            fputs("       held by ", out);
            lg__print_thread_named(p, next ? &next->thread : &f->gone.thread);
            fputc('\n', out);
        }
        for (size_t k = 0; k < w->n_held; k++) {
            fputs("     holds ", out);
            lg__print_lock_desc(p, &w->held[k].lock);
            fputs(", taken at:\n", out);
            lg__print_stack(p, &w->held[k].stack, "       ", true);
        }
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more threads, not shown\n", n - shown);
    if (f->gone.known) {
        bool fork = f->gone.gone && strcmp(f->gone.gone, "not-in-process") == 0;
        bool ended = f->gone.gone && strcmp(f->gone.gone, "ended") == 0;
        fputs("   The lock's owner, ", out);
        lg__print_thread_named(p, &f->gone.thread);
        fputs(fork    ? ", is a thread of the parent process: it does not exist in this one, the "
                        "child of a fork.\n"
              : ended ? ", has ended without letting it go.\n"
                      : ", is gone.\n",
              out);
        if (f->gone.stack.n) {
            fputs("     it took the lock at:\n", out);
            lg__print_stack(p, &f->gone.stack, "       ", true);
        }
        if (f->gone.where.n) {
            fputs(f->gone.fork ? "     the fork was made at:\n" : "     it ended at:\n", out);
            lg__print_stack(p, &f->gone.where, "       ", false);
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

void lg__print_deadlock(const struct lg_printer *p, size_t number)
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

    lg__head_begin(p, true);
    fprintf(out, "== DEADLOCK #%zu (pid %ld): %zu %s blocked on each other (now, not a prediction)",
            number, f->pid, n, n == 1 ? "thread is" : "threads are");
    lg__head_end(p);

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
            lg__site_text(p, f->waiters[i].stack.pcs[0], where, sizeof where);
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
        lg__print_lock_desc(p, &f->waiters[(i + n - 1) % n].waits_for);
        fputc('\n', out);
    }
    fputc('\n', out);

    for (size_t i = 0; i < shown; i++) {
        const struct lg_waiter *w = &f->waiters[i], *prev = &f->waiters[(i + n - 1) % n];
        char lock[32];
        fputs("   ", out);
        lg__print_thread_named(p, &w->thread);
        fputs(":\n", out);
        snprintf(lock, sizeof lock, "L%zu", (i + 1) % n + 1);
        print_wait(p, w, lock, "     ");
        const struct lg_held *cyc = held_by_id(w, &prev->waits_for);
        if (cyc) {
            fprintf(out, "     holds L%zu, taken at:\n", i + 1);
            lg__print_stack(p, &cyc->stack, "       ", true);
        } else {
            fprintf(out, "     holds L%zu (where it took it was not recorded)\n", i + 1);
        }
        for (size_t k = 0; k < w->n_held; k++) {
            if (&w->held[k] == cyc)
                continue;
            fputs("     also holds ", out);
            lg__print_lock_desc(p, &w->held[k].lock);
            fputs(", taken at:\n", out);
            lg__print_stack(p, &w->held[k].stack, "       ", true);
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
        lg__put_quoted(out, f->found_by);
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

void lg__print_long_wait(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    const struct lg_waiter *w = &f->waiters[0];

    lg__head_begin(p, false);
    fprintf(out, "== long-wait #%zu (pid %ld): ", number, f->pid);
    lg__print_thread_named(p, &w->thread);
    fprintf(out, " has waited %ld ms for a lock", w->waiting_ms);
    if (f->threshold_ms)
        fprintf(out, " (watchdog: %ld ms)", f->threshold_ms);
    lg__head_end(p);
    fputs("   lock ", out);
    lg__print_lock_desc(p, &w->waits_for);
    fputc('\n', out);
    if (f->owner.known) {
        fputs("   held by ", out);
        lg__print_thread_named(p, &f->owner.thread);
        fputs(", taken at:\n", out);
        lg__print_stack(p, &f->owner.stack, "     ", false);
    } else {
        fputs("   held by a thread lockgraph could not tell\n", out);
    }
    fputs("   ", out);
    lg__print_thread_named(p, &w->thread);
    fputs(":\n", out);
    print_wait(p, w, "the lock", "     ");
    for (size_t k = 0; k < w->n_held; k++) {
        fputs("     while holding ", out);
        lg__print_lock_desc(p, &w->held[k].lock);
        fputs(", taken at:\n", out);
        lg__print_stack(p, &w->held[k].stack, "       ", true);
    }
    fputs("   A stall, not (yet) a deadlock: the owner has not let go. Fix: hold the lock for "
          "less time, or do the slow part outside it.\n\n",
          out);
}
