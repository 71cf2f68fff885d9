/*
 * report.h - the findings file (FINDINGS.md is the contract) and the short
 * human lines on stderr.
 *
 * Each finding is formatted into a private buffer, then written with one
 * write(2) to a file opened O_APPEND, the moment it is found: a process that
 * hangs, is killed or calls _exit afterwards has lost nothing. The file is
 * made at the first finding (a process that finds nothing leaves none), in
 * the directory held open since start; if the program closes the descriptor
 * (daemons close every fd), it is reopened by name; if that fails too, the
 * finding goes to stderr whole. See "The file" in report.c.
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

struct lg_buf;

/* ---- What a wait is on: a held-across-wait's call, a deadlock's join,
 * and the live dump (live.h). ---- */
enum lg_on {
    LG_ON_LOCK,    /* a lock: mutex, rwlock, spinlock, semaphore used as a lock */
    LG_ON_JOIN,    /* pthread_join and the timed joins */
    LG_ON_COND,    /* a condition variable, with its mutex */
    LG_ON_BARRIER, /* pthread_barrier_wait */
    LG_ON_SEM,     /* a semaphore used as a counter (sem_wait and friends) */
    LG_ON_PROCESS, /* waitpid, wait, wait3, wait4, waitid, system */
};
struct lg_wait_on {
    uint8_t what;               /* enum lg_on */
    bool has_pid;               /* PROCESS: pid is known (not for system) */
    uintptr_t addr;             /* the lock, cond var, barrier or semaphore; JOIN: the pthread_t */
    const struct lg_node *node; /* LOCK: its node; COND: the mutex's; SEM: its node, if any */
    uintptr_t mutex;            /* COND: its mutex */
    int32_t tid;                /* JOIN: the thread joined (0: not known to lockgraph) */
    uint32_t tseq;
    char tname[16];
    long pid;      /* PROCESS: waitpid's pid argument (-1 any child, ...) */
    char name[64]; /* SEM: a named semaphore's name, else empty */
};
/* At start: make the report path absolute, expand it for this pid, open
 * its directory and check it can be written (the file itself is made at the
 * first finding). Prints a clear message and falls back to stderr when it
 * cannot. */
void lg__report_open(void);
/* The process is about to change its user or groups: make the findings file
 * now, while it still may. */
void lg__report_identity_changing(void);
/* The process is leaving (exit or _exit; async-signal-safe): a file made
 * early that is still empty goes. */
void lg__report_leaving(void);

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
                                const struct lg_thread *holder, const char *holder_name,
                                const struct lg_held *hold, const struct lg_stack *here);

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
    const struct lg_node *waits_for; /* a lock wait: the lock */
    uintptr_t addr;
    struct lg_wait_on on; /* what it waits on: a lock, or a join */
    bool exclusive, timed;
    uint64_t waited_ns;
    const struct lg_stack *stack; /* where it waits */
    bool stack_full;              /* false: only the lock call's frame */
    struct lg_dl_held *held;
    uint32_t nheld;
};
/* A lock's owner that is gone: the thread ended holding it, or it is not in
 * this process (a fork's child inherits the lock locked by a thread of the
 * parent). */
enum lg_gone_why { LG_GONE_UNKNOWN, LG_GONE_ENDED, LG_GONE_FORK };
struct lg_gone_owner {
    int32_t tid;
    uint32_t seq; /* 0: lockgraph never knew the thread */
    char name[16];
    int why;                      /* enum lg_gone_why */
    const struct lg_stack *took;  /* where it took the lock; NULL when not known */
    const struct lg_stack *where; /* where it ended, or where the fork was made */
};
/* threads[i] waits for a lock threads[i+1] holds (or joins threads[i+1]);
 * the last for the first's. With gone set, it is no cycle: the last waits
 * for a lock that gone holds, which will never be let go. */
void lg__report_deadlock(const struct lg_dl_thread *threads, int n, bool by_watchdog,
                         const struct lg_gone_owner *gone);
/* ,"gone_owner":{...} as in a deadlock (the live dump). */
void lg__report_put_gone_owner(struct lg_buf *b, const struct lg_gone_owner *g);
/* owner NULL: not known (readers, or a thread lockgraph never saw). */
void lg__report_long_wait(const struct lg_dl_thread *waiter, const struct lg_dl_thread *owner,
                          const struct lg_stack *owner_took);
/* final: the closing count for a site already reported once. */
void lg__report_long_hold(int32_t tid, uint32_t tseq, const struct lg_node *n, uintptr_t addr,
                          const struct lg_stack *where, uint64_t held_ns, uint64_t count,
                          uint64_t worst_ns, bool final);
/* A lock object as JSON, as in a finding (the live dump, live.c). */
void lg__report_put_lock(struct lg_buf *b, const struct lg_node *n, uintptr_t addr);
/* A wait-on object as JSON: {"what":"cond","cond":"0x...","mutex":{lock}}. */
void lg__report_put_wait_on(struct lg_buf *b, const struct lg_wait_on *on);

/* ---- held-across-io and held-across-wait: one pair of sites (io.c). ---- */
struct lg_across_held {
    const struct lg_node *node; /* NULL when out of memory at the time */
    uintptr_t addr;
    const struct lg_stack *stack; /* where it was taken */
    bool exact;                   /* stack captured then (held_stacks=1) */
    bool shared;                  /* held for reading, reader-preferring */
    char key[512];                /* what io_allow/wait_allow take to accept this lock (keys.h) */
};

struct lg_across_finding {
    bool wait;          /* held-across-wait; false: held-across-io */
    const char *call;   /* "read", "pthread_join", ... */
    const char *family; /* "fd", "socket", ..., "join", "semaphore", ... */
    int32_t tid;        /* the thread that made the first call of the pair */
    uint32_t tseq;
    char tname[16];
    int fd;
    const char *fd_type;         /* NULL when there is no fd */
    const char *fd_path;         /* NULL when unknown */
    const char *fd_peer;         /* sockets: the peer address, or NULL */
    bool fd_peer_local;          /* ... unconnected: fd_peer is the local address */
    const struct lg_wait_on *on; /* a wait: what it waits on; NULL for I/O */
    uint64_t pair, count;
    const struct lg_stack *stack; /* where the call is made */
    uint32_t nheld;
    const struct lg_across_held *held;
};
/* A held-across-io or held-across-wait pair: its first call, or (final) its
 * count at exit. */
void lg__report_held_across(const struct lg_across_finding *f, bool final);
/* fork-with-locks-held (on_fork=report): in a fork child, the threads of
 * the parent that held locks at the fork, and where the fork was made. */
struct lg_fork_held {
    uintptr_t addr;
    const struct lg_node *node;
    const struct lg_stack *took; /* where it was taken */
};
struct lg_fork_thread {
    int32_t tid; /* in the parent */
    uint32_t seq;
    char name[16];
    uint32_t nheld;
    const struct lg_fork_held *held;
};
void lg__report_fork_held(const struct lg_fork_thread *threads, int n,
                          const struct lg_stack *fork_stack);
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
