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

#include "report.h"
#include "runtime.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define LG_WAIT_SLICE_NS 100000000ull /* 100 ms */
#define LG_WAIT_CHAIN_MAX 32          /* threads in one cycle */

uint64_t lg__now_ns(void);

/* The lock in a is busy and the thread (not its owner) will wait for it. */
void lg__wait_begin(struct lg_thread *t, const struct lg_acq *a, bool timed);
/* The thread will wait on something that is not a lock: a thread it joins
 * (which the chain follows, and a search starts from here), a condition
 * variable, a barrier, a semaphore used as a counter, a process (published
 * for the live dump only). Ended by lg__wait_end; a join may be waited in
 * slices (lg__wait_slice) like a lock. pc: the return address of the call. */
void lg__wait_begin_on(struct lg_thread *t, const struct lg_wait_on *on, uintptr_t pc, bool timed);
/* Fill on->tid, tseq and tname with the thread a join (on->addr, its
 * pthread_t) waits for, when lockgraph knows it; a walk of every record. */
void lg__wait_join_target(struct lg_wait_on *on);
/* The end of the next slice on clock clk, never past the caller's own
 * deadline abs (NULL: none). True when this slice ends at that deadline. */
bool lg__wait_slice_end(clockid_t clk, const struct timespec *abs, struct timespec *end);
/* A slice of the wait ended and the lock is still busy. */
void lg__wait_slice(struct lg_thread *t);
/* The wait ended (acquired, timed out, or failed). */
void lg__wait_end(struct lg_thread *t);

/* The watchdog's round: report threads waiting longer than long_ns
 * (long-wait, once per wait) and cycles among waiting threads. */
void lg__wait_scan(uint64_t long_ns);

/* The name of thread tid of this process, from /proc (raw system calls);
 * false when it cannot be read. */
bool lg__thread_name_of(int32_t tid, char name[16]);
/* The same for a thread of process pid (0: this one). */
bool lg__thread_name_in(int32_t pid, int32_t tid, char name[16]);

/* What a thread waits for right now, for the live dump; false when it is
 * not waiting. Reads only: nothing is reported. */
struct lg_wait_snap {
    struct lg_wait_on on; /* what it waits on (a lock: on.node, on.addr) */
    bool exclusive, timed;
    uint64_t waited_ns;
    uintptr_t pc;                         /* return address of the waiting call */
    const struct lg_stack *stack;         /* its whole stack, once published (a long wait) */
    int32_t owner_tid;                    /* a lock's owner, a join's thread; 0: none known */
    uint32_t owner_seq;                   /* ... lockgraph's number for it, 0 when it has none */
    bool owner_gone;                      /* the owner has ended or is not in this process */
    int ncycle;                           /* > 0: in a wait-for cycle of this many threads */
    int32_t cycle_tid[LG_WAIT_CHAIN_MAX]; /* ... starting with this one */
};
bool lg__wait_snapshot(struct lg_thread *r, struct lg_wait_snap *out);

/* hold_warn_ms: the lock at held index i is about to be released. */
void lg__hold_check(struct lg_thread *t, const struct lg_held *h);
/* At exit: the final counts of every long-hold site seen more than once. */
void lg__hold_flush(void);

#endif
