/*
 * registry.c - lock-free address -> node map.
 *
 * A fixed table of 2^20 chain heads, mapped lazily so untouched pages cost
 * nothing; chains grow without limit, so a million locks means chains of
 * about one and ten million means about ten: slower, never wrong. Slots are
 * pushed at a chain's head with compare-and-swap and never removed, so a
 * reader can walk a chain while others insert. An address keeps its slot for
 * the life of the process; a lock that comes and goes at one address (an
 * OpenSSL rwlock per connection) reuses it.
 *
 * Locking: none of its own; allocation takes alloc's lock.
 */
#include "registry.h"
#include "alloc.h"

#include <stdatomic.h>
#include <stddef.h>

#define TABLE_BITS 20
#define TABLE_SIZE (1u << TABLE_BITS)

struct slot {
    uintptr_t addr; /* immutable after publication */
    _Atomic(struct lg_node *) node;
    struct slot *next; /* immutable after publication */
};

static _Atomic(struct slot *) *_Atomic table;
static atomic_uint_fast64_t nslots;

static inline size_t bucket(uintptr_t addr)
{
    return (size_t)(((uint64_t)(addr >> 3) * 0x9E3779B97F4A7C15ull) >> (64 - TABLE_BITS));
}

static _Atomic(struct slot *) *get_table(void)
{
    _Atomic(struct slot *) *t = atomic_load_explicit(&table, memory_order_acquire);
    if (t)
        return t;
    t = lg__map(sizeof(*t) * TABLE_SIZE);
    if (!t)
        return NULL;
    _Atomic(struct slot *) *expected = NULL;
    if (!atomic_compare_exchange_strong(&table, &expected, t)) {
        lg__unmap(t, sizeof(*t) * TABLE_SIZE);
        t = expected;
    }
    return t;
}

/* The slot for addr in the chain from first up to (not including) stop. */
static struct slot *find(struct slot *first, uintptr_t addr, struct slot *stop)
{
    for (struct slot *s = first; s && s != stop; s = s->next)
        if (s->addr == addr)
            return s;
    return NULL;
}

static struct slot *find_slot(uintptr_t addr)
{
    _Atomic(struct slot *) *t = atomic_load_explicit(&table, memory_order_acquire);
    if (!t)
        return NULL;
    return find(atomic_load_explicit(&t[bucket(addr)], memory_order_acquire), addr, NULL);
}

static struct slot *get_slot(uintptr_t addr)
{
    _Atomic(struct slot *) *t = get_table();
    if (!t)
        return NULL;
    _Atomic(struct slot *) *head = &t[bucket(addr)];
    /* Search the very chain the push will go on top of: a slot pushed after
     * this load is caught by the search after a failed exchange. */
    struct slot *old = atomic_load_explicit(head, memory_order_acquire);
    struct slot *s = find(old, addr, NULL);
    if (s)
        return s;
    struct slot *mine = lg__alloc(sizeof(*mine));
    if (!mine)
        return NULL;
    mine->addr = addr;
    for (;;) {
        mine->next = old;
        if (atomic_compare_exchange_weak_explicit(head, &old, mine, memory_order_release,
                                                  memory_order_acquire))
            break;
        /* Someone pushed; did they push this address? Only the new part
         * of the chain, from the new head down to our old one, needs a look. */
        s = find(old, addr, mine->next);
        if (s) {
            lg__free(mine, sizeof(*mine));
            return s;
        }
    }
    atomic_fetch_add(&nslots, 1);
    return mine;
}

struct lg_node *lg__registry_lookup(uintptr_t addr)
{
    struct slot *s = find_slot(addr);
    return s ? atomic_load_explicit(&s->node, memory_order_acquire) : NULL;
}

struct lg_node *lg__registry_get(uintptr_t addr, enum lg_lock_type type, enum lg_lock_mode mode,
                                 const struct lg_stack *stack)
{
    struct slot *s = get_slot(addr);
    if (!s)
        return NULL;
    struct lg_node *n = atomic_load_explicit(&s->node, memory_order_acquire);
    if (n)
        return n;
    struct lg_node *fresh = lg__graph_node_new(addr, type, mode, false, stack);
    if (!fresh)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(&s->node, &n, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    lg__graph_node_discard(fresh); /* another thread won; use its node */
    return n;
}

struct lg_node *lg__registry_create(uintptr_t addr, enum lg_lock_type type,
                                    enum lg_lock_mode mode, const struct lg_stack *stack)
{
    struct slot *s = get_slot(addr);
    if (!s)
        return NULL;
    struct lg_node *fresh = lg__graph_node_new(addr, type, mode, true, stack);
    struct lg_node *old = atomic_exchange_explicit(&s->node, fresh, memory_order_acq_rel);
    if (old)
        atomic_store_explicit(&old->dead, true, memory_order_release);
    return fresh;
}

void lg__registry_retire(uintptr_t addr)
{
    struct slot *s = find_slot(addr);
    if (!s)
        return;
    struct lg_node *old = atomic_exchange_explicit(&s->node, NULL, memory_order_acq_rel);
    if (old)
        atomic_store_explicit(&old->dead, true, memory_order_release);
}

uint64_t lg__registry_slot_count(void)
{
    return atomic_load(&nslots);
}
