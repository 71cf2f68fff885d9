/*
 * thread.c - per-thread records: creation at first lock, numbering, reuse.
 *
 * Records of ended threads go to a free list and are reused, so a program
 * that starts a thread per request does not grow lockgraph's memory.
 *
 * Locking: threads_lock guards the free list; it is taken after report and
 * before alloc (sync.h).
 */

#include "thread.h"
#include "alloc.h"
#include "sync.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__thread struct lg_tls lg__tls LG_TLS;

#define threads_lock (lg__locks.threads)
static struct lg_thread *free_records;
static _Atomic(struct lg_thread *) all_records;

/* tid -> live record, for the wait-for chain: a mapping as big as the
 * largest pid_max Linux allows, of which only the pages of tids in use are
 * ever touched. */
#define TID_MAX (1 << 22)
static _Atomic(struct lg_thread *) *by_tid;

static _Atomic(struct lg_thread *) *tid_map(void)
{
    _Atomic(struct lg_thread *) *m = atomic_load_explicit(&by_tid, memory_order_acquire);
    if (m)
        return m;
    _Atomic(struct lg_thread *) *fresh = lg__map(TID_MAX * sizeof(*fresh)), *none = NULL;
    if (!fresh)
        return NULL;
    if (!atomic_compare_exchange_strong(&by_tid, &none, fresh)) {
        lg__unmap(fresh, TID_MAX * sizeof(*fresh));
        return none;
    }
    return fresh;
}

static void tid_set(int32_t tid, struct lg_thread *t, struct lg_thread *expect)
{
    _Atomic(struct lg_thread *) *m = tid_map();
    if (m && tid > 0 && tid < TID_MAX)
        atomic_compare_exchange_strong(&m[tid], &expect, t);
}

struct lg_thread *lg__thread_by_tid(int32_t tid)
{
    _Atomic(struct lg_thread *) *m = atomic_load_explicit(&by_tid, memory_order_acquire);
    if (!m || tid <= 0 || tid >= TID_MAX)
        return NULL;
    return atomic_load_explicit(&m[tid], memory_order_acquire);
}

struct lg_thread *lg__thread_all(void)
{
    return atomic_load_explicit(&all_records, memory_order_acquire);
}
_Atomic uint32_t lg__fork_gen;
static atomic_uint next_seq = 1;
static pthread_key_t exit_key;
static bool have_key;

int lg__thread_key_init(void (*destructor)(void *))
{
    if (pthread_key_create(&exit_key, destructor) != 0)
        return -1;
    have_key = true;
    return 0;
}

struct lg_thread *lg__thread_create(void)
{
    if (lg__self == LG_THREAD_GONE)
        return NULL;
    struct lg_thread *t = NULL;
    lg__lock(&threads_lock);
    if (free_records) {
        t = free_records;
        free_records = t->next_free;
    }
    lg__unlock(&threads_lock);
    bool fresh = !t;
    if (!t)
        t = lg__alloc(sizeof(*t));
    if (!t)
        return NULL;
    if (fresh) {
        /* Zero already, and left so: its pages are made as the thread uses
         * them (22 KiB, most of it the two caches), and the first touch of
         * the header is a write (a read first would cost a second fault). */
        atomic_store(&t->rcu, 0);
        lg__held_init(&t->held);
    } else {
        /* A reused record keeps its grown held storage, its index's mapping
         * (not in use: imask is 0) and its place in the list of all
         * records; other threads may be reading them. */
        struct lg_held *e = t->held.e;
        uint32_t cap = t->held.cap;
        struct lg_held_index *index = t->held.index;
        uint32_t icap = t->held.icap;
        struct lg_thread *all_next = t->all_next;
        uint64_t wseq = atomic_load(&t->wait.seq);
        uint32_t rcu = atomic_load(&t->rcu);
        memset(t, 0, sizeof(*t));
        /* A grace period may be waiting on this record's counter: keep it
         * moving, never back (an even value: outside). */
        atomic_store(&t->rcu, (rcu + 1) & ~1u);
        lg__held_init(&t->held);
        if (e && e != t->held.first) {
            t->held.e = e;
            t->held.cap = cap;
        }
        t->held.index = index;
        t->held.icap = icap;
        t->all_next = all_next;
        atomic_store(&t->wait.seq, wseq + 2); /* even: not waiting; new owner */
    }
    t->tid = (int32_t)syscall(SYS_gettid);
    t->pthread = (uintptr_t)pthread_self();
    t->seq = atomic_fetch_add(&next_seq, 1);
    atomic_store_explicit(&t->fork_gen, atomic_load_explicit(&lg__fork_gen, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store(&t->live, true);
    if (fresh) {
        struct lg_thread *old = atomic_load(&all_records);
        do
            t->all_next = old;
        while (!atomic_compare_exchange_weak(&all_records, &old, t));
    }
    tid_set(t->tid, t, NULL);
    if (have_key)
        pthread_setspecific(exit_key, t);
    lg__self = t;
    return t;
}

void lg__thread_exit(struct lg_thread *t)
{
    atomic_store(&t->live, false);
    tid_set(t->tid, NULL, t);
    lg__held_release(&t->held);
    lg__lock(&threads_lock);
    t->next_free = free_records;
    free_records = t;
    lg__unlock(&threads_lock);
}

void lg__thread_reset_child(struct lg_thread *self)
{
    (void)self;
    lg__lock_reset(&threads_lock);
    /* Records of the parent's other threads are simply left behind: their
     * threads do not exist here and will never use them. */
    /* The tid map still names the parent's threads: forget them. */
    _Atomic(struct lg_thread *) *m = atomic_load(&by_tid);
    if (m) {
        lg__unmap(m, TID_MAX * sizeof(*m));
        atomic_store(&by_tid, NULL);
    }
    /* The parent's other threads' records stay as they are, unwritten:
     * made live in an earlier generation, they are not live here. */
    uint32_t gen = atomic_load_explicit(&lg__fork_gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&lg__fork_gen, gen, memory_order_relaxed);
    if (self && self != LG_THREAD_GONE) {
        atomic_store_explicit(&self->fork_gen, gen, memory_order_relaxed);
        self->tid = (int32_t)syscall(SYS_gettid);
        tid_set(self->tid, self, NULL);
    }
}

void lg__thread_name(char name[16])
{
    memset(name, 0, 16);
    if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0)
        name[0] = 0;
    name[15] = 0;
}

void lg__thread_name_recent(struct lg_thread *t, char name[16])
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    if (!t->name_ns || now - t->name_ns > 100000000ull) {
        lg__thread_name(t->name);
        t->name_ns = now ? now : 1;
    }
    memcpy(name, t->name, 16);
}

void lg__thread_lock_all(void)
{
    lg__lock(&threads_lock);
}

void lg__thread_unlock_all(void)
{
    lg__unlock(&threads_lock);
}

bool lg__own_thread_start(void *(*body)(void *))
{
    pthread_attr_t attr;
    pthread_t th;
    int saved = lg__busy;
    lg__busy = 1;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    bool ok = pthread_create(&th, &attr, body, NULL) == 0;
    pthread_attr_destroy(&attr);
    lg__busy = saved;
    return ok;
}

void lg__own_thread_enter(const char *name)
{
    lg__busy = 1;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    prctl(PR_SET_NAME, name, 0, 0, 0);
}
