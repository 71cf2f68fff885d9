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

#ifdef __cplusplus
}
#endif

#endif
