/*
 * sync.h - lockgraph's own locks.
 *
 * lockgraph interposes pthread_mutex_*, so it can never use them for itself:
 * a pthread lock taken here would come straight back into the detector. These
 * are small futex locks (Drepper, "Futexes Are Tricky", mutex #3): 0 free,
 * 1 taken, 2 taken with waiters. They call nothing but the futex system call.
 *
 * Locking rule for the whole library (outermost first); a thread never takes
 * an earlier lock while holding a later one:
 *
 *     dump -> loader -> ranks -> class -> registry -> graph -> depot -> report -> threads
 *          -> symbols -> io -> sem -> reclaim -> alloc
 *
 * (dump: one graph dump at a time, dump.c; loader: lockgraph's calls of
 * dl_iterate_phdr, symbols.c; ranks: the declared order, ranks.c; class:
 * making and removing lock classes, class.c; registry: writers of the
 * address -> instance table, registry.c; symbols: symbol tables being read,
 * symbols.c; io: the I/O check's tables, io.c; sem: the semaphore table's
 * insertions, sem.c; reclaim: grace periods, reclaim.c; alloc also guards
 * the record pools). A thread's drops lock (runtime.c) is a leaf taken
 * alone.
 *
 * and no lockgraph lock is held across a call that may take a host lock
 * (stack unwinding, dl_iterate_phdr): see runtime.c.
 */
#ifndef LG_SYNC_H
#define LG_SYNC_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Each lock on a cache line of its own: threads taking it must not slow
 * the readers of whatever the linker would put beside it (a fast path's
 * globals, a table pointer). */
typedef struct {
    _Alignas(64) atomic_int state;
} lg__lock_t;

#define LG__LOCK_INIT                                                                              \
    {                                                                                              \
        0                                                                                          \
    }

/* The library's locks (the rule above; ranks keeps its own in its table),
 * together on one page (sync.c). A fork's handlers write every one of them,
 * and after a fork the first write to a page, in the parent and in the
 * child, is a page fault that copies it: on a VM one costs about 13 us. One
 * page for all of them is one fault a side per fork, not one per lock. */
struct lg__locks {
    lg__lock_t dump, loader, klass, registry, graph, depot, report, threads, symbols, io, sem,
        reclaim, alloc;
};
extern struct lg__locks lg__locks;

static inline void lg__futex(atomic_int *addr, int op, int val)
{
    syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

static inline void lg__lock(lg__lock_t *l)
{
    int c = 0;
    if (atomic_compare_exchange_strong_explicit(&l->state, &c, 1, memory_order_acquire,
                                                memory_order_relaxed))
        return;
    if (c != 2)
        c = atomic_exchange_explicit(&l->state, 2, memory_order_acquire);
    while (c != 0) {
        lg__futex(&l->state, FUTEX_WAIT, 2);
        c = atomic_exchange_explicit(&l->state, 2, memory_order_acquire);
    }
}

static inline void lg__unlock(lg__lock_t *l)
{
    if (atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2)
        lg__futex(&l->state, FUTEX_WAKE, 1);
}

/* After fork() in the child: only the forking thread exists, so a lock held by
 * any other thread of the parent would stay held forever. */
static inline void lg__lock_reset(lg__lock_t *l)
{
    atomic_store_explicit(&l->state, 0, memory_order_relaxed);
}

#endif
