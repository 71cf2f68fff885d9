/*
 * class.h - lock classes: what the lock graph's vertices stand for.
 *
 * Two locks are of one class when the program uses them for one purpose,
 * which lockgraph reads off the code that made them (lockdep's model):
 *
 *   site   made by pthread_*_init called from one place (the call's return
 *          address: no unwind needed). Every connection's lock made in
 *          conn_new() is one class, so conn1 -> table and table -> conn2
 *          close a cycle between classes although no single connection
 *          was taken both ways.
 *   chain  made inside a lock wrapper (mutex_create(), port::Mutex's
 *          constructor, apr_thread_mutex_create, g_mutex_init...): the init
 *          site alone would make every lock of the program one class, so
 *          the class is the init site plus the callers up to and including
 *          the first one that is not a wrapper. A wrapper is a function
 *          whose name has a word mutex, mtx, lock, rwlock, spinlock or spin
 *          in it (split at '_', ':', digits and case changes: "block_alloc"
 *          and "clock_get" are not wrappers, "PR_NewLock" is), or one named
 *          in the lock_wrappers option. Functions the symbol table does not
 *          name (a stripped program's static functions) are not wrappers.
 *   addr   a lock that never called init (a static PTHREAD_MUTEX_INITIALIZER
 *          lock, a C++ std::mutex, a zeroed lock in calloc'd memory): its
 *          own address, one lock one class, for as long as it lives.
 *   name   given through lockgraph.h (lg_name_lock, lg_rank_lock): every
 *          lock of that name.
 *
 * With the option classes=0 every lock is a class of its own (the instance
 * graph of earlier versions): only cycles the locks themselves close are
 * reported.
 *
 * A class lives as long as its code: site and chain classes until the
 * module holding their init site is unloaded (locks of theirs still alive
 * then are no longer related by class), name classes for the life of the
 * process, an addr class as long as its one lock. A class is its vertex in the lock graph; its instances' vertices
 * (for locks of one class held together) form a component of their own,
 * `inst`.
 *
 * Concurrency: lookups by site and name take no lock (a fixed table of
 * push-only chains; a class that leaves is marked dead and skipped, and
 * class records are type-stable). Making or removing a class takes
 * class_lock (after ranks, before registry: sync.h), never while calling
 * into the loader or the unwinder.
 */
#ifndef LG_CLASS_H
#define LG_CLASS_H

#include "graph.h"
#include "reclaim.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lg_stack;
struct lg_rank_class;

enum lg_class_kind { LG_CLASS_SITE = 1, LG_CLASS_CHAIN, LG_CLASS_ADDR, LG_CLASS_NAME };

/* Locks of one class held together: what the graph file says of them (the
 * instance edges themselves come and go with the locks). */
struct lg_self_nest {
    _Atomic uint64_t count; /* instance edges added */
    _Atomic uint8_t combos; /* LG_COMBO bits seen */
    atomic_bool ascending, descending; /* by address, outer -> inner */
    struct lg_edge_info first;         /* the first one's thread and stacks */
};

struct lg_class {
    /* Its vertex in the class graph, made at its first edge (a lock taken
     * alone all its life never needs one); NULL until then. */
    _Atomic(struct lg_vertex *) v;
    uint32_t vgen;        /* v's generation: another means the class left the graph */
    uint64_t id;          /* never reused (class records are) */
    _Atomic uint32_t gen; /* changes when the record is given back */
    uint8_t kind;         /* enum lg_class_kind */
    uint8_t type, mode;   /* of the lock that made it */
    bool created;         /* made by an init call (site, chain; addr with classes=0) */
    bool wrapper;         /* a site record that only says "this site is a wrapper" */
    atomic_bool dead;
    uintptr_t key;        /* site: return address of the init; addr: the lock */
    const struct lg_stack *chain; /* chain: init site, then callers */
    const char *name;             /* name classes */
    /* Where its first lock was made (or, addr, first taken); set once. */
    _Atomic(const struct lg_stack *) stack;
    _Atomic uint64_t made; /* locks of this class ever made (graph file) */
    struct lg_comp inst;   /* the component of its instances' vertices */
    _Atomic(struct lg_self_nest *) self; /* made at the first same-class edge */
    struct lg_class *hnext; /* lookup chain; immutable once published */
    struct lg_class *prev, *next; /* every class alive, under class_lock */
    struct lg_retired r;
};

/* Is k still in the graph (false: it left, its module unloaded or its one
 * lock gone)? */
static inline bool lg__class_in_graph(const struct lg_class *k)
{
    if (atomic_load_explicit(&k->dead, memory_order_acquire))
        return false;
    const struct lg_vertex *v = atomic_load_explicit(&((struct lg_class *)k)->v,
                                                     memory_order_acquire);
    return !v || atomic_load_explicit(&v->gen, memory_order_acquire) == k->vgen;
}

/* k's vertex, made if it has none yet; NULL when out of memory or k left
 * the graph. */
struct lg_vertex *lg__class_vertex(struct lg_class *k);

/* The class of a lock made by an init call whose return address is site.
 * May capture a few frames (a wrapper's callers) and read symbol tables:
 * no lockgraph lock held. NULL when out of memory. */
struct lg_class *lg__class_for_init(uintptr_t site, enum lg_lock_type type,
                                    enum lg_lock_mode mode);

/* A new addr class for the lock at addr, first taken where `stack` says
 * (created: it was made by an init call, classes=0). NULL when out of memory. */
struct lg_class *lg__class_for_addr(uintptr_t addr, enum lg_lock_type type,
                                    enum lg_lock_mode mode, bool created,
                                    const struct lg_stack *stack);

/* The class of locks named name (copied). NULL when out of memory. */
struct lg_class *lg__class_for_name(const char *name, enum lg_lock_type type,
                                    enum lg_lock_mode mode);

/* One more / one less lock of class c. The lock of an addr class takes the
 * class with it (its vertex and edges leave the graph); other classes only
 * count what they made. */
void lg__class_hold(struct lg_class *c);
void lg__class_drop(struct lg_class *c);
/* The kind's name in findings and the graph file: site, chain, name, addr. */
const char *lg__class_kind_name(unsigned kind);
/* Addr classes that went are given back CLASS_BATCH at a time: send those
 * waiting now into a grace period (a thread's end, a test). */
void lg__class_flush_retired(void);

/* An edge between two locks of class c was added (from at outer_addr to
 * inner_addr, taken as combo): note it for the graph file. */
void lg__class_note_self(struct lg_class *c, uintptr_t outer_addr, uintptr_t inner_addr,
                         unsigned combo, const struct lg_edge_info *info);

/* The module covering [lo, hi) was unloaded: its site and chain classes
 * leave the lookup (a library loaded there next has other code) and the
 * graph. */
void lg__class_unloaded(uintptr_t lo, uintptr_t hi);

/* The where-made stack, set once (the first caller wins). */
void lg__class_set_stack(struct lg_class *c, const struct lg_stack *s);

/* Every class alive now, copied into out (at most max; returns how many
 * there are). For the graph dump; the classes are type-stable. */
uint32_t lg__class_snapshot(struct lg_class **out, uint32_t max);

uint64_t lg__class_count(void);

/* The name rule for wrappers (exposed for tests). */
bool lg__class_wrapper_name(const char *name);

void lg__class_lock_all(void);
void lg__class_unlock_all(void);
void lg__class_reset_child(void);

#endif
