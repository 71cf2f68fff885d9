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
/* Thread t frees, unmaps, unloads or destroys (call) the lock n at addr
 * while thread holder holds it (its held entry: where it took it); here is
 * t's stack. */
void lg__report_held_lock_freed(const struct lg_thread *t, const char *call,
                                const struct lg_node *n, uintptr_t addr,
                                const struct lg_thread *holder, const struct lg_held *hold,
                                const struct lg_stack *here);

/* A held lock a rank-violation names: where it was taken, and why it may
 * not be held when taking the new one (enum lg_why). */
struct lg_rank_held {
    const struct lg_node *node;
    uintptr_t addr;
    const struct lg_stack *stack;
    bool exact;
    int why;
};
void lg__report_rank_violation(const struct lg_thread *t, const struct lg_node *n,
                               const struct lg_stack *here, const struct lg_rank_held *held,
                               int nheld);
struct lg_rank_cycle;
void lg__report_rank_order_cycle(const struct lg_rank_cycle *c);

/* A thread in a deadlock or a long wait, as read from its record. */
struct lg_dl_held {
    const struct lg_node *node;
    uintptr_t addr;
    const struct lg_stack *stack;
};
struct lg_dl_thread {
    int32_t tid;
    uint32_t seq;
    char name[16];
    const struct lg_node *waits_for;
    uintptr_t addr;
    bool exclusive, timed;
    uint64_t waited_ns;
    const struct lg_stack *stack; /* where it waits */
    bool stack_full;              /* false: only the lock call's frame */
    struct lg_dl_held *held;
    uint32_t nheld;
};
/* threads[i] waits for a lock threads[i+1] holds; the last for the first's. */
void lg__report_deadlock(const struct lg_dl_thread *threads, int n, bool by_watchdog);
/* owner NULL: not known (readers, or a thread lockgraph never saw). */
void lg__report_long_wait(const struct lg_dl_thread *waiter, const struct lg_dl_thread *owner,
                          const struct lg_stack *owner_took);
/* final: the closing count for a site already reported once. */
void lg__report_long_hold(int32_t tid, uint32_t tseq, const struct lg_node *n, uintptr_t addr,
                          const struct lg_stack *where, uint64_t held_ns, uint64_t count,
                          uint64_t worst_ns, bool final);
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

/* For the graph file (dump.c), which shares the findings file's pieces. */
struct lg_buf;
struct lg_stack;
/* Every module loaded now and every one unloaded since, as a JSON array. */
void lg__report_put_modules(struct lg_buf *b);
/* A stack as a JSON array of hex strings. */
void lg__report_put_pcs(struct lg_buf *b, const struct lg_stack *s);
void lg__report_put_thread(struct lg_buf *b, int32_t tid, uint32_t tseq, const char *name);
/* The report path's %p and %% expanded. */
void lg__report_expand_path(const char *pattern, char *out, size_t outlen);
const char *lg__report_exe_path(void);
const char *lg__report_mode_name(int mode);
const char *lg__report_type_name(const struct lg_node *n); /* "mutex", "rwlock", "spin" */
/* A ranked lock's ,"class":...,"rank":... fields (nothing for an unranked one). */
void lg__report_put_class(struct lg_buf *b, const struct lg_node *n);

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
