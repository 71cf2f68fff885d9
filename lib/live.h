/*
 * live.h - the live dump: `lockgraph dump PID` asks a running process under
 * lockgraph who holds what and who waits for whom, right now.
 *
 * How it is asked: the library listens on an abstract unix socket named
 * "lockgraph.PID" (no file anywhere; per network namespace), from a thread
 * of its own ("lockgraph-dump") that sleeps in accept(2) and blocks every
 * signal. A connection from the same user (or root; SO_PEERCRED) gets the
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

/* Start the dump thread, when the dump option asks (from the constructor,
 * like the watchdog). */
void lg__live_start(void);
/* In a fork child: the parent's socket is the parent's; start our own. */
void lg__live_reset_child(void);

#endif
