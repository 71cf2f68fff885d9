/*
 * watchdog.h - lockgraph's own thread for watchdog=SECONDS (off by default):
 * it looks at every waiting thread a few times per threshold, reports waits
 * longer than the threshold (long-wait) and cycles of waits the waiters
 * could not see themselves (timed waits that keep retrying).
 *
 * It is detached and blocks every signal, so it never keeps the process
 * alive or takes a signal meant for the program; it takes no pthread lock
 * and is never tracked. A fork child gets a watchdog of its own.
 */
#ifndef LG_WATCHDOG_H
#define LG_WATCHDOG_H

/* Start it, when the option asks and it is not running in this process. */
void lg__watchdog_start(void);
/* After fork, in the child: the parent's watchdog does not exist here. */
void lg__watchdog_reset_child(void);

#endif
