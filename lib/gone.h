/*
 * gone.h - threads that are gone while their locks are not.
 *
 * A thread that ends holding a lock leaves it locked for good, and so does
 * every other thread of a process that forks: in the child only the forking
 * thread exists, and a lock another thread held at the fork stays locked
 * with an owner that is not there (not a process-shared lock: that one is
 * the parent's, which still has the thread to let it go). A thread that then waits for such a lock
 * waits forever; wait.c reports it at once (a `deadlock` with a
 * `gone_owner`) and asks here who the owner was, where it took the lock,
 * and where it ended or where the fork was made.
 *
 * Kept: one record per thread that ended holding locks (made at its end,
 * when held-at-exit is reported), and, in a fork child, one per thread of
 * the parent that held locks at the fork (from the records the child
 * inherits, see lg__thread_reset_child). At most GONE_MAX of them for the
 * life of the process; after that a gone owner is still reported, with its
 * thread id only.
 *
 * With on_fork=report the child also says, at once, which locks it
 * inherited locked from threads it does not have (fork-with-locks-held).
 *
 * Locking: none. Records are appended with an atomic counter and never
 * freed; readers see whole records (published with a release store).
 */
#ifndef LG_GONE_H
#define LG_GONE_H

#include "report.h"
#include "thread.h"

#include <stdbool.h>
#include <stdint.h>

/* Thread t is ending while it holds locks: remember them, and where it
 * ended. Call with lg__busy set, before its record is given back. */
void lg__gone_thread_ending(struct lg_thread *t);

/* Who held the lock at addr, thread tid, which is gone: fills g (took and
 * where are left NULL when not known). False when lockgraph never saw tid
 * hold it. */
bool lg__gone_find(int32_t tid, uintptr_t addr, struct lg_gone_owner *g);

/* A fork child's forking thread held locks under its parent's thread id,
 * which the locks (glibc's owner field) still carry: that id stands for the
 * child's own thread. Returns tid, or the child thread id it stands for. */
int32_t lg__gone_alias(int32_t tid);

/* fork: prepare runs in the forking thread before lockgraph's locks are
 * taken (it may capture the stack), parent and child after the fork (the
 * child after every other module's reset). report: the child may write
 * fork-with-locks-held (on_fork); false after _Fork. */
void lg__gone_fork_prepare(void);
void lg__gone_fork_parent(void);
void lg__gone_fork_child(bool report);

#endif
