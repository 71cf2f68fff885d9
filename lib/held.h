/*
 * held.h - the per-thread stack of held locks, in acquisition order.
 *
 * Only its own thread writes it, so it needs no lock; other threads read it
 * racily and validate what they read (wait.c). It has no fixed cap: it starts
 * in the thread record and moves to mapped pages as it grows (one Kyoto
 * Cabinet test holds 1,027 rwlocks at once).
 *
 * Cost per acquisition and release does not depend on how many locks are
 * held: up to LG_HELD_SCAN entries a lookup scans from the top, where the
 * lock being unlocked almost always is; above that a per-thread hash index
 * (address -> position) answers. A lock released from the middle leaves a
 * hole (addr 0) instead of shifting everything above it; holes that reach the
 * top are popped, and the stack is compacted when they are half of it.
 * Readers skip holes (lg__held_is_hole).
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

/* What a held entry takes over from the thread's hit cache (thread.h) when
 * the lock is taken in an order the thread knows: one block, copied whole
 * (lg__held_fill_hit). Named fields and the block are the same memory.
 *   node  the instance; NULL when out of memory at the time
 *   key   the chain key of the stack up to and including this entry: a
 *         hash of the instances and modes held, in order (lockdep's chain
 *         key); ckey the same over classes, when every class in it is
 *         different (0 otherwise)
 *   klass the class it was taken as (for runs only; node->klass is the
 *         truth)
 *   gen   node's generation when taken: changed, it is gone
 *   run   the first entry of the run this one ends: entries next to each
 *         other with one class and one mode (runtime.c jumps over a run at
 *         once) */
#define LG_KNOWN_FIELDS                                                                            \
    struct lg_node *node;                                                                          \
    uint64_t key, ckey;                                                                            \
    const void *klass;                                                                             \
    uint32_t gen, run;
struct lg_known {
    LG_KNOWN_FIELDS
};

struct lg_held {
    uintptr_t addr; /* 0: a hole left by a release from the middle */
    union {
        struct lg_known known;
        struct {
            LG_KNOWN_FIELDS
        };
    };
    uint32_t count;       /* recursion depth */
    uint16_t flags;       /* LG_ACQ_* of the first acquisition */
    uint16_t spare;
    uintptr_t pc, cfa;    /* return address and frame address of the lock call */
    const struct lg_stack *stack; /* full stack, only with held_stacks=1 */
    uint64_t since_ns;    /* when taken, only with hold_warn_ms */
};

#define LG_HELD_INLINE 16
/* Above this many entries, lookups use the index. 16: a scan of 16 is
 * still cheap, while keeping the index costs every push and pop above it
 * (12 held in a loop like bench_lock nested20's: 24.0 ns a pair with 8
 * here, 18.6 with 16, bare 13.3). */
#define LG_HELD_SCAN 16

struct lg_held_index {
    uintptr_t addr; /* 0: empty */
    uint32_t pos;
};

struct lg_held_stack {
    struct lg_held *e;
    uint32_t n, cap;
    /* Entries from here up have keys that no longer describe the stack
     * below them (a release from the middle of a deep stack left a hole):
     * chain lookups are off until the top is below it again. UINT32_MAX:
     * every key is right. */
    uint32_t stale_from;
    uint32_t holes;                /* entries with addr 0 below the top */
    uint32_t imask;                /* index capacity - 1, 0 when not indexed */
    uint32_t icap;                 /* entries mapped at index (kept when not indexed) */
    struct lg_held_index *index;   /* lock-free to nobody: its thread's only */
    struct lg_held first[LG_HELD_INLINE];
};

void lg__held_init(struct lg_held_stack *h);

/* ---- chain keys. The key of an empty stack, and the key of a stack with
 * one more lock on it (instance id, LG_ACQ_* flags). */
#define LG_CHAIN_EMPTY 0x2545F4914F6CDD1Dull
#define LG_CHAIN_CEMPTY 0x6A09E667F3BCC909ull /* the class key of an empty stack */
static inline uint64_t lg__chain_next(uint64_t prev, uint64_t id, unsigned flags)
{
    uint64_t k = (prev ^ (id * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)flags << 59)) *
                 0xBF58476D1CE4E5B9ull;
    return (k ^ (k >> 31)) | 1; /* never 0: 0 is an empty cache slot */
}

/* The run a new top entry (class k, flags) belongs to. */
uint32_t lg__held_run_of(const struct lg_held_stack *h, const void *k, unsigned flags);

/* The same for an entry about to be pushed on a stack whose chain keys hold
 * (so no hole below the top), the fast path's form (runtime.h): the run a
 * lock of class k taken with flags would end. */
static inline uint32_t lg__held_run_next(const struct lg_held_stack *s, const void *k,
                                         unsigned flags)
{
    const struct lg_held *below = s->n ? &s->e[s->n - 1] : NULL;
    return k && below && below->flags == flags && below->klass == k ? below->run : s->n;
}

/* The key of the whole stack now, or 0 when the keys are stale. */
static inline uint64_t lg__held_top_key(const struct lg_held_stack *h)
{
    if (__builtin_expect(h->stale_from < h->n, 0))
        return 0;
    return h->n ? h->e[h->n - 1].key : LG_CHAIN_EMPTY;
}

/* The class key of the whole stack now, or 0 when it has none. */
static inline uint64_t lg__held_top_ckey(const struct lg_held_stack *h)
{
    if (__builtin_expect(h->stale_from < h->n, 0))
        return 0;
    return h->n ? h->e[h->n - 1].ckey : LG_CHAIN_CEMPTY;
}

/* Bumped when what a chain of held locks implies changes for a lock that
 * is still alive (it got a new class or rank): every thread's cache of
 * known chains is then forgotten. */
#define lg__chain_epoch (lg__fastg.chain_epoch)
/* The globals every fast-path acquisition reads, on a cache line of their
 * own: nothing written on a busy path (a lock, a counter) may share it,
 * wherever the linker puts things. Set at start, or changed rarely. */
struct __attribute__((aligned(64))) lg_fast_globals {
    _Atomic uint32_t chain_epoch;
    bool opt_after_rare;  /* runtime.h: lg__opt_after_rare */
    bool opt_unlock_rare; /* runtime.h: lg__opt_unlock_rare */
};
extern struct lg_fast_globals lg__fastg;
void lg__chain_forget(void);

static inline bool lg__held_is_hole(const struct lg_held *e)
{
    return e->addr == 0;
}

/* Slow halves of the inline operations below. */
bool lg__held_grow(struct lg_held_stack *h);
void lg__held_indexed_push(struct lg_held_stack *h);
void lg__held_after_pop(struct lg_held_stack *h, uintptr_t addr);

/* A new top entry, to be filled in place by the caller (filling a copy and
 * pushing it costs three store-forwarding stalls a lock); NULL when out of
 * memory. The caller then calls lg__held_pushed once addr is set. */
static inline struct lg_held *lg__held_slot(struct lg_held_stack *h)
{
    if (__builtin_expect(h->n == h->cap, 0) && !lg__held_grow(h))
        return NULL;
    return &h->e[h->n++];
}

/* The entry the next push will fill, for a caller that fills it before it
 * knows whether the push happens (the fast path, runtime.h, fills it
 * before the real lock call, so that nothing of the call but the thread's
 * record stays live across it); lg__held_commit pushes it. Nobody reads
 * above the top, so a slot filled and never committed is no entry. NULL
 * when the stack is full: growing it is for the whole way (lg__held_slot). */
static inline struct lg_held *lg__held_stage(struct lg_held_stack *h)
{
    return __builtin_expect(h->n < h->cap, 1) ? &h->e[h->n] : NULL;
}

/* The top entry's addr is filled in: index it if the stack is indexed. */
static inline void lg__held_pushed(struct lg_held_stack *h)
{
    if (__builtin_expect(h->imask != 0 || h->n > LG_HELD_SCAN, 0))
        lg__held_indexed_push(h);
}

/* Push the entry lg__held_stage gave. */
static inline void lg__held_commit(struct lg_held_stack *h)
{
    h->n++;
    lg__held_pushed(h);
}

/* Release one hold of addr, the common way: it is on top. Returns false
 * when it is not on top (the caller then searches). */
static inline bool lg__held_release_top(struct lg_held_stack *h, uintptr_t addr)
{
    if (h->n == 0 || h->e[h->n - 1].addr != addr)
        return false;
    if (--h->e[h->n - 1].count == 0) {
        h->n--;
        if (__builtin_expect(h->imask | h->holes, 0))
            lg__held_after_pop(h, addr);
        if (__builtin_expect(h->stale_from >= h->n, 1))
            h->stale_from = UINT32_MAX;
    }
    return true;
}

/* Index of addr, or -1. */
int lg__held_find(const struct lg_held_stack *h, uintptr_t addr);
/* Remove entry i; the order of the rest is kept. */
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
/* Live entries (holes not counted). */
static inline uint32_t lg__held_count(const struct lg_held_stack *h)
{
    return h->n - h->holes;
}

#endif
