/*
 * class.c - lock classes (see class.h for the model).
 *
 * Lookup: a fixed table of chains, one per hash of (kind, key); records are
 * pushed at a chain's head with a compare-and-swap under class_lock and
 * never unlinked, so readers walk chains with no lock. A record in the
 * table is therefore never given back (a site class whose module left is
 * only marked dead); addr classes are never in the table and go back to the
 * pool when their lock goes.
 *
 * Wrappers: whether the function around a return address is a lock wrapper
 * is decided once per address (symbol lookup, name rule, lock_wrappers
 * option) and cached in a small lock-free table.
 */
#include "class.h"
#include "alloc.h"
#include "options.h"
#include "stack.h"
#include "symbols.h"
#include "sync.h"
#include "util.h"

#include <string.h>

#define MAP_BITS 14
#define MAP_SIZE (1u << MAP_BITS)
#define CHAIN_MAX 4 /* frames in a chain key: an init site and three callers */

static _Atomic(struct lg_class *) map[MAP_SIZE] LG_LARGE_BSS;
#define class_lock (lg__locks.klass)
static struct lg_class *all; /* live classes, doubly linked */
static atomic_uint_fast64_t nclasses;
static atomic_uint_fast64_t next_class_id = 1;
static struct lg_pool class_pool = LG_POOL_INIT(struct lg_class, r);
/* The class graph: one component for every class vertex. */
static struct lg_comp class_comp = {0, INT64_MIN, INT64_MAX};

static uint32_t hash_of(unsigned kind, uintptr_t key)
{
    uint64_t h = ((uint64_t)key ^ ((uint64_t)kind << 58)) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> (64 - MAP_BITS));
}

static uint32_t hash_name(const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return hash_of(LG_CLASS_NAME, (uintptr_t)h);
}

static bool matches(const struct lg_class *c, unsigned kind, uintptr_t key, const char *name)
{
    if (c->kind != kind || atomic_load_explicit(&c->dead, memory_order_acquire))
        return false;
    if (kind == LG_CLASS_NAME)
        return strcmp(c->name, name) == 0;
    return c->key == key;
}

static struct lg_class *lookup(uint32_t h, unsigned kind, uintptr_t key, const char *name)
{
    for (struct lg_class *c = atomic_load_explicit(&map[h], memory_order_acquire); c;
         c = c->hnext)
        if (matches(c, kind, key, name))
            return c;
    return NULL;
}

/* A fresh record with its vertex, not yet published. */
static struct lg_class *make(unsigned kind, enum lg_lock_type type, enum lg_lock_mode mode,
                             bool created)
{
    struct lg_class *c = lg__pool_get(&class_pool);
    if (!c)
        return NULL;
    uint32_t gen = atomic_load_explicit(&c->gen, memory_order_relaxed);
    memset(c, 0, sizeof(*c));
    atomic_store_explicit(&c->gen, gen, memory_order_relaxed);
    c->kind = (uint8_t)kind;
    c->type = (uint8_t)type;
    c->mode = (uint8_t)mode;
    c->created = created;
    c->inst.max_cyc_src = INT64_MIN;
    c->inst.min_cyc_dst = INT64_MAX;
    c->id = atomic_fetch_add(&next_class_id, 1);
    return c;
}

/* Back to the pool, never having been published (so no vertex). */
static void unmake(struct lg_class *c)
{
    lg__pool_put(&class_pool, c);
}

struct lg_vertex *lg__class_vertex(struct lg_class *k)
{
    struct lg_vertex *v = atomic_load_explicit(&k->v, memory_order_acquire);
    if (v)
        return lg__class_in_graph(k) ? v : NULL;
    if (atomic_load_explicit(&k->dead, memory_order_acquire))
        return NULL;
    struct lg_vertex *fresh = lg__graph_vertex_new(LG_VERTEX_CLASS, k, &class_comp);
    if (!fresh)
        return NULL;
    /* Its generation first: whoever sees the vertex checks it. */
    lg__lock(&class_lock);
    if (!atomic_load_explicit(&k->v, memory_order_relaxed) &&
        !atomic_load_explicit(&k->dead, memory_order_relaxed)) {
        k->vgen = atomic_load_explicit(&fresh->gen, memory_order_relaxed);
        atomic_store_explicit(&k->v, fresh, memory_order_release);
        fresh = NULL;
    }
    lg__unlock(&class_lock);
    if (fresh) /* another thread was first, or k left meanwhile */
        lg__graph_vertex_remove(fresh);
    v = atomic_load_explicit(&k->v, memory_order_acquire);
    return v && lg__class_in_graph(k) ? v : NULL;
}

/* Link c among the live classes; class_lock held. */
static void link_all(struct lg_class *c)
{
    c->prev = NULL;
    c->next = all;
    if (all)
        all->prev = c;
    all = c;
    /* (written under class_lock only: no read-modify-write needed) */
    atomic_store_explicit(&nclasses, atomic_load_explicit(&nclasses, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void unlink_all(struct lg_class *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (all == c)
        all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    atomic_store_explicit(&nclasses, atomic_load_explicit(&nclasses, memory_order_relaxed) - 1,
                          memory_order_relaxed);
}

/* Publish fresh under (h, kind, key, name) unless an equal one is there:
 * then fresh is given back and that one returned. */
static struct lg_class *publish(struct lg_class *fresh, uint32_t h)
{
    lg__lock(&class_lock);
    struct lg_class *old = lookup(h, fresh->kind, fresh->key, fresh->name);
    if (old) {
        lg__unlock(&class_lock);
        if (fresh->name)
            lg__free((void *)fresh->name, strlen(fresh->name) + 1);
        unmake(fresh);
        return old;
    }
    fresh->hnext = atomic_load_explicit(&map[h], memory_order_relaxed);
    atomic_store_explicit(&map[h], fresh, memory_order_release);
    link_all(fresh);
    lg__unlock(&class_lock);
    return fresh;
}

/* ---------------------------------------------------------------------- */
/* Wrappers.                                                               */

static bool is_word(const char *w, size_t n)
{
    static const char *const words[] = {"mutex", "mtx", "lock", "rwlock", "spinlock", "spin"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && strncasecmp(w, words[i], n) == 0)
            return true;
    return false;
}

/* Does the name have a word of the rule? Words are runs of letters, split
 * again where a lower-case letter is followed by an upper-case one; this
 * also reads mangled C++ names (_ZN4port5MutexC2Ev: port, Mutex, C, Ev). */
bool lg__class_wrapper_name(const char *name)
{
    const char *p = name;
    while (*p) {
        while (*p && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            p++;
        const char *start = p;
        while (*p && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
            if (p > start && p[-1] >= 'a' && p[-1] <= 'z' && *p >= 'A' && *p <= 'Z')
                break;
            p++;
        }
        if (p > start && is_word(start, (size_t)(p - start)))
            return true;
    }
    return false;
}

/* Is name in the lock_wrappers option (comma-separated)? "-" there turns
 * the name rule off. */
static bool in_option(const char *name, bool *rule_off)
{
    const char *s = lg__opt.lock_wrappers;
    size_t n = strlen(name);
    *rule_off = false;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 1 && *s == '-')
            *rule_off = true;
        else if (len == n && strncmp(s, name, n) == 0)
            return true;
        s += len + (e ? 1 : 0);
    }
    return false;
}

static bool decide_wrapper(uintptr_t pc)
{
    struct lg_modinfo m;
    char name[512];
    if (!lg__module_of(pc - 1, &m) || !lg__function_of(&m, pc - 1, name, sizeof(name)))
        return false;
    bool rule_off;
    if (in_option(name, &rule_off))
        return true;
    return !rule_off && lg__class_wrapper_name(name);
}

#define WCACHE 4096
static struct {
    _Atomic uintptr_t pc;
    _Atomic uint8_t wrapper;
} wcache[WCACHE] LG_LARGE_BSS;

static bool is_wrapper(uintptr_t pc)
{
    uint32_t i = (uint32_t)((pc * 0x9E3779B97F4A7C15ull) >> 52) & (WCACHE - 1);
    if (atomic_load_explicit(&wcache[i].pc, memory_order_acquire) == pc) {
        uint8_t w = atomic_load_explicit(&wcache[i].wrapper, memory_order_acquire);
        if (atomic_load_explicit(&wcache[i].pc, memory_order_acquire) == pc)
            return w;
    }
    bool w = decide_wrapper(pc);
    atomic_store_explicit(&wcache[i].pc, 0, memory_order_release);
    atomic_store_explicit(&wcache[i].wrapper, w, memory_order_release);
    atomic_store_explicit(&wcache[i].pc, pc, memory_order_release);
    return w;
}

/* ---------------------------------------------------------------------- */

static const struct lg_stack *capture(int depth)
{
    uintptr_t pcs[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, NULL, depth);
    return lg__stack_intern(pcs, n);
}

static struct lg_class *site_class(uintptr_t site, enum lg_lock_type type, enum lg_lock_mode mode,
                                   bool wrapper)
{
    struct lg_class *c = make(LG_CLASS_SITE, type, mode, true);
    if (!c)
        return NULL;
    c->key = site;
    c->wrapper = wrapper;
    if (!wrapper)
        atomic_store_explicit(&c->stack, capture((int)lg__opt.stack_depth), memory_order_release);
    return publish(c, hash_of(LG_CLASS_SITE, site));
}

/* A lock made inside a wrapper: the class of its chain of callers. */
static struct lg_class *chain_class(enum lg_lock_type type, enum lg_lock_mode mode)
{
    uintptr_t pcs[CHAIN_MAX];
    int n = lg__stack_capture(pcs, NULL, CHAIN_MAX);
    if (n <= 0)
        return NULL;
    int k = 1;
    while (k < n && k < CHAIN_MAX && is_wrapper(pcs[k - 1]))
        k++;
    const struct lg_stack *chain = lg__stack_intern(pcs, k);
    if (!chain)
        return NULL;
    uint32_t h = hash_of(LG_CLASS_CHAIN, (uintptr_t)chain);
    struct lg_class *c = lookup(h, LG_CLASS_CHAIN, (uintptr_t)chain, NULL);
    if (c)
        return c;
    c = make(LG_CLASS_CHAIN, type, mode, true);
    if (!c)
        return NULL;
    c->key = (uintptr_t)chain; /* interned: one chain, one pointer */
    c->chain = chain;
    atomic_store_explicit(&c->stack, capture((int)lg__opt.stack_depth), memory_order_release);
    return publish(c, h);
}

struct lg_class *lg__class_for_init(uintptr_t site, enum lg_lock_type type,
                                    enum lg_lock_mode mode)
{
    struct lg_class *c = lookup(hash_of(LG_CLASS_SITE, site), LG_CLASS_SITE, site, NULL);
    if (!c)
        c = site_class(site, type, mode, is_wrapper(site));
    if (c && c->wrapper)
        return chain_class(type, mode);
    return c;
}

struct lg_class *lg__class_for_addr(uintptr_t addr, enum lg_lock_type type,
                                    enum lg_lock_mode mode, bool created,
                                    const struct lg_stack *stack)
{
    struct lg_class *c = make(LG_CLASS_ADDR, type, mode, created);
    if (!c)
        return NULL;
    c->key = addr;
    atomic_store_explicit(&c->stack, stack, memory_order_release);
    lg__lock(&class_lock);
    link_all(c);
    lg__unlock(&class_lock);
    return c;
}

struct lg_class *lg__class_for_name(const char *name, enum lg_lock_type type,
                                    enum lg_lock_mode mode)
{
    uint32_t h = hash_name(name);
    struct lg_class *c = lookup(h, LG_CLASS_NAME, 0, name);
    if (c)
        return c;
    size_t len = strlen(name);
    char *copy = lg__alloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, name, len + 1);
    c = make(LG_CLASS_NAME, type, mode, false);
    if (!c) {
        lg__free(copy, len + 1);
        return NULL;
    }
    c->name = copy;
    return publish(c, h);
}

void lg__class_set_stack(struct lg_class *c, const struct lg_stack *s)
{
    const struct lg_stack *none = NULL;
    if (s)
        atomic_compare_exchange_strong(&c->stack, &none, s);
}

void lg__class_note_self(struct lg_class *c, uintptr_t outer_addr, uintptr_t inner_addr,
                         unsigned combo, const struct lg_edge_info *info)
{
    struct lg_self_nest *s = atomic_load_explicit(&c->self, memory_order_acquire);
    if (!s) {
        struct lg_self_nest *fresh = lg__alloc(sizeof(*fresh));
        if (!fresh)
            return;
        fresh->first = *info;
        if (!atomic_compare_exchange_strong(&c->self, &s, fresh))
            lg__free(fresh, sizeof(*fresh));
        else
            s = fresh;
    }
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    atomic_fetch_or_explicit(&s->combos, (uint8_t)(1u << combo), memory_order_relaxed);
    if (outer_addr < inner_addr)
        atomic_store_explicit(&s->ascending, true, memory_order_relaxed);
    else
        atomic_store_explicit(&s->descending, true, memory_order_relaxed);
}

void lg__class_hold(struct lg_class *c)
{
    /* A count for the graph file, nothing depends on it being exact: a
     * plain increment, no atomic read-modify-write on a line every thread
     * making a lock of this class shares (two racing increments may count
     * one). */
    atomic_store_explicit(&c->made, atomic_load_explicit(&c->made, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static struct lg_class *class_of_retired(struct lg_retired *r)
{
    return (struct lg_class *)((char *)r - offsetof(struct lg_class, r));
}

/* What a class record holds besides itself, given back with it. */
static void class_release(struct lg_class *c)
{
    struct lg_self_nest *s = atomic_exchange(&c->self, NULL);
    if (s)
        lg__free(s, sizeof(*s));
}

static void class_done(struct lg_retired *r)
{
    struct lg_class *c = class_of_retired(r);
    class_release(c);
    lg__pool_put(&class_pool, c);
}

/* ---- Addr classes go with their one lock: a program's static locks, but
 * also every zeroed lock in calloc'd memory that is never initialized, as
 * many as it makes. They go into grace periods CLASS_BATCH at a time (one
 * retirement, one pool lock for the lot), like instances (registry.c):
 * one by one, the retirement's locks and the cold list walk were a third
 * of a never-initialized lock's first sight. */
#define CLASS_BATCH 256

struct class_batch {
    struct lg_retired r;
    struct lg_retired *list; /* through each class's r.next */
    uint32_t n;
};

static struct lg_retired *parked; /* class_lock */
static uint32_t nparked;

static void class_batch_done(struct lg_retired *r)
{
    struct class_batch *b = (struct class_batch *)r;
    struct lg_pool_chain back = {0};
    for (struct lg_retired *x = b->list, *next; x; x = next) {
        next = x->next;
        struct lg_class *c = class_of_retired(x);
        class_release(c);
        lg__pool_chain_add(&class_pool, &back, c);
    }
    lg__pool_put_chain(&class_pool, &back);
    lg__free(b, sizeof(*b));
}

/* Send the list of n retired classes into a grace period. */
static void send_classes(struct lg_retired *list, uint32_t n)
{
    if (!list)
        return;
    struct class_batch *b = lg__alloc(sizeof(*b));
    if (!b) { /* one by one, then */
        for (struct lg_retired *next; list; list = next) {
            next = list->next;
            lg__retire(list, class_done);
        }
        return;
    }
    b->list = list;
    b->n = n;
    lg__retire_weighted(&b->r, class_batch_done, n);
}

/* Take c out of the graph; for an addr class, give the record back. */
static void remove_class(struct lg_class *c)
{
    struct lg_retired *full = NULL;
    uint32_t nfull = 0;
    lg__lock(&class_lock);
    atomic_store_explicit(&c->dead, true, memory_order_release); /* no vertex from now */
    struct lg_vertex *v = atomic_load_explicit(&c->v, memory_order_relaxed);
    bool linked = c->prev || c->next || all == c;
    if (linked)
        unlink_all(c);
    if (c->kind == LG_CLASS_ADDR && linked) {
        atomic_fetch_add_explicit(&c->gen, 1, memory_order_release);
        c->r.next = parked;
        parked = &c->r;
        if (++nparked >= CLASS_BATCH) {
            full = parked;
            nfull = nparked;
            parked = NULL;
            nparked = 0;
        }
    }
    lg__unlock(&class_lock);
    if (v)
        lg__graph_vertex_remove(v);
    send_classes(full, nfull);
}

void lg__class_flush_retired(void)
{
    lg__lock(&class_lock);
    struct lg_retired *list = parked;
    uint32_t n = nparked;
    parked = NULL;
    nparked = 0;
    lg__unlock(&class_lock);
    send_classes(list, n);
}

void lg__class_drop(struct lg_class *c)
{
    if (c->kind == LG_CLASS_ADDR)
        remove_class(c);
}

static bool chain_in(const struct lg_stack *s, uintptr_t lo, uintptr_t hi)
{
    for (uint32_t i = 0; s && i < s->n; i++)
        if (s->pc[i] >= lo && s->pc[i] < hi)
            return true;
    return false;
}

void lg__class_unloaded(uintptr_t lo, uintptr_t hi)
{
    /* Collect under the lock, remove outside it (the graph lock comes
     * after class_lock, but removal takes class_lock again). */
    struct lg_class *gone[256];
    for (;;) {
        int n = 0;
        lg__lock(&class_lock);
        for (struct lg_class *c = all; c && n < 256; c = c->next) {
            bool in = c->kind == LG_CLASS_SITE ? (c->key >= lo && c->key < hi)
                      : c->kind == LG_CLASS_CHAIN ? chain_in(c->chain, lo, hi)
                                                  : false;
            if (!in || atomic_load_explicit(&c->dead, memory_order_relaxed))
                continue;
            atomic_store_explicit(&c->dead, true, memory_order_release);
            gone[n++] = c;
        }
        lg__unlock(&class_lock);
        for (int i = 0; i < n; i++)
            remove_class(gone[i]);
        if (n < 256)
            return;
    }
}

uint32_t lg__class_snapshot(struct lg_class **out, uint32_t max)
{
    uint32_t n = 0;
    lg__lock(&class_lock);
    for (struct lg_class *c = all; c; c = c->next, n++)
        if (n < max)
            out[n] = c;
    lg__unlock(&class_lock);
    return n;
}

uint64_t lg__class_count(void)
{
    return atomic_load(&nclasses);
}

void lg__class_lock_all(void)
{
    lg__lock(&class_lock);
}

void lg__class_unlock_all(void)
{
    lg__unlock(&class_lock);
}

void lg__class_reset_child(void)
{
    lg__lock_reset(&class_lock);
}

const char *lg__class_kind_name(unsigned kind)
{
    switch (kind) {
    case LG_CLASS_SITE:
        return "site";
    case LG_CLASS_CHAIN:
        return "chain";
    case LG_CLASS_NAME:
        return "name";
    default:
        return "addr";
    }
}
