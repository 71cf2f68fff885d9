/*
 * interpose.c - the preload shims. The only file that defines libc names:
 * pthread_mutex_*, pthread_rwlock_*, pthread_spin_*, pthread_cond_*wait,
 * free, munmap, dlclose and _Fork.
 *
 * Every mutex and rwlock shim has one shape (ACQUIRE_SHIM, UNLOCK_SHIM): an
 * order this thread took before is the real call and a push on the held
 * stack (the hit cache, runtime.h); anything else goes the whole way: enter
 * (guard) -> before-hook -> real call -> after-hook -> leave. When enter
 * says no (lockgraph is not running, or the call comes from inside
 * lockgraph), the real function is called and nothing else happens. The
 * hooks live in runtime.c.
 *
 * The real functions are found once with dlsym(RTLD_NEXT), so another
 * interposer loaded after lockgraph still sees the calls; until then the
 * mutex calls go to libc's own __pthread_* names.
 */

#include "interpose.h"
#include "io.h"
#include "options.h"
#include "class.h"
#include "registry.h"
#include "report.h"
#include "runtime.h"
#include "symbols.h"
#include "stack.h"
#include "unwinder.h"
#include "util.h"
#include "wait.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <time.h>

#define LG_EXPORT __attribute__((visibility("default")))

#define LG_REAL_DEF(name, ret, params, alias) ret(*lg__real_##name) params = alias;
LG_INTERPOSE_TABLE(LG_REAL_DEF)

void lg__interpose_resolve(void)
{
#define LG_RESOLVE(name, ret, params, alias)                                                       \
    {                                                                                              \
        void *p = dlsym(RTLD_NEXT, #name);                                                         \
        if (p)                                                                                     \
            lg__real_##name = (ret(*) params)p;                                                    \
    }
    LG_INTERPOSE_TABLE(LG_RESOLVE)
}

/* On a fast path (a thread with a record: lockgraph is active), init has
 * resolved every real function, and the mutex and rwlock ones, which start
 * as libc's own names, are never NULL. */
#define REAL_ACTIVE(name) (lg__real_##name)

/* For the calls without a libc alias, when called before init resolved them. */
#define REAL(name)                                                                                 \
    (__builtin_expect(lg__real_##name != NULL, 1) ? lg__real_##name : resolve_##name())
#define LG_LATE(name, ret, params, alias)                                                          \
    static ret(*resolve_##name(void)) params                                                       \
    {                                                                                              \
        int saved = lg__busy;                                                                      \
        lg__busy = 1;                                                                              \
        lg__real_##name = (ret(*) params)dlsym(RTLD_NEXT, #name);                                  \
        lg__busy = saved;                                                                          \
        return lg__real_##name;                                                                    \
    }
LG_INTERPOSE_TABLE(LG_LATE)

static inline enum lg_lock_mode mutex_mode(const pthread_mutex_t *m)
{
    /* glibc keeps the type in the low bits of __kind, also for statically
     * initialized mutexes (PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP). */
    return (enum lg_lock_mode)(m->__data.__kind & 3);
}

/* The acquisition, in a shim or its whole way, where pc_ and cfa_ are the
 * shim's return address and frame. */
#define ACQ(m, f)                                                                                  \
    {                                                                                              \
        .addr = (uintptr_t)(m), .type = LG_TYPE_MUTEX, .mode = mutex_mode(m), .flags = (f),        \
        .pc = pc_, .cfa = cfa_,                                                                    \
    }

/* A robust mutex whose owner died is still acquired. */
static inline bool acquired(int rc)
{
    return rc == 0 || rc == EOWNERDEAD;
}

static inline bool succeeded(int rc)
{
    return rc == 0;
}

LG_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    int rc = REAL(pthread_mutex_init)(m, attr);
    if (rc != 0)
        return rc;
    struct lg_thread *t = lg__enter();
    if (t) {
        lg__lock_created(t, (uintptr_t)m, LG_TYPE_MUTEX, mutex_mode(m),
                         (uintptr_t)__builtin_return_address(0));
        lg__leave();
    }
    return rc;
}

LG_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(pthread_mutex_destroy)(m);
    /* a held lock: say so, whatever glibc says */
    struct lg_node *n = lg__lock_destroying(t, (uintptr_t)m);
    int rc = REAL(pthread_mutex_destroy)(m);
    if (rc == 0)
        lg__lock_destroyed_node(t, (uintptr_t)m, n);
    lg__leave();
    return rc;
}

#define LG_ARGS(...) __VA_ARGS__

/* One shape for every acquisition. `acq` builds the struct lg_acq from the
 * call's arguments (and the shim's return address and frame).
 *
 * An order this thread took before (the hit cache, runtime.h) costs the
 * attempt `fast` and a push on the held stack: no read section, no
 * registry probe. `fast` never blocks (a try; in a process that never had a
 * second thread, the plain lock: see take_mutex). When it finds the lock
 * busy, a try call (`is_try`) returns that; a blocking one goes the whole
 * way, which tries again and then waits with the wait-for chain.
 *
 * The whole way (name_in, out of line so that the fast path keeps a small
 * frame; name_full when the fast path's entry said no): guard, before-hook,
 * the acquisition `call` (given t and a, see take_mutex), after-hook. */
#define ACQUIRE_SHIM(name, params, call_args, lk, flags, acq, fast, is_try, call, ok)              \
    __attribute__((noinline)) static int name##_in(struct lg_thread *t, uintptr_t pc_,             \
                                                   uintptr_t cfa_, LG_ARGS params)                 \
    {                                                                                              \
        struct lg_acq a = acq;                                                                     \
        lg__lock_before(t, &a);                                                                    \
        int rc = call;                                                                             \
        lg__lock_after(t, &a, ok(rc));                                                             \
        lg__leave();                                                                               \
        return rc;                                                                                 \
    }                                                                                              \
    __attribute__((noinline)) static int name##_full(uintptr_t pc_, uintptr_t cfa_, LG_ARGS params) \
    {                                                                                              \
        struct lg_thread *t = lg__enter();                                                         \
        if (!t)                                                                                    \
            return REAL(name) call_args;                                                           \
        return name##_in(t, pc_, cfa_, LG_ARGS call_args);                                         \
    }                                                                                              \
    LG_EXPORT int name params                                                                      \
    {                                                                                              \
        struct lg_thread *t = lg__enter_fast();                                                    \
        if (__builtin_expect(t != NULL, 1)) {                                                      \
            unsigned f_ = (flags);                                                                 \
            const struct lg_hit *h = lg__hit_find(t, (uintptr_t)(lk), f_);                         \
            struct lg_held *e_;                                                                    \
            if (__builtin_expect(h != NULL, 1) &&                                                  \
                __builtin_expect((e_ = lg__held_stage(&t->held)) != NULL, 1)) {                    \
                lg__held_fill_hit(e_, (uintptr_t)(lk), h, f_,                                      \
                                  (uintptr_t)__builtin_return_address(0),                          \
                                  (uintptr_t)__builtin_dwarf_cfa());                               \
                int rc = fast;                                                                     \
                if (__builtin_expect(rc != EBUSY, 1) || (is_try)) {                                \
                    if (__builtin_expect(ok(rc), 1))                                               \
                        lg__held_commit(&t->held);                                                 \
                    lg__leave_fast();                                                              \
                    return rc;                                                                     \
                }                                                                                  \
            }                                                                                      \
            lg__section_enter(t);                                                                  \
            return name##_in(t, (uintptr_t)__builtin_return_address(0),                            \
                             (uintptr_t)__builtin_dwarf_cfa(), LG_ARGS call_args);                 \
        }                                                                                          \
        return name##_full((uintptr_t)__builtin_return_address(0),                                 \
                           (uintptr_t)__builtin_dwarf_cfa(), LG_ARGS call_args);                   \
    }

/* The common unlock, the top of the held stack: this thread's record only
 * (lg__unlock_fast); anything else goes the whole way (name_full). */
#define UNLOCK_SHIM(name, type)                                                                    \
    __attribute__((noinline)) static int name##_full(type *l)                                      \
    {                                                                                              \
        struct lg_thread *t = lg__enter();                                                         \
        if (!t)                                                                                    \
            return REAL(name)(l);                                                                  \
        lg__unlock_before(t, (uintptr_t)l);                                                        \
        lg__leave();                                                                               \
        return REAL(name)(l);                                                                      \
    }                                                                                              \
    __attribute__((noinline)) static int name##_indexed(type *l)                                   \
    {                                                                                              \
        if (lg__unlock_indexed((uintptr_t)l))                                                      \
            return REAL_ACTIVE(name)(l);                                                           \
        return name##_full(l);                                                                     \
    }                                                                                              \
    LG_EXPORT int name(type *l)                                                                    \
    {                                                                                              \
        enum lg_unlock_fast u_ = lg__unlock_fast((uintptr_t)l);                                    \
        if (__builtin_expect(u_ == LG_UNLOCK_DONE, 1))                                             \
            return REAL_ACTIVE(name)(l);                                                           \
        if (u_ == LG_UNLOCK_INDEXED)                                                               \
            return name##_indexed(l);                                                              \
        return name##_full(l);                                                                     \
    }

/* ---- Waiting. A blocking acquisition first tries the lock; only when it
 * is busy does the thread say what it waits for and follow the chain of
 * owners (wait.c), then wait in slices so that it can look again. A lock
 * the thread already holds goes straight to the real call, which answers
 * (EDEADLK), or hangs as the program asked (a self-deadlock, already
 * reported). So does anything the slices cannot express: a bad timeout or
 * clock, or a mutex kind whose timed lock refuses the monotonic clock. */

enum how { HOW_LOCK, HOW_TIMED, HOW_CLOCK };

static bool valid_timeout(const struct timespec *ts)
{
    return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

#define slice_end lg__wait_slice_end

/* The shape of every wait, once the try said busy: slices of a timed
 * call. Written out in cold, out-of-line functions; the fast path of a
 * free lock is the try alone. */
/* A call that blocks for the program: outside lockgraph's read section
 * meanwhile (reclaim.h), so a thread blocked for good holds up nothing. */
#define QUIET(t, call)                                                                             \
    ({                                                                                             \
        lg__quiescent_begin(t);                                                                    \
        int q_ = (call);                                                                           \
        lg__quiescent_end(t);                                                                      \
        q_;                                                                                        \
    })

#define WAIT_SLICES(t, a, realcall, slicecall, how, clk, abs)                                      \
    ({                                                                                             \
        int rc_;                                                                                   \
        if ((a)->held >= 0 || !lg__opt.wait_for || ((abs) && !valid_timeout(abs)) ||              \
            ((clk) != CLOCK_REALTIME && (clk) != CLOCK_MONOTONIC)) {                               \
            rc_ = QUIET(t, realcall);                                                                      \
        } else {                                                                                   \
            lg__wait_begin((t), (a), (how) != HOW_LOCK);                                           \
            for (;;) {                                                                             \
                struct timespec end_;                                                              \
                bool last_ = slice_end((clk), (abs), &end_);                                       \
                rc_ = QUIET(t, slicecall);                                                                 \
                if (rc_ == EINVAL) { /* a kind that takes no monotonic timeout */                  \
                    lg__wait_end(t);                                                               \
                    rc_ = QUIET(t, realcall);                                                              \
                    break;                                                                         \
                }                                                                                  \
                if (rc_ != ETIMEDOUT || last_) {                                                   \
                    lg__wait_end(t);                                                               \
                    break;                                                                         \
                }                                                                                  \
                lg__wait_slice(t);                                                                 \
            }                                                                                      \
        }                                                                                          \
        rc_;                                                                                       \
    })

static int real_mutex(enum how how, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    switch (how) {
    case HOW_TIMED:
        return REAL(pthread_mutex_timedlock)(m, abs);
    case HOW_CLOCK:
        return REAL(pthread_mutex_clocklock)(m, clk, abs);
    default:
        return REAL(pthread_mutex_lock)(m);
    }
}

__attribute__((noinline, cold)) static int wait_mutex(struct lg_thread *t, struct lg_acq *a,
                                                      pthread_mutex_t *m, enum how how,
                                                      clockid_t clk, const struct timespec *abs)
{
    return WAIT_SLICES(t, a, real_mutex(how, m, clk, abs),
                       REAL(pthread_mutex_clocklock)(m, clk, &end_), how, clk, abs);
}

static inline int take_mutex(struct lg_thread *t, struct lg_acq *a, pthread_mutex_t *m,
                             enum how how, clockid_t clk, const struct timespec *abs)
{
    /* A process that never had a second thread (glibc's own flag: it stays
     * false for good once a thread was made, in fork children too) has
     * nobody to wait for: no wait-for chain, no owner that is gone. The
     * lock itself, then, which glibc takes with plain stores in such a
     * process; the try would cost an atomic instruction, a third of a
     * lock/unlock pair there. (A lock held by the thread itself was
     * reported before; the lock hangs as the program asked, as the wait
     * below would. A process-shared lock held by another process is waited
     * for as it would be: its owner is not one of ours.) */
    if (how == HOW_LOCK && __libc_single_threaded)
        return REAL(pthread_mutex_lock)(m);
    int rc = REAL(pthread_mutex_trylock)(m);
    if (__builtin_expect(rc == EBUSY, 0))
        rc = wait_mutex(t, a, m, how, clk, abs);
    return rc;
}

/* The known-order attempt: see take_mutex. */
static inline int try_mutex(pthread_mutex_t *m)
{
    return __libc_single_threaded ? REAL_ACTIVE(pthread_mutex_lock)(m)
                                  : REAL_ACTIVE(pthread_mutex_trylock)(m);
}

ACQUIRE_SHIM(pthread_mutex_lock, (pthread_mutex_t * m), (m), m, 0, ACQ(m, 0), try_mutex(m), false,
             take_mutex(t, &a, m, HOW_LOCK, CLOCK_MONOTONIC, NULL), acquired)
ACQUIRE_SHIM(pthread_mutex_trylock, (pthread_mutex_t * m), (m), m, LG_ACQ_TRY, ACQ(m, LG_ACQ_TRY),
             REAL_ACTIVE(pthread_mutex_trylock)(m), true, REAL(pthread_mutex_trylock)(m), acquired)
ACQUIRE_SHIM(pthread_mutex_timedlock, (pthread_mutex_t * m, const struct timespec *abstime),
             (m, abstime), m, LG_ACQ_TIMED, ACQ(m, LG_ACQ_TIMED),
             REAL_ACTIVE(pthread_mutex_trylock)(m), false,
             take_mutex(t, &a, m, HOW_TIMED, CLOCK_REALTIME, abstime), acquired)
ACQUIRE_SHIM(pthread_mutex_clocklock,
             (pthread_mutex_t * m, clockid_t clock, const struct timespec *abstime),
             (m, clock, abstime), m, LG_ACQ_TIMED, ACQ(m, LG_ACQ_TIMED),
             REAL_ACTIVE(pthread_mutex_trylock)(m), false,
             take_mutex(t, &a, m, HOW_CLOCK, clock, abstime), acquired)

UNLOCK_SHIM(pthread_mutex_unlock, pthread_mutex_t)

/* ---- rwlocks. glibc gives writers preference only for
 * PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (__flags 2); PREFER_WRITER_NP
 * behaves as the default, reader-preferring kind. On a reader-preferring
 * rwlock a read is shared (it never waits for readers); on a
 * writer-preferring one a read can wait behind a queued writer, so it
 * orders like an exclusive acquisition. */

static inline enum lg_lock_mode rw_mode(const pthread_rwlock_t *rw)
{
    return rw->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
               ? LG_MODE_PREFER_WRITER
               : LG_MODE_PREFER_READER;
}

static inline unsigned rw_flags(const pthread_rwlock_t *rw, unsigned f)
{
    if ((f & LG_ACQ_READ) && rw_mode(rw) == LG_MODE_PREFER_READER)
        f |= LG_ACQ_SHARED;
    return f;
}

#define RW_ACQ(rw, f)                                                                              \
    {                                                                                              \
        .addr = (uintptr_t)(rw), .type = LG_TYPE_RWLOCK, .mode = rw_mode(rw),                      \
        .flags = rw_flags(rw, f), .pc = pc_, .cfa = cfa_,                                          \
    }
static int real_rw(bool read, enum how how, pthread_rwlock_t *rw, clockid_t clk,
                   const struct timespec *abs)
{
    switch (how) {
    case HOW_TIMED:
        return read ? REAL(pthread_rwlock_timedrdlock)(rw, abs)
                    : REAL(pthread_rwlock_timedwrlock)(rw, abs);
    case HOW_CLOCK:
        return read ? REAL(pthread_rwlock_clockrdlock)(rw, clk, abs)
                    : REAL(pthread_rwlock_clockwrlock)(rw, clk, abs);
    default:
        return read ? REAL(pthread_rwlock_rdlock)(rw) : REAL(pthread_rwlock_wrlock)(rw);
    }
}

__attribute__((noinline, cold)) static int wait_rw(struct lg_thread *t, struct lg_acq *a,
                                                   pthread_rwlock_t *rw, bool read, enum how how,
                                                   clockid_t clk, const struct timespec *abs)
{
    return WAIT_SLICES(t, a, real_rw(read, how, rw, clk, abs),
                       read ? REAL(pthread_rwlock_clockrdlock)(rw, clk, &end_)
                            : REAL(pthread_rwlock_clockwrlock)(rw, clk, &end_),
                       how, clk, abs);
}

static inline int take_rw(struct lg_thread *t, struct lg_acq *a, pthread_rwlock_t *rw, bool read,
                          enum how how, clockid_t clk, const struct timespec *abs)
{
    int rc = read ? REAL(pthread_rwlock_tryrdlock)(rw) : REAL(pthread_rwlock_trywrlock)(rw);
    if (__builtin_expect(rc == EBUSY, 0))
        rc = wait_rw(t, a, rw, read, how, clk, abs);
    return rc;
}

/* The known-order attempt of a read or a write. */
static inline int try_rw(pthread_rwlock_t *rw, unsigned f)
{
    return (f & LG_ACQ_READ) ? REAL_ACTIVE(pthread_rwlock_tryrdlock)(rw)
                             : REAL_ACTIVE(pthread_rwlock_trywrlock)(rw);
}

#define RW_SHIM(name, params, call_args, f, call)                                                  \
    ACQUIRE_SHIM(name, params, call_args, rw, rw_flags(rw, f), RW_ACQ(rw, f), try_rw(rw, f),        \
                 ((f)&LG_ACQ_TRY) != 0, call, succeeded)

RW_SHIM(pthread_rwlock_rdlock, (pthread_rwlock_t * rw), (rw), LG_ACQ_READ,
        take_rw(t, &a, rw, true, HOW_LOCK, CLOCK_MONOTONIC, NULL))
RW_SHIM(pthread_rwlock_tryrdlock, (pthread_rwlock_t * rw), (rw), LG_ACQ_READ | LG_ACQ_TRY,
        REAL(pthread_rwlock_tryrdlock)(rw))
RW_SHIM(pthread_rwlock_timedrdlock, (pthread_rwlock_t * rw, const struct timespec *ts), (rw, ts),
        LG_ACQ_READ | LG_ACQ_TIMED, take_rw(t, &a, rw, true, HOW_TIMED, CLOCK_REALTIME, ts))
RW_SHIM(pthread_rwlock_clockrdlock,
        (pthread_rwlock_t * rw, clockid_t clock, const struct timespec *ts), (rw, clock, ts),
        LG_ACQ_READ | LG_ACQ_TIMED, take_rw(t, &a, rw, true, HOW_CLOCK, clock, ts))
RW_SHIM(pthread_rwlock_wrlock, (pthread_rwlock_t * rw), (rw), 0,
        take_rw(t, &a, rw, false, HOW_LOCK, CLOCK_MONOTONIC, NULL))
RW_SHIM(pthread_rwlock_trywrlock, (pthread_rwlock_t * rw), (rw), LG_ACQ_TRY,
        REAL(pthread_rwlock_trywrlock)(rw))
RW_SHIM(pthread_rwlock_timedwrlock, (pthread_rwlock_t * rw, const struct timespec *ts), (rw, ts),
        LG_ACQ_TIMED, take_rw(t, &a, rw, false, HOW_TIMED, CLOCK_REALTIME, ts))
RW_SHIM(pthread_rwlock_clockwrlock,
        (pthread_rwlock_t * rw, clockid_t clock, const struct timespec *ts), (rw, clock, ts),
        LG_ACQ_TIMED, take_rw(t, &a, rw, false, HOW_CLOCK, clock, ts))

UNLOCK_SHIM(pthread_rwlock_unlock, pthread_rwlock_t)

LG_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
    int rc = REAL(pthread_rwlock_init)(rw, attr);
    if (rc != 0)
        return rc;
    struct lg_thread *t = lg__enter();
    if (t) {
        lg__lock_created(t, (uintptr_t)rw, LG_TYPE_RWLOCK, rw_mode(rw),
                         (uintptr_t)__builtin_return_address(0));
        lg__leave();
    }
    return rc;
}

LG_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(pthread_rwlock_destroy)(rw);
    /* a held lock: say so, whatever glibc says */
    struct lg_node *n = lg__lock_destroying(t, (uintptr_t)rw);
    int rc = REAL(pthread_rwlock_destroy)(rw);
    if (rc == 0)
        lg__lock_destroyed_node(t, (uintptr_t)rw, n);
    lg__leave();
    return rc;
}

/* ---- spinlocks: like a normal mutex, a relock by the owner spins forever. */

#define SPIN_ACQ(s, f)                                                                             \
    {                                                                                              \
        .addr = (uintptr_t)(s), .type = LG_TYPE_SPIN, .mode = LG_MODE_NORMAL, .flags = (f),        \
        .pc = (uintptr_t)__builtin_return_address(0), .cfa = (uintptr_t)__builtin_dwarf_cfa(),     \
    }

LG_EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    int rc = REAL(pthread_spin_init)(s, pshared);
    if (rc != 0)
        return rc;
    struct lg_thread *t = lg__enter();
    if (t) {
        lg__lock_created(t, (uintptr_t)s, LG_TYPE_SPIN, LG_MODE_NORMAL,
                         (uintptr_t)__builtin_return_address(0));
        lg__leave();
    }
    return rc;
}

LG_EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(pthread_spin_destroy)(s);
    /* a held lock: say so, whatever glibc says */
    struct lg_node *n = lg__lock_destroying(t, (uintptr_t)s);
    int rc = REAL(pthread_spin_destroy)(s);
    if (rc == 0)
        lg__lock_destroyed_node(t, (uintptr_t)s, n);
    lg__leave();
    return rc;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A spinlock spins: the wait is a trylock loop that looks at the clock
 * every so often, and does what a slice does when one has passed. */
__attribute__((noinline, cold)) static int wait_spin(struct lg_thread *t, struct lg_acq *a,
                                                     pthread_spinlock_t *s)
{
    int rc;
    if (a->held >= 0 || !lg__opt.wait_for) /* (relocking spins forever: reported already) */
        return QUIET(t, REAL(pthread_spin_lock)(s));
    lg__wait_begin(t, a, false);
    uint64_t next = lg__now_ns() + LG_WAIT_SLICE_NS;
    lg__quiescent_begin(t);
    for (unsigned i = 1; (rc = REAL(pthread_spin_trylock)(s)) == EBUSY; i++) {
        cpu_relax();
        if (i % 4096 == 0 && lg__now_ns() >= next) {
            lg__quiescent_end(t);
            lg__wait_slice(t);
            lg__quiescent_begin(t);
            next = lg__now_ns() + LG_WAIT_SLICE_NS;
        }
    }
    lg__quiescent_end(t);
    lg__wait_end(t);
    return rc;
}

static inline int take_spin(struct lg_thread *t, struct lg_acq *a, pthread_spinlock_t *s)
{
    int rc = REAL(pthread_spin_trylock)(s);
    if (__builtin_expect(rc == EBUSY, 0))
        rc = wait_spin(t, a, s);
    return rc;
}

/* The ACQUIRE_SHIM shape, plus the owner: glibc keeps none in a spinlock,
 * lockgraph keeps it in the lock's node for the wait-for chain. */
#define SPIN_SHIM(name, flags, call)                                                               \
    LG_EXPORT int name(pthread_spinlock_t *s)                                                      \
    {                                                                                              \
        struct lg_thread *t = lg__enter();                                                         \
        if (!t)                                                                                    \
            return REAL(name)(s);                                                                  \
        struct lg_acq a = SPIN_ACQ(s, flags);                                                      \
        lg__lock_before(t, &a);                                                                    \
        int rc = call;                                                                             \
        lg__lock_after(t, &a, rc == 0);                                                            \
        if (rc == 0)                                                                               \
            lg__spin_locked(t, &a);                                                                \
        lg__leave();                                                                               \
        return rc;                                                                                 \
    }

SPIN_SHIM(pthread_spin_lock, 0, take_spin(t, &a, s))
SPIN_SHIM(pthread_spin_trylock, LG_ACQ_TRY, REAL(pthread_spin_trylock)(s))

LG_EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(pthread_spin_unlock)(s);
    lg__spin_unlocking(t, (uintptr_t)s);
    lg__unlock_before(t, (uintptr_t)s);
    lg__leave();
    return REAL(pthread_spin_unlock)(s);
}

/* ---- condition variables. The wait is a cancellation point: a thread
 * cancelled in it gets the mutex back before its cleanup handlers run (which
 * usually unlock it), so our own cleanup handler puts the mutex back on the
 * held stack first and lets the program's handlers be tracked again. */

struct cond_ctx {
    struct lg_thread *t;
    struct lg_cond_wait w;
};

static void cond_cancelled(void *arg)
{
    struct cond_ctx *c = arg;
    lg__quiescent_end(c->t);
    lg__wait_end(c->t);
    lg__cond_wait_after(c->t, &c->w);
    lg__leave();
}

enum cond_kind { COND_WAIT, COND_TIMEDWAIT, COND_CLOCKWAIT };
_Static_assert(LG_IO_COND_CLOCKWAIT == LG_IO_COND_WAIT + COND_CLOCKWAIT &&
                   LG_IO_COND_TIMEDWAIT == LG_IO_COND_WAIT + COND_TIMEDWAIT,
               "the condition waits are in the same order in io.h");

static int real_wait(enum cond_kind kind, pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                     const struct timespec *abstime)
{
    switch (kind) {
    case COND_TIMEDWAIT:
        return REAL(pthread_cond_timedwait)(c, m, abstime);
    case COND_CLOCKWAIT:
        return REAL(pthread_cond_clockwait)(c, m, clock, abstime);
    default:
        return REAL(pthread_cond_wait)(c, m);
    }
}

/* The cleanup-protected region on its own (pthread_cleanup_push is a
 * setjmp): nothing of the caller's lives across it. */
static int protected_wait(struct cond_ctx *ctx, enum cond_kind kind, pthread_cond_t *c,
                          pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
    int rc;
    pthread_cleanup_push(cond_cancelled, ctx);
    rc = real_wait(kind, c, m, clock, abstime);
    pthread_cleanup_pop(0);
    return rc;
}

__attribute__((always_inline)) static inline int
cond_wait(enum cond_kind kind, pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
          const struct timespec *abstime, uintptr_t pc, uintptr_t cfa)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return real_wait(kind, c, m, clock, abstime);
    struct cond_ctx ctx = {.t = t};
    ctx.w.acq = (struct lg_acq){.addr = (uintptr_t)m, .type = LG_TYPE_MUTEX,
                                .mode = mutex_mode(m), .flags = 0, /* the timeout is for the
                                * signal; taking the mutex back is not timed */
                                .pc = pc, .cfa = cfa};
    lg__cond_wait_before(t, &ctx.w);
    /* [waits] The wait, published for the live dump; and anything held
     * besides the mutex it releases is held across the wait. */
    struct lg_wait_on on = {
        .what = LG_ON_COND, .addr = (uintptr_t)c, .mutex = (uintptr_t)m, .node = ctx.w.acq.node};
    if (__builtin_expect(t->held.n != 0, 0)) {
        int e = errno;
        struct lg_io_call_info ci = {
            .call = LG_IO_COND_WAIT + (int)kind, .fd = -1, .pc = pc, .cfa = cfa, .on = &on};
        lg__io_check(t, &ci);
        errno = e;
    }
    lg__wait_begin_on(t, &on, pc, kind != COND_WAIT);
    lg__quiescent_begin(t);
    int rc = protected_wait(&ctx, kind, c, m, clock, abstime);
    lg__quiescent_end(t);
    lg__wait_end(t);
    lg__cond_wait_after(t, &ctx.w);
    lg__leave();
    return rc;
}

LG_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    return cond_wait(COND_WAIT, c, m, 0, NULL, (uintptr_t)__builtin_return_address(0),
                     (uintptr_t)__builtin_dwarf_cfa());
}

LG_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abstime)
{
    return cond_wait(COND_TIMEDWAIT, c, m, 0, abstime, (uintptr_t)__builtin_return_address(0),
                     (uintptr_t)__builtin_dwarf_cfa());
}

LG_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                     const struct timespec *abstime)
{
    return cond_wait(COND_CLOCKWAIT, c, m, clock, abstime,
                     (uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_dwarf_cfa());
}

/* ---- free: a lock's memory freed without pthread_mutex_destroy (free(obj)
 * on an object holding a mutex, or a calloc'd object whose zeroed mutex was
 * never initialized) would keep its old identity when the memory comes back
 * as a new lock. Every lock inside a freed block is retired first. The
 * block's size comes from the allocator actually in use (malloc_usable_size
 * found with RTLD_NEXT, so jemalloc preloaded after lockgraph answers for
 * its own blocks). Cost when no lock was ever seen: one load and a branch.
 *
 * Bootstrap: dlsym may itself free memory while free is being looked up;
 * such a free is leaked (a few bytes, once) rather than sent anywhere
 * wrong. */

static void (*real_free)(void *);
static size_t (*real_usable_size)(void *);
static atomic_int resolving_free;

static bool resolve_free(void)
{
    if (atomic_exchange(&resolving_free, 1))
        return false;
    int saved = lg__busy;
    lg__busy = 1;
    void (*f)(void *) = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    size_t (*u)(void *) = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    lg__busy = saved;
    real_usable_size = u;
    __atomic_store_n(&real_free, f, __ATOMIC_RELEASE);
    atomic_store(&resolving_free, 0);
    return f != NULL;
}

LG_EXPORT void free(void *p)
{
    if (__builtin_expect(!__atomic_load_n(&real_free, __ATOMIC_ACQUIRE), 0) && !resolve_free())
        return; /* a free from inside the lookup of free: leaked */
    if (p && !lg__busy && real_usable_size && lg__registry_live_count() &&
        atomic_load_explicit(&lg__state, memory_order_acquire) == LG_STATE_ACTIVE) {
        uintptr_t lo = (uintptr_t)p;
        size_t size = real_usable_size(p);
        struct lg_thread *t;
        if (lg__registry_any_in(lo, lo + size) && (t = lg__enter()) != NULL) {
            lg__memory_gone(t, lo, lo + size, "free", true);
            lg__leave();
        }
    }
    real_free(p);
}

/* ---- munmap: a mapping that held locks (a lock in anonymous or file
 * memory that is given back) takes them with it, like free. */
LG_EXPORT int munmap(void *addr, size_t len)
{
    uintptr_t lo = (uintptr_t)addr;
    struct lg_thread *t;
    if (len && !lg__busy && lg__registry_any_in(lo, lo + len) && (t = lg__enter()) != NULL) {
        lg__memory_gone(t, lo, lo + len, "munmap", true);
        lg__leave();
    }
    return REAL(munmap)(addr, len);
}

/* ---- dlclose: a library's static locks are never destroyed; once it is
 * unloaded they are gone, and the same library loaded again (often at the
 * same address) has new ones. Retire every lock in its address range when
 * it really leaves (dlclose only unloads at the last reference). */

struct module_query {
    uintptr_t base;
    const char *name;
    uintptr_t lo, hi;
    bool found;
    bool remember; /* prepare its map entry: it may be about to go */
    struct lg_gone_module *entry;
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct module_query *q = arg;
    if (info->dlpi_addr != q->base || !info->dlpi_name || strcmp(info->dlpi_name, q->name) != 0)
        return 0;
    lg__module_range(info, &q->lo, &q->hi);
    q->found = true;
    if (q->remember)
        q->entry = lg__report_module_leaving(info);
    return 1;
}

LG_EXPORT int dlclose(void *handle)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(dlclose)(handle);
    struct link_map *lm = NULL;
    struct module_query q = {0};
    char name[512] = "";
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0]) {
        q.base = lm->l_addr;
        lg__strlcpy(name, lm->l_name, sizeof(name));
        q.name = name;
        q.remember = true;
        lg__iterate_modules(find_module, &q);
    }
    lg__leave();
    int rc = REAL(dlclose)(handle);
    if (rc == 0 && q.found && (t = lg__enter()) != NULL) {
        struct module_query still = {.base = q.base, .name = name};
        lg__iterate_modules(find_module, &still);
        if (!still.found) {
            lg__memory_gone(t, q.lo, q.hi, "dlclose", false);
            lg__class_unloaded(q.lo, q.hi);
            lg__report_module_gone(q.entry);
            lg__symbols_modules_changed();
            lg__unwind_modules_changed();
        } else {
            lg__report_module_stays(q.entry);
        }
        lg__leave();
    } else if (q.entry) {
        lg__report_module_stays(q.entry);
    }
    return rc;
}

/* ---- _Fork: the fork that runs no pthread_atfork handlers (glibc 2.34+),
 * so lockgraph's own handlers (init.c) never see it. The same work is done
 * around it here, with the re-entry guard set. fork(), forkpty(), daemon()
 * and glibc's other forks run the handlers instead; vfork, posix_spawn and
 * system run nothing of lockgraph's in the child before exec.
 *
 * _Fork also leaves the loader's lock as it was: held for good in the
 * child if another thread was inside dl_iterate_phdr at that moment (seen:
 * 1 child in ~300 of a test's hung in lockgraph's module lookup). glibc
 * gives no way to take or reset that lock, so in a _Fork child lockgraph
 * stops calling into the loader (symbols.h, lg__loader_unsafe): its
 * findings there carry no module map. Unwinding needs no loader lock
 * (libgcc finds frames with _dl_find_object). */
LG_EXPORT pid_t _Fork(void)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(_Fork)();
    lg__fork_prepare();
    pid_t p = REAL(_Fork)();
    int err = errno;
    if (p == 0) {
        lg__loader_unsafe = true;
        lg__fork_child(false);
    } else {
        lg__fork_parent();
    }
    lg__leave();
    errno = err;
    return p;
}
