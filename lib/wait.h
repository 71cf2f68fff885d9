/*
 * wait.h - actual deadlocks and stalls: who waits for whom, right now.
 *
 * A blocking lock call first tries the lock (interpose.c); only when it is
 * busy does the thread publish what it waits for (thread.h, struct lg_wait)
 * and follow the chain of owners: the lock's owner (glibc keeps it in the
 * mutex, and the writer in the rwlock; lockgraph keeps a spinlock's), what
 * that owner waits for, and so on. Back at the waiting thread, it is a real
 * deadlock: a `deadlock` finding with every thread of the cycle, the lock
 * each waits for, the locks each holds and where it took them, and each
 * thread's stack. A lock that is free costs nothing here.
 *
 * The thread then waits in slices (LG_WAIT_SLICE_NS) rather than forever: at
 * the end of the first it records its own stack (the wait is long enough to
 * matter), and at every slice it follows the chain again. The program sees
 * the same result as from one blocking call.
 *
 * Readers of another thread's record (the chain, the watchdog) check its
 * wait sequence before and after, and trust only what a still-running wait
 * showed; a thread that is waiting does not touch its held stack, and held
 * storage is never unmapped, so reading it is safe.
 */
#ifndef LG_WAIT_H
#define LG_WAIT_H

#include "runtime.h"

#include <stdbool.h>
#include <stdint.h>

#define LG_WAIT_SLICE_NS 100000000ull /* 100 ms */

uint64_t lg__now_ns(void);

/* The lock in a is busy and the thread (not its owner) will wait for it. */
void lg__wait_begin(struct lg_thread *t, const struct lg_acq *a, bool timed);
/* A slice of the wait ended and the lock is still busy. */
void lg__wait_slice(struct lg_thread *t);
/* The wait ended (acquired, timed out, or failed). */
void lg__wait_end(struct lg_thread *t);

/* The watchdog's round: report threads waiting longer than long_ns
 * (long-wait, once per wait) and cycles among waiting threads. */
void lg__wait_scan(uint64_t long_ns);

/* hold_warn_ms: the lock at held index i is about to be released. */
void lg__hold_check(struct lg_thread *t, const struct lg_held *h);
/* At exit: the final counts of every long-hold site seen more than once. */
void lg__hold_flush(void);

#endif
