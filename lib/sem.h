/*
 * sem.h - POSIX semaphores: which are locks, which are counters.
 *
 * A semaphore made with the value 1 (sem_init, or sem_open finding it at 1)
 * is taken for a lock: CPython's threading.Lock is one. Its sem_wait and
 * sem_trywait are lock acquisitions and its sem_post by the thread that
 * took it a release, through the runtime's lock events with the lock type
 * LG_TYPE_SEM: edges, cycles, ranks by key, the wait-for chain (its owner is
 * the thread that took it), held-across-io. It stays a lock until it shows
 * it is not one: a sem_post by a thread that did not take it (a signal, not
 * a release). From then on it is a counter, for good: the thread that took
 * it last keeps a hold that means nothing (lg__sem_hold_stale: skipped by
 * the checks, dropped at its thread's end) and its graph node is retired,
 * so the hold makes no edge.
 *
 * Every other semaphore (made with 0, or 2 and more) is a counter: its
 * waits are waits (held-across-wait, the live dump), not locks.
 *
 * Cost: a semaphore call looks its address up in a table (a hash and a
 * probe or two, no lock). The table holds semaphores alive now; a
 * semaphore it has no room for is a counter.
 *
 * Locking: sem_lock guards insertion only (sync.h: after io, before alloc);
 * lookups take no lock.
 */
#ifndef LG_SEM_H
#define LG_SEM_H

#include "thread.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A semaphore was made at addr with this value (sem_init, sem_open; name
 * NULL for an unnamed one). True when it is taken for a lock. */
bool lg__sem_created(uintptr_t addr, unsigned value, const char *name);
/* sem_destroy: forget it. */
void lg__sem_destroyed(uintptr_t addr);
/* Is the semaphore at addr a lock now? */
bool lg__sem_is_lock(uintptr_t addr);
/* Is it known to lockgraph (made through a call lockgraph saw)? For
 * sem_open, which returns the same address for the same name. */
bool lg__sem_known(uintptr_t addr, const char *name);
/* It is not a lock after all (a post by a thread that did not take it). */
void lg__sem_not_lock(uintptr_t addr);
/* A hold of addr that means nothing: it was a lock when taken, and is a
 * counter now. */
bool lg__sem_hold_stale(uintptr_t addr);
/* Has any semaphore ever stopped being a lock? Until one has, no hold can
 * be stale and the checks need not ask (one load). */
extern atomic_bool lg__sem_stale_seen;
/* A named semaphore's name, or NULL. */
const char *lg__sem_name(uintptr_t addr);
/* Thread t is ending: drop its stale holds first (held-at-exit would name
 * them). */
void lg__sem_thread_ending(struct lg_thread *t);

void lg__sem_lock_all(void);
void lg__sem_unlock_all(void);
void lg__sem_reset_child(void);

#endif
