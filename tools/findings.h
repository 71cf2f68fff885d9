/*
 * findings.h - the findings file (FINDINGS.md, schema version 1) as C structs.
 *
 * The model: a findings file is a sequence of findings; each finding carries
 * the modules its stacks point into, and the locks, threads and stacks of its
 * kind. Addresses stay raw here (uint64_t); symbolize.h turns them into names.
 * Kinds this reader does not know are counted and dropped; unknown fields are
 * ignored, as the schema promises fields are only ever added.
 */
#ifndef LG_TOOL_FINDINGS_H
#define LG_TOOL_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum lg_kind {
    LG_KIND_CYCLE,            /* lock-order-cycle */
    LG_KIND_SELF_DEADLOCK,    /* self-deadlock */
    LG_KIND_UNLOCK_NOT_HELD,  /* unlock-not-held */
    LG_KIND_HELD_AT_EXIT,     /* held-at-exit */
    LG_KIND_RANK_VIOLATION,   /* rank-violation */
    LG_KIND_RANK_CYCLE,       /* rank-order-cycle: the declared order contradicts itself */
    LG_KIND_DETECTOR_ERROR,   /* detector-error: about lockgraph, not the program */
    LG_KIND_DEADLOCK,         /* deadlock: threads really blocked on each other now */
    LG_KIND_LONG_WAIT,        /* long-wait: the watchdog saw a wait longer than its setting */
    LG_KIND_LONG_HOLD,        /* long-hold: a lock held longer than hold_warn_ms */
    LG_KIND_HELD_ACROSS_IO,   /* held-across-io: a blocking I/O call under a lock */
    LG_KIND_HELD_ACROSS_WAIT, /* held-across-wait: a join, cond, semaphore... wait under a lock */
    LG_KIND_FORK_HELD,        /* fork-with-locks-held: a fork child inherits locks held by
                                 threads it does not have */
    LG_KIND_HELD_LOCK_FREED,  /* held-lock-freed: a lock freed, unmapped, unloaded or
                                 destroyed while a thread holds it */
    /* A new kind goes here, above LG_KIND_OTHER: the reader looks names up
     * below it, and reports treat what they have no case for like OTHER. */
    LG_KIND_OTHER, /* a kind this reader does not know (a newer runtime's):
                      kept whole in `raw`, named by `other_kind` */
    LG_KIND_COUNT
};

/* The schema's name of a kind ("lock-order-cycle"); "other" for LG_KIND_OTHER. */
const char *lg_kind_name(enum lg_kind kind);

struct lg_finding;
/* The kind as written in the file: lg_kind_name, or the unknown kind's own
 * name for LG_KIND_OTHER. */
const char *lg_finding_kind(const struct lg_finding *f);

struct json_object; /* json-c's; only the tool's own .c files look inside */

struct lg_module {
    char *path;
    uint64_t base;  /* load bias: ELF vaddr + base = run-time address */
    uint64_t end;   /* highest mapped address of the module */
    char *build_id; /* lower-case hex, NULL when the module has none */
};

/* Raw return addresses, innermost first. */
struct lg_stack {
    uint64_t *pcs;
    size_t n;
};

struct lg_thread {
    long tid;
    long seq;   /* lockgraph's numbering, 1 = first thread seen */
    char *name; /* NULL when absent */
};

/* A lock's class (FINDINGS.md "Lock classes"): what the lock graph's
 * vertex stands for. Files of earlier versions have none (known false). */
struct lg_lock_class {
    bool known;
    long id;
    char *kind;           /* "site", "chain", "addr", "name" (read as text); NULL when absent */
    char *key;            /* "site:prog+0x1a2b", "site:prog+0x10<prog+0x20", ...; NULL when absent */
    struct lg_stack site; /* site, chain: the init call's return address, then (chain) its
                             callers, innermost first; empty for addr and name */
};

struct lg_lock {
    long id; /* 0: lockgraph never saw it locked (unlock-not-held); in a cycle, the
                graph vertex the edges name (the class's, for a class-scope cycle) */
    bool has_lock_id;
    long lock_id; /* the instance, when the file says (a cycle's locks) */
    struct lg_lock_class cls;
    uint64_t addr;
    char *type;   /* "mutex"; never NULL after parsing */
    char *mode;   /* "normal", ...; NULL when absent */
    char *name;   /* set by lg_name_lock; NULL when absent */
    bool created; /* stack is the init site, else the first lock site */
    struct lg_stack stack;
    /* Only for a lock in a ranked class (FINDINGS.md "rank-violation"): */
    char *key;        /* stable key ("sym:bank:table_lock"); NULL when absent */
    char *class_name; /* the class label; NULL when absent */
    bool has_rank;    /* false for a class ordered only by `order` lines */
    long rank;
};

/* The lock instance an edge of a cycle was first seen on. */
struct lg_edge_lock {
    bool known;
    long id;
    uint64_t addr;
};

struct lg_edge {
    long from, to; /* lock ids */
    struct lg_edge_lock from_lock, to_lock; /* the instances (absent in older files) */
    struct lg_thread thread;
    bool timed;
    bool first_exact;       /* first_stack_exact */
    struct lg_stack first;  /* where `from` was taken */
    struct lg_stack second; /* where `to` was then taken */
};

struct lg_held {
    struct lg_lock lock;
    struct lg_stack stack;
    /* rank-violation and held-across-io: */
    bool stack_exact; /* stack captured whole, else reconstructed like first_stack */
    /* rank-violation only: */
    char *why; /* "rank", "order", "same-class" (read as text); NULL when absent */
    /* held-across-io only: */
    char *key;   /* what io_allow takes to accept this lock; NULL when absent */
    bool shared; /* held for reading */
};

/* A thread blocked on a lock: one thread of a deadlock's cycle, or the
 * waiter of a long wait (FINDINGS.md "deadlock"). */
struct lg_waiter {
    struct lg_thread thread;
    struct lg_lock waits_for;
    char *wait; /* "exclusive" or "shared" (read as text); NULL when absent */
    bool timed;
    long waiting_ms;
    struct lg_stack stack; /* where it waits */
    bool stack_full;       /* false: only the lock call's frame is known */
    struct lg_held *held;  /* the locks it holds, in order, with where each was taken */
    size_t n_held;
    bool joins_known; /* a join: the thread it joins (waits_for is then of type "thread") */
    struct lg_thread joins;
};

/* The descriptor a held-across-io call is on (FINDINGS.md "held-across-io"). */
struct lg_fd {
    bool present; /* false for calls that have none (poll, the sleeps, sync) */
    long num;
    char *type;  /* "file", "socket", "pipe", ... (read as text); NULL when absent */
    char *path;  /* the kernel's name for it; NULL when absent */
    char *peer;  /* a socket's peer address; NULL when absent */
    char *local; /* a socket not connected: its own address; NULL when absent */
};

/*
 * One finding. Which members are meaningful depends on `kind`:
 *   CYCLE:           locks, edges, timed, single_thread, scope
 *   SELF_DEADLOCK:   lock, thread, first_stack, second_stack, timed
 *   UNLOCK_NOT_HELD: lock, thread, stack
 *   HELD_AT_EXIT:    thread, held
 *   RANK_VIOLATION:  lock, thread, stack, held (with stack_exact and why)
 *   RANK_CYCLE:      classes
 *   DETECTOR_ERROR:  error, message
 *   DEADLOCK:        waiters (the "threads"), timed, found_by
 *   LONG_WAIT:       waiters[0] (the "waiter"), threshold_ms, owner
 *   LONG_HOLD:       lock, thread, stack, held_ms, count, worst_ms, final, threshold_ms
 *   HELD_ACROSS_IO:  pair, count, final, call, family, fd, thread, held (with key,
 *                    shared, stack_exact), stack
 *   HELD_ACROSS_WAIT: as HELD_ACROSS_IO without fd, with waits_on
 *   FORK_HELD:       waiters (thread and held only: the parent's threads),
 *                    parent_pid, stack (where the fork was made)
 *   HELD_LOCK_FREED: call, lock, thread (who frees), stack (the free or destroy
 *                    call), owner (the holder and where it took the lock), hold
 *   DEADLOCK also:   gone (a lock whose owner is gone), waiters[i].joins
 *   OTHER:           other_kind (and raw, as for every kind)
 * The rest are zero.
 */
struct lg_finding {
    enum lg_kind kind;
    long version, seq, pid;
    int64_t time_ns;
    char *file; /* findings file it came from, and its line: for messages */
    size_t line;

    struct lg_module *modules;
    size_t n_modules;

    struct lg_lock *locks;
    size_t n_locks;
    struct lg_edge *edges;
    size_t n_edges;
    bool timed, single_thread;
    char *scope; /* a cycle's "class" or "instance" (read as text); NULL when absent */

    struct lg_lock lock;
    struct lg_thread thread;
    struct lg_stack first_stack, second_stack, stack;

    struct lg_held *held;
    size_t n_held;

    char **classes; /* class labels around a declared-order cycle */
    size_t n_classes;

    char *error, *message;

    struct lg_waiter *waiters;
    size_t n_waiters;
    char *found_by; /* "waiter" or "watchdog" (read as text); NULL when absent */
    struct {
        bool known; /* false: the library could not tell who holds the lock */
        struct lg_thread thread;
        struct lg_stack stack; /* where it took the lock (frame 0 exact) */
    } owner;
    long threshold_ms; /* long-wait: the watchdog's; long-hold: hold_warn_ms; 0 when absent */
    bool has_held_ms;  /* long-hold: held_ms is on the first line only */
    long held_ms, worst_ms;
    long count; /* long-hold: times past the threshold; held-across-io: calls */
    bool final; /* the line written again at exit with the totals */
    long pair;  /* held-across-io: the pair's number in the process */
    char *call, *family;
    struct lg_fd fd;
    char *waits_on; /* held-across-wait: what the call waits on, as words ("joins thread 2
                       (tid 1235)", "cond 0x... with mutex 0x..."); NULL when absent */
    struct {
        bool known; /* a deadlock on a lock whose owner is gone */
        struct lg_thread thread;
        char *gone;            /* "ended", "not-in-process", ... (read as text) */
        struct lg_stack stack; /* where it took the lock */
        struct lg_stack where; /* where it ended, or where the fork was made */
        bool fork;             /* where is fork_stack */
    } gone;
    long parent_pid; /* fork-with-locks-held */
    char *hold;      /* held-lock-freed: "read" or "exclusive" (read as text); NULL when absent */

    char *other_kind;        /* LG_KIND_OTHER: the kind as written */
    struct json_object *raw; /* the whole line as parsed (a reference, put on free) */
};

/* All findings read so far, in file order, and what went wrong reading them. */
struct lg_findings {
    struct lg_finding *items;
    size_t n, cap;
    size_t files_read;       /* files opened successfully */
    size_t unreadable_files; /* could not be opened or read */
    size_t corrupt_lines;    /* not JSON, not an object, or missing what its kind needs */
    size_t truncated_lines;  /* a last line without newline: the writer died mid-line */
    size_t unknown_lines;    /* kinds this reader does not know (kept as LG_KIND_OTHER) */
    size_t empty_files;      /* read, but held nothing: a process that found nothing */
    size_t usable_files;     /* read, and not garbage: some finding, or no bad line */
};

void lg_findings_init(struct lg_findings *set);
void lg_findings_free(struct lg_findings *set);

/* Problem lines named per file before "... and N more". */
#define LG_FINDINGS_MAX_PROBLEMS 10

/*
 * Read the file at `path` and hand each finding, in file order, to `sink`,
 * which takes it (and frees it); memory stays that of one line, whatever
 * the file's size. Problems are written to `diag` (one line each, naming
 * file and line, the first LG_FINDINGS_MAX_PROBLEMS per file, then one line
 * with how many more) and counted in `counts` (only its counters are
 * used); reading goes on past a corrupt line, and past a line longer than
 * LG_JSONL_MAX_LINE. A last line without newline is a writer cut short
 * when it starts a JSON object (a warning), else a corrupt line. A kind
 * this reader does not know is kept as LG_KIND_OTHER, with one note per
 * file. Returns 0 when the file was read (even with bad lines), -1 when it
 * could not be opened or read at all, is a graph file (its first line a
 * `graph` header) rather than findings, or never ends a line (binary
 * data, an endless device).
 * The library writes some findings again at exit with their totals, and
 * the last line wins (FINDINGS.md): a later line of the same file for the
 * same (pid, site) of a long-hold, or the same (pid, pair) of a
 * held-across-io or held-across-wait, replaces the earlier one where it
 * stood, so each is handed on once, with its last counts (from a pipe,
 * which cannot be read ahead: after the file's other findings). `sink` returns 0, or -1 to
 * stop reading (out of memory).
 */
typedef int (*lg_finding_sink)(void *arg, struct lg_finding *f);
int lg_findings_stream_file(struct lg_findings *counts, const char *path, FILE *diag,
                            lg_finding_sink sink, void *arg);

/* The same, appending every finding to `set`. */
int lg_findings_read_file(struct lg_findings *set, const char *path, FILE *diag);

/*
 * Parse one line (without its newline) as a finding. Returns 1 and fills *out
 * for a finding (a kind not known is LG_KIND_OTHER, with *unknown_kind set),
 * 0 for a blank line, -1 for a corrupt line with a reason in errbuf.
 * Exposed for tests and the fuzz target; lg_findings_read_file is the usual
 * entry point.
 */
int lg_finding_parse(const char *text, size_t len, struct lg_finding *out, bool *unknown_kind,
                     char *errbuf, size_t errlen);

void lg_finding_free(struct lg_finding *f);

/* Is this line (a file's first) a graph file's `graph` header? */
bool lg_is_graph_header(const char *text, size_t len);

/* Is `f` a lock-order cycle between lock classes (two kinds of lock
 * inverted on different objects), rather than one the locks close? */
bool lg_finding_class_scope(const struct lg_finding *f);

/* A lock object (FINDINGS.md "lock") read from JSON, for the reports that
 * walk a finding of a kind they do not know. False when it is not one. */
bool lg_lock_from_json(struct json_object *obj, struct lg_lock *out);
void lg_lock_free(struct lg_lock *l);

#endif
