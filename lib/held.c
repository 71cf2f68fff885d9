/*
 * held.c - per-thread held-lock stack (see held.h). No locking: one owner.
 *
 * Growth maps pages directly (lg__map takes no lock), so it is safe even
 * inside fork handlers where lockgraph's own locks are taken. The entries'
 * storage is never unmapped (other threads may read it, see wait.c); the
 * index is its thread's alone and is unmapped when replaced.
 *
 * The index is open addressing with linear probing, at most half full, and
 * deletes by shifting the following run back (no tombstones), so a lookup
 * costs the same after any number of releases.
 */
#include "held.h"
#include "alloc.h"
#include "graph.h"
#include "registry.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct lg_fast_globals lg__fastg;

void lg__chain_forget(void)
{
    atomic_fetch_add_explicit(&lg__chain_epoch, 1, memory_order_release);
}

static const void *class_of(const struct lg_held *e)
{
    return e->klass;
}

uint32_t lg__held_run_of(const struct lg_held_stack *h, const void *k, unsigned flags)
{
    /* (called with the new entry already counted in n) */
    if (h->n < 2)
        return 0;
    const struct lg_held *top = &h->e[h->n - 2];
    return k && !lg__held_is_hole(top) && top->flags == flags && class_of(top) == k ? top->run
                                                                                  : h->n - 1;
}

/* Keys and runs of entries from..n-1 again, after the ones below them
 * changed. */
static void rekey(struct lg_held_stack *h, uint32_t from)
{
    uint64_t k = from ? h->e[from - 1].key : LG_CHAIN_EMPTY;
    for (uint32_t i = from; i < h->n; i++) {
        struct lg_held *e = &h->e[i];
        k = lg__chain_next(k, e->node ? e->node->id : e->addr, e->flags);
        e->key = k;
        e->ckey = 0; /* (class keys come back as these entries are pushed anew) */
        const struct lg_held *below = i ? &h->e[i - 1] : NULL;
        e->klass = e->node ? atomic_load_explicit(&e->node->klass, memory_order_relaxed) : NULL;
        const void *c = class_of(e);
        e->run = below && c && !lg__held_is_hole(below) && below->flags == e->flags &&
                         class_of(below) == c
                     ? below->run
                     : i;
    }
}

void lg__held_init(struct lg_held_stack *h)
{
    h->e = h->first;
    h->n = 0;
    h->cap = LG_HELD_INLINE;
    h->holes = 0;
    h->imask = 0;
    h->icap = 0;
    h->index = NULL;
    h->stale_from = UINT32_MAX;
}

bool lg__held_grow(struct lg_held_stack *h)
{
    uint32_t cap = h->cap * 2;
    struct lg_held *p = lg__map_limited(cap * sizeof(*p));
    if (!p)
        return false;
    memcpy(p, h->e, h->n * sizeof(*p));
    /* The old storage is kept, not unmapped: another thread following a
     * wait-for chain may be reading it (wait.c). Growth doubles, so what is
     * kept is never more than what is in use. */
    h->e = p;
    h->cap = cap;
    return true;
}

/* ---------------------------------------------------------------------- */
/* The index.                                                              */

static inline uint32_t slot_of(uintptr_t addr, uint32_t mask)
{
    return (uint32_t)(((uint64_t)(addr >> 3) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* Not indexed any more. The mapping stays with the stack for the next
 * build: a thread whose stack goes past LG_HELD_SCAN and back every round
 * would otherwise map, fault in and unmap it every round (75 us a round,
 * most of it TLB shoot-downs, with the index at 8 and 12 held). */
static void index_drop(struct lg_held_stack *h)
{
    h->imask = 0;
}

static void index_put(struct lg_held_stack *h, uintptr_t addr, uint32_t pos)
{
    uint32_t i = slot_of(addr, h->imask);
    while (h->index[i].addr && h->index[i].addr != addr)
        i = (i + 1) & h->imask;
    h->index[i].addr = addr;
    h->index[i].pos = pos;
}

/* (Re)build the index over every entry, with room for twice as many. Out of
 * memory: no index, lookups scan (slower, still right). */
static void index_build(struct lg_held_stack *h)
{
    index_drop(h);
    uint32_t cap = 64;
    while (cap < 4 * h->n)
        cap *= 2;
    if (cap > h->icap) {
        struct lg_held_index *ix = lg__map_limited(cap * sizeof(*ix));
        if (!ix)
            return;
        if (h->index)
            lg__unmap(h->index, h->icap * sizeof(*h->index));
        h->index = ix;
        h->icap = cap;
    } else {
        cap = h->icap;
        memset(h->index, 0, cap * sizeof(*h->index));
    }
    h->imask = cap - 1;
    /* Bottom up: a lock held twice (an entry, a hole... never two live
     * entries of one address) maps to its live entry. */
    for (uint32_t i = 0; i < h->n; i++)
        if (h->e[i].addr)
            index_put(h, h->e[i].addr, i);
}

static void index_del(struct lg_held_stack *h, uintptr_t addr)
{
    uint32_t i = slot_of(addr, h->imask);
    while (h->index[i].addr != addr) {
        if (!h->index[i].addr)
            return;
        i = (i + 1) & h->imask;
    }
    /* Shift the rest of the run back over the gap. */
    for (uint32_t j = (i + 1) & h->imask; h->index[j].addr; j = (j + 1) & h->imask) {
        uint32_t home = slot_of(h->index[j].addr, h->imask);
        /* Can entry j move to i? Only if its home is not in (i, j]. */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            h->index[i] = h->index[j];
            i = j;
        }
    }
    h->index[i].addr = 0;
}

void lg__held_indexed_push(struct lg_held_stack *h)
{
    if (!h->imask || 2 * h->n > h->imask + 1)
        index_build(h);
    else
        index_put(h, h->e[h->n - 1].addr, h->n - 1);
}

/* ---------------------------------------------------------------------- */

/* Pop the holes that are on top now. */
static void pop_holes(struct lg_held_stack *h)
{
    while (h->holes && h->n && h->e[h->n - 1].addr == 0) {
        h->n--;
        h->holes--;
    }
}

void lg__held_after_pop(struct lg_held_stack *h, uintptr_t addr)
{
    if (h->imask)
        index_del(h, addr);
    pop_holes(h);
    if (h->imask && h->n <= LG_HELD_SCAN / 2)
        index_drop(h);
    if (h->stale_from >= h->n)
        h->stale_from = UINT32_MAX;
}

int lg__held_find(const struct lg_held_stack *h, uintptr_t addr)
{
    if (!h->imask) {
        for (int i = (int)h->n - 1; i >= 0; i--)
            if (h->e[i].addr == addr)
                return i;
        return -1;
    }
    if (!addr)
        return -1;
    for (uint32_t i = slot_of(addr, h->imask); h->index[i].addr; i = (i + 1) & h->imask)
        if (h->index[i].addr == addr)
            return (int)h->index[i].pos;
    return -1;
}

/* Squeeze the holes out, keeping the order, and index again. */
static void compact(struct lg_held_stack *h)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < h->n; i++)
        if (h->e[i].addr)
            h->e[k++] = h->e[i];
    h->n = k;
    h->holes = 0;
    h->stale_from = UINT32_MAX;
    rekey(h, 0);
    if (h->n > LG_HELD_SCAN)
        index_build(h);
    else
        index_drop(h);
}

void lg__held_remove(struct lg_held_stack *h, int i)
{
    if (i < 0 || (uint32_t)i >= h->n || !h->e[i].addr)
        return;
    uintptr_t addr = h->e[i].addr;
    if ((uint32_t)i == h->n - 1) {
        h->n--;
        lg__held_after_pop(h, addr);
        return;
    }
    if (h->n <= LG_HELD_SCAN && !h->imask) {
        /* Short: shifting is cheaper than a hole. */
        memmove(&h->e[i], &h->e[i + 1], (h->n - (uint32_t)i - 1) * sizeof(h->e[0]));
        h->n--;
        rekey(h, (uint32_t)i);
        return;
    }
    if (h->imask)
        index_del(h, addr);
    if ((uint32_t)i < h->stale_from)
        h->stale_from = (uint32_t)i;
    h->e[i].addr = 0;
    h->e[i].node = NULL;
    h->e[i].count = 0;
    h->holes++;
    if (h->holes > LG_HELD_SCAN && 2 * h->holes > h->n)
        compact(h);
}

uint32_t lg__held_remove_if(struct lg_held_stack *h, bool (*drop)(const struct lg_held *))
{
    uint32_t kept = 0, gone = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        if (lg__held_is_hole(&h->e[i]))
            continue;
        if (drop(&h->e[i]))
            gone++;
        else
            h->e[kept++] = h->e[i];
    }
    h->n = kept;
    h->holes = 0;
    h->stale_from = UINT32_MAX;
    rekey(h, 0);
    if (h->n > LG_HELD_SCAN)
        index_build(h);
    else
        index_drop(h);
    return gone;
}

/* Read from the lock itself (glibc: the mutex kind's pshared bit, the
 * rwlock's __shared); a spinlock keeps no such mark, and a lock whose
 * memory is gone is left alone. */
#define LG_MUTEX_PSHARED_BIT 128 /* glibc's PTHREAD_MUTEX_PSHARED_BIT */
bool lg__held_process_shared(const struct lg_held *e)
{
    if (!e->node || (e->node->type != LG_TYPE_MUTEX && e->node->type != LG_TYPE_RWLOCK))
        return false;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t first = e->addr & ~(uintptr_t)(page - 1);
    uintptr_t last = (e->addr + sizeof(pthread_rwlock_t) - 1) & ~(uintptr_t)(page - 1);
    unsigned char vec[2];
    if (mincore((void *)first, last - first + (uintptr_t)page, vec) != 0)
        return false; /* not mapped: no lock to read */
    if (e->node->type == LG_TYPE_MUTEX)
        return (((const pthread_mutex_t *)e->addr)->__data.__kind & LG_MUTEX_PSHARED_BIT) != 0;
    return ((const pthread_rwlock_t *)e->addr)->__data.__shared != 0;
}

void lg__held_release(struct lg_held_stack *h)
{
    /* Emptied, storage kept with the record for its next thread (and for
     * readers still looking at it). */
    h->n = 0;
    h->holes = 0;
    h->stale_from = UINT32_MAX;
    index_drop(h);
}
