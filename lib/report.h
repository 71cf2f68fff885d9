/*
 * report.h - the findings file (FINDINGS.md is the contract) and the short
 * human lines on stderr.
 *
 * Each finding is formatted into a private buffer, then written with one
 * write(2) to a file opened O_APPEND, the moment it is found: a process that
 * hangs, is killed or calls _exit afterwards has lost nothing. If the
 * program closes the descriptor (daemons close every fd), it is reopened by
 * name; if that fails too, the finding goes to stderr whole.
 *
 * Locking: report_lock serializes writes; it is taken after graph and depot
 * and is never held while calling the unwinder or dl_iterate_phdr.
 */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include "graph.h"
#include "thread.h"

#include <stdbool.h>
#include <stdint.h>

/* Expand the report path for this pid and open it. Prints a clear message
 * and falls back to stderr when it cannot. */
void lg__report_open(void);

void lg__report_cycle(const struct lg_cycle *c);
void lg__report_self_deadlock(const struct lg_thread *t, const struct lg_node *n,
                              const struct lg_stack *first, bool first_exact,
                              const struct lg_stack *second, bool timed);
void lg__report_unlock_not_held(const struct lg_thread *t, uintptr_t addr,
                                const struct lg_node *n, const struct lg_stack *stack);
void lg__report_held_at_exit(const struct lg_thread *t);
struct lg_io_finding;
/* A held-across-io pair: its first call, or (final) its count at exit. */
void lg__report_held_across_io(const struct lg_io_finding *f, bool final);
/* Once per process: lockgraph ran out of memory. */
void lg__report_oom(void);

struct dl_phdr_info;
struct lg_gone_module;
/* A module may be about to be unloaded: prepare its map entry (NULL when
 * out of memory). If it does go, lg__report_module_gone keeps the entry, so
 * findings made later whose stacks have frames in it still name it;
 * otherwise lg__report_module_stays drops it. */
struct lg_gone_module *lg__report_module_leaving(struct dl_phdr_info *info);
void lg__report_module_gone(struct lg_gone_module *g);
void lg__report_module_stays(struct lg_gone_module *g);

/* Findings written so far (detector errors not counted). */
uint64_t lg__report_count(void);
/* fsync the findings file. 0 or -1. */
int lg__report_sync(void);
/* One closing line on stderr when there were findings (not when quiet). */
void lg__report_exit_summary(void);

void lg__report_lock_all(void);
void lg__report_unlock_all(void);
/* In the child of fork: new pid, and a file of its own when the name has %p. */
void lg__report_reset_child(void);

#endif
