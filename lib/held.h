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
#include <stdint.h>

struct lg_node;
struct lg_stack;

enum {
    LG_ACQ_TRY = 1,   /* taken with trylock: it could not have blocked */
    LG_ACQ_TIMED = 2, /* taken with a timed lock: blocks, but not forever */
};

struct lg_held {
    uintptr_t addr;
    struct lg_node *node; /* NULL when out of memory at the time */
    uint32_t count;       /* recursion depth */
    uint32_t flags;       /* LG_ACQ_* of the first acquisition */
    uintptr_t pc, cfa;    /* return address and frame address of the lock call */
    const struct lg_stack *stack; /* full stack, only with held_stacks=1 */
};

#define LG_HELD_INLINE 16

struct lg_held_stack {
    struct lg_held *e;
    uint32_t n, cap;
    struct lg_held first[LG_HELD_INLINE];
};

void lg__held_init(struct lg_held_stack *h);
/* false when out of memory: the entry is not recorded. */
bool lg__held_push(struct lg_held_stack *h, const struct lg_held *x);
/* Index of addr searching from the top, or -1. */
int lg__held_find(const struct lg_held_stack *h, uintptr_t addr);
/* Remove entry i, keeping the order of the rest. */
void lg__held_remove(struct lg_held_stack *h, int i);
/* Free grown storage; the stack is empty afterwards. */
void lg__held_release(struct lg_held_stack *h);

#endif
