/*
 * registry.h - lock address -> the lock instance living there now.
 *
 * A lock instance (struct lg_node, for historical reasons the name every
 * finding writer knows) is one lock from its init (or first use) to its
 * destroy (or its memory being freed, or its library unloaded). It knows its
 * class (class.h); the lock graph's vertices are classes, so an instance is
 * small and goes away with its lock: memory follows the locks alive now.
 *
 * Identity: pthread_*_init gives the address a new instance (an old one
 * there is retired: memory reused for a new lock is a new lock, of the class
 * of its new init site); destroy, free, munmap and dlclose retire it. A
 * statically initialized lock gets its instance at first use, and its own
 * addr class when it is first held together with another lock or named in a
 * finding: a lock only ever taken alone, the common case for locks in
 * zeroed memory, costs no class record.
 *
 * Lookups take no lock: an open-addressed table of (address, instance)
 * published with release stores; a miss or a stale hit (the instance is
 * dead, or now someone else's) sends the caller to the slow path, which
 * decides under registry_lock. Instances are type-stable (recycled only as
 * instances, with a new gen) and given back only after a grace period
 * (reclaim.h) once no thread's held stack points at them.
 */
#ifndef LG_REGISTRY_H
#define LG_REGISTRY_H

#include "class.h"
#include "graph.h"
#include "reclaim.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lg_stack;
struct lg_rank_class;

struct lg_node {
    /* What the fast path reads, first (one cache line's worth). */
    uintptr_t addr; /* set while live */
    uint64_t id;    /* never reused */
    /* NULL for a lock first seen at a lock call until its class is needed
     * (lg__registry_class): most such locks are only ever taken alone. */
    _Atomic(struct lg_class *) klass;
    _Atomic uint32_t gen;  /* changes when it is retired */
    _Atomic int32_t owner; /* spinlocks only: tid of the holder, 0 free */
    uint8_t type, mode;    /* set once; see provisional */
    bool created;          /* made by an init call, not first seen at a lock */
    /* Named before any lock call: type and mode are filled in by the first
     * acquisition (the name call cannot know them). */
    atomic_bool provisional;
    atomic_bool dead;
    /* Its own vertex, made when it is first held together with another
     * lock of its class (same-class nesting is judged per instance). */
    _Atomic(struct lg_vertex *) vtx;
    _Atomic(const char *) name; /* lg_name_lock; lockgraph memory */
    /* Its rank class (ranks.h), or NULL: an unranked lock, checked for
     * nothing more. Set when the lock is created, named or ranked. */
    _Atomic(struct lg_rank_class *) cls;
    /* Where it was first taken (first seen at a lock call), for its class
     * when that is made, and for findings about it until then. */
    _Atomic(const struct lg_stack *) seen;
    /* Retired, the next on its thread's list or batch (registry.c: they go
     * into grace periods a batch at a time); in the pool, the next free. */
    struct lg_node *link;
};

struct lg_pbuckets;

struct lg_rtable {
    uint32_t mask, shift;
    uint32_t used, live; /* writers only */
    struct {
        _Atomic uintptr_t addr; /* 0 empty, LG_RSLOT_GONE a removed entry */
        _Atomic(struct lg_node *) node;
    } s[];
};
#define LG_RSLOT_GONE UINTPTR_MAX

/* What every look-up reads, on a cache line of its own: apart from the
 * counters and lists that creating and retiring locks write. */
struct __attribute__((aligned(64))) lg_registry_read {
    _Atomic(struct lg_rtable *) rtable;
    _Atomic(struct lg_pbuckets *) pbuckets; /* registry.c: page buckets */
};
extern struct lg_registry_read lg__registry_read;
#define lg__rtable (lg__registry_read.rtable)

static inline uint32_t lg__registry_hash(uintptr_t addr, uint32_t shift)
{
    return (uint32_t)(((uint64_t)addr * 0x9E3779B97F4A7C15ull) >> shift);
}

/* The live instance at addr, or NULL. Lock-free; inside a section
 * (lg__enter), or from a thread no other thread retires from. */
static inline struct lg_node *lg__registry_lookup(uintptr_t addr)
{
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_acquire);
    if (__builtin_expect(!t, 0))
        return NULL;
    for (uint32_t i = lg__registry_hash(addr, t->shift);; i = (i + 1) & t->mask) {
        uintptr_t a = atomic_load_explicit(&t->s[i].addr, memory_order_acquire);
        if (a == addr) {
            struct lg_node *n = atomic_load_explicit(&t->s[i].node, memory_order_acquire);
            return n && n->addr == addr &&
                           !atomic_load_explicit(&n->dead, memory_order_relaxed)
                       ? n
                       : NULL;
        }
        if (!a)
            return NULL;
    }
}

/* The live instance at addr, made when there is none: a lock first seen at
 * a lock call, first taken where `stack` says (stack NULL: named before
 * use), with no class yet (lg__registry_class makes its addr class). NULL
 * only when out of memory. */
struct lg_node *lg__registry_get(uintptr_t addr, enum lg_lock_type type, enum lg_lock_mode mode,
                                 const struct lg_stack *stack);

/* A new lock of class klass is being initialized at addr: the old instance
 * there, if any, is retired. Returns the new instance, or NULL when out of
 * memory (the address is then untracked until its next use). */
struct lg_node *lg__registry_create(uintptr_t addr, enum lg_lock_type type,
                                    enum lg_lock_mode mode, struct lg_class *klass);

/* Retire n (destroyed): it leaves the table, its class loses it, its
 * vertex leaves the graph. False when it was no longer live. */
bool lg__registry_retire(struct lg_node *n);

/* Every lock in [lo, hi) is gone (its memory was freed, its library
 * unloaded): retire them all, calling each(n, arg) (may be NULL) first on
 * each, with no lockgraph lock held. Returns how many were live. Cheap when
 * no lock lives on those pages (a lock-free count per page bucket). */
unsigned lg__registry_retire_range(uintptr_t lo, uintptr_t hi,
                                   void (*each)(struct lg_node *n, void *arg), void *arg);
/* Does any lock live in [lo, hi)? Lock-free, may say yes wrongly. */
bool lg__registry_any_in(uintptr_t lo, uintptr_t hi);

/* n's class, made now if it has none yet (a lock first seen at a lock call
 * gets an addr class of its own when it is first needed). NULL when out of
 * memory or n is gone. Takes class_lock: no lockgraph lock held. */
struct lg_class *lg__registry_class_slow(struct lg_node *n);
static inline struct lg_class *lg__registry_class(struct lg_node *n)
{
    struct lg_class *k = atomic_load_explicit(&n->klass, memory_order_acquire);
    return k ? k : lg__registry_class_slow(n);
}

/* Where n was made or first taken: its class's stack, or, before it has a
 * class, the stack it was first seen at. Makes nothing. */
static inline const struct lg_stack *lg__registry_where(const struct lg_node *n)
{
    struct lg_node *m = (struct lg_node *)n;
    const struct lg_class *k = atomic_load_explicit(&m->klass, memory_order_acquire);
    const struct lg_stack *s =
        k ? atomic_load_explicit(&((struct lg_class *)k)->stack, memory_order_acquire) : NULL;
    return s ? s : atomic_load_explicit(&m->seen, memory_order_acquire);
}

/* Give n the class klass (lg_name_lock): the old class loses a lock. */
void lg__registry_reclass(struct lg_node *n, struct lg_class *klass);

/* n's vertex for same-class nesting, made when it has none; NULL when out
 * of memory or n died. */
struct lg_vertex *lg__registry_vertex(struct lg_node *n);

/* The live instances want() accepts, into out (at most max); returns how
 * many there are. Takes registry_lock: want must take no lock. */
uint64_t lg__registry_collect(bool (*want)(const struct lg_node *n), struct lg_node **out,
                              uint64_t max);

/* A thread record is given back: its parked instances and record
 * magazine go to the shared pools. */
struct lg_thread;
void lg__registry_thread_done(struct lg_thread *t);

uint64_t lg__registry_live_count(void);

void lg__registry_lock_all(void);
void lg__registry_unlock_all(void);
void lg__registry_reset_child(void);

#endif
