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
    struct slot *next;      /* immutable after publication */
    struct slot *next_page; /* next slot on the same page; likewise */
};

static _Atomic(struct slot *) *_Atomic table;
static atomic_uint_fast64_t nslots;

/* A table of chain heads, mapped at first use; racing threads agree on one. */
static void *lazy_table(void *_Atomic *where, size_t bytes)
{
    void *t = atomic_load_explicit(where, memory_order_acquire);
    if (t)
        return t;
    t = lg__map(bytes);
    if (!t)
        return NULL;
    void *expected = NULL;
    if (!atomic_compare_exchange_strong(where, &expected, t)) {
        lg__unmap(t, bytes);
        t = expected;
    }
    return t;
}

/* ---- the page index: which slots lie on each 4 KiB page, so the locks in
 * a range of memory (a block being freed, a library being unloaded) can be
 * found without scanning everything. Same scheme as the table: push-only
 * chains, lock-free reads. */

#define PAGE_SHIFT_ 12
#define PAGES_BITS 16
#define PAGES_SIZE (1u << PAGES_BITS)

struct page {
    uintptr_t pageno;
    struct page *next;
    _Atomic(struct slot *) slots;
};

static _Atomic(struct page *) *_Atomic pages;

static inline size_t page_bucket(uintptr_t pageno)
{
    return (size_t)((pageno * 0x9E3779B97F4A7C15ull) >> (64 - PAGES_BITS));
}

static struct page *page_find(uintptr_t pageno)
{
    _Atomic(struct page *) *t = atomic_load_explicit(&pages, memory_order_acquire);
    if (!t)
        return NULL;
    for (struct page *p = atomic_load_explicit(&t[page_bucket(pageno)], memory_order_acquire); p;
         p = p->next)
        if (p->pageno == pageno)
            return p;
    return NULL;
}

static struct page *page_get(uintptr_t pageno)
{
    _Atomic(struct page *) *t =
        lazy_table((void *_Atomic *)&pages, sizeof(*pages) * PAGES_SIZE);
    if (!t)
        return NULL;
    _Atomic(struct page *) *head = &t[page_bucket(pageno)];
    struct page *old = atomic_load_explicit(head, memory_order_acquire);
    for (struct page *p = old; p; p = p->next)
        if (p->pageno == pageno)
            return p;
    struct page *mine = lg__alloc(sizeof(*mine));
    if (!mine)
        return NULL;
    mine->pageno = pageno;
    for (;;) {
        mine->next = old;
        if (atomic_compare_exchange_weak_explicit(head, &old, mine, memory_order_release,
                                                  memory_order_acquire))
            return mine;
        for (struct page *p = old; p && p != mine->next; p = p->next)
            if (p->pageno == pageno) {
                lg__free(mine, sizeof(*mine));
                return p;
            }
    }
}

/* File a new slot under its page. A slot that cannot be filed (out of
 * memory) is simply not found by range retirement: its lock then keeps its
 * identity until destroyed or re-initialized, as before the index. */
static void page_add(struct slot *s)
{
    struct page *p = page_get(s->addr >> PAGE_SHIFT_);
    if (!p)
        return;
    struct slot *old = atomic_load_explicit(&p->slots, memory_order_acquire);
    do
        s->next_page = old;
    while (!atomic_compare_exchange_weak_explicit(&p->slots, &old, s, memory_order_release,
                                                  memory_order_acquire));
}

static inline size_t bucket(uintptr_t addr)
{
    return (size_t)(((uint64_t)(addr >> 3) * 0x9E3779B97F4A7C15ull) >> (64 - TABLE_BITS));
}

static _Atomic(struct slot *) *get_table(void)
{
    return lazy_table((void *_Atomic *)&table, sizeof(*table) * TABLE_SIZE);
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
    page_add(mine);
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
                                                memory_order_acquire)) {
        lg__graph_node_publish(fresh);
        return fresh;
    }
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
    if (fresh)
        lg__graph_node_publish(fresh);
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

unsigned lg__registry_retire_range(uintptr_t lo, uintptr_t hi)
{
    unsigned n = 0;
    if (hi <= lo || !atomic_load_explicit(&pages, memory_order_acquire))
        return 0;
    for (uintptr_t pg = lo >> PAGE_SHIFT_; pg <= (hi - 1) >> PAGE_SHIFT_; pg++) {
        struct page *p = page_find(pg);
        if (!p)
            continue;
        for (struct slot *s = atomic_load_explicit(&p->slots, memory_order_acquire); s;
             s = s->next_page) {
            if (s->addr < lo || s->addr >= hi)
                continue;
            struct lg_node *old = atomic_exchange_explicit(&s->node, NULL, memory_order_acq_rel);
            if (old) {
                atomic_store_explicit(&old->dead, true, memory_order_release);
                n++;
            }
        }
    }
    return n;
}
