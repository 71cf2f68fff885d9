/*
 * lockgraph.h - annotations for programs tested under lockgraph.
 *
 * lockgraph finds potential deadlocks (lock-order cycles), self-deadlocks
 * and misused locks in a running program. It works with no annotation at
 * all, preloaded (LD_PRELOAD=liblockgraph.so, or `lockgraph run -- prog`) or
 * linked (-llockgraph). This header adds what only the program knows:
 * names for its locks, and assertions about which locks a thread holds.
 *
 * Every lg_* call here is an inline function that calls into liblockgraph
 * when it is present in the process - linked, or preloaded into a program
 * built with this header - and does nothing otherwise: a program built with
 * this header needs no library to link or run. Define LOCKGRAPH_DISABLE to
 * compile every call away.
 *
 * Locks are passed as pointers to the pthread lock object
 * (pthread_mutex_t *, pthread_spinlock_t *, or the native handle of a
 * std::mutex).
 */
#ifndef LOCKGRAPH_H
#define LOCKGRAPH_H

#define LOCKGRAPH_VERSION_MAJOR 0
#define LOCKGRAPH_VERSION_MINOR 1
#define LOCKGRAPH_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(LOCKGRAPH_DISABLE) && defined(__GNUC__)
#define LG__WEAK __attribute__((weak))
/* The library's entry points. Weak: NULL when liblockgraph is not loaded. */
extern void lockgraph_name_lock(const volatile void *lock, const char *name) LG__WEAK;
extern int lockgraph_assert_no_locks_held(const char *file, int line) LG__WEAK;
extern int lockgraph_assert_held(const volatile void *lock, const char *file, int line) LG__WEAK;
extern int lockgraph_flush(void) LG__WEAK;
extern unsigned long lockgraph_finding_count(void) LG__WEAK;
extern int lockgraph_active(void) LG__WEAK;
extern int lockgraph_rank_class(const char *name, int rank, int nest) LG__WEAK;
extern int lockgraph_rank_lock(const volatile void *lock, int rank, const char *name) LG__WEAK;
extern int lockgraph_lock_order(const char *before, const char *after) LG__WEAK;
extern int lockgraph_dump_graph(const char *path) LG__WEAK;
#undef LG__WEAK
#define LG__CALL(fn, none, ...) ((fn) ? fn(__VA_ARGS__) : (none))
#else
#define LG__CALL(fn, none, ...) (none)
#endif

/* Give a lock a name shown in every finding about it. The name is copied.
 * Name a lock after pthread_mutex_init: init makes a new lock. */
static inline void lg_name_lock(const volatile void *lock, const char *name)
{
#if !defined(LOCKGRAPH_DISABLE) && defined(__GNUC__)
    if (lockgraph_name_lock)
        lockgraph_name_lock(lock, name);
#else
    (void)lock;
    (void)name;
#endif
}

/* Assert that the calling thread holds no lock (say, before a blocking call
 * or a callback into unknown code). On failure it prints the held locks and
 * where they were taken, then aborts (on_assert=report: returns -1 instead).
 * Returns 0 when the assertion holds or lockgraph is absent. */
#define lg_assert_no_locks_held() LG__CALL(lockgraph_assert_no_locks_held, 0, __FILE__, __LINE__)

/* Assert that the calling thread holds lock; as above. */
#define lg_assert_held(lock) LG__CALL(lockgraph_assert_held, 0, (lock), __FILE__, __LINE__)

/* Findings are written the moment they are made; this also fsyncs the
 * findings file. 0 on success or when lockgraph is absent. */
#define lg_flush() LG__CALL(lockgraph_flush, 0, )

/* Findings so far in this process (0 when lockgraph is absent). */
#define lg_finding_count() LG__CALL(lockgraph_finding_count, 0UL, )

/* 1 when lockgraph is loaded and watching this process. */
#define lg_active() LG__CALL(lockgraph_active, 0, )

/*
 * Lock ranks. A rank orders a class of locks: a thread may only take a lock
 * whose rank is higher than that of every ranked lock it holds. The first
 * acquisition against that (by blocking; a trylock is never checked) is a
 * `rank-violation` finding, long before the opposite order ever runs and
 * makes a cycle. on_rank=abort turns it into an abort. Locks with no rank
 * are not checked and cost nothing more.
 *
 * A class here is a lock name: every lock named NAME (lg_name_lock or
 * lg_rank_lock) is in class NAME. Classes from a rank file
 * (LOCKGRAPH_OPTIONS=ranks=FILE) can be named too.
 *
 * Two locks of one class, nested, follow the class's policy:
 */
#define LG_NEST_STRICT 0  /* never (the default) */
#define LG_NEST_ADDRESS 1 /* only in increasing address order */
#define LG_NEST_ANY 2     /* any order: left to the cycle detector */
#define LG_NEST_KEEP (-1) /* lg_rank_class: keep what the class has */

/* Give class NAME a rank (0 to INT_MAX) and a nesting policy. Returns 0, or
 * -1 when that contradicts the declared order (a rank-order-cycle finding
 * says how; nothing changes) or on bad arguments. */
#define lg_rank_class(name, rank, nest) LG__CALL(lockgraph_rank_class, 0, (name), (rank), (nest))

/* Name lock NAME and give class NAME the rank (lg_rank_class with its
 * nesting policy kept, then lg_name_lock). Call it after pthread_*_init. */
#define lg_rank_lock(lock, rank, name) LG__CALL(lockgraph_rank_lock, 0, (lock), (rank), (name))

/* Declare that class BEFORE is taken before class AFTER, as a partial order
 * (no numbers needed; it combines with ranks). Returns 0, or -1 when it
 * would make the declared order cyclic (reported, refused). */
#define lg_lock_order(before, after) LG__CALL(lockgraph_lock_order, 0, (before), (after))

/* Write the lock graph, folded by stable keys, to PATH (%p: the pid) now,
 * as the graph=FILE option does at exit. 0, or -1 (lockgraph absent too). */
#define lg_dump_graph(path) LG__CALL(lockgraph_dump_graph, -1, (path))

#ifdef __cplusplus
}
#endif

#endif
