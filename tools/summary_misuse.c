/*
 * summary_misuse.c - the text blocks of a lock misused by one thread: a
 * self-deadlock (a lock taken again by its holder), an unlock of a lock
 * not held, a thread that ended holding locks; and of lockgraph's own
 * detector errors.
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
