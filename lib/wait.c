/*
 * wait.c - the wait-for chain, deadlock and long-wait findings, long holds.
 *
 * Runs on a thread whose lock is busy (so it was going to sleep anyway), on
 * a thread about to join another, on the watchdog thread, on the live-dump
 * thread (live.c, which only reads), or at unlock with hold_warn_ms set. No
 * lockgraph lock is held while following a chain; the report writer takes
 * its own.
 *
 * What a thread can wait for: a lock (its owner: glibc's for a mutex and an
 * rwlock's writer, lockgraph's for a spinlock and a semaphore used as a
 * lock), or a thread it joins. A wait on a condition variable, a barrier, a
 * semaphore used as a counter or a process is published too (the live dump
 * shows it, and a reader holding an rwlock while it waits will not let go),
 * but has no owner: nobody in particular will end it.
 *
 * An owner that is gone ends a chain for good: a lock whose owner thread
 * has ended, or is not in this process (a fork's child inherits a lock
 * locked by another thread of the parent), will never be let go. Its
 * waiter says so at once: a deadlock finding with the gone owner (gone.h).
 */

#include "wait.h"
#include "alloc.h"
#include "options.h"
#include "report.h"
#include "seen.h"
#include "stack.h"
#include "gone.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHAIN_MAX LG_WAIT_CHAIN_MAX
#define VISIT_MAX 256  /* records looked at in one search */
#define HELD_COPY 64   /* held locks shown per thread of a deadlock */
#define LG_MUTEX_PSHARED_BIT 128 /* glibc's __kind: a process-shared mutex */
#define LG_MUTEX_ROBUST_BIT 16   /* ... a robust one */

uint64_t lg__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC to a few milliseconds, for the start of a wait that is
 * not a lock's (only shown, never compared finely): a fraction of the cost
 * of lg__now_ns. */
static uint64_t coarse_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int depth(void)
{
    return (int)lg__opt.stack_depth;
}

static void search_from(struct lg_thread *self, bool from_watchdog);
static void publish_stack(struct lg_thread *t);
#define thread_name_of lg__thread_name_of

/* ---------------------------------------------------------------------- */
/* Publishing a wait.                                                      */

void lg__wait_begin(struct lg_thread *t, const struct lg_acq *a, bool timed)
{
    struct lg_wait *w = &t->wait;
    w->node = a->node;
    w->on = LG_ON_LOCK;
    w->has_aux = false;
    w->aux = 0;
    w->type = (uint8_t)a->type;
    w->exclusive = !(a->flags & LG_ACQ_READ);
    w->timed = timed;
    w->since_ns = lg__now_ns();
    w->pc = a->pc;
    atomic_store_explicit(&w->stack, NULL, memory_order_relaxed);
    atomic_store_explicit(&w->long_reported, false, memory_order_relaxed);
    atomic_store_explicit(&w->addr, a->addr, memory_order_relaxed);
    /* Odd: waiting. Sequentially consistent with the loads of the search:
     * of two threads starting to wait on each other at once, at least one
     * sees the other. */
    atomic_fetch_add(&w->seq, 1);
    search_from(t, false);
}

void lg__wait_begin_on(struct lg_thread *t, const struct lg_wait_on *on, uintptr_t pc, bool timed)
{
    struct lg_wait *w = &t->wait;
    w->node = NULL;
    w->on = on->what;
    w->has_aux = on->what == LG_ON_PROCESS && on->has_pid;
    w->aux = on->what == LG_ON_COND      ? on->mutex
             : on->what == LG_ON_PROCESS ? (uintptr_t)on->pid
                                         : 0;
    w->type = 0;
    w->exclusive = true;
    w->timed = timed;
    w->since_ns = coarse_now_ns(); /* a condition wait must stay cheap */
    w->pc = pc;
    atomic_store_explicit(&w->stack, NULL, memory_order_relaxed);
    atomic_store_explicit(&w->long_reported, false, memory_order_relaxed);
    atomic_store_explicit(&w->addr, on->what == LG_ON_PROCESS || !on->addr ? 1 : on->addr,
                          memory_order_relaxed);
    atomic_fetch_add(&w->seq, 1); /* odd: waiting (see lg__wait_begin) */
    /* Only a join waits for someone in particular: the others cannot close
     * a cycle, and a condition wait must stay cheap. */
    if (on->what == LG_ON_JOIN)
        search_from(t, false);
}

void lg__wait_end(struct lg_thread *t)
{
    atomic_store_explicit(&t->wait.addr, 0, memory_order_relaxed);
    atomic_fetch_add(&t->wait.seq, 1);
}

bool lg__wait_slice_end(clockid_t clk, const struct timespec *abs, struct timespec *end)
{
    clock_gettime(clk, end);
    end->tv_sec += (time_t)(LG_WAIT_SLICE_NS / 1000000000ull);
    end->tv_nsec += (long)(LG_WAIT_SLICE_NS % 1000000000ull);
    if (end->tv_nsec >= 1000000000L) {
        end->tv_sec++;
        end->tv_nsec -= 1000000000L;
    }
    if (abs && (abs->tv_sec < end->tv_sec ||
                (abs->tv_sec == end->tv_sec && abs->tv_nsec <= end->tv_nsec))) {
        *end = *abs;
        return true;
    }
    return false;
}

void lg__wait_slice(struct lg_thread *t)
{
    struct lg_wait *w = &t->wait;
    if (!atomic_load_explicit(&w->stack, memory_order_relaxed))
        publish_stack(t); /* long enough to matter */
    search_from(t, false);
}

/* ---------------------------------------------------------------------- */
/* Reading other threads.                                                  */

/* A consistent copy of what r waits for, or false when it is not waiting. */
struct wait_view {
    struct lg_thread *r;
    uint64_t seq;
    uintptr_t addr;
    struct lg_node *node;
    uint8_t on;
    bool has_aux;
    uintptr_t aux;
    uint8_t type;
    bool exclusive, timed;
    uint64_t since_ns;
    uintptr_t pc;
};

static bool view(struct lg_thread *r, struct wait_view *v)
{
    uint64_t s = atomic_load(&r->wait.seq);
    if (!(s & 1) || !lg__thread_live(r))
        return false;
    v->r = r;
    v->seq = s;
    v->addr = atomic_load(&r->wait.addr);
    v->node = r->wait.node;
    v->on = r->wait.on;
    v->has_aux = r->wait.has_aux;
    v->aux = r->wait.aux;
    v->type = r->wait.type;
    v->exclusive = r->wait.exclusive;
    v->timed = r->wait.timed;
    v->since_ns = r->wait.since_ns;
    v->pc = r->wait.pc;
    return v->addr && atomic_load(&r->wait.seq) == s;
}

static bool still(const struct wait_view *v)
{
    return atomic_load(&v->r->wait.seq) == v->seq;
}

/* Does waiting thread r (seen as v) hold addr for reading? Its held stack
 * does not change while it waits; the sequence says it still does. */
static bool holds_read(const struct wait_view *v, uintptr_t addr)
{
    const struct lg_thread *r = v->r;
    uint32_t n = r->held.n;
    const struct lg_held *e = r->held.e;
    bool found = false;
    for (uint32_t i = 0; i < n && i < 4096 && !found; i++)
        found = e[i].addr == addr;
    return found && still(v);
}

/* The live record of the thread whose pthread_t is pt (a join's target),
 * or NULL: a thread lockgraph has never seen, or one that has ended. A
 * walk of every record: only on the slow paths (a join starting, a chain). */
static struct lg_thread *record_of_pthread(uintptr_t pt)
{
    for (struct lg_thread *r = lg__thread_all(); r; r = r->all_next)
        if (r->pthread == pt && lg__thread_live(r) &&
            r->pthread == pt)
            return r;
    return NULL;
}

void lg__wait_join_target(struct lg_wait_on *on)
{
    struct lg_thread *r = record_of_pthread(on->addr);
    if (!r)
        return;
    on->tid = r->tid;
    on->tseq = r->seq;
    if (!thread_name_of(r->tid, on->tname))
        memcpy(on->tname, r->name, sizeof(on->tname));
}

/* The owner thread id of the lock v waits for, as the lock itself (or
 * lockgraph, for a spinlock or a semaphore) says; 0 for none. */
static int32_t owner_tid(const struct wait_view *v)
{
    switch (v->type) {
    case LG_TYPE_MUTEX:
        return __atomic_load_n(&((pthread_mutex_t *)v->addr)->__data.__owner, __ATOMIC_RELAXED);
    case LG_TYPE_RWLOCK:
        return (int32_t)__atomic_load_n(&((pthread_rwlock_t *)v->addr)->__data.__cur_writer,
                                        __ATOMIC_RELAXED);
    default:
        return v->node ? atomic_load_explicit(&v->node->owner, memory_order_relaxed) : 0;
    }
}

/* Is the lock v waits for process-shared? Its owner may then be a thread
 * of another process, whatever its thread id. */
static bool process_shared(const struct wait_view *v)
{
    if (v->type == LG_TYPE_MUTEX)
        return __atomic_load_n(&((pthread_mutex_t *)v->addr)->__data.__kind, __ATOMIC_RELAXED) &
               LG_MUTEX_PSHARED_BIT;
    if (v->type == LG_TYPE_RWLOCK)
        return __atomic_load_n(&((pthread_rwlock_t *)v->addr)->__data.__shared, __ATOMIC_RELAXED);
    return false;
}

/* The record of the thread with id `tid` that owns the lock v waits for,
 * or NULL. In a fork child the forking thread's locks still carry its
 * parent's id (lg__gone_alias); not a process-shared lock's, which the
 * parent itself still holds (init.c drops it from the child's held stack):
 * the child waiting for it waits for the parent, not for itself. */
static struct lg_thread *owner_record(const struct wait_view *v, int32_t tid)
{
    return lg__thread_by_tid(process_shared(v) ? tid : lg__gone_alias(tid));
}

/* Threads that own what v waits for: the mutex's owner, the rwlock's
 * writer or, when readers hold it, the waiting threads that hold it for
 * reading (a running reader will let go); the spinlock's holder; the
 * thread a join waits for. */
static int owners(const struct wait_view *v, struct lg_thread **out, int max)
{
    if (v->on == LG_ON_JOIN) {
        struct lg_thread *r = record_of_pthread(v->addr);
        if (!r || max < 1)
            return 0;
        out[0] = r;
        return 1;
    }
    if (v->on != LG_ON_LOCK)
        return 0; /* nobody in particular will end it */
    int32_t tid = owner_tid(v);
    if (tid > 0) {
        struct lg_thread *r = owner_record(v, tid);
        if (r && max > 0) {
            out[0] = r;
            return 1;
        }
        return 0;
    }
    if (v->type != LG_TYPE_RWLOCK)
        return 0;
    int n = 0;
    for (struct lg_thread *r = lg__thread_all(); r && n < max; r = r->all_next) {
        struct wait_view rv;
        if (r != v->r && view(r, &rv) && holds_read(&rv, v->addr))
            out[n++] = r;
    }
    return n;
}

/* ---------------------------------------------------------------------- */
/* The search.                                                             */

struct search {
    struct lg_thread *self;
    struct wait_view path[CHAIN_MAX];
    int n;
    int visits;
};

/* Depth-first from path[n-1]: is there a chain of owners back to self? */
static bool dfs(struct search *s)
{
    if (s->n >= CHAIN_MAX || s->visits++ > VISIT_MAX)
        return false;
    struct lg_thread *own[8];
    int k = owners(&s->path[s->n - 1], own, 8);
    for (int i = 0; i < k; i++) {
        if (own[i] == s->self)
            return true;
        bool seen = false;
        for (int j = 0; j < s->n && !seen; j++)
            seen = s->path[j].r == own[i];
        if (seen || !view(own[i], &s->path[s->n]))
            continue; /* a cycle not through self is its threads' to find */
        s->n++;
        if (dfs(s))
            return true;
        s->n--;
    }
    return false;
}

static bool find_cycle(struct lg_thread *self, struct search *s)
{
    s->self = self;
    s->n = 0;
    s->visits = 0;
    if (!view(self, &s->path[0]))
        return false;
    s->n = 1;
    return dfs(s);
}

enum { ST_OK, ST_GAP, ST_BROKEN };

/* Is the cycle still there? Every thread still in the wait it was seen in
 * (or, for a timed wait the program retries, in a new try for the same
 * lock: path updated), and every lock still owned by the next thread.
 * Nothing can have moved since: a waiting thread releases nothing. ST_GAP:
 * a retrying thread is between two tries right now. */
static int stable(struct search *s)
{
    for (int i = 0; i < s->n; i++) {
        if (!still(&s->path[i])) {
            struct wait_view v;
            if (!s->path[i].timed)
                return ST_BROKEN; /* an untimed wait ended: it got its lock */
            if (!view(s->path[i].r, &v))
                return ST_GAP;
            if (v.addr != s->path[i].addr)
                return ST_BROKEN;
            s->path[i] = v;
        }
        struct lg_thread *own[8];
        int k = owners(&s->path[i], own, 8);
        struct lg_thread *next = s->path[(i + 1) % s->n].r;
        bool owned = false;
        for (int j = 0; j < k && !owned; j++)
            owned = own[j] == next;
        if (!owned)
            return ST_BROKEN;
    }
    return ST_OK;
}

/* One report per cycle: the set of (thread, lock waited for) pairs, in any
 * order, so that a stall whose timed waits keep retrying is told once. */
static struct lg_seen reported = LG_SEEN_INIT(12);

static bool claim(const struct search *s)
{
    uint64_t h = 0;
    for (int i = 0; i < s->n; i++) /* a sum: any starting thread gives the same */
        h += lg__mix64(((uint64_t)(uintptr_t)s->path[i].r + s->path[i].r->seq) *
                           0x9e3779b97f4a7c15ull ^
                       s->path[i].addr);
    return lg__seen_first(&reported, h);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The name of another thread of this process, from /proc (raw system
 * calls: no stdio, no allocation). */
static void put_num(char *path, size_t *len, int32_t v)
{
    char num[16];
    int k = 0;
    for (; k < 15 && (v > 0 || k == 0); v /= 10)
        num[k++] = (char)('0' + v % 10);
    while (k > 0)
        path[(*len)++] = num[--k];
}

bool lg__thread_name_in(int32_t pid, int32_t tid, char name[16])
{
    char path[80] = "/proc/";
    size_t len = strlen(path);
    if (pid) {
        put_num(path, &len, pid);
    } else {
        memcpy(path + len, "self", 4);
        len += 4;
    }
    memcpy(path + len, "/task/", 6);
    len += 6;
    put_num(path, &len, tid);
    memcpy(path + len, "/comm", 6);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    long n = syscall(SYS_read, fd, name, 15);
    syscall(SYS_close, fd);
    if (n <= 0)
        return false;
    name[n] = 0;
    if (name[n - 1] == '\n')
        name[n - 1] = 0;
    return true;
}

bool lg__thread_name_of(int32_t tid, char name[16])
{
    return lg__thread_name_in(0, tid, name);
}

/* What v waits on, as a finding says it. */
static void fill_on(struct lg_wait_on *on, const struct wait_view *v)
{
    memset(on, 0, sizeof(*on));
    on->what = v->on;
    on->addr = v->addr;
    switch (v->on) {
    case LG_ON_LOCK:
        on->node = v->node;
        break;
    case LG_ON_COND:
        on->mutex = v->aux;
        break;
    case LG_ON_JOIN:
        lg__wait_join_target(on);
        break;
    case LG_ON_PROCESS:
        on->addr = 0;
        on->has_pid = v->has_aux;
        on->pid = (long)v->aux;
        break;
    default:
        break;
    }
}

/* Fill d from the thread of path entry v; `here` is set when it is the
 * caller itself, whose own stack is captured now. */
static void describe(struct lg_dl_thread *d, const struct wait_view *v, bool here,
                     const uintptr_t *pcs, const uintptr_t *cfas, int npcs, uint64_t now)
{
    struct lg_thread *r = v->r;
    d->tid = r->tid;
    d->seq = r->seq;
    if (here)
        lg__thread_name(d->name);
    else if (!thread_name_of(r->tid, d->name))
        memcpy(d->name, r->name, sizeof(d->name));
    d->waits_for = v->on == LG_ON_LOCK ? v->node : NULL;
    d->addr = v->addr;
    fill_on(&d->on, v);
    d->exclusive = v->exclusive;
    d->timed = v->timed;
    d->waited_ns = now > v->since_ns ? now - v->since_ns : 0;
    const struct lg_stack *ws = NULL, *wc = NULL;
    if (here) {
        d->stack = lg__stack_intern(pcs, npcs);
        d->stack_full = true;
    } else {
        ws = atomic_load_explicit(&r->wait.stack, memory_order_acquire);
        wc = ws ? r->wait_cfas : NULL;
        if (ws) {
            d->stack = ws;
            d->stack_full = true;
        } else {
            uintptr_t pc = v->pc;
            d->stack = lg__stack_intern(&pc, 1);
            d->stack_full = false;
        }
    }
    /* The locks it holds, with where each was taken: spliced from the stack
     * of the wait when there is one. */
    uint32_t n = r->held.n < HELD_COPY ? r->held.n : HELD_COPY;
    d->held = lg__map(n ? n * sizeof(*d->held) : 1);
    d->nheld = 0;
    for (uint32_t i = 0; d->held && i < n; i++) {
        const struct lg_held h = r->held.e[i];
        if (lg__held_is_hole(&h))
            continue;
        struct lg_dl_held *o = &d->held[d->nheld++];
        o->node = h.node;
        o->addr = h.addr;
        uintptr_t f[LG_STACK_MAX];
        int k;
        if (h.stack) {
            o->stack = h.stack;
            continue;
        }
        if (here)
            k = lg__stack_splice(h.pc, h.cfa, pcs, cfas, npcs, f, depth());
        else if (ws && wc && wc->n == ws->n)
            k = lg__stack_splice(h.pc, h.cfa, ws->pc, wc->pc, (int)ws->n, f, depth());
        else {
            f[0] = h.pc;
            k = 1;
        }
        o->stack = lg__stack_intern(f, k);
    }
}

static void report_cycle_now(struct search *s, bool from_watchdog);

/* nanosleep is a cancellation point: a thread cancelled while it collects
 * the others' stacks would leave its wait published. */
static void report_cycle(struct search *s, bool from_watchdog)
{
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    report_cycle_now(s, from_watchdog);
    pthread_setcancelstate(cancel, NULL);
}

static void report_cycle_now(struct search *s, bool from_watchdog)
{
    /* Others publish their stacks at the end of their first slice: give
     * them that long, checking all the while that the cycle holds. */
    uint64_t deadline = lg__now_ns() + 3 * LG_WAIT_SLICE_NS;
    for (;;) {
        int st = stable(s);
        if (st == ST_BROKEN)
            return; /* someone got their lock: not a deadlock after all */
        bool all = st == ST_OK;
        for (int i = 1; i < s->n && all; i++)
            all = atomic_load(&s->path[i].r->wait.stack) != NULL;
        if (all || (st == ST_OK && lg__now_ns() > deadline))
            break;
        if (lg__now_ns() > deadline + 10 * LG_WAIT_SLICE_NS)
            return; /* never seen whole again */
        sleep_ms(10);
    }
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int npcs = from_watchdog ? 0 : lg__stack_capture(pcs, cfas, depth());
    struct lg_dl_thread d[CHAIN_MAX];
    uint64_t now = lg__now_ns();
    for (int i = 0; i < s->n; i++)
        describe(&d[i], &s->path[i], i == 0 && !from_watchdog, pcs, cfas, npcs, now);
    if (stable(s) != ST_OK) /* what was read above belongs to these waits */
        goto out;
    lg__report_deadlock(d, s->n, from_watchdog, NULL);
    if (lg__alloc_failed())
        lg__report_oom();
    if (lg__opt.on_deadlock == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_deadlock=abort: aborting\n");
        abort();
    }
out:
    for (int i = 0; i < s->n; i++)
        if (d[i].held)
            lg__unmap(d[i].held, d[i].nheld ? d[i].nheld * sizeof(*d[i].held) : 1);
}

/* This thread's stack where the others can find it, with frame addresses
 * beside it for splicing. */
static void publish_stack(struct lg_thread *t)
{
    lg__thread_name(t->name); /* a system call: only for waits that matter */
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, cfas, depth());
    t->wait_cfas = lg__stack_intern(cfas, n);
    atomic_store_explicit(&t->wait.stack, lg__stack_intern(pcs, n), memory_order_release);
}

/* ---------------------------------------------------------------------- */
/* Owners that are gone.                                                   */

/* The owner of the lock v waits for, when it is gone: a thread that has
 * ended, or that is not in this process (inherited across fork); 0 when it
 * is not. A process-shared lock's owner may well be a thread of another
 * process, and a robust mutex whose owner died is handed over
 * (EOWNERDEAD): neither is looked at. The owner is read again after the
 * kernel said its thread is gone: an owner that unlocked, then ended, had
 * cleared it first. */
static int32_t gone_owner(const struct wait_view *v)
{
    if (v->on != LG_ON_LOCK || v->type == LG_TYPE_SEM)
        return 0;
    if (process_shared(v))
        return 0;
    if (v->type == LG_TYPE_MUTEX &&
        (__atomic_load_n(&((pthread_mutex_t *)v->addr)->__data.__kind, __ATOMIC_RELAXED) &
         LG_MUTEX_ROBUST_BIT))
        return 0;
    int32_t tid = owner_tid(v);
    if (tid <= 0 || tid == v->r->tid || lg__thread_by_tid(lg__gone_alias(tid)))
        return 0;
    int saved = errno;
    long rc = syscall(SYS_tgkill, (long)getpid(), (long)tid, 0L);
    bool gone = rc != 0 && errno == ESRCH;
    errno = saved;
    if (!gone || owner_tid(v) != tid || !still(v))
        return 0;
    return tid;
}

static void report_gone_now(const struct wait_view *v, int32_t tid, bool from_watchdog)
{
    struct lg_gone_owner g = {.tid = tid};
    lg__gone_find(tid, v->addr, &g);
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int npcs = from_watchdog ? 0 : lg__stack_capture(pcs, cfas, depth());
    struct lg_dl_thread d;
    describe(&d, v, !from_watchdog, pcs, cfas, npcs, lg__now_ns());
    if (still(v))
        lg__report_deadlock(&d, 1, from_watchdog, &g);
    if (d.held)
        lg__unmap(d.held, d.nheld ? d.nheld * sizeof(*d.held) : 1);
    if (lg__alloc_failed())
        lg__report_oom();
    if (lg__opt.on_deadlock == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_deadlock=abort: aborting\n");
        abort();
    }
}

/* Once per wait on a lock of a gone owner (a timed wait retried is the
 * same wait: the thread and the lock). */
static void report_gone(const struct wait_view *v, int32_t tid, bool from_watchdog)
{
    uint64_t h = lg__mix64(((uint64_t)(uintptr_t)v->r + v->r->seq) * 0x9e3779b97f4a7c15ull ^
                           v->addr ^ ((uint64_t)(uint32_t)tid << 17) ^ 0x676f6e65ull);
    if (!lg__seen_first(&reported, h))
        return;
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    report_gone_now(v, tid, from_watchdog);
    pthread_setcancelstate(cancel, NULL);
}

static void search_from(struct lg_thread *self, bool from_watchdog)
{
    struct wait_view v0;
    int32_t gone;
    if (view(self, &v0) && (gone = gone_owner(&v0)) != 0) {
        report_gone(&v0, gone, from_watchdog);
        return;
    }
    struct search s;
    if (!find_cycle(self, &s))
        return;
    /* In a cycle: whoever reports it will want this thread's stack (a
     * timed wait that keeps retrying never reaches the end of a slice). */
    if (!from_watchdog && !atomic_load(&self->wait.stack))
        publish_stack(self);
    if (stable(&s) == ST_OK && claim(&s))
        report_cycle(&s, from_watchdog);
}

/* ---------------------------------------------------------------------- */
/* A snapshot for the live dump (live.c): reads only, reports nothing.     */

bool lg__wait_snapshot(struct lg_thread *r, struct lg_wait_snap *out)
{
    memset(out, 0, sizeof(*out));
    struct wait_view v;
    if (!view(r, &v))
        return false;
    fill_on(&out->on, &v);
    out->exclusive = v.exclusive;
    out->timed = v.timed;
    uint64_t now = lg__now_ns();
    out->waited_ns = now > v.since_ns ? now - v.since_ns : 0;
    out->pc = v.pc;
    out->stack = atomic_load_explicit(&r->wait.stack, memory_order_acquire);
    if (v.on == LG_ON_LOCK) {
        int32_t tid = owner_tid(&v);
        if (tid > 0) {
            out->owner_tid = tid;
            struct lg_thread *o = owner_record(&v, tid);
            out->owner_seq = o ? o->seq : 0;
            out->owner_gone = gone_owner(&v) != 0;
        }
    } else if (v.on == LG_ON_JOIN) {
        out->owner_tid = out->on.tid;
        out->owner_seq = out->on.tseq;
    }
    struct search s;
    if (find_cycle(r, &s) && stable(&s) == ST_OK) {
        for (int i = 0; i < s.n; i++)
            out->cycle_tid[i] = s.path[i].r->tid;
        out->ncycle = s.n;
    }
    return still(&v);
}

/* ---------------------------------------------------------------------- */
/* The watchdog's round.                                                   */

static void report_long_wait(const struct wait_view *v, uint64_t now)
{
    struct lg_dl_thread waiter = {0}, owner = {0};
    describe(&waiter, v, false, NULL, NULL, 0, now);
    struct lg_thread *own[1];
    bool have_owner = owners(v, own, 1) == 1;
    const struct lg_stack *took = NULL;
    if (have_owner) {
        struct lg_thread *o = own[0];
        owner.tid = o->tid;
        owner.seq = o->seq;
        if (!thread_name_of(o->tid, owner.name))
            memcpy(owner.name, o->name, sizeof(owner.name));
        /* Where the owner took it: its held entry, read while it runs; the
         * address check keeps a stale entry out. */
        uint32_t n = o->held.n;
        for (uint32_t i = 0; i < n && i < 4096; i++) {
            struct lg_held h = o->held.e[i];
            if (h.addr == v->addr) {
                uintptr_t pc = h.pc;
                took = h.stack ? h.stack : lg__stack_intern(&pc, 1);
                break;
            }
        }
    }
    if (still(v))
        lg__report_long_wait(&waiter, have_owner ? &owner : NULL, took);
    if (waiter.held)
        lg__unmap(waiter.held, waiter.nheld ? waiter.nheld * sizeof(*waiter.held) : 1);
}

void lg__wait_scan(uint64_t long_ns)
{
    uint64_t now = lg__now_ns();
    for (struct lg_thread *r = lg__thread_all(); r; r = r->all_next) {
        struct wait_view v;
        if (!view(r, &v))
            continue;
        if (long_ns && v.on == LG_ON_LOCK && now - v.since_ns >= long_ns &&
            !atomic_exchange(&r->wait.long_reported, true))
            report_long_wait(&v, now);
        /* A cycle its own threads could not see: timed waits that keep
         * retrying are never all waiting when one of them looks. */
        search_from(r, true);
    }
}

/* ---------------------------------------------------------------------- */
/* Locks held too long: one site, one finding, with a count.               */

struct hold_site {
    _Atomic uintptr_t pc; /* 0: empty */
    atomic_uint_fast64_t count, worst_ns;
    const struct lg_node *_Atomic node;
    _Atomic(const struct lg_stack *) stack;
    int32_t tid;
    uint32_t tseq;
};

#define HOLD_BITS 12
static struct hold_site *_Atomic hold_sites;

static struct hold_site *hold_site_of(uintptr_t pc, bool *fresh)
{
    struct hold_site *t = atomic_load(&hold_sites);
    if (!t) {
        struct hold_site *m = lg__map(sizeof(*m) << HOLD_BITS), *none = NULL;
        if (!m)
            return NULL;
        if (!atomic_compare_exchange_strong(&hold_sites, &none, m)) {
            lg__unmap(m, sizeof(*m) << HOLD_BITS);
            m = none;
        }
        t = m;
    }
    uint32_t mask = (1u << HOLD_BITS) - 1;
    uint32_t i = (uint32_t)((pc * 0x9e3779b97f4a7c15ull) >> 40) & mask;
    for (uint32_t probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
        uintptr_t v = atomic_load(&t[i].pc);
        if (v == pc) {
            *fresh = false;
            return &t[i];
        }
        if (v == 0) {
            if (atomic_compare_exchange_strong(&t[i].pc, &v, pc)) {
                *fresh = true;
                return &t[i];
            }
            if (v == pc) {
                *fresh = false;
                return &t[i];
            }
        }
    }
    return NULL;
}

void lg__hold_check(struct lg_thread *t, const struct lg_held *h)
{
    if (!h->since_ns)
        return;
    uint64_t held = lg__now_ns() - h->since_ns;
    if (held < (uint64_t)lg__opt.hold_warn_ms * 1000000ull)
        return;
    bool fresh = false;
    struct hold_site *s = hold_site_of(h->pc, &fresh);
    if (!s)
        return;
    atomic_fetch_add(&s->count, 1);
    uint64_t w = atomic_load(&s->worst_ns);
    while (held > w && !atomic_compare_exchange_weak(&s->worst_ns, &w, held))
        ;
    if (!fresh)
        return;
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX], f[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, cfas, depth());
    int k = h->stack ? 0 : lg__stack_splice(h->pc, h->cfa, pcs, cfas, n, f, depth());
    const struct lg_stack *where = h->stack ? h->stack : lg__stack_intern(f, k);
    s->tid = t->tid;
    s->tseq = t->seq;
    atomic_store(&s->node, h->node);
    atomic_store(&s->stack, where);
    lg__report_long_hold(t->tid, t->seq, h->node, h->addr, where, held, 1, held, false);
}

void lg__hold_flush(void)
{
    struct hold_site *t = atomic_load(&hold_sites);
    for (uint32_t i = 0; t && i < (1u << HOLD_BITS); i++) {
        uint64_t count = atomic_load(&t[i].count);
        if (atomic_load(&t[i].pc) && count > 1 && atomic_load(&t[i].stack))
            lg__report_long_hold(t[i].tid, t[i].tseq, atomic_load(&t[i].node),
                                 atomic_load(&t[i].node) ? atomic_load(&t[i].node)->addr : 0,
                                 atomic_load(&t[i].stack), 0, count,
                                 atomic_load(&t[i].worst_ns), true);
    }
}
