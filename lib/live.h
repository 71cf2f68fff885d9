/*
 * live.h - the live dump: `lockgraph dump PID` asks a running process under
 * lockgraph who holds what and who waits for whom, right now.
 *
 * How it is asked: the library listens on an abstract unix socket named
 * "lockgraph.PID" (no file anywhere; per network namespace), from a thread
 * of its own ("lockgraph-dump") that sleeps in accept(2) and blocks every
 * signal, started when the program starts its first thread (a
 * single-threaded program has no deadlock to dump, and some must stay
 * single-threaded: unshare(CLONE_NEWUSER) refuses otherwise). A connection from the same user (or root; SO_PEERCRED) gets the
 * snapshot written back, then the connection is closed; anyone else gets
 * an error line. Nothing else in the process is stopped, signalled or
 * slowed: the snapshot reads the thread records the way the wait-for chain
 * does (without a lockgraph lock), while the program runs on. `dump=0` in
 * LOCKGRAPH_OPTIONS turns it off (no thread, no socket).
 *
 * The snapshot is JSON Lines (FINDINGS.md, "The live dump"):
 *     {"kind":"live", ... "modules":[...]}        the process, its module map
 *     {"kind":"live-thread", ...}                  one per thread
 *     {"kind":"live-deadlock", ...}                one per deadlock found now
 *     {"kind":"live-end","threads":N,"deadlocks":M} last: a dump cut short lacks it
 *
 * A thread lockgraph has never seen (it has taken no lock and made no
 * watched wait) is listed from /proc/self/task, with its name only.
 */
#ifndef LG_LIVE_H
#define LG_LIVE_H

#include <stdbool.h>

/* Start the dump thread, when the dump option asks and it is not running:
 * from the program's first pthread_create (interpose_wait.c), so that a
 * single-threaded program stays single-threaded. */
void lg__live_start(void);
/* Is it running (or was it asked for and refused: then it is not asked
 * again)? One load. */
bool lg__live_running(void);
/* In a fork child: the parent's socket is the parent's. The child's own
 * starts with the child's first thread. */
void lg__live_reset_child(void);

#endif
