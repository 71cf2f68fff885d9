/*
 * registry.c - lock address -> instance (see registry.h).
 *
 * The table: open addressing with linear probing, at most half full (live
 * entries and removed ones together); a fuller one is copied into a new one
 * sized for four times the live entries and the old one retired (reclaim.h),
 * so it neither fills with removed entries nor keeps the size of a past
 * peak... beyond what a grace period needs. Readers probe with acquire
 * loads; writers hold registry_lock and store an entry's instance before its
 * address.
 *
 * Page buckets: a count of the live instances in each bucket of pages (a
 * hash of addr >> 12), which readers may look at without a lock. free()
 * and munmap() ask it for the pages they give back, which costs a load per
 * page when no lock lives there (the common case), and only then take the
 * lock and probe the table for the addresses there. The buckets start at
 * 16 KiB and are rebuilt bigger as the table grows (see below).
 *
 * Locking: registry_lock, after class and before graph (sync.h). Retiring
 * an instance (its vertex and class) happens after it is released.
 */
#include "registry.h"
#include "alloc.h"
#include "sync.h"
#include "thread.h"

#include <string.h>

struct lg_registry_read lg__registry_read;
#define registry_lock (lg__locks.registry)
static struct lg_pool node_pool = LG_POOL_INIT(struct lg_node, link);
static atomic_uint_fast64_t next_id = 1;
static atomic_uint_fast64_t nlive; /* written under registry_lock */

#define MIN_BITS 12

static size_t table_size(uint32_t cap)
{
    return sizeof(struct lg_rtable) + cap * sizeof(((struct lg_rtable *)0)->s[0]);
}

/* ---------------------------------------------------------------------- */
/* Page buckets: a count of live locks per bucket of pages (a hash of
 * addr >> 12), written under registry_lock, read by anyone, inside a read
 * section or not (free() and munmap() ask before they enter one).
 *
 * They start small and grow with the table: a process that takes a few
 * locks maps 16 KiB, not the megabyte that a million locks want (every
 * process pays for the first, forked and exec'd ones included). A grown
 * array is built from the table under registry_lock and published; the old
 * one is never unmapped, since readers outside a section may still hold
 * it (the sizes grow fourfold, so all the old ones together are a third of
 * the newest). A reader holding an old array reads counts that removals no
 * longer lower (a look that finds nothing) and lacks only the locks made
 * after the new one was published; a lock the program made before it frees
 * the memory, as a working program does, was published to that free by the
 * same registry_lock ordering as the new array (coherence: the free's load
 * of the pointer sees the array of the lock's insertion or a later one). */

#define PB_MIN_BITS 12
#define PB_MAX_BITS 18

struct lg_pbuckets {
    uint32_t bits;
    _Atomic uint32_t c[];
};

#define pbuckets (lg__registry_read.pbuckets)

static inline _Atomic uint32_t *pb_slot(struct lg_pbuckets *b, uintptr_t page)
{
    return &b->c[((uint64_t)page * 0x9E3779B97F4A7C15ull) >> (64 - b->bits)];
}

static void pb_count(struct lg_pbuckets *b, uintptr_t addr, uint32_t delta)
{
    _Atomic uint32_t *c = pb_slot(b, addr >> 12);
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + delta,
                          memory_order_release);
}

/* registry_lock held. Buckets for a table of cap entries (at most half of
 * them used, so at least two buckets per live lock), up to PB_MAX_BITS,
 * counted from t's live entries; false when out of memory (the old ones
 * stay, and stay right). */
static bool pb_fit(const struct lg_rtable *t, uint32_t cap)
{
    struct lg_pbuckets *b = atomic_load_explicit(&pbuckets, memory_order_relaxed);
    uint32_t bits = PB_MIN_BITS;
    while (bits < PB_MAX_BITS && (1u << bits) < cap)
        bits++;
    if (b && b->bits >= bits)
        return true;
    struct lg_pbuckets *nb =
        lg__map_filled(sizeof(*nb) + ((size_t)1 << bits) * sizeof(nb->c[0]));
    if (!nb)
        return b != NULL;
    nb->bits = bits;
    for (uint32_t i = 0; t && i <= t->mask; i++) {
        uintptr_t a = atomic_load_explicit(&t->s[i].addr, memory_order_relaxed);
        if (a && a != LG_RSLOT_GONE)
            pb_count(nb, a, 1);
    }
    atomic_store_explicit(&pbuckets, nb, memory_order_release);
    return true;
}

/* registry_lock held; pb_fit made them. */
static void pb_add(struct lg_node *n)
{
    pb_count(atomic_load_explicit(&pbuckets, memory_order_relaxed), n->addr, 1);
}

static void pb_remove(struct lg_node *n)
{
    struct lg_pbuckets *b = atomic_load_explicit(&pbuckets, memory_order_relaxed);
    if (b)
        pb_count(b, n->addr, (uint32_t)-1);
}

static bool page_has_locks(struct lg_pbuckets *b, uintptr_t page)
{
    return atomic_load_explicit(pb_slot(b, page), memory_order_acquire) != 0;
}

bool lg__registry_any_in(uintptr_t lo, uintptr_t hi)
{
    struct lg_pbuckets *b = atomic_load_explicit(&pbuckets, memory_order_acquire);
    if (!b || hi <= lo || !atomic_load_explicit(&nlive, memory_order_relaxed))
        return false;
    uintptr_t first = lo >> 12, last = (hi - 1) >> 12;
    /* A range of more pages than there are buckets meets every bucket: any
     * live lock may be in it (16 MiB and up while the buckets are at their
     * first size; the caller then scans the table under the lock). */
    if (last - first >= (1u << b->bits))
        return true;
    for (uintptr_t pg = first; pg <= last; pg++)
        if (page_has_locks(b, pg))
            return true;
    return false;
}

/* ---------------------------------------------------------------------- */
/* The table (registry_lock held for everything but lookups).              */

static int64_t slot_find(const struct lg_rtable *t, uintptr_t addr)
{
    for (uint32_t i = lg__registry_hash(addr, t->shift);; i = (i + 1) & t->mask) {
        uintptr_t a = atomic_load_explicit(&t->s[i].addr, memory_order_relaxed);
        if (a == addr)
            return i;
        if (!a)
            return -1;
    }
}

static void slot_put(struct lg_rtable *t, uintptr_t addr, struct lg_node *n)
{
    uint32_t i = lg__registry_hash(addr, t->shift);
    for (;; i = (i + 1) & t->mask) {
        uintptr_t a = atomic_load_explicit(&t->s[i].addr, memory_order_relaxed);
        if (!a || a == LG_RSLOT_GONE)
            break;
    }
    if (!atomic_load_explicit(&t->s[i].addr, memory_order_relaxed))
        t->used++;
    t->live++;
    atomic_store_explicit(&t->s[i].node, n, memory_order_release);
    atomic_store_explicit(&t->s[i].addr, addr, memory_order_release);
}

static void slot_remove(struct lg_rtable *t, uint32_t i)
{
    atomic_store_explicit(&t->s[i].addr, LG_RSLOT_GONE, memory_order_release);
    atomic_store_explicit(&t->s[i].node, NULL, memory_order_release);
    t->live--;
    atomic_store_explicit(&nlive, atomic_load_explicit(&nlive, memory_order_relaxed) - 1,
                          memory_order_relaxed);
}

/* Tables are mapped whole (lg__free unmaps a block this size) and
 * populated at once: a new one is filled all over right away. */
_Static_assert(sizeof(struct lg_rtable) + (sizeof(((struct lg_rtable *)0)->s[0]) << MIN_BITS) >
                   (64u << 10),
               "registry tables are mapped, not carved from lg__alloc's chunks");

static struct lg_rtable *table_new(uint32_t bits)
{
    struct lg_rtable *t = lg__map_filled(table_size(1u << bits));
    if (!t)
        return NULL;
    t->mask = (1u << bits) - 1;
    t->shift = 64 - bits;
    return t;
}

/* Room for one more entry; false when out of memory. */
static bool table_ensure(void)
{
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    if (t && 2 * (t->used + 1) <= t->mask + 1)
        return true;
    uint32_t live = t ? t->live : 0;
    uint32_t bits = MIN_BITS;
    while ((1ull << bits) < 4ull * (live + 1))
        bits++;
    struct lg_rtable *nt = table_new(bits);
    if (!nt || !pb_fit(t, nt->mask + 1)) {
        if (nt)
            lg__unmap(nt, table_size(nt->mask + 1));
        return false;
    }
    for (uint32_t i = 0; t && i <= t->mask; i++) {
        uintptr_t a = atomic_load_explicit(&t->s[i].addr, memory_order_relaxed);
        if (a && a != LG_RSLOT_GONE)
            slot_put(nt, a, atomic_load_explicit(&t->s[i].node, memory_order_relaxed));
    }
    atomic_store_explicit(&lg__rtable, nt, memory_order_release);
    if (t)
        lg__retire_block(t, table_size(t->mask + 1));
    return true;
}

/* ---------------------------------------------------------------------- */
/* Instances.                                                              */

/* A record from the thread's magazine, refilled from the pool a batch at a
 * time. */
static struct lg_node *node_get(struct lg_thread *t)
{
    if (!t)
        return lg__pool_get(&node_pool);
    struct lg_node *n = t->mchain;
    if (!n && !t->nmag) {
        /* A batch that reclamation gave back, whole: no walk of its links
         * now; each record's miss comes when it is used (and written). */
        n = lg__pool_get_chain(&node_pool).first;
        if (!n)
            t->nmag = (uint32_t)lg__pool_get_many(&node_pool, (void **)t->mag, LG_NODE_MAG);
    }
    if (n) {
        t->mchain = n->link;
        return n;
    }
    return t->nmag ? t->mag[--t->nmag] : NULL;
}

/* A new instance id: unique for the process's life, never reused (chain
 * keys and findings name instances by it). A thread takes a block at a
 * time, so making a lock costs no atomic operation on a shared counter;
 * ids are therefore unique but not in order of creation across threads. */
#define LG_ID_BLOCK 1024

static uint64_t id_new(struct lg_thread *t)
{
    if (!t)
        return atomic_fetch_add(&next_id, 1);
    if (t->id_next == t->id_end) {
        t->id_next = atomic_fetch_add(&next_id, LG_ID_BLOCK);
        t->id_end = t->id_next + LG_ID_BLOCK;
    }
    return t->id_next++;
}

static struct lg_node *node_new(uintptr_t addr, enum lg_lock_type type, enum lg_lock_mode mode,
                                struct lg_class *klass, bool created)
{
    struct lg_thread *t = lg__self;
    if (t == LG_THREAD_GONE)
        t = NULL;
    struct lg_node *n = node_get(t);
    if (!n)
        return NULL;
    n->addr = addr;
    n->id = id_new(t);
    atomic_store_explicit(&n->klass, klass, memory_order_relaxed);
    atomic_store_explicit(&n->vtx, NULL, memory_order_relaxed);
    atomic_store_explicit(&n->name, NULL, memory_order_relaxed);
    atomic_store_explicit(&n->cls, NULL, memory_order_relaxed);
    atomic_store_explicit(&n->seen, NULL, memory_order_relaxed);
    atomic_store_explicit(&n->owner, 0, memory_order_relaxed);
    n->type = (uint8_t)type;
    n->mode = (uint8_t)mode;
    n->created = created;
    atomic_store_explicit(&n->provisional, false, memory_order_relaxed);
    atomic_store_explicit(&n->dead, false, memory_order_release);
    if (klass)
        lg__class_hold(klass);
    return n;
}

/* ---- giving instances back. Retired instances collect in `parked` and go
 * into grace periods in batches: after one, every held stack is looked at
 * once (a hash set of the instances held) and each instance not on any goes
 * back to the pool; one a thread still holds (a lock destroyed or freed
 * while held) waits for the next batch. Nothing can put a retired instance
 * on a held stack any more: a section that found it alive has ended, and
 * later ones find it dead. The known-order fast path (runtime.h) pushes
 * without a section; only a program that destroys a lock while another
 * thread takes it can make that push race the retirement, and the entry it
 * leaves has a generation the instance no longer has: gone, like a lock
 * freed while held, whatever the record is used for next (records are
 * type-stable). */

#define PARK_BATCH 256

/* Parked by threads without a record (there are none in practice: every
 * retirement happens inside lg__enter) and batches looked at again. */
static _Atomic(struct lg_node *) parked;
static atomic_uint parked_count;

struct node_batch {
    struct lg_retired r;
    struct lg_node *list;
};

static void park(struct lg_node *n)
{
    struct lg_node *old = atomic_load_explicit(&parked, memory_order_relaxed);
    do
        n->link = old;
    while (!atomic_compare_exchange_weak_explicit(&parked, &old, n, memory_order_release,
                                                  memory_order_relaxed));
}

static struct lg_node *next_of(struct lg_node *n)
{
    return n->link;
}

/* The instances on any live thread's held stack, as an open-addressed set
 * (mapped here, unmapped by the caller); NULL with *cap 0 when none is
 * held, NULL with *cap SIZE_MAX when out of memory. */
static struct lg_node **held_set(size_t *cap)
{
    size_t total = 0;
    for (struct lg_thread *t = lg__thread_all(); t; t = t->all_next)
        if (lg__thread_live(t))
            total += t->held.n;
    *cap = 0;
    if (!total)
        return NULL;
    size_t c = 64;
    while (c < 2 * total + 64)
        c *= 2;
    struct lg_node **set = lg__map(c * sizeof(*set));
    if (!set) {
        *cap = SIZE_MAX;
        return NULL;
    }
    *cap = c;
    for (struct lg_thread *t = lg__thread_all(); t; t = t->all_next) {
        if (!lg__thread_live(t))
            continue;
        uint32_t k = t->held.n;
        const struct lg_held *e = t->held.e;
        for (uint32_t i = 0; i < k && i < total; i++) {
            struct lg_node *x = e[i].node;
            if (!x)
                continue;
            size_t j = (size_t)(((uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ull) & (c - 1);
            while (set[j] && set[j] != x)
                j = (j + 1) & (c - 1);
            set[j] = x;
        }
    }
    return set;
}

static bool in_set(struct lg_node **set, size_t c, const struct lg_node *x)
{
    if (!c)
        return false;
    for (size_t j = (size_t)(((uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ull) & (c - 1); set[j];
         j = (j + 1) & (c - 1))
        if (set[j] == x)
            return true;
    return false;
}

#define NODE_CHAIN 64

static void batch_done(struct lg_retired *r)
{
    struct node_batch *b = (struct node_batch *)r;
    size_t cap;
    struct lg_node **set = held_set(&cap);
    bool unsure = !set && cap == SIZE_MAX; /* out of memory: keep them all */
    struct lg_pool_chain back = {0}; /* to the pool at once */
    for (struct lg_node *n = b->list, *next; n; n = next) {
        next = next_of(n);
        if (unsure || in_set(set, cap, n)) {
            park(n); /* still held somewhere: a later batch looks again */
            atomic_fetch_add(&parked_count, 1);
        } else {
            lg__pool_chain_add(&node_pool, &back, n);
            /* Back in chains of NODE_CHAIN: a thread takes a chain whole
             * (node_get), so this bounds what one thread keeps unused. */
            if (back.n == NODE_CHAIN) {
                lg__pool_put_chain(&node_pool, &back);
                back = (struct lg_pool_chain){0};
            }
        }
    }
    lg__pool_put_chain(&node_pool, &back);
    if (set)
        lg__unmap(set, cap * sizeof(*set));
    lg__free(b, sizeof(*b));
}

/* Send list into a grace period. */
static void send(struct lg_node *list)
{
    if (!list)
        return;
    struct node_batch *b = lg__alloc(sizeof(*b));
    if (!b) { /* parked until memory comes back */
        for (struct lg_node *n = list, *next; n; n = next) {
            next = next_of(n);
            park(n);
        }
        return;
    }
    b->list = list;
    lg__retire_weighted(&b->r, batch_done, PARK_BATCH);
}

static void flush_parked(void)
{
    atomic_store(&parked_count, 0);
    send(atomic_exchange_explicit(&parked, NULL, memory_order_acquire));
}

void lg__registry_thread_done(struct lg_thread *t)
{
    send(t->parked);
    t->parked = NULL;
    t->nparked = 0;
    /* What the thread had at hand goes back as one chain: one lock. */
    struct lg_pool_chain back = {0};
    while (t->nmag)
        lg__pool_chain_add(&node_pool, &back, t->mag[--t->nmag]);
    for (struct lg_node *n = t->mchain, *next; n; n = next) {
        next = n->link;
        lg__pool_chain_add(&node_pool, &back, n);
    }
    t->mchain = NULL;
    lg__pool_put_chain(&node_pool, &back);
    if (atomic_load(&parked_count))
        flush_parked();
}

/* n has left the table: the rest of its going. */
static void node_retire(struct lg_node *n)
{
    atomic_store_explicit(&n->dead, true, memory_order_release);
    /* (one retirer: the one that took it out of the table) */
    atomic_store_explicit(&n->gen, atomic_load_explicit(&n->gen, memory_order_relaxed) + 1,
                          memory_order_release);
    struct lg_vertex *v = atomic_load_explicit(&n->vtx, memory_order_acquire);
    if (v && (v = atomic_exchange(&n->vtx, NULL)) != NULL) /* (one may be being made) */
        lg__graph_vertex_remove(v);
    /* (a class made for it later than this is not: lg__registry_class_slow
     * gives one only to an instance still in the table) */
    struct lg_class *k = atomic_load_explicit(&n->klass, memory_order_relaxed);
    atomic_store_explicit(&n->klass, NULL, memory_order_relaxed);
    if (k)
        lg__class_drop(k);
    struct lg_thread *t = lg__self;
    if (t && t != LG_THREAD_GONE) {
        n->link = t->parked;
        t->parked = n;
        if (++t->nparked >= PARK_BATCH) {
            send(t->parked);
            t->parked = NULL;
            t->nparked = 0;
        }
        return;
    }
    park(n);
    if (atomic_fetch_add(&parked_count, 1) + 1 >= PARK_BATCH)
        flush_parked();
}

/* Never published: straight back. */
static void node_discard(struct lg_node *n)
{
    struct lg_class *k = atomic_exchange(&n->klass, NULL);
    if (k)
        lg__class_drop(k);
    lg__pool_put(&node_pool, n);
}

/* Publish fresh at addr; returns the instance that was live there before
 * (to retire) or NULL. registry_lock held. False in *ok when out of memory. */
static struct lg_node *install(struct lg_node *fresh, bool *ok)
{
    struct lg_node *old = NULL;
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    int64_t i = t ? slot_find(t, fresh->addr) : -1;
    if (i >= 0) {
        old = atomic_load_explicit(&t->s[i].node, memory_order_relaxed);
        slot_remove(t, (uint32_t)i);
        if (old)
            pb_remove(old);
    }
    *ok = table_ensure();
    if (*ok) {
        pb_add(fresh);
        slot_put(atomic_load_explicit(&lg__rtable, memory_order_relaxed), fresh->addr, fresh);
        atomic_store_explicit(&nlive, atomic_load_explicit(&nlive, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    return old;
}

struct lg_node *lg__registry_get(uintptr_t addr, enum lg_lock_type type, enum lg_lock_mode mode,
                                 const struct lg_stack *stack)
{
    struct lg_node *n = lg__registry_lookup(addr);
    if (n)
        return n;
    struct lg_node *fresh = node_new(addr, type, mode, NULL, false);
    if (!fresh)
        return NULL;
    atomic_store_explicit(&fresh->seen, stack, memory_order_relaxed);
    lg__lock(&registry_lock);
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    int64_t i = t ? slot_find(t, addr) : -1;
    n = i >= 0 ? atomic_load_explicit(&t->s[i].node, memory_order_relaxed) : NULL;
    if (n) { /* another thread was first */
        lg__unlock(&registry_lock);
        node_discard(fresh);
        return n;
    }
    bool ok;
    (void)install(fresh, &ok);
    lg__unlock(&registry_lock);
    if (!ok) {
        node_discard(fresh);
        return NULL;
    }
    return fresh;
}

struct lg_node *lg__registry_create(uintptr_t addr, enum lg_lock_type type,
                                    enum lg_lock_mode mode, struct lg_class *klass)
{
    struct lg_node *fresh = node_new(addr, type, mode, klass, true);
    lg__lock(&registry_lock);
    struct lg_node *old;
    bool ok = false;
    if (fresh) {
        old = install(fresh, &ok);
    } else {
        /* No memory for the new one: the old one must still go. */
        struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
        int64_t i = t ? slot_find(t, addr) : -1;
        old = i >= 0 ? atomic_load_explicit(&t->s[i].node, memory_order_relaxed) : NULL;
        if (i >= 0) {
            slot_remove(t, (uint32_t)i);
            if (old)
                pb_remove(old);
        }
    }
    lg__unlock(&registry_lock);
    if (old)
        node_retire(old);
    if (fresh && !ok) {
        node_discard(fresh);
        return NULL;
    }
    return fresh;
}

bool lg__registry_retire(struct lg_node *n)
{
    lg__lock(&registry_lock);
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    int64_t i = t && !atomic_load_explicit(&n->dead, memory_order_relaxed) ? slot_find(t, n->addr)
                                                                            : -1;
    if (i < 0 || atomic_load_explicit(&t->s[i].node, memory_order_relaxed) != n) {
        lg__unlock(&registry_lock);
        return false;
    }
    slot_remove(t, (uint32_t)i);
    pb_remove(n);
    lg__unlock(&registry_lock);
    node_retire(n);
    return true;
}

#define RANGE_BATCH 64
/* Locks are at least 4-byte aligned (a spinlock is an int). */
#define LOCK_ALIGN 4

/* Up to RANGE_BATCH live instances in [*from, hi), found at the
 * lock-aligned addresses of the pages that have locks; *from moves past what
 * was looked at. registry_lock held. */
static unsigned take_range(uintptr_t *from, uintptr_t hi, struct lg_node **got)
{
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    struct lg_pbuckets *b = atomic_load_explicit(&pbuckets, memory_order_relaxed);
    unsigned n = 0;
    if (!t || !b) {
        *from = hi;
        return 0;
    }
    uintptr_t a = (*from + LOCK_ALIGN - 1) & ~(uintptr_t)(LOCK_ALIGN - 1);
    while (a < hi && n < RANGE_BATCH) {
        uintptr_t pg = a >> 12;
        uintptr_t end = (pg + 1) << 12 < hi ? (pg + 1) << 12 : hi;
        if (!page_has_locks(b, pg)) {
            a = end;
            continue;
        }
        for (; a < end && n < RANGE_BATCH; a += LOCK_ALIGN) {
            int64_t i = slot_find(t, a);
            if (i >= 0)
                got[n++] = atomic_load_explicit(&t->s[i].node, memory_order_relaxed);
        }
    }
    *from = a;
    return n;
}

/* The same by looking at every table entry, from *idx on: for a range with
 * more lock-aligned addresses than the table has entries. */
static unsigned take_table(uintptr_t lo, uintptr_t hi, uint32_t *idx, struct lg_node **got)
{
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    unsigned n = 0;
    if (!t) {
        *idx = UINT32_MAX;
        return 0;
    }
    uint32_t i = *idx;
    for (; i <= t->mask && n < RANGE_BATCH; i++) {
        uintptr_t a = atomic_load_explicit(&t->s[i].addr, memory_order_relaxed);
        if (a && a != LG_RSLOT_GONE && a >= lo && a < hi)
            got[n++] = atomic_load_explicit(&t->s[i].node, memory_order_relaxed);
    }
    *idx = i > t->mask ? UINT32_MAX : i;
    return n;
}

static void take_out(struct lg_node **got, unsigned n)
{
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    for (unsigned k = 0; k < n; k++) {
        int64_t i = slot_find(t, got[k]->addr);
        if (i >= 0)
            slot_remove(t, (uint32_t)i);
        pb_remove(got[k]);
    }
}

unsigned lg__registry_retire_range(uintptr_t lo, uintptr_t hi,
                                   void (*each)(struct lg_node *n, void *arg), void *arg)
{
    unsigned total = 0;
    if (!lg__registry_any_in(lo, hi))
        return 0;
    uintptr_t from = lo;
    uint32_t idx = 0;
    bool whole = false;
    for (;;) {
        struct lg_node *got[RANGE_BATCH];
        unsigned n;
        lg__lock(&registry_lock);
        struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
        if (!whole && t && (hi - lo) / LOCK_ALIGN > (uintptr_t)t->mask + 1)
            whole = true; /* cheaper to look at every entry once */
        bool more;
        if (whole) {
            n = take_table(lo, hi, &idx, got);
            more = idx != UINT32_MAX;
        } else {
            n = take_range(&from, hi, got);
            more = from < hi;
        }
        take_out(got, n);
        lg__unlock(&registry_lock);
        for (unsigned k = 0; k < n; k++) {
            if (each)
                each(got[k], arg);
            node_retire(got[k]);
        }
        total += n;
        if (!more)
            return total;
    }
}

struct lg_class *lg__registry_class_slow(struct lg_node *n)
{
    if (atomic_load_explicit(&n->dead, memory_order_acquire))
        return NULL;
    struct lg_class *k = lg__class_for_addr(n->addr, n->type, n->mode, n->created,
                                            atomic_load_explicit(&n->seen, memory_order_acquire));
    if (!k)
        return NULL;
    lg__class_hold(k);
    /* Given only while n is still in the table: its retirement takes it
     * out under registry_lock first, and then finds (and drops) the class. */
    struct lg_class *had = NULL;
    lg__lock(&registry_lock);
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    int64_t i = t ? slot_find(t, n->addr) : -1;
    bool live = i >= 0 && atomic_load_explicit(&t->s[i].node, memory_order_relaxed) == n;
    if (live) /* (a compare: lg_name_lock may have given it one meanwhile) */
        atomic_compare_exchange_strong(&n->klass, &had, k);
    lg__unlock(&registry_lock);
    if (!live || had) {
        lg__class_drop(k);
        return live ? had : NULL;
    }
    return k;
}

void lg__registry_reclass(struct lg_node *n, struct lg_class *klass)
{
    lg__chain_forget(); /* chains through n meant its old class */
    lg__class_hold(klass);
    struct lg_class *old = atomic_exchange(&n->klass, klass);
    /* Where the first lock of the new class was made: where this one was. */
    lg__class_set_stack(klass, old ? atomic_load_explicit(&old->stack, memory_order_acquire)
                                   : atomic_load_explicit(&n->seen, memory_order_acquire));
    /* Its same-class edges were with the old class's locks. */
    struct lg_vertex *v = atomic_exchange(&n->vtx, NULL);
    if (v)
        lg__graph_vertex_remove(v);
    if (old)
        lg__class_drop(old);
}

struct lg_vertex *lg__registry_vertex(struct lg_node *n)
{
    struct lg_vertex *v = atomic_load_explicit(&n->vtx, memory_order_acquire);
    if (v)
        return v;
    struct lg_class *k = atomic_load_explicit(&n->klass, memory_order_acquire);
    if (!k)
        return NULL;
    struct lg_vertex *fresh = lg__graph_vertex_new(LG_VERTEX_INSTANCE, n, &k->inst);
    if (!fresh)
        return NULL;
    if (!atomic_compare_exchange_strong(&n->vtx, &v, fresh)) {
        lg__graph_vertex_remove(fresh);
        return v;
    }
    /* Retired meanwhile: node_retire may have missed it. */
    if (atomic_load(&n->dead) || atomic_load(&n->klass) != k) {
        struct lg_vertex *mine = fresh;
        if (atomic_compare_exchange_strong(&n->vtx, &mine, NULL))
            lg__graph_vertex_remove(fresh);
        return NULL;
    }
    return fresh;
}

uint64_t lg__registry_live_count(void)
{
    return atomic_load(&nlive);
}

uint64_t lg__registry_collect(bool (*want)(const struct lg_node *n), struct lg_node **out,
                              uint64_t max)
{
    uint64_t n = 0;
    lg__lock(&registry_lock);
    struct lg_rtable *t = atomic_load_explicit(&lg__rtable, memory_order_relaxed);
    for (uint32_t i = 0; t && i <= t->mask; i++) {
        uintptr_t a = atomic_load_explicit(&t->s[i].addr, memory_order_relaxed);
        struct lg_node *x = atomic_load_explicit(&t->s[i].node, memory_order_relaxed);
        if (!a || a == LG_RSLOT_GONE || !x || !want(x))
            continue;
        if (n < max)
            out[n] = x;
        n++;
    }
    lg__unlock(&registry_lock);
    return n;
}

void lg__registry_lock_all(void)
{
    lg__lock(&registry_lock);
}

void lg__registry_unlock_all(void)
{
    lg__unlock(&registry_lock);
}

void lg__registry_reset_child(void)
{
    lg__lock_reset(&registry_lock);
}
