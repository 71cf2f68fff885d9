/*
 * held.c - per-thread held-lock stack (see held.h). No locking: one owner.
 * Growth maps pages directly (lg__map takes no lock), so it is safe even
 * inside fork handlers where lockgraph's own locks are taken. Storage is
 * never unmapped (other threads may read it, see wait.c).
 */
#include "held.h"
#include "alloc.h"
#include "graph.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void lg__held_init(struct lg_held_stack *h)
{
    h->e = h->first;
    h->n = 0;
    h->cap = LG_HELD_INLINE;
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

int lg__held_find(const struct lg_held_stack *h, uintptr_t addr)
{
    for (int i = (int)h->n - 1; i >= 0; i--)
        if (h->e[i].addr == addr)
            return i;
    return -1;
}

void lg__held_remove(struct lg_held_stack *h, int i)
{
    if (i < 0 || (uint32_t)i >= h->n)
        return;
    memmove(&h->e[i], &h->e[i + 1], (h->n - (uint32_t)i - 1) * sizeof(h->e[0]));
    h->n--;
}

uint32_t lg__held_remove_if(struct lg_held_stack *h, bool (*drop)(const struct lg_held *))
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < h->n; i++)
        if (!drop(&h->e[i]))
            h->e[kept++] = h->e[i];
    uint32_t gone = h->n - kept;
    h->n = kept;
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
}
