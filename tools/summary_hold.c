/*
 * summary_hold.c - the text blocks of a lock held while time passes: a
 * long hold (past hold_warn_ms), a lock held across blocking I/O, and one
 * held across a wait on another thread (a join, a condition, a semaphore,
 * a barrier, a child process), each with the counts of its last line.
 */
#include "summary_int.h"

#include <string.h>

void lg__print_long_hold(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;

    lg__head_begin(p, false);
    fprintf(out, "== long-hold #%zu (pid %ld): ", number, f->pid);
    if (f->final)
        fprintf(out, "a lock held too long %ld %s at one site, the longest %ld ms", f->count,
                lg__plural((size_t)f->count, "time", "times"), f->worst_ms);
    else
        fprintf(out, "a lock held %ld ms", f->has_held_ms ? f->held_ms : f->worst_ms);
    if (f->threshold_ms)
        fprintf(out, " (hold_warn_ms=%ld)", f->threshold_ms);
    lg__head_end(p);
    fputs("   lock ", out);
    lg__print_lock_desc(p, &f->lock);
    fputs("\n   by ", out);
    lg__print_thread_named(p, &f->thread);
    fputs(f->final ? " (the first time), taken at:\n" : ", taken at:\n", out);
    lg__print_stack(p, &f->stack, "     ", false);
    if (f->final)
        fprintf(out,
                "   %ld %s past the threshold at this site, the longest %ld ms (the totals "
                "at exit)\n",
                f->count, lg__plural((size_t)f->count, "time", "times"), f->worst_ms);
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
static void print_fd(const struct lg_printer *p, const struct lg_fd *fd)
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
        lg__put_quoted(out, fd->path);
        sep = ", ";
    }
    if (fd->peer) {
        fprintf(out, "%speer ", sep);
        lg__put_quoted(out, fd->peer);
        sep = ", ";
    }
    if (fd->local) {
        fprintf(out, "%slocal ", sep);
        lg__put_quoted(out, fd->local);
        sep = ", ";
    }
    if (strcmp(sep, " (") != 0)
        fputc(')', out);
}

/* held-across-io, and held-across-wait, which has the same shape: a wait
 * on something (waits_on) where the I/O has its fd. */
static void print_held_across(const struct lg_printer *p, size_t number, bool wait)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    const char *call = f->call ? f->call : wait ? "a wait" : "an I/O call";
    const char *allow = wait ? "wait_allow" : "io_allow";
    size_t n = f->n_held, shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;

    lg__head_begin(p, false);
    fprintf(out, "== %s #%zu (pid %ld): ", wait ? "held-across-wait" : "held-across-io", number,
            f->pid);
    lg__print_thread_named(p, &f->thread);
    fprintf(out, " calls %s while holding %zu %s", call, n, lg__plural(n, "lock", "locks"));
    if (f->count > 1)
        fprintf(out, ", %ld times", f->count);
    lg__head_end(p);
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
        lg__print_lock_desc(p, &h->lock);
        if (h->shared)
            fputs(", held for reading", out);
        if (h->key) {
            fprintf(out, ", %s key ", allow);
            lg__put_word(out, h->key);
        }
        fputs("\n     taken at:\n", out);
        lg__print_stack(p, &h->stack, "       ", !h->stack_exact);
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more locks, L%zu to L%zu, not shown\n", n - shown, shown + 1,
                n);
    fprintf(out, "   %s called at:\n", call);
    lg__print_stack(p, &f->stack, "     ", false);
    if (f->final)
        fprintf(out, "   %ld %s from these sites (the total, at exit)\n", f->count,
                lg__plural((size_t)f->count, "call", "calls"));
    else
        fprintf(out,
                "   %ld %s from these sites when reported (no total followed: no more "
                "calls, or the process did not exit normally)\n",
                f->count, lg__plural((size_t)f->count, "call", "calls"));
    if (wait)
        fputs("   Whoever must end the wait (the thread joined, the one that signals, posts or "
              "arrives, the child) may need these locks first: then nothing moves. Fix: let "
              "the locks go before waiting, or accept it with wait_allow=",
              out);
    else
        fputs("   Every thread that wants these locks waits for the I/O too. Fix: do the I/O "
              "outside the locks, or accept it with io_allow=",
              out);
    lg__put_word(out, call);
    if (n > 0 && f->held[0].key) {
        fprintf(out, " (the call) or %s=", allow);
        lg__put_word(out, f->held[0].key);
        fputs(" (the lock)", out);
    }
    fputs(".\n\n", out);
}

void lg__print_held_across_io(const struct lg_printer *p, size_t number)
{
    print_held_across(p, number, false);
}

void lg__print_held_across_wait(const struct lg_printer *p, size_t number)
{
    print_held_across(p, number, true);
}
