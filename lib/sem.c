/*
 * sem.c - which semaphores are locks (see sem.h for the model).
 *
 * What it does: keep, per semaphore address, whether it is taken for a lock
 * or is a counter, and a named semaphore's name. What it does not:
 * interpose (interpose_wait.c) or decide anything about locks (the runtime
 * does, from the lock events the shims send for a lock semaphore).
 *
 * The table: open addressing over SLOTS slots, mapped on first use. A slot
 * is claimed for an address under sem_lock and keeps it; a destroyed
 * semaphore's slot is marked GONE and reused by the next new address that
 * probes it (under sem_lock, after checking the address is not further
 * on). An address is never more than PROBES slots from its home, so a
 * lookup stops there, or at a slot never used.
 */

#include "sem.h"
#include "alloc.h"
#include "graph.h"
#include "registry.h"
#include "seen.h"
#include "sync.h"

#include <string.h>

#define SLOTS (1u << 16)
#define PROBES 64

enum { S_EMPTY, S_LOCK, S_COUNTER, S_GONE };

struct slot {
    _Atomic uintptr_t addr; /* 0: never used */
    _Atomic uint8_t state;
    _Atomic(const char *) name;
};

atomic_bool lg__sem_stale_seen;
static _Atomic(struct slot *) table;
#define sem_lock (lg__locks.sem)

static struct slot *slots(void)
{
    struct slot *t = atomic_load_explicit(&table, memory_order_acquire);
    if (t)
        return t;
    struct slot *fresh = lg__map_limited(SLOTS * sizeof(*fresh)), *none = NULL;
    if (!fresh)
        return NULL;
    if (!atomic_compare_exchange_strong(&table, &none, fresh)) {
        lg__unmap(fresh, SLOTS * sizeof(*fresh));
        return none;
    }
    return fresh;
}

static inline uint32_t home(uintptr_t addr)
{
    return (uint32_t)(lg__mix64(addr) & (SLOTS - 1));
}

static struct slot *lookup(uintptr_t addr)
{
    struct slot *t = atomic_load_explicit(&table, memory_order_acquire);
    if (!t || !addr)
        return NULL;
    for (uint32_t i = home(addr), k = 0; k < PROBES; i = (i + 1) & (SLOTS - 1), k++) {
        uintptr_t a = atomic_load_explicit(&t[i].addr, memory_order_acquire);
        if (a == addr)
            return &t[i];
        if (a == 0)
            return NULL;
    }
    return NULL;
}

/* The slot for addr, claimed when there is none; NULL when the table is
 * full around it (the semaphore is then a counter). */
static struct slot *claim(uintptr_t addr)
{
    struct slot *t = slots();
    if (!t || !addr)
        return NULL;
    lg__lock(&sem_lock);
    struct slot *reuse = NULL, *found = NULL;
    for (uint32_t i = home(addr), k = 0; k < PROBES; i = (i + 1) & (SLOTS - 1), k++) {
        uintptr_t a = atomic_load_explicit(&t[i].addr, memory_order_relaxed);
        if (a == addr) {
            found = &t[i];
            break;
        }
        if (a == 0) {
            found = reuse ? reuse : &t[i];
            break;
        }
        if (!reuse && atomic_load_explicit(&t[i].state, memory_order_relaxed) == S_GONE)
            reuse = &t[i];
    }
    if (!found)
        found = reuse;
    if (found) {
        atomic_store_explicit(&found->state, S_COUNTER, memory_order_relaxed);
        atomic_store_explicit(&found->name, NULL, memory_order_relaxed);
        atomic_store_explicit(&found->addr, addr, memory_order_release);
    }
    lg__unlock(&sem_lock);
    return found;
}

bool lg__sem_created(uintptr_t addr, unsigned value, const char *name)
{
    struct slot *s = claim(addr);
    if (!s)
        return false;
    if (name) {
        size_t len = strnlen(name, 255);
        char *copy = lg__alloc(len + 1);
        if (copy) {
            memcpy(copy, name, len);
            atomic_store_explicit(&s->name, copy, memory_order_release);
        }
    }
    bool lock = value == 1;
    atomic_store_explicit(&s->state, lock ? S_LOCK : S_COUNTER, memory_order_release);
    return lock;
}

void lg__sem_destroyed(uintptr_t addr)
{
    struct slot *s = lookup(addr);
    if (s)
        atomic_store_explicit(&s->state, S_GONE, memory_order_release);
}

bool lg__sem_is_lock(uintptr_t addr)
{
    struct slot *s = lookup(addr);
    return s && atomic_load_explicit(&s->state, memory_order_acquire) == S_LOCK;
}

bool lg__sem_known(uintptr_t addr, const char *name)
{
    struct slot *s = lookup(addr);
    if (!s || atomic_load_explicit(&s->state, memory_order_acquire) == S_GONE)
        return false;
    const char *n = atomic_load_explicit(&s->name, memory_order_acquire);
    return !name || (n && strcmp(n, name) == 0);
}

void lg__sem_not_lock(uintptr_t addr)
{
    struct slot *s = lookup(addr);
    uint8_t lock = S_LOCK;
    if (s && atomic_compare_exchange_strong(&s->state, &lock, S_COUNTER)) {
        atomic_store(&lg__sem_stale_seen, true);
        struct lg_node *node = lg__registry_lookup(addr);
        if (node)
            lg__registry_retire(node); /* the holds it left make no edge */
    }
}

bool lg__sem_hold_stale(uintptr_t addr)
{
    struct slot *s = lookup(addr);
    return s && atomic_load_explicit(&s->state, memory_order_acquire) != S_LOCK;
}

const char *lg__sem_name(uintptr_t addr)
{
    struct slot *s = lookup(addr);
    return s ? atomic_load_explicit(&s->name, memory_order_acquire) : NULL;
}

void lg__sem_thread_ending(struct lg_thread *t)
{
    for (int i = (int)t->held.n - 1; i >= 0; i--) {
        const struct lg_held *h = &t->held.e[i];
        if (h->node && h->node->type == LG_TYPE_SEM && lg__sem_hold_stale(h->addr))
            lg__held_remove(&t->held, i);
    }
}

void lg__sem_lock_all(void)
{
    lg__lock(&sem_lock);
}

void lg__sem_unlock_all(void)
{
    lg__unlock(&sem_lock);
}

void lg__sem_reset_child(void)
{
    lg__lock_reset(&sem_lock);
}
