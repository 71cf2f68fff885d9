/*
 * held.h - the per-thread stack of held locks, in acquisition order.
 *
 * Only its own thread touches it, so it needs no lock. It has no fixed cap:
 * it starts in the thread record and moves to mapped pages as it grows
 * (one Kyoto Cabinet test holds 1,027 rwlocks at once). Lookups go from the
 * top, where the lock being unlocked almost always is.
 */
#ifndef LG_HELD_H
#define LG_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_node;
struct lg_stack;

enum {
    LG_ACQ_TRY = 1,   /* taken with trylock: it could not have blocked */
    LG_ACQ_TIMED = 2, /* taken with a timed lock: blocks, but not forever */
    LG_ACQ_READ = 4,  /* an rwlock taken for reading */
    LG_ACQ_SHARED = 8 /* ... and it is reader-preferring: readers do not wait for it */
};

struct lg_held {
    uintptr_t addr;
    struct lg_node *node; /* NULL when out of memory at the time */
    uint32_t count;       /* recursion depth */
    uint32_t flags;       /* LG_ACQ_* of the first acquisition */
    uintptr_t pc, cfa;    /* return address and frame address of the lock call */
    const struct lg_stack *stack; /* full stack, only with held_stacks=1 */
    uint64_t since_ns;    /* when taken, only with hold_warn_ms */
};

#define LG_HELD_INLINE 16

struct lg_held_stack {
    struct lg_held *e;
    uint32_t n, cap;
    struct lg_held first[LG_HELD_INLINE];
};

void lg__held_init(struct lg_held_stack *h);
/* Slow half of lg__held_slot: make room for one more entry. */
bool lg__held_grow(struct lg_held_stack *h);

/* A new top entry, to be filled in place by the caller (filling a copy and
 * pushing it costs three store-forwarding stalls a lock); NULL when out of
 * memory. */
static inline struct lg_held *lg__held_slot(struct lg_held_stack *h)
{
    if (__builtin_expect(h->n == h->cap, 0) && !lg__held_grow(h))
        return NULL;
    return &h->e[h->n++];
}

/* Release one hold of addr, the common way: it is on top. Returns false
 * when it is not on top (the caller then searches). */
static inline bool lg__held_release_top(struct lg_held_stack *h, uintptr_t addr)
{
    if (h->n == 0 || h->e[h->n - 1].addr != addr)
        return false;
    if (--h->e[h->n - 1].count == 0)
        h->n--;
    return true;
}
/* Index of addr searching from the top, or -1. */
int lg__held_find(const struct lg_held_stack *h, uintptr_t addr);
/* Remove entry i, keeping the order of the rest. */
void lg__held_remove(struct lg_held_stack *h, int i);
/* Remove every entry `drop` says yes to, keeping the order of the rest
 * (after fork: locks the child does not hold). Returns how many went. */
uint32_t lg__held_remove_if(struct lg_held_stack *h, bool (*drop)(const struct lg_held *));
/* Is the held lock e process-shared (a mutex or rwlock made so)? Such a
 * lock held at a fork is the parent's, which still holds it, not the
 * child's (init.c, gone.c). */
bool lg__held_process_shared(const struct lg_held *e);
/* Empty the stack; grown storage stays with it (never unmapped). */
void lg__held_release(struct lg_held_stack *h);

#endif
