/*
 * summary_rank.c - the text blocks of the declared lock order: a
 * rank-violation (a lock taken against the ranks, with why each held lock
 * forbids it) and a rank-order-cycle (declarations that contradict each
 * other).
 */
#include "summary_int.h"

#include <inttypes.h>
#include <string.h>

/* "mutex L2 "account" (class accounts, rank 20)": the label, then the
 * lock's name, else its key, else its address, then its rank fields. */
static void print_lock_short(const struct lg_printer *p, const struct lg_lock *l, size_t label,
                             bool with_type)
{
    if (with_type)
        fprintf(p->out, "%s ", l->type);
    fprintf(p->out, "L%zu ", label);
    if (l->name)
        lg__put_quoted(p->out, l->name);
    else if (l->key)
        lg__put_word(p->out, l->key);
    else
        fprintf(p->out, "0x%" PRIx64, l->addr);
    lg__print_rank_fields(p, l, false);
}

/* What a declaration calls a lock: its class, else its key, else its label. */
static void print_declared_name(const struct lg_printer *p, const struct lg_lock *l, size_t label)
{
    if (l->class_name)
        lg__put_word(p->out, l->class_name);
    else if (l->key)
        lg__put_word(p->out, l->key);
    else
        fprintf(p->out, "L%zu", label);
}

/* Why held lock L`h` forbids taking L`t` (FINDINGS.md "rank-violation"). */
static void print_rank_why(const struct lg_printer *p, const struct lg_held *h, size_t hl,
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
        lg__put_quoted(out, h->why);
        fputc('\n', out);
    }
}

void lg__print_rank_violation(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t n = f->n_held, shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;
    size_t tl = n + 1; /* held locks are L1..Ln, outermost first; the new one comes after */

    lg__head_begin(p, false);
    fprintf(out, "== rank-violation #%zu (pid %ld): ", number, f->pid);
    lg__print_thread(p, &f->thread);
    fprintf(out, " takes a lock against the declared lock order");
    lg__head_end(p);
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
        lg__print_lock_desc(p, &f->held[i].lock);
        fputc('\n', out);
    }
    fprintf(out, "   lock L%zu ", tl);
    lg__print_lock_desc(p, &f->lock);
    fprintf(out, "\n\n   L%zu taken at:\n", tl);
    lg__print_stack(p, &f->stack, "     ", false);
    for (size_t i = 0; i < shown; i++) {
        fprintf(out, "   while holding L%zu, taken at:\n", i + 1);
        lg__print_stack(p, &f->held[i].stack, "     ", !f->held[i].stack_exact);
        print_rank_why(p, &f->held[i], i + 1, &f->lock, tl, "     ");
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more held locks, L%zu to L%zu, not shown\n", n - shown,
                shown + 1, n);
    fputs("   Fix: take these locks in the declared order, or change the declaration if this "
          "order is right.\n\n",
          out);
}

void lg__print_rank_cycle(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    size_t n = f->n_classes;
    lg__head_begin(p, false);
    fprintf(out,
            "== rank-order-cycle #%zu (pid %ld): the declared lock order contradicts itself "
            "(%zu %s)",
            number, f->pid, n, lg__plural(n, "class", "classes"));
    lg__head_end(p);
    fputs("   ", out);
    for (size_t i = 0; i < n; i++) {
        if (i == LG_SUMMARY_MAX_EDGES - 1 && n > LG_SUMMARY_MAX_EDGES) {
            fprintf(out, "... %zu more ... < ", n - LG_SUMMARY_MAX_EDGES);
            i = n - 1; /* still show the class that closes the cycle */
        }
        lg__put_word(out, f->classes[i]);
        fputs(" < ", out);
    }
    if (n > 0)
        lg__put_word(out, f->classes[0]);
    fputs("\n   Each class must be taken before the next, and the last before the first: no "
          "order satisfies them all.\n"
          "   The declaration that closed the cycle (lg_rank_class or lg_lock_order) was "
          "refused.\n"
          "   Fix: remove or correct one of these declarations.\n\n",
          out);
}
