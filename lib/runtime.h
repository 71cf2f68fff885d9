/*
 * runtime.h - the events every lock operation becomes.
 *
 * The preload shims (interpose.c) and the public API (api.c) both speak
 * only this: before-lock, after-lock, before-unlock, created, destroyed,
 * thread-ended. No check is written twice.
 *
 * The shims' first step is the known-order fast path: lg__enter_fast, the
 * thread's hit cache (lg__hit_find), the held entry filled before the real
 * call (lg__held_stage, lg__held_fill_hit) and pushed after it
 * (lg__held_commit); an unlock's is lg__unlock_fast. It reads only the
 * thread's own record and an instance's generation, so it needs no read
 * section. Everything else goes the whole way below.
 *
 * A caller brackets its work with lg__enter()/lg__leave(): enter returns the
 * thread's record, or NULL when the call must pass straight through
 * (lockgraph not running, already inside lockgraph on this thread, thread
 * past its exit). Between the two the thread is inside a read section
 * (reclaim.h): what the registry and the graph hand out stays allocated.
 * Around a call that may block for the program (waiting for a busy lock, a
 * condition, a join), lg__quiescent_begin/end step outside it, so a blocked
 * thread never holds up reclamation; lock instances kept across it are
 * type-stable and checked again after.
 */
#ifndef LG_RUNTIME_H
#define LG_RUNTIME_H

#include "graph.h"
#include "held.h"
#include "registry.h"
#include "thread.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lg_state { LG_STATE_OFF, LG_STATE_STARTING, LG_STATE_ACTIVE, LG_STATE_DISABLED };

extern atomic_int lg__state;

/* Start lockgraph if it has not started; true when it is active. */
bool lg__start(void);

static inline void lg__section_step(struct lg_thread *t, memory_order mo)
{
    atomic_store_explicit(&t->rcu, atomic_load_explicit(&t->rcu, memory_order_relaxed) + 1, mo);
}

/* Into the read section: odd. The grace-period side makes the store
 * visible with a membarrier, so a compiler barrier is all this side needs. */
static inline void lg__section_enter(struct lg_thread *t)
{
    lg__section_step(t, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
}

/* Holds other threads ended (see struct lg_drops): drop them. */
void lg__apply_drops(struct lg_thread *t);

static inline struct lg_thread *lg__enter(void)
{
    if (__builtin_expect(lg__busy, 0))
        return NULL;
    if (__builtin_expect(atomic_load_explicit(&lg__state, memory_order_acquire) != LG_STATE_ACTIVE,
                         0) &&
        !lg__start())
        return NULL;
    struct lg_thread *t = lg__self;
    lg__busy = 1;
    if (__builtin_expect(t == NULL, 0))
        t = lg__thread_create();
    if (__builtin_expect(t == NULL || t == LG_THREAD_GONE, 0)) {
        lg__busy = 0;
        return NULL;
    }
    lg__section_enter(t);
    if (__builtin_expect(atomic_load_explicit(&t->drops_pending, memory_order_relaxed), 0))
        lg__apply_drops(t);
    return t;
}

static inline void lg__leave(void)
{
    lg__section_step(lg__self, memory_order_release);
    lg__busy = 0;
}

/* held_stacks or hold_warn_ms: lock_after has more to do (set at start). */
#define lg__opt_after_rare (lg__fastg.opt_after_rare)
/* hold_warn_ms: unlocks have more to do (set at start). */
#define lg__opt_unlock_rare (lg__fastg.opt_unlock_rare)

/* The known-order fast path's entry (interpose.c): the thread's record,
 * marked busy, when it has one (made only once lockgraph is active), it is
 * not inside lockgraph, and nothing is pending for it: no drops (an
 * acquisition with per-hold extras, held_stacks or hold_warn_ms, finds no
 * hit: lg__hit_put makes none). Busy before the first read of the record:
 * a signal handler's locking may change more than the count of entries
 * (see lg__unlock_fast), so nothing read before it could be trusted after
 * it (sc_signal_locks). NULL sends the call the whole way (lg__enter).
 * No read section: the fast path reads only the thread's own record and
 * the generation of instances, which are type-stable (registry.h) - a hit
 * is checked against it, and a held entry whose instance changed
 * generation counts as gone, whenever that happened. Going on the whole
 * way from here takes only lg__section_enter: the rest of lg__enter is
 * done. */
static inline struct lg_thread *lg__enter_fast(void)
{
    struct lg_thread *t = lg__self;
    /* (a record is made only once lockgraph is active, which it then stays) */
    if (__builtin_expect(lg__busy || (uintptr_t)t <= (uintptr_t)LG_THREAD_GONE ||
                             atomic_load_explicit(&t->drops_pending, memory_order_relaxed),
                         0))
        return NULL;
    lg__busy = 1;
    atomic_signal_fence(memory_order_seq_cst); /* before any read of the record */
    return t;
}

/* The fast path of an unlock: the lock is on top of the held stack and
 * nothing else is to be done (no drops pending, no hold_warn_ms timing):
 * one hold of it goes. The shim then makes the real call as its tail call,
 * or goes the whole way (lg__enter, lg__unlock_before), or, for a stack
 * deep enough to be indexed or with holes below its top, takes the lock off
 * with lg__unlock_indexed.
 *
 * Busy from the first read to the last write, like every change to the
 * stack: a signal handler that locks and unlocks in between would leave
 * the count of entries as it was, but not the rest (its slow path may build
 * or drop the index, or apply drops), which a pop decided before it would
 * then contradict (sc_signal_locks showed it with the index at 8 held). */
enum lg_unlock_fast {
    LG_UNLOCK_WHOLE,  /* go the whole way */
    LG_UNLOCK_DONE,   /* done */
    LG_UNLOCK_INDEXED /* on top, but the stack has an index or holes: lg__unlock_indexed */
};
static inline enum lg_unlock_fast lg__unlock_fast(uintptr_t addr)
{
    struct lg_thread *t = lg__self;
    if (__builtin_expect(lg__busy || (uintptr_t)t <= (uintptr_t)LG_THREAD_GONE ||
                             atomic_load_explicit(&t->drops_pending, memory_order_relaxed) ||
                             lg__opt_unlock_rare,
                         0))
        return LG_UNLOCK_WHOLE;
    lg__busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    enum lg_unlock_fast r = LG_UNLOCK_WHOLE;
    struct lg_held_stack *h = &t->held;
    uint32_t n = h->n;
    struct lg_held *e = n ? &h->e[n - 1] : NULL;
    if (__builtin_expect(e == NULL || e->addr != addr, 0)) {
        r = LG_UNLOCK_WHOLE;
    } else if (__builtin_expect((h->imask | h->holes) != 0, 0)) {
        r = LG_UNLOCK_INDEXED;
    } else if (__builtin_expect(e->count > 1, 0)) {
        e->count--;
        r = LG_UNLOCK_DONE;
    } else {
        h->n = n - 1;
        if (__builtin_expect(h->stale_from >= n - 1, 1))
            h->stale_from = UINT32_MAX;
        r = LG_UNLOCK_DONE;
    }
    atomic_signal_fence(memory_order_seq_cst);
    lg__busy = 0;
    return r;
}

/* LG_UNLOCK_INDEXED: one hold of addr, on top, goes, with the stack's
 * index and holes kept (busy meanwhile). False when addr is not on top
 * after all (a signal handler ran since lg__unlock_fast looked): the
 * caller goes the whole way. */
static inline bool lg__unlock_indexed(uintptr_t addr)
{
    lg__busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    bool done = lg__held_release_top(&lg__self->held, addr);
    atomic_signal_fence(memory_order_seq_cst);
    lg__busy = 0;
    return done;
}

static inline void lg__leave_fast(void)
{
    atomic_signal_fence(memory_order_seq_cst); /* after every write */
    lg__busy = 0;
}

/* Step outside the read section while blocking for the program, and back. */
static inline void lg__quiescent_begin(struct lg_thread *t)
{
    lg__section_step(t, memory_order_release);
}

static inline void lg__quiescent_end(struct lg_thread *t)
{
    lg__section_enter(t);
}

/* One acquisition, from before-lock to after-lock. */
struct lg_acq {
    uintptr_t addr;
    enum lg_lock_type type;
    enum lg_lock_mode mode;
    unsigned flags;     /* LG_ACQ_* */
    uintptr_t pc, cfa;  /* return address and frame address of the lock call */
    struct lg_node *node;
    uint32_t gen;       /* node's generation when looked up */
    int held;           /* index in the held stack when already held, else -1 */
    uint64_t chain;     /* the chain key with this lock on top; 0: none */
    uint64_t cchain;    /* the class key with this lock on top; 0: none */
};

/* The slow halves of the three below. */
void lg__lock_before_slow(struct lg_thread *t, struct lg_acq *a);
void lg__lock_after_slow(struct lg_thread *t, struct lg_acq *a);
void lg__unlock_slow(struct lg_thread *t, uintptr_t addr);

/* The chain cache's entry (thread.h) for key k, or NULL. */
static inline const struct lg_chain_entry *lg__chain_known(const struct lg_thread *t, uint64_t k)
{
    const struct lg_chain_entry *e = &t->chains[(uint32_t)(k ^ (k >> 32)) & (LG_CHAIN_CACHE - 1)];
    return e->key == k &&
                   t->chains_epoch == atomic_load_explicit(&lg__chain_epoch, memory_order_relaxed)
               ? e
               : NULL;
}

/* A class's part in class keys: its id, never reused (class records are),
 * with a bit that keeps class keys apart from instance keys. An addr class
 * is its one lock, so its part is the instance's id with a second bit: the
 * same before its class is made (registry.h) as after, so no chain
 * remembered in between goes stale. */
static inline uint64_t lg__class_part(const struct lg_node *n)
{
    const struct lg_class *k = atomic_load_explicit(&((struct lg_node *)n)->klass,
                                                    memory_order_relaxed);
    return k && k->kind != LG_CLASS_ADDR ? k->id | (1ull << 63) : n->id | (3ull << 62);
}

/* ---- the hit cache (thread.h). */
static inline uint32_t lg__hit_slot(uint64_t top, uintptr_t addr)
{
    return (uint32_t)((top ^ ((uint64_t)addr * 0x9E3779B97F4A7C15ull)) >> 40) & (LG_HIT_CACHE - 1);
}

/* The hit for the lock at addr taken with flags on top of the held stack
 * now, or NULL. Exact: the stack's chain key, the address and the flags
 * are compared, not a hash of them, and the instance must still be of the
 * generation it had, so a hit names the instance the registry would. (A
 * stack whose keys are stale has top 0, which only empty slots have, and
 * their addr is 0.) */
static inline const struct lg_hit *lg__hit_find(const struct lg_thread *t, uintptr_t addr,
                                                unsigned flags)
{
    uint64_t top = lg__held_top_key(&t->held);
    const struct lg_hit *h = &t->hits[lg__hit_slot(top, addr)];
    if (__builtin_expect(h->top == top && h->addr == addr && h->flags == flags, 1) &&
        __builtin_expect(t->chains_epoch == atomic_load_explicit(&lg__chain_epoch,
                                                                 memory_order_relaxed) &&
                             atomic_load_explicit(&h->node->gen, memory_order_relaxed) == h->gen,
                         1))
        return h;
    return NULL;
}

/* a (node, gen, chain, cchain filled in) is known on top of the held stack,
 * whose key is top (not 0), in the cache of epoch t->chains_epoch: remember
 * it, unless every hold needs more than a push (held_stacks, hold_warn_ms:
 * lg__lock_after_slow). */
static inline void lg__hit_put(struct lg_thread *t, uint64_t top, const struct lg_acq *a)
{
    if (lg__opt_after_rare)
        return;
    struct lg_hit *h = &t->hits[lg__hit_slot(top, a->addr)];
    h->top = top;
    h->addr = a->addr;
    h->node = a->node;
    h->gen = a->gen;
    h->flags = a->flags;
    h->key = a->chain;
    h->ckey = a->cchain;
    h->klass = atomic_load_explicit(&a->node->klass, memory_order_relaxed);
    h->run = lg__held_run_next(&t->held, h->klass, a->flags);
}

/* Push an acquisition in a known order (instance n of generation gen, chain
 * keys chain and cchain, class k ending run `run`) on the held stack; false
 * when the stack cannot grow (the caller goes the slow way). */
__attribute__((always_inline)) static inline bool
lg__held_push_known(struct lg_thread *t, uintptr_t addr, struct lg_node *n, uint32_t gen,
                    unsigned flags, uint64_t chain, uint64_t cchain, const void *k, uint32_t run,
                    uintptr_t pc, uintptr_t cfa)
{
    struct lg_held *h = lg__held_slot(&t->held);
    if (__builtin_expect(h == NULL, 0))
        return false;
    h->addr = addr;
    h->node = n;
    h->gen = gen;
    h->count = 1;
    h->flags = (uint16_t)flags;
    h->key = chain;
    h->ckey = cchain;
    h->klass = k;
    h->run = run;
    h->pc = pc;
    h->cfa = cfa;
    h->stack = NULL;
    lg__held_pushed(&t->held);
    return true;
}

/* Fill the staged entry e (lg__held_stage) for the lock at addr taken with
 * flags in the order hit h knows. */
__attribute__((always_inline)) static inline void lg__held_fill_hit(struct lg_held *e,
                                                                    uintptr_t addr,
                                                                    const struct lg_hit *h,
                                                                    unsigned flags, uintptr_t pc,
                                                                    uintptr_t cfa)
{
    e->addr = addr;
    e->known = h->known;
    e->count = 1;
    e->flags = (uint16_t)flags;
    e->spare = 0;
    e->pc = pc;
    e->cfa = cfa;
    e->stack = NULL;
}

/* Before the lock call. The fast path, inline in every shim: the lock's
 * instance from the registry, and the chain of held locks with it on top
 * found in the thread's chain cache: an order already seen, nothing to do.
 * Anything else (a lock never seen, a new chain) goes to the slow half. */
__attribute__((always_inline)) static inline void lg__lock_before(struct lg_thread *t,
                                                                  struct lg_acq *a)
{
    struct lg_node *n = lg__registry_lookup(a->addr);
    if (__builtin_expect(n != NULL, 1) &&
        !atomic_load_explicit(&n->provisional, memory_order_relaxed)) {
        uint64_t top = lg__held_top_key(&t->held);
        if (__builtin_expect(top != 0, 1)) {
            uint64_t k = lg__chain_next(top, n->id, a->flags);
            const struct lg_chain_entry *e = lg__chain_known(t, k);
            /* Not this chain of instances: perhaps this chain of classes
             * (a new lock of a known class in a known order). */
            uint64_t ctop = e ? 0 : lg__held_top_ckey(&t->held);
            uint64_t part = ctop ? lg__class_part(n) : 0;
            if (!e && part)
                e = lg__chain_known(t, lg__chain_next(ctop, part, a->flags));
            if (__builtin_expect(e != NULL, 1)) {
                a->node = n;
                a->gen = atomic_load_explicit(&n->gen, memory_order_relaxed);
                a->held = -1;
                a->chain = k;
                a->cchain = e->ckey;
                lg__hit_put(t, top, a);
                return;
            }
        }
    }
    a->node = n;
    lg__lock_before_slow(t, a);
}

/* After the lock call: acquired, it goes on the held stack. */
__attribute__((always_inline)) static inline void lg__lock_after(struct lg_thread *t,
                                                                 struct lg_acq *a, bool acquired)
{
    if (!acquired)
        return;
    struct lg_node *n = a->node;
    if (__builtin_expect(a->held < 0 && a->chain && !lg__opt_after_rare && n &&
                             atomic_load_explicit(&n->gen, memory_order_relaxed) == a->gen,
                         1)) {
        const void *k = atomic_load_explicit(&n->klass, memory_order_relaxed);
        if (__builtin_expect(lg__held_push_known(t, a->addr, n, a->gen, a->flags, a->chain,
                                                 a->cchain, k,
                                                 lg__held_run_next(&t->held, k, a->flags),
                                                 a->pc, a->cfa),
                             1))
            return;
    }
    lg__lock_after_slow(t, a);
}

/* Before an unlock: the lock leaves the held stack (usually its top). */
static inline void lg__unlock_before(struct lg_thread *t, uintptr_t addr)
{
    if (__builtin_expect(!lg__opt_unlock_rare && lg__held_release_top(&t->held, addr), 1))
        return;
    lg__unlock_slow(t, addr);
}

/* A spinlock was acquired (after lg__lock_after): its node keeps the owner. */
void lg__spin_locked(struct lg_thread *t, struct lg_acq *a);
/* A spinlock is about to be released (before lg__unlock_before): it keeps
 * its owner in its node, for the wait-for chain. */
void lg__spin_unlocking(struct lg_thread *t, uintptr_t addr);
/* A lock was initialized at addr by a call returning to pc (its class). */
void lg__lock_created(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type,
                      enum lg_lock_mode mode, uintptr_t pc);
/* pthread_*_destroy is about to run on the lock at addr: a lock some thread
 * holds is a held-lock-freed finding (glibc may refuse with EBUSY, or not). */
struct lg_node *lg__lock_destroying(struct lg_thread *t, uintptr_t addr);
/* ... and it returned 0: the lock is gone (n: what lg__lock_destroying
 * returned, checked again here). */
void lg__lock_destroyed_node(struct lg_thread *t, uintptr_t addr, struct lg_node *n);
void lg__lock_destroyed(struct lg_thread *t, uintptr_t addr);
/* The memory [lo, hi) is going (free, munmap, dlclose: `call`): every lock
 * in it goes, and one some thread holds is a held-lock-freed finding.
 * readable: the memory is still mapped (not after dlclose). */
void lg__memory_gone(struct lg_thread *t, uintptr_t lo, uintptr_t hi, const char *call,
                     bool readable);
void lg__thread_ended(struct lg_thread *t);

/* A condition wait on the mutex at addr: the mutex is released for the wait
 * and taken again on wake-up, while the thread holds whatever else it holds,
 * and that re-acquisition is checked like a lock, before the wait. */
struct lg_cond_wait {
    struct lg_held saved; /* the mutex's held entry, to restore on wake-up */
    bool was_held;
    struct lg_acq acq;
};
void lg__cond_wait_before(struct lg_thread *t, struct lg_cond_wait *w);
/* After the wait returned, or from a cancellation cleanup handler: the
 * mutex is held again. */
void lg__cond_wait_after(struct lg_thread *t, struct lg_cond_wait *w);

/* Operations that passed through while lockgraph was starting: locks taken
 * then may be unlocked later without lockgraph having seen them. */
extern atomic_uint_fast64_t lg__early_passthrough;

#endif
