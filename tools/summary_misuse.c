/*
 * summary_misuse.c - the text blocks of a lock misused by one thread: a
 * self-deadlock (a lock taken again by its holder), an unlock of a lock
 * not held, a thread that ended holding locks, a fork made while other
 * threads held locks (the child inherits them locked for good), a lock
 * freed or destroyed while held; and of lockgraph's own detector errors.
 */
#include "summary_int.h"

#include <string.h>

void lg__print_self_deadlock(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    lg__head_begin(p, true);
    fprintf(out, "== self-deadlock #%zu (pid %ld): ", number, f->pid);
    lg__print_thread(p, &f->thread);
    fprintf(out, " takes a lock it already holds");
    lg__head_end(p);
    fprintf(out, "   lock ");
    lg__print_lock_desc(p, &f->lock);
    fprintf(out, "\n   first taken at:\n");
    lg__print_stack(p, &f->first_stack, "     ", true);
    fprintf(out, "   taken again at:\n");
    lg__print_stack(p, &f->second_stack, "     ", false);
    if (f->lock.mode && strcmp(f->lock.mode, "errorcheck") == 0)
        fprintf(out, "   An errorcheck mutex fails here with EDEADLK instead of hanging.\n\n");
    else if (f->timed)
        fprintf(out, "   Taken with a timed lock: the thread stalls until the timeout.\n\n");
    else
        fprintf(out, "   The mutex is not recursive: the thread waits for itself forever.\n\n");
}

void lg__print_unlock_not_held(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    lg__head_begin(p, false);
    fprintf(out, "== unlock-not-held #%zu (pid %ld): ", number, f->pid);
    lg__print_thread(p, &f->thread);
    fprintf(out, " unlocks a lock it does not hold");
    lg__head_end(p);
    fprintf(out, "   lock ");
    lg__print_lock_desc(p, &f->lock);
    fprintf(out, "\n   unlocked at:\n");
    lg__print_stack(p, &f->stack, "     ", false);
    fputc('\n', out);
}

void lg__print_held_at_exit(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    lg__head_begin(p, false);
    fprintf(out, "== held-at-exit #%zu (pid %ld): ", number, f->pid);
    lg__print_thread(p, &f->thread);
    fprintf(out, " ended holding %zu %s", f->n_held, lg__plural(f->n_held, "lock", "locks"));
    lg__head_end(p);
    for (size_t i = 0; i < f->n_held; i++) {
        if (i == LG_SUMMARY_MAX_EDGES) {
            fprintf(out, "   ... and %zu more locks\n", f->n_held - i);
            break;
        }
        fprintf(out, "   lock ");
        lg__print_lock_desc(p, &f->held[i].lock);
        fprintf(out, "\n     taken at:\n");
        lg__print_stack(p, &f->held[i].stack, "       ", false);
    }
    fputc('\n', out);
}

void lg__print_detector_error(const struct lg_printer *p, size_t number)
{
    (void)number; /* lockgraph's own errors are not numbered */
    const struct lg_finding *f = p->f;
    lg__head_begin(p, false);
    fprintf(p->out, "== detector-error (pid %ld): lockgraph could not do its job fully: %s", f->pid,
            f->error ? f->error : "unknown error");
    lg__head_end(p);
    if (f->message)
        fprintf(p->out, "   %s\n", f->message);
    fputc('\n', p->out);
}

void lg__print_fork_held(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t locks = 0;
    for (size_t i = 0; i < f->n_waiters; i++)
        locks += f->waiters[i].n_held;
    lg__head_begin(p, false);
    fprintf(out,
            "== fork-with-locks-held #%zu (pid %ld): a child of process %ld inherited %zu %s "
            "held by %zu %s it does not have",
            number, f->pid, f->parent_pid, locks, lg__plural(locks, "lock", "locks"), f->n_waiters,
            lg__plural(f->n_waiters, "thread", "threads"));
    lg__head_end(p);
    for (size_t i = 0; i < f->n_waiters; i++) {
        const struct lg_waiter *w = &f->waiters[i];
        fputs("   ", out);
        lg__print_thread_named(p, &w->thread);
        fputs(" of the parent held:\n", out);
        for (size_t k = 0; k < w->n_held; k++) {
            fputs("     ", out);
            lg__print_lock_desc(p, &w->held[k].lock);
            fputs(", taken at:\n", out);
            lg__print_stack(p, &w->held[k].stack, "       ", false);
        }
    }
    fputs("   the fork was made at:\n", out);
    lg__print_stack(p, &f->stack, "     ", false);
    fputs("   In the child these locks stay locked for good: taking one hangs. Fix: fork only "
          "to exec, or take the locks around the fork (pthread_atfork).\n\n",
          out);
}

/* What the call did to the lock, as a verb: "frees", "destroys" ... */
static const char *freed_verb(const char *call)
{
    if (!call)
        return "frees";
    if (strcmp(call, "munmap") == 0)
        return "unmaps";
    if (strcmp(call, "dlclose") == 0)
        return "unloads";
    if (strstr(call, "_destroy"))
        return "destroys";
    return "frees";
}

void lg__print_held_lock_freed(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    bool self = f->owner.known && f->owner.thread.tid == f->thread.tid &&
                f->owner.thread.seq == f->thread.seq;
    bool read = f->hold && strcmp(f->hold, "read") == 0;
    bool destroy = f->call && strstr(f->call, "_destroy");
    lg__head_begin(p, false);
    fprintf(out, "== held-lock-freed #%zu (pid %ld): ", number, f->pid);
    lg__print_thread_named(p, &f->thread);
    fprintf(out, " %s a lock ", freed_verb(f->call));
    if (self) {
        fputs("it holds", out);
    } else if (f->owner.known) {
        lg__print_thread_named(p, &f->owner.thread);
        fputs(" holds", out);
    } else {
        fputs("a thread holds", out);
    }
    if (read)
        fputs(" for reading", out);
    lg__head_end(p);
    fprintf(out, "   lock ");
    lg__print_lock_desc(p, &f->lock);
    fputc('\n', out);
    /* Made through a wrapper, "created at" names the wrapper: the class
     * says who called it. */
    if (f->lock.cls.known && f->lock.cls.site.n > 1) {
        fputs("   its class: ", out);
        lg__print_class_desc(p, &f->lock, true);
        fputc('\n', out);
    }
    fprintf(out, "   %s (%s) at:\n", destroy ? "destroyed" : "freed", f->call ? f->call : "?");
    lg__print_stack(p, &f->stack, "     ", false);
    if (f->owner.known) {
        fprintf(out, "   held %s by ", read ? "for reading" : "exclusively");
        if (self)
            fputs("the same thread", out);
        else
            lg__print_thread_named(p, &f->owner.thread);
        fputs(", taken at:\n", out);
        lg__print_stack(p, &f->owner.stack, "     ", false);
    }
    if (destroy)
        fputs("   Destroying a lock that is held is undefined behaviour: the holder's unlock, "
              "and any thread\n   waiting for it, act on a destroyed lock.\n",
              out);
    else
        fputs("   The lock's memory is gone while it is held: the holder's unlock, and any "
              "thread waiting\n   for it, act on freed memory (or on whatever is made there "
              "next).\n",
              out);
    fputs("   Fix: let every holder unlock it before it is freed or destroyed.\n\n", out);
}
