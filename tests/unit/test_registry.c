/*
 * test_registry.c - address -> lock instance: first use, init, destroy,
 * reuse of an address, ranges freed, concurrent first use and churn from many
 * threads (inside read sections, as the shims are), and memory that follows
 * the live locks: instances given back after a grace period are reused.
 */
#include "unit.h"

#include "class.h"
#include "reclaim.h"
#include "registry.h"
#include "runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Threads of the tests read the registry the way the shims do: inside a
 * read section of their own thread record. */
static struct lg_thread *section_enter(void)
{
    lg__busy = 1;
    struct lg_thread *t = lg__self;
    if (!t)
        t = lg__thread_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    lg__section_step(t, memory_order_relaxed);
    return t;
}

static void section_leave(struct lg_thread *t)
{
    lg__section_step(t, memory_order_release);
    lg__busy = 0;
}

/* A class that outlives its locks (as a site class does), without symbol
 * lookups: a name class. */
static struct lg_class *site(uintptr_t pc)
{
    char name[32];
    snprintf(name, sizeof(name), "test-class-%lx", (unsigned long)pc);
    return lg__class_for_name(name, LG_TYPE_MUTEX, LG_MODE_NORMAL);
}

static void test_first_use_and_lookup(void)
{
    struct lg_thread *t = section_enter();
    uintptr_t a = 0x7000100;
    CU_ASSERT_PTR_NULL(lg__registry_lookup(a));
    struct lg_node *n = lg__registry_get(a, LG_TYPE_MUTEX, LG_MODE_RECURSIVE, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_EQUAL(n->addr, a);
    CU_ASSERT_EQUAL(n->mode, LG_MODE_RECURSIVE);
    CU_ASSERT_FALSE(n->created);
    /* Never initialized: a class of its own, made when first needed. */
    CU_ASSERT_PTR_NULL(atomic_load(&n->klass));
    struct lg_class *k = lg__registry_class(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL(k->kind, LG_CLASS_ADDR);
    CU_ASSERT_EQUAL(k->key, a);
    CU_ASSERT_EQUAL(k->mode, LG_MODE_RECURSIVE);
    CU_ASSERT_PTR_EQUAL(atomic_load(&n->klass), k);
    CU_ASSERT_PTR_EQUAL(lg__registry_class(n), k); /* once */
    CU_ASSERT_PTR_EQUAL(lg__registry_lookup(a), n);
    CU_ASSERT_PTR_EQUAL(lg__registry_get(a, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL), n);
    section_leave(t);
}

static void test_reuse_gets_new_identity(void)
{
    struct lg_thread *t = section_enter();
    uintptr_t a = 0x7000200;
    struct lg_class *k = site(0x4242);
    lg__class_hold(k); /* (one lock of it elsewhere) */
    struct lg_node *n1 = lg__registry_create(a, LG_TYPE_MUTEX, LG_MODE_NORMAL, k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n1);
    CU_ASSERT_TRUE(n1->created);
    CU_ASSERT_EQUAL(atomic_load(&k->made), 2);
    CU_ASSERT_TRUE(lg__registry_retire(n1));
    CU_ASSERT_FALSE(lg__registry_retire(n1)); /* once */
    CU_ASSERT_TRUE(atomic_load(&n1->dead));
    CU_ASSERT_EQUAL(atomic_load(&k->made), 2); /* made, not alive */
    CU_ASSERT_PTR_NULL(lg__registry_lookup(a));
    struct lg_node *n2 = lg__registry_get(a, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n2);
    CU_ASSERT_NOT_EQUAL(n1->id, n2->id);
    /* init over a live lock (no destroy) also makes a new one; the old
     * one's addr class goes with it */
    struct lg_class *k2 = lg__registry_class(n2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k2);
    struct lg_node *n3 = lg__registry_create(a, LG_TYPE_MUTEX, LG_MODE_ERRORCHECK, k);
    CU_ASSERT_TRUE(atomic_load(&n2->dead));
    CU_ASSERT_TRUE(atomic_load(&k2->dead));
    CU_ASSERT_NOT_EQUAL(n3->id, n2->id);
    CU_ASSERT_PTR_EQUAL(lg__registry_lookup(a), n3);
    section_leave(t);
}

/* A lock gone before its class was ever needed gets none. */
static void test_no_class_once_gone(void)
{
    struct lg_thread *t = section_enter();
    struct lg_node *n = lg__registry_get(0x7000300, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    uint64_t classes = lg__class_count();
    CU_ASSERT_TRUE(lg__registry_retire(n));
    CU_ASSERT_PTR_NULL(lg__registry_class(n));
    CU_ASSERT_PTR_NULL(atomic_load(&n->klass));
    CU_ASSERT_EQUAL(lg__class_count(), classes);
    section_leave(t);
}

static void count_one(struct lg_node *n, void *arg)
{
    (void)n;
    (*(int *)arg)++;
}

static void test_range_retire(void)
{
    struct lg_thread *t = section_enter();
    uintptr_t base = 0x31000000;
    for (int i = 0; i < 100; i++)
        CU_ASSERT_PTR_NOT_NULL(
            lg__registry_get(base + (uintptr_t)i * 40, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL));
    CU_ASSERT_TRUE(lg__registry_any_in(base, base + 4000));
    CU_ASSERT_FALSE(lg__registry_any_in(base + 0x100000, base + 0x200000));
    /* [base + 400, base + 1200): locks 10 .. 29 */
    int seen = 0;
    CU_ASSERT_EQUAL(lg__registry_retire_range(base + 400, base + 1200, count_one, &seen), 20);
    CU_ASSERT_EQUAL(seen, 20);
    CU_ASSERT_PTR_NOT_NULL(lg__registry_lookup(base + 9 * 40));
    CU_ASSERT_PTR_NULL(lg__registry_lookup(base + 10 * 40));
    CU_ASSERT_PTR_NULL(lg__registry_lookup(base + 29 * 40));
    CU_ASSERT_PTR_NOT_NULL(lg__registry_lookup(base + 30 * 40));
    /* a huge range: everything else */
    CU_ASSERT_EQUAL(lg__registry_retire_range(base, base + (1ull << 40), NULL, NULL), 80);
    CU_ASSERT_FALSE(lg__registry_any_in(base, base + 4000));
    section_leave(t);
}

enum { THREADS = 8, ADDRS = 5000 };
static struct lg_node *seen[THREADS][ADDRS];
static struct lg_class *seen_class[THREADS][ADDRS];

static void *racer(void *arg)
{
    long k = (long)arg;
    struct lg_thread *t = section_enter();
    for (int i = 0; i < ADDRS; i++)
        seen[k][i] = lg__registry_get(0x9000000 + (uintptr_t)i * 8, LG_TYPE_MUTEX,
                                      LG_MODE_NORMAL, NULL);
    /* and all need its class at once: one is made, all get it */
    for (int i = 0; i < ADDRS; i++)
        seen_class[k][i] = seen[k][i] ? lg__registry_class(seen[k][i]) : NULL;
    section_leave(t);
    lg__thread_exit(t);
    return NULL;
}

static void test_concurrent_first_use(void)
{
    pthread_t t[THREADS];
    for (long k = 0; k < THREADS; k++)
        pthread_create(&t[k], NULL, racer, (void *)k);
    for (int k = 0; k < THREADS; k++)
        pthread_join(t[k], NULL);
    int same = 1;
    for (int i = 0; i < ADDRS; i++)
        for (int k = 1; k < THREADS; k++)
            same &= seen[k][i] == seen[0][i] && seen[0][i] != NULL &&
                    seen_class[k][i] == seen_class[0][i] && seen_class[0][i] != NULL &&
                    atomic_load(&seen[0][i]->klass) == seen_class[0][i];
    CU_ASSERT_TRUE(same);
}

/* Many threads make, look up and destroy locks at once (the table grows
 * and is replaced under them); every lookup finds the thread's own live
 * lock, and the instances go back to be reused. */
static void *churner(void *arg)
{
    long k = (long)arg;
    struct lg_thread *t = section_enter();
    struct lg_class *c = site(0x5000 + (uintptr_t)k);
    uintptr_t base = 0x40000000 + (uintptr_t)k * 0x1000000;
    int bad = 0;
    for (int round = 0; round < 40; round++) {
        struct lg_node *mine[500];
        for (int i = 0; i < 500; i++)
            mine[i] = lg__registry_create(base + (uintptr_t)i * 64, LG_TYPE_MUTEX,
                                          LG_MODE_NORMAL, c);
        for (int i = 0; i < 500; i++)
            bad += lg__registry_lookup(base + (uintptr_t)i * 64) != mine[i];
        for (int i = 0; i < 500; i++)
            bad += !lg__registry_retire(mine[i]);
        /* between rounds, step out: grace periods can end */
        section_leave(t);
        lg__reclaim_poll();
        t = section_enter();
    }
    section_leave(t);
    lg__thread_exit(t);
    return (void *)(long)bad;
}

static void test_concurrent_churn(void)
{
    pthread_t t[4];
    for (long k = 0; k < 4; k++)
        pthread_create(&t[k], NULL, churner, (void *)k);
    long bad = 0;
    for (int k = 0; k < 4; k++) {
        void *r;
        pthread_join(t[k], &r);
        bad += (long)r;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_TRUE(lg__reclaim_drain());
    CU_ASSERT_EQUAL(lg__reclaim_pending(), 0);
}

/* Memory follows the live locks: after a grace period a retired instance
 * is reused, so making and destroying 100,000 locks keeps reusing a few. */
static void test_instances_reused(void)
{
    struct lg_thread *t = section_enter();
    struct lg_class *c = site(0x6000);
    uint64_t before = lg__registry_live_count();
    struct lg_node *first = NULL;
    int reused = 0;
    for (int i = 0; i < 100000; i++) {
        struct lg_node *n = lg__registry_create(0x50000000 + (uintptr_t)(i % 7) * 64,
                                                LG_TYPE_MUTEX, LG_MODE_NORMAL, c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        if (!first)
            first = n;
        else
            reused += n == first;
        lg__registry_retire(n);
        if (i % 1000 == 0) {
            section_leave(t);
            lg__reclaim_drain();
            t = section_enter();
        }
    }
    CU_ASSERT(reused > 0);
    CU_ASSERT_EQUAL(lg__registry_live_count(), before);
    section_leave(t);
}

static void test_many_addresses(void)
{
    struct lg_thread *t = section_enter();
    /* 300k keeps it quick. */
    for (uintptr_t i = 0; i < 300000; i++)
        CU_ASSERT_PTR_NOT_NULL(
            lg__registry_get(0x20000000 + i * 48, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL));
    int ok = 1;
    for (uintptr_t i = 0; i < 300000; i++)
        ok &= lg__registry_lookup(0x20000000 + i * 48) != NULL;
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(lg__registry_retire_range(0x20000000, 0x20000000 + 300000 * 48, NULL, NULL),
                    300000);
    section_leave(t);
}

/* A fork child starts with nothing of its parent's retired backlog to walk:
 * with other threads making and dropping locks, the backlog could be
 * hundreds of thousands of records, all run at the child's first lock call
 * (sc_fork_kinds under jemalloc timed out that way). */
static void test_fork_child_backlog(void)
{
    struct lg_thread *t = section_enter();
    struct lg_class *c = site(0x7000);
    /* a section stays open: nothing retired below can finish its grace */
    for (int i = 0; i < 5000; i++) {
        struct lg_node *n = lg__registry_create(0x60000000 + (uintptr_t)i * 64, LG_TYPE_MUTEX,
                                                LG_MODE_NORMAL, c);
        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        lg__registry_retire(n);
    }
    lg__registry_thread_done(t); /* the parked instances go into the backlog */
    CU_ASSERT(lg__reclaim_pending() > 0);
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        lg__reclaim_reset_child();
        _exit(lg__reclaim_pending() == 0 ? 0 : 1);
    }
    int st = 0;
    CU_ASSERT_EQUAL(waitpid(p, &st, 0), p);
    CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    section_leave(t);
    CU_ASSERT_TRUE(lg__reclaim_drain());
}

/* A fork child has only the thread that forked. The records the parent's
 * other threads left behind are not live there (one of them inside a read
 * section at the fork must not hold up the child's grace periods), while
 * the forking thread's own record is; and the child tells them apart
 * without writing the parent's records (fork_gen, thread.c), each a page
 * it would otherwise copy. */
static pthread_mutex_t inside_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inside_cv = PTHREAD_COND_INITIALIZER;
static int inside_state; /* 1: in its section; 2: leave it */
static struct lg_thread *inside_rec;

static void *stay_inside(void *arg)
{
    struct lg_thread *t = section_enter();
    pthread_mutex_lock(&inside_mu);
    inside_rec = t;
    inside_state = 1;
    pthread_cond_broadcast(&inside_cv);
    while (inside_state != 2)
        pthread_cond_wait(&inside_cv, &inside_mu);
    pthread_mutex_unlock(&inside_mu);
    section_leave(t);
    return arg;
}

static void test_fork_child_parent_threads(void)
{
    pthread_t th;
    inside_state = 0;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, stay_inside, NULL), 0);
    pthread_mutex_lock(&inside_mu);
    while (inside_state != 1)
        pthread_cond_wait(&inside_cv, &inside_mu);
    pthread_mutex_unlock(&inside_mu);
    struct lg_thread *t = section_enter();
    section_leave(t);
    CU_ASSERT_TRUE(lg__thread_live(inside_rec));
    CU_ASSERT_TRUE(lg__thread_live(t));
    uint32_t inside_rcu = atomic_load(&inside_rec->rcu);
    CU_ASSERT_TRUE(inside_rcu & 1);
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        lg__thread_reset_child(lg__self);
        lg__reclaim_reset_child();
        int bad = 0;
        if (lg__thread_live(inside_rec))
            bad |= 1;
        if (!lg__thread_live(lg__self))
            bad |= 2;
        struct lg_thread *c = section_enter();
        struct lg_node *n = lg__registry_create(0x61000000, LG_TYPE_MUTEX, LG_MODE_NORMAL,
                                                site(0x7100));
        if (n)
            lg__registry_retire(n);
        else
            bad |= 4;
        lg__registry_thread_done(c);
        section_leave(c);
        if (!lg__reclaim_drain()) /* about 2 s, then false */
            bad |= 8;
        /* nothing of the parent's thread's record was written here */
        if (atomic_load(&inside_rec->rcu) != inside_rcu || !atomic_load(&inside_rec->live))
            bad |= 16;
        _exit(bad);
    }
    int st = 0;
    CU_ASSERT_EQUAL(waitpid(p, &st, 0), p);
    CU_ASSERT_TRUE(WIFEXITED(st));
    CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
    pthread_mutex_lock(&inside_mu);
    inside_state = 2;
    pthread_cond_broadcast(&inside_cv);
    pthread_mutex_unlock(&inside_mu);
    pthread_join(th, NULL);
}

void lg_suite_registry(void)
{
    CU_pSuite s = CU_add_suite("registry", NULL, NULL);
    lg_add_test(s, "first use creates, lookup finds", test_first_use_and_lookup);
    lg_add_test(s, "destroyed or re-initialized address gets a new identity",
                test_reuse_gets_new_identity);
    lg_add_test(s, "a lock gone before its class was needed gets none", test_no_class_once_gone);
    lg_add_test(s, "a freed range retires exactly its locks", test_range_retire);
    lg_add_test(s, "8 threads racing on first use and its class agree",
                test_concurrent_first_use);
    lg_add_test(s, "4 threads making and destroying locks at once", test_concurrent_churn);
    lg_add_test(s, "retired instances are reused after a grace period", test_instances_reused);
    lg_add_test(s, "300,000 addresses", test_many_addresses);
    lg_add_test(s, "a fork child starts without the parent's backlog", test_fork_child_backlog);
    lg_add_test(s, "a fork child: the parent's other threads are not live, unwritten",
                test_fork_child_parent_threads);
}
