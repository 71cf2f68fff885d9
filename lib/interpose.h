/*
 * interpose.h - the preload shims' view of the real functions.
 *
 * LG_INTERPOSE_TABLE lists every interposed function once:
 *     X(name, return type, parameter list, libc alias usable before dlsym)
 * interpose.c turns it into the lg__real_* pointers and their resolution.
 */
#ifndef LG_INTERPOSE_H
#define LG_INTERPOSE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* libc's own exported names for the mutex calls: callable before dlsym works
 * (an allocator may lock a mutex from its first malloc, inside dlsym). They
 * are compat symbols (no default version), so they are bound by version. */
#define LG_LIBC_ALIAS(local, sym, params)                                                          \
    extern int local params;                                                                       \
    __asm__(".symver " #local "," #sym "@GLIBC_2.2.5");
LG_LIBC_ALIAS(lg__libc_mutex_init, __pthread_mutex_init,
              (pthread_mutex_t *, const pthread_mutexattr_t *))
LG_LIBC_ALIAS(lg__libc_mutex_destroy, __pthread_mutex_destroy, (pthread_mutex_t *))
LG_LIBC_ALIAS(lg__libc_mutex_lock, __pthread_mutex_lock, (pthread_mutex_t *))
LG_LIBC_ALIAS(lg__libc_mutex_trylock, __pthread_mutex_trylock, (pthread_mutex_t *))
LG_LIBC_ALIAS(lg__libc_mutex_unlock, __pthread_mutex_unlock, (pthread_mutex_t *))
LG_LIBC_ALIAS(lg__libc_rwlock_init, __pthread_rwlock_init,
              (pthread_rwlock_t *, const pthread_rwlockattr_t *))
LG_LIBC_ALIAS(lg__libc_rwlock_destroy, __pthread_rwlock_destroy, (pthread_rwlock_t *))
LG_LIBC_ALIAS(lg__libc_rwlock_rdlock, __pthread_rwlock_rdlock, (pthread_rwlock_t *))
LG_LIBC_ALIAS(lg__libc_rwlock_tryrdlock, __pthread_rwlock_tryrdlock, (pthread_rwlock_t *))
LG_LIBC_ALIAS(lg__libc_rwlock_wrlock, __pthread_rwlock_wrlock, (pthread_rwlock_t *))
LG_LIBC_ALIAS(lg__libc_rwlock_trywrlock, __pthread_rwlock_trywrlock, (pthread_rwlock_t *))
LG_LIBC_ALIAS(lg__libc_rwlock_unlock, __pthread_rwlock_unlock, (pthread_rwlock_t *))

#define LG_INTERPOSE_TABLE(X)                                                                      \
    X(pthread_mutex_init, int, (pthread_mutex_t *, const pthread_mutexattr_t *),                   \
      lg__libc_mutex_init)                                                                        \
    X(pthread_mutex_destroy, int, (pthread_mutex_t *), lg__libc_mutex_destroy)                    \
    X(pthread_mutex_lock, int, (pthread_mutex_t *), lg__libc_mutex_lock)                          \
    X(pthread_mutex_trylock, int, (pthread_mutex_t *), lg__libc_mutex_trylock)                    \
    X(pthread_mutex_unlock, int, (pthread_mutex_t *), lg__libc_mutex_unlock)                      \
    X(pthread_mutex_timedlock, int, (pthread_mutex_t *, const struct timespec *), NULL)            \
    X(pthread_mutex_clocklock, int, (pthread_mutex_t *, clockid_t, const struct timespec *), NULL) \
    X(pthread_spin_init, int, (pthread_spinlock_t *, int), NULL)                                   \
    X(pthread_spin_destroy, int, (pthread_spinlock_t *), NULL)                                     \
    X(pthread_spin_lock, int, (pthread_spinlock_t *), NULL)                                        \
    X(pthread_spin_trylock, int, (pthread_spinlock_t *), NULL)                                     \
    X(pthread_spin_unlock, int, (pthread_spinlock_t *), NULL)                                      \
    X(pthread_rwlock_init, int, (pthread_rwlock_t *, const pthread_rwlockattr_t *),               \
      lg__libc_rwlock_init)                                                                        \
    X(pthread_rwlock_destroy, int, (pthread_rwlock_t *), lg__libc_rwlock_destroy)                  \
    X(pthread_rwlock_rdlock, int, (pthread_rwlock_t *), lg__libc_rwlock_rdlock)                    \
    X(pthread_rwlock_tryrdlock, int, (pthread_rwlock_t *), lg__libc_rwlock_tryrdlock)              \
    X(pthread_rwlock_timedrdlock, int, (pthread_rwlock_t *, const struct timespec *), NULL)        \
    X(pthread_rwlock_clockrdlock, int, (pthread_rwlock_t *, clockid_t, const struct timespec *),   \
      NULL)                                                                                        \
    X(pthread_rwlock_wrlock, int, (pthread_rwlock_t *), lg__libc_rwlock_wrlock)                    \
    X(pthread_rwlock_trywrlock, int, (pthread_rwlock_t *), lg__libc_rwlock_trywrlock)              \
    X(pthread_rwlock_timedwrlock, int, (pthread_rwlock_t *, const struct timespec *), NULL)        \
    X(pthread_rwlock_clockwrlock, int, (pthread_rwlock_t *, clockid_t, const struct timespec *),   \
      NULL)                                                                                        \
    X(pthread_rwlock_unlock, int, (pthread_rwlock_t *), lg__libc_rwlock_unlock)                    \
    X(pthread_cond_wait, int, (pthread_cond_t *, pthread_mutex_t *), NULL)                        \
    X(pthread_cond_timedwait, int,                                                                 \
      (pthread_cond_t *, pthread_mutex_t *, const struct timespec *), NULL)                        \
    X(pthread_cond_clockwait, int,                                                                 \
      (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *), NULL)             \
    X(dlclose, int, (void *), NULL)                                                                \
    X(_Fork, pid_t, (void), NULL)                                                                  \
    X(munmap, int, (void *, size_t), NULL)

#define LG_REAL_DECL(name, ret, params, alias) extern ret(*lg__real_##name) params;
LG_INTERPOSE_TABLE(LG_REAL_DECL)
#undef LG_REAL_DECL

/* Resolve every real function with dlsym(RTLD_NEXT); from init. */
void lg__interpose_resolve(void);
/* The same for the I/O shims (interpose_io.c) and the waits
 * (interpose_wait.c). */
void lg__interpose_io_resolve(void);
void lg__interpose_wait_resolve(void);

/* fork support, in init.c: every lockgraph lock taken before the fork and
 * released (parent) or reset (child) after it. The pthread_atfork handlers
 * call these for every fork that runs them; the _Fork shim for the one that
 * does not. threads: the child may start lockgraph's own threads again (not
 * after _Fork, whose child may only make async-signal-safe calls). */
void lg__fork_prepare(void);
void lg__fork_parent(void);
void lg__fork_child(bool threads);

#endif
