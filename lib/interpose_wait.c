/*
 * interpose_wait.c - the shims for waits on other threads and processes:
 * pthread_join and the timed joins, pthread_barrier_wait, the sem_* calls,
 * and waitpid, wait, wait3, wait4, waitid and system.
 *
 * Each wait has one shape: enter (guard) -> held-across-wait check when the
 * thread holds a lock (one load and a compare otherwise) -> publish what it
 * waits on (wait.c: the chain follows a join to the joined thread; the
 * live dump shows every wait) -> the real call -> end of the wait -> leave.
 * A join, and a semaphore used as a lock, wait in slices like a busy lock
 * (interpose.c), so that the chain is looked at again and the waiter's
 * stack is published; the program sees the result of one call. The calls
 * that are cancellation points run with a cleanup handler that ends the
 * published wait and the guard.
 *
 * Semaphores: one made with the value 1 is a lock until it shows it is not
 * (sem.h); its waits and posts become the runtime's lock events (lock type
 * LG_TYPE_SEM) and its owner is kept like a spinlock's. The rest are
 * counters: their waits are waits.
 *
 * The real functions are found with dlsym(RTLD_NEXT) at start-up, or on
 * their first call before that.
 */

#include "interpose.h"
#include "io.h"
#include "live.h"
#include "options.h"
#include "report.h"
#include "runtime.h"
#include "sem.h"
#include "util.h"
#include "wait.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#define LG_EXPORT __attribute__((visibility("default")))

/* api.c: a lock semaphore opened by name is named after it. */
void lockgraph_name_lock(const volatile void *lock, const char *name);

#define LG_WAIT_INTERPOSE_TABLE(X)                                                                 \
    X(pthread_create, int, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))      \
    X(pthread_join, int, (pthread_t, void **))                                                     \
    X(pthread_timedjoin_np, int, (pthread_t, void **, const struct timespec *))                    \
    X(pthread_clockjoin_np, int, (pthread_t, void **, clockid_t, const struct timespec *))         \
    X(pthread_barrier_wait, int, (pthread_barrier_t *))                                            \
    X(sem_init, int, (sem_t *, int, unsigned))                                                     \
    X(sem_destroy, int, (sem_t *))                                                                 \
    X(sem_open, sem_t *, (const char *, int, ...))                                                 \
    X(sem_wait, int, (sem_t *))                                                                    \
    X(sem_trywait, int, (sem_t *))                                                                 \
    X(sem_timedwait, int, (sem_t *, const struct timespec *))                                      \
    X(sem_clockwait, int, (sem_t *, clockid_t, const struct timespec *))                           \
    X(sem_post, int, (sem_t *))                                                                    \
    X(waitpid, pid_t, (pid_t, int *, int))                                                         \
    X(wait, pid_t, (int *))                                                                        \
    X(wait3, pid_t, (int *, int, struct rusage *))                                                 \
    X(wait4, pid_t, (pid_t, int *, int, struct rusage *))                                          \
    X(waitid, int, (idtype_t, id_t, siginfo_t *, int))                                             \
    X(system, int, (const char *))

#define REAL_PTR(name, ret, params) static ret(*lgw_real_##name) params;
LG_WAIT_INTERPOSE_TABLE(REAL_PTR)
#undef REAL_PTR

void lg__interpose_wait_resolve(void){
#define RESOLVE(name, ret, params)                                                                 \
    {                                                                                              \
        void *p = dlsym(RTLD_NEXT, #name);                                                         \
        if (p)                                                                                     \
            __atomic_store_n(&lgw_real_##name, (ret(*) params)p, __ATOMIC_RELEASE);                \
    }
    LG_WAIT_INTERPOSE_TABLE(RESOLVE)
#undef RESOLVE
}

/* Before init resolved them: look one up now, as lockgraph (dlsym may lock
 * and allocate). */
#define LATE(name, ret, params)                                                                    \
    static ret(*lgw_late_##name(void)) params                                                      \
    {                                                                                              \
        int saved = lg__busy;                                                                      \
        lg__busy = 1;                                                                              \
        ret(*p) params = (ret(*) params)dlsym(RTLD_NEXT, #name);                                   \
        lg__busy = saved;                                                                          \
        __atomic_store_n(&lgw_real_##name, p, __ATOMIC_RELEASE);                                   \
        return p;                                                                                  \
    }
LG_WAIT_INTERPOSE_TABLE(LATE)
#undef LATE

#define REAL(name)                                                                                 \
    (__builtin_expect(__atomic_load_n(&lgw_real_##name, __ATOMIC_ACQUIRE) != NULL, 1)              \
         ? lgw_real_##name                                                                         \
         : lgw_late_##name())

#define PC() ((uintptr_t)__builtin_return_address(0))
#define CFA() ((uintptr_t)__builtin_dwarf_cfa())

    /* ---------------------------------------------------------------------- */
    /* The shared steps.                                                       */

    /* The held-across-wait check, when the thread holds a lock. errno kept. */
    static inline void across(struct lg_thread *t, int call, uintptr_t pc, uintptr_t cfa,
                              const struct lg_wait_on *on)
{
    if (__builtin_expect(t->held.n == 0, 1))
        return;
    int e = errno;
    struct lg_io_call_info c = {.call = call, .fd = -1, .pc = pc, .cfa = cfa, .on = on};
    lg__io_check(t, &c);
    errno = e;
}

/* A wait cancelled (the thread unwinds from a cancellation point): the
 * wait is over and the thread leaves lockgraph before the program's own
 * cleanup handlers run. */
static void wait_cancelled(void *arg)
{
    lg__wait_end(arg);
    lg__leave();
}

static bool valid_timeout(const struct timespec *ts)
{
    return ts && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/* ---------------------------------------------------------------------- */
/* Threads: the live dump's thread starts with the program's first one, so
 * a program that stays single-threaded (one that calls unshare, say, or a
 * fork child that only execs) is never given a thread it did not ask for. */

LG_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    if (__builtin_expect(!lg__live_running(), 0) && !lg__busy &&
        atomic_load_explicit(&lg__state, memory_order_acquire) == LG_STATE_ACTIVE)
        lg__live_start();
    return REAL(pthread_create)(th, attr, fn, arg);
}

/* ---------------------------------------------------------------------- */
/* Joins.                                                                  */

enum how { HOW_PLAIN, HOW_TIMED, HOW_CLOCK };

static int real_join(enum how how, pthread_t th, void **ret, clockid_t clk,
                     const struct timespec *abs)
{
    switch (how) {
    case HOW_TIMED:
        return REAL(pthread_timedjoin_np)(th, ret, abs);
    case HOW_CLOCK:
        return REAL(pthread_clockjoin_np)(th, ret, clk, abs);
    default:
        return REAL(pthread_join)(th, ret);
    }
}

/* The join in slices of LG_WAIT_SLICE_NS, the cleanup-protected region on
 * its own (pthread_cleanup_push is a setjmp). */
static int sliced_join(struct lg_thread *t, pthread_t th, void **ret, clockid_t clk,
                       const struct timespec *abs)
{
    int rc;
    pthread_cleanup_push(wait_cancelled, t);
    for (;;) {
        struct timespec end;
        bool last = lg__wait_slice_end(clk, abs, &end);
        rc = REAL(pthread_clockjoin_np)(th, ret, clk, &end);
        if (rc != ETIMEDOUT || last)
            break;
        lg__wait_slice(t);
    }
    pthread_cleanup_pop(0);
    return rc;
}

__attribute__((always_inline)) static inline int join(enum how how, int call, pthread_t th,
                                                      void **ret, clockid_t clk,
                                                      const struct timespec *abs, uintptr_t pc,
                                                      uintptr_t cfa)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return real_join(how, th, ret, clk, abs);
    struct lg_wait_on on = {.what = LG_ON_JOIN, .addr = (uintptr_t)th};
    if (t->held.n) {
        lg__wait_join_target(&on);
        across(t, call, pc, cfa, &on);
    }
    int rc;
    if (!lg__opt.wait_for || (uintptr_t)th == t->pthread || (abs && !valid_timeout(abs)) ||
        (how == HOW_CLOCK && clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) ||
        !REAL(pthread_clockjoin_np)) {
        rc = real_join(how, th, ret, clk, abs); /* it answers at once, or cannot be sliced */
    } else {
        lg__wait_begin_on(t, &on, pc, how != HOW_PLAIN);
        rc = sliced_join(t, th, ret, how == HOW_TIMED ? CLOCK_REALTIME : clk, abs);
        lg__wait_end(t);
    }
    lg__leave();
    return rc;
}

LG_EXPORT int pthread_join(pthread_t th, void **ret)
{
    return join(HOW_PLAIN, LG_IO_JOIN, th, ret, CLOCK_MONOTONIC, NULL, PC(), CFA());
}

LG_EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *abs)
{
    return join(HOW_TIMED, LG_IO_TIMEDJOIN, th, ret, CLOCK_REALTIME, abs, PC(), CFA());
}

LG_EXPORT int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk,
                                   const struct timespec *abs)
{
    return join(HOW_CLOCK, LG_IO_CLOCKJOIN, th, ret, clk, abs, PC(), CFA());
}

/* ---------------------------------------------------------------------- */
/* Barriers: not a cancellation point.                                     */

LG_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(pthread_barrier_wait)(b);
    struct lg_wait_on on = {.what = LG_ON_BARRIER, .addr = (uintptr_t)b};
    across(t, LG_IO_BARRIER_WAIT, PC(), CFA(), &on);
    lg__wait_begin_on(t, &on, PC(), false);
    int rc = REAL(pthread_barrier_wait)(b);
    lg__wait_end(t);
    lg__leave();
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Semaphores.                                                             */

LG_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
    int rc = REAL(sem_init)(s, pshared, value);
    if (rc != 0)
        return rc;
    struct lg_thread *t = lg__enter();
    if (t) {
        int e = errno;
        lg__lock_destroyed(t, (uintptr_t)s); /* a semaphore made again: a new one */
        if (lg__sem_created((uintptr_t)s, value, NULL))
            lg__lock_created(t, (uintptr_t)s, LG_TYPE_SEM, LG_MODE_NORMAL,
                             (uintptr_t)__builtin_return_address(0));
        errno = e;
        lg__leave();
    }
    return rc;
}

LG_EXPORT int sem_destroy(sem_t *s)
{
    int rc = REAL(sem_destroy)(s);
    if (rc != 0)
        return rc;
    struct lg_thread *t = lg__enter();
    if (t) {
        int e = errno;
        bool lock = lg__sem_is_lock((uintptr_t)s);
        lg__sem_destroyed((uintptr_t)s);
        if (lock)
            lg__lock_destroyed(t, (uintptr_t)s);
        errno = e;
        lg__leave();
    }
    return rc;
}

LG_EXPORT sem_t *sem_open(const char *name, int oflag, ...)
{
    mode_t mode = 0;
    unsigned value = 0;
    if (oflag & O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        mode = va_arg(ap, mode_t);
        value = va_arg(ap, unsigned);
        va_end(ap);
    }
    sem_t *s = REAL(sem_open)(name, oflag, mode, value);
    if (s == SEM_FAILED)
        return s;
    struct lg_thread *t = lg__enter();
    if (!t)
        return s;
    int e = errno;
    /* The same name opened again is the same semaphore, maybe held. */
    bool fresh = !lg__sem_known((uintptr_t)s, name);
    int v = 0;
    if (fresh && sem_getvalue(s, &v) == 0 && v >= 0 &&
        lg__sem_created((uintptr_t)s, (unsigned)v, name))
        lg__lock_created(t, (uintptr_t)s, LG_TYPE_SEM, LG_MODE_NORMAL,
                             (uintptr_t)__builtin_return_address(0));
    lg__leave();
    /* Its name is its key (name:/NAME), as for a lock named in code. */
    if (fresh && lg__sem_is_lock((uintptr_t)s))
        lockgraph_name_lock(s, name);
    errno = e;
    return s;
}

/* The acquisition of a semaphore taken for a lock. */
#define SEM_ACQ(s, f, at, frame)                                                                   \
    {                                                                                              \
        .addr = (uintptr_t)(s), .type = LG_TYPE_SEM, .mode = LG_MODE_NORMAL, .flags = (f),         \
        .pc = (at), .cfa = (frame),                                                                \
    }

static int real_sem_wait(enum how how, sem_t *s, clockid_t clk, const struct timespec *abs)
{
    switch (how) {
    case HOW_TIMED:
        return REAL(sem_timedwait)(s, abs);
    case HOW_CLOCK:
        return REAL(sem_clockwait)(s, clk, abs);
    default:
        return REAL(sem_wait)(s);
    }
}

/* A lock semaphore that is busy: wait in slices, as for a busy mutex. */
static int sliced_sem(struct lg_thread *t, sem_t *s, clockid_t clk, const struct timespec *abs)
{
    int rc;
    pthread_cleanup_push(wait_cancelled, t);
    for (;;) {
        struct timespec end;
        bool last = lg__wait_slice_end(clk, abs, &end);
        rc = REAL(sem_clockwait)(s, clk, &end);
        if (rc == 0 || errno != ETIMEDOUT || last)
            break;
        lg__wait_slice(t);
    }
    pthread_cleanup_pop(0);
    return rc;
}

/* A counter semaphore that is empty: the wait, published. */
static int counted_wait(struct lg_thread *t, enum how how, sem_t *s, clockid_t clk,
                        const struct timespec *abs)
{
    int rc;
    pthread_cleanup_push(wait_cancelled, t);
    rc = real_sem_wait(how, s, clk, abs);
    pthread_cleanup_pop(0);
    return rc;
}

__attribute__((always_inline)) static inline int sem_take(enum how how, int call, sem_t *s,
                                                          clockid_t clk, const struct timespec *abs,
                                                          uintptr_t pc, uintptr_t cfa)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return real_sem_wait(how, s, clk, abs);
    int rc;
    bool sliceable = (how == HOW_PLAIN || valid_timeout(abs)) &&
                     (how != HOW_CLOCK || clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC);
    if (lg__sem_is_lock((uintptr_t)s)) {
        struct lg_acq a = SEM_ACQ(s, how == HOW_PLAIN ? 0 : LG_ACQ_TIMED, pc, cfa);
        int e = errno;
        lg__lock_before(t, &a);
        errno = e;
        rc = sliceable ? REAL(sem_trywait)(s) : -1;
        if (rc != 0 && (!sliceable || errno == EAGAIN)) {
            if (a.held >= 0 || !lg__opt.wait_for || !sliceable) {
                rc = real_sem_wait(how, s, clk, abs); /* its own, or not sliceable */
            } else {
                lg__wait_begin(t, &a, how != HOW_PLAIN);
                rc = sliced_sem(t, s, how == HOW_TIMED ? CLOCK_REALTIME : clk, abs);
                e = errno;
                lg__wait_end(t);
                errno = e;
            }
        }
        e = errno;
        lg__lock_after(t, &a, rc == 0);
        if (rc == 0)
            lg__spin_locked(t, &a);
        errno = e;
        lg__leave();
        return rc;
    }
    struct lg_wait_on on = {.what = LG_ON_SEM, .addr = (uintptr_t)s};
    if (t->held.n) {
        const char *name = lg__sem_name((uintptr_t)s);
        if (name)
            lg__strlcpy(on.name, name, sizeof(on.name));
        across(t, call, pc, cfa, &on);
    }
    rc = sliceable ? REAL(sem_trywait)(s) : -1;
    if (rc != 0 && (!sliceable || errno == EAGAIN)) {
        lg__wait_begin_on(t, &on, pc, how != HOW_PLAIN);
        rc = counted_wait(t, how, s, clk, abs);
        int e = errno;
        lg__wait_end(t);
        errno = e;
    }
    lg__leave();
    return rc;
}

LG_EXPORT int sem_wait(sem_t *s)
{
    return sem_take(HOW_PLAIN, LG_IO_SEM_WAIT, s, CLOCK_MONOTONIC, NULL, PC(), CFA());
}

LG_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abs)
{
    return sem_take(HOW_TIMED, LG_IO_SEM_TIMEDWAIT, s, CLOCK_REALTIME, abs, PC(), CFA());
}

LG_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abs)
{
    return sem_take(HOW_CLOCK, LG_IO_SEM_CLOCKWAIT, s, clk, abs, PC(), CFA());
}

LG_EXPORT int sem_trywait(sem_t *s)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(sem_trywait)(s);
    if (!lg__sem_is_lock((uintptr_t)s)) {
        lg__leave();
        return REAL(sem_trywait)(s);
    }
    struct lg_acq a = SEM_ACQ(s, LG_ACQ_TRY, PC(), CFA());
    int e = errno;
    lg__lock_before(t, &a);
    errno = e;
    int rc = REAL(sem_trywait)(s);
    e = errno;
    lg__lock_after(t, &a, rc == 0);
    if (rc == 0)
        lg__spin_locked(t, &a);
    errno = e;
    lg__leave();
    return rc;
}

LG_EXPORT int sem_post(sem_t *s)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return REAL(sem_post)(s);
    if (lg__sem_is_lock((uintptr_t)s)) {
        int e = errno;
        if (lg__held_find(&t->held, (uintptr_t)s) >= 0) {
            /* The thread that took it lets it go: a release. */
            lg__spin_unlocking(t, (uintptr_t)s);
            lg__unlock_before(t, (uintptr_t)s);
        } else {
            /* Posted by a thread that did not take it: a signal, so a
             * counter after all (sem.h). */
            lg__sem_not_lock((uintptr_t)s);
        }
        errno = e;
    }
    lg__leave();
    return REAL(sem_post)(s);
}

/* ---------------------------------------------------------------------- */
/* Processes.                                                              */

/* The arguments of a process wait, whichever it is. */
struct pw {
    int call; /* enum lg_io_call */
    pid_t pid;
    int *status;
    int options;
    struct rusage *ru;
    idtype_t idtype;
    id_t id;
    siginfo_t *info;
    const char *command;
};

static long real_pw(const struct pw *a)
{
    switch (a->call) {
    case LG_IO_WAITPID:
        return REAL(waitpid)(a->pid, a->status, a->options);
    case LG_IO_WAIT:
        return REAL(wait)(a->status);
    case LG_IO_WAIT3:
        return REAL(wait3)(a->status, a->options, a->ru);
    case LG_IO_WAIT4:
        return REAL(wait4)(a->pid, a->status, a->options, a->ru);
    case LG_IO_WAITID:
        return REAL(waitid)(a->idtype, a->id, a->info, a->options);
    default:
        return REAL(system)(a->command);
    }
}

/* Every one is a cancellation point: the region on its own, as above. */
static long protected_pw(struct lg_thread *t, const struct pw *a)
{
    long rc;
    pthread_cleanup_push(wait_cancelled, t);
    rc = real_pw(a);
    pthread_cleanup_pop(0);
    return rc;
}

/* The shape of every process wait. has_pid, pid: what it waits for, as a
 * finding says; blocking: false for WNOHANG (passed straight through). */
__attribute__((always_inline)) static inline long
process_wait(const struct pw *a, bool has_pid, long pid, bool blocking, uintptr_t pc, uintptr_t cfa)
{
    struct lg_thread *t = blocking ? lg__enter() : NULL;
    if (!t)
        return real_pw(a);
    struct lg_wait_on on = {.what = LG_ON_PROCESS, .has_pid = has_pid, .pid = pid};
    across(t, a->call, pc, cfa, &on);
    lg__wait_begin_on(t, &on, pc, false);
    long rc = protected_pw(t, a);
    int e = errno;
    lg__wait_end(t);
    lg__leave();
    errno = e;
    return rc;
}

LG_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
    struct pw a = {.call = LG_IO_WAITPID, .pid = pid, .status = status, .options = options};
    return (pid_t)process_wait(&a, true, (long)pid, !(options & WNOHANG), PC(), CFA());
}

LG_EXPORT pid_t wait(int *status)
{
    struct pw a = {.call = LG_IO_WAIT, .status = status};
    return (pid_t)process_wait(&a, true, -1L, true, PC(), CFA());
}

LG_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
    struct pw a = {.call = LG_IO_WAIT3, .status = status, .options = options, .ru = ru};
    return (pid_t)process_wait(&a, true, -1L, !(options & WNOHANG), PC(), CFA());
}

LG_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
    struct pw a = {.call = LG_IO_WAIT4, .pid = pid, .status = status, .options = options, .ru = ru};
    return (pid_t)process_wait(&a, true, (long)pid, !(options & WNOHANG), PC(), CFA());
}

LG_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    struct pw a = {
        .call = LG_IO_WAITID, .idtype = idtype, .id = id, .info = info, .options = options};
    return (int)process_wait(&a, idtype == P_PID, idtype == P_PID ? (long)id : -1L,
                             !(options & WNOHANG), PC(), CFA());
}

LG_EXPORT int system(const char *command)
{
    /* system(NULL) only asks whether there is a shell. */
    struct pw a = {.call = LG_IO_SYSTEM, .command = command};
    return (int)process_wait(&a, false, 0L, command != NULL, PC(), CFA());
}
