/*
 * reclaim.c - grace periods for lock-free readers (see reclaim.h).
 *
 * Each thread record has a counter, `rcu`, odd while the thread is inside
 * lockgraph (lg__enter .. lg__leave, minus the blocking calls it makes for
 * the program). Retired objects collect in `pending`; when enough have
 * collected, they become the batch in grace: one membarrier makes every
 * thread's counter current, and each thread seen inside (odd) is noted with
 * the value seen. The batch is done when each noted thread has shown a
 * different value (it left) or is no longer alive. This is quiescent-state
 * based reclamation with an asymmetric fence, as in liburcu's membarrier
 * flavour; the difference is that nobody waits for it.
 *
 * Locking: reclaim_lock, a leaf apart from alloc.
 */
#include "reclaim.h"
#include "alloc.h"
#include "sync.h"
#include "thread.h"

#include <linux/membarrier.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BATCH 512 /* retirements per grace period */

bool lg__reclaim_reader_fence;
static bool have_membarrier;

#define reclaim_lock (lg__locks.reclaim)
static struct lg_retired *pending, *grace;
static uint32_t npending, ngrace;
static atomic_uint_fast64_t outstanding;

/* The threads the batch in grace waits for, and the counter seen. */
struct waiter {
    struct lg_thread *t;
    uint32_t seen;
};
static struct waiter *waiters;
static uint32_t nwaiters, capwaiters;

void lg__reclaim_init(void)
{
    long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    have_membarrier = q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    lg__reclaim_reader_fence = !have_membarrier;
}

static bool broken; /* membarrier failed after working: reclaim nothing more */

/* Every thread's earlier stores are visible to us after this; false when
 * that cannot be made sure of. */
static bool fence_all(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (!have_membarrier)
        return true; /* readers fence themselves */
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        broken = true;
    return !broken;
}

static bool grow_waiters(void)
{
    uint32_t cap = capwaiters ? capwaiters * 2 : 64;
    struct waiter *w = lg__alloc(cap * sizeof(*w));
    if (!w)
        return false;
    for (uint32_t i = 0; i < nwaiters; i++)
        w[i] = waiters[i];
    if (waiters)
        lg__free(waiters, capwaiters * sizeof(*waiters));
    waiters = w;
    capwaiters = cap;
    return true;
}

/* Start the grace period of what is pending. reclaim_lock held; grace empty. */
static void close_batch(void)
{
    if (!pending || !fence_all())
        return; /* (broken: what is retired stays allocated, never unsafe) */
    grace = pending;
    ngrace = npending;
    pending = NULL;
    npending = 0;
    nwaiters = 0;
    for (struct lg_thread *t = lg__thread_all(); t; t = t->all_next) {
        if (!lg__thread_live(t))
            continue;
        uint32_t v = atomic_load_explicit(&t->rcu, memory_order_acquire);
        if (!(v & 1))
            continue;
        if (nwaiters == capwaiters && !grow_waiters()) {
            /* Cannot track them all: keep the batch pending. */
            pending = grace;
            npending = ngrace;
            grace = NULL;
            ngrace = 0;
            return;
        }
        waiters[nwaiters].t = t;
        waiters[nwaiters].seen = v;
        nwaiters++;
    }
}

/* Has every waiter left? Drops those that have. reclaim_lock held. */
static bool grace_over(void)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < nwaiters; i++) {
        struct lg_thread *t = waiters[i].t;
        if (lg__thread_live(t) &&
            atomic_load_explicit(&t->rcu, memory_order_acquire) == waiters[i].seen)
            waiters[k++] = waiters[i];
    }
    nwaiters = k;
    return k == 0;
}

static void run(struct lg_retired *list)
{
    while (list) {
        struct lg_retired *next = list->next;
        __builtin_prefetch(next); /* (cold by now: the list is old) */
        list->done(list);
        atomic_fetch_sub(&outstanding, 1);
        list = next;
    }
}

/* One step: finish the batch in grace if it is over, and start the next
 * when enough is pending (or when force). */
static void step(bool force)
{
    struct lg_retired *done = NULL;
    lg__lock(&reclaim_lock);
    if (grace && grace_over()) {
        done = grace;
        grace = NULL;
        ngrace = 0;
    }
    if (!grace && (npending >= BATCH || (force && npending)))
        close_batch();
    lg__unlock(&reclaim_lock);
    run(done);
}

void lg__retire(struct lg_retired *r, void (*done)(struct lg_retired *))
{
    lg__retire_weighted(r, done, 1);
}

void lg__retire_weighted(struct lg_retired *r, void (*done)(struct lg_retired *), uint32_t weight)
{
    r->done = done;
    atomic_fetch_add(&outstanding, 1);
    lg__lock(&reclaim_lock);
    r->next = pending;
    pending = r;
    npending += weight;
    bool full = npending >= BATCH;
    lg__unlock(&reclaim_lock);
    if (full)
        step(false);
}

struct block {
    struct lg_retired r;
    void *p;
    size_t size;
};

static void block_done(struct lg_retired *r)
{
    struct block *b = (struct block *)r;
    lg__free(b->p, b->size);
    lg__free(b, sizeof(*b));
}

void lg__retire_block(void *p, size_t size)
{
    if (!p)
        return;
    struct block *b = lg__alloc(sizeof(*b));
    if (!b)
        return; /* leaked: safer than freeing under a reader */
    b->p = p;
    b->size = size;
    lg__retire(&b->r, block_done);
}

void lg__reclaim_poll(void)
{
    /* Cheap when there is nothing to do: no lock. A batch in grace is
     * looked at every 32nd call of a thread: threads leave their sections
     * all the time, and a look takes the lock. */
    static __thread uint32_t calls LG_TLS;
    if (!__atomic_load_n(&grace, __ATOMIC_RELAXED) &&
        __atomic_load_n(&npending, __ATOMIC_RELAXED) < BATCH)
        return;
    if (__atomic_load_n(&npending, __ATOMIC_RELAXED) < 2 * BATCH && (++calls & 31))
        return;
    step(false);
}

bool lg__reclaim_drain(void)
{
    for (int i = 0; i < 20000 && atomic_load(&outstanding); i++) {
        step(true);
        if (atomic_load(&outstanding)) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    return atomic_load(&outstanding) == 0;
}

uint64_t lg__reclaim_pending(void)
{
    return atomic_load(&outstanding);
}

void lg__reclaim_lock_all(void)
{
    lg__lock(&reclaim_lock);
}

void lg__reclaim_unlock_all(void)
{
    lg__unlock(&reclaim_lock);
}

void lg__reclaim_reset_child(void)
{
    lg__lock_reset(&reclaim_lock);
    /* What the parent had retired stays where it is, given back never: a
     * child (often one that only execs) must not begin by walking the
     * parent's backlog, which can be hundreds of thousands of records when
     * other threads were making and dropping locks, all run at once here
     * since the threads it waited for are gone (seconds on the child's
     * first lock call: sc_fork_kinds under jemalloc saw children time out
     * this way). Leaked in the child, bounded by the parent's backlog. */
    pending = grace = NULL;
    npending = ngrace = 0;
    atomic_store(&outstanding, 0);
    nwaiters = 0;
    if (have_membarrier)
        (void)syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}
