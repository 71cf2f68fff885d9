/*
 * test_sem.c - which semaphores are locks (sem.h), and the gone owners'
 * records (gone.h).
 */
#include "unit.h"

#include "gone.h"
#include "graph.h"
#include "options.h"
#include "registry.h"
#include "sem.h"
#include "stack.h"

#include <string.h>

static void test_made_with_one_is_a_lock(void)
{
    CU_ASSERT_TRUE(lg__sem_created(0x1000, 1, NULL));
    CU_ASSERT_TRUE(lg__sem_is_lock(0x1000));
    CU_ASSERT_FALSE(lg__sem_hold_stale(0x1000));
    CU_ASSERT_FALSE(lg__sem_created(0x2000, 0, NULL)); /* a signal */
    CU_ASSERT_FALSE(lg__sem_created(0x3000, 5, NULL)); /* a counter */
    CU_ASSERT_FALSE(lg__sem_is_lock(0x2000));
    CU_ASSERT_FALSE(lg__sem_is_lock(0x3000));
    CU_ASSERT_FALSE(lg__sem_is_lock(0x4000)); /* never seen: a counter */
    CU_ASSERT_FALSE(lg__sem_hold_stale(0x4000));
    lg__sem_destroyed(0x1000);
    lg__sem_destroyed(0x2000);
    lg__sem_destroyed(0x3000);
    CU_ASSERT_FALSE(lg__sem_is_lock(0x1000));
}

static void test_a_post_by_another_thread_makes_a_counter(void)
{
    CU_ASSERT_TRUE(lg__sem_created(0x5000, 1, NULL));
    lg__sem_not_lock(0x5000);
    CU_ASSERT_FALSE(lg__sem_is_lock(0x5000));
    CU_ASSERT_TRUE(lg__sem_hold_stale(0x5000)); /* a hold taken before means nothing */
    CU_ASSERT_TRUE(atomic_load(&lg__sem_stale_seen));
    /* made again at the same address: a lock again */
    CU_ASSERT_TRUE(lg__sem_created(0x5000, 1, NULL));
    CU_ASSERT_TRUE(lg__sem_is_lock(0x5000));
    lg__sem_destroyed(0x5000);
}

static void test_names(void)
{
    CU_ASSERT_TRUE(lg__sem_created(0x6000, 1, "/jobs"));
    CU_ASSERT_STRING_EQUAL(lg__sem_name(0x6000), "/jobs");
    CU_ASSERT_TRUE(lg__sem_known(0x6000, "/jobs"));
    CU_ASSERT_FALSE(lg__sem_known(0x6000, "/other")); /* the mapping reused for another */
    CU_ASSERT_PTR_NULL(lg__sem_name(0x7000));
    lg__sem_destroyed(0x6000);
    CU_ASSERT_FALSE(lg__sem_known(0x6000, NULL));
}

/* Thousands made and destroyed at ever new addresses: the table reuses
 * its slots, and every live one is still found. */
static void test_churn(void)
{
    for (uintptr_t a = 0x100000; a < 0x100000 + 200000 * 64; a += 64) {
        CU_ASSERT_TRUE_FATAL(lg__sem_created(a, 1, NULL));
        CU_ASSERT_TRUE_FATAL(lg__sem_is_lock(a));
        if (a >= 0x100000 + 64 * 100) /* keep the first hundred alive */
            lg__sem_destroyed(a);
    }
    for (uintptr_t a = 0x100000; a < 0x100000 + 64 * 100; a += 64) {
        CU_ASSERT_TRUE(lg__sem_is_lock(a));
        lg__sem_destroyed(a);
    }
}

static void test_gone_records(void)
{
    lg__opt.stack_depth = 16;
    struct lg_thread t;
    memset(&t, 0, sizeof t);
    lg__held_init(&t.held);
    t.tid = 4242;
    t.seq = 7;
    struct lg_held *h = lg__held_slot(&t.held);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    if (!h)
        return;
    memset(h, 0, sizeof *h);
    h->addr = 0xabc0;
    h->count = 1;
    h->pc = (uintptr_t)&test_gone_records;
    lg__gone_thread_ending(&t);
    struct lg_gone_owner g;
    memset(&g, 0, sizeof g);
    CU_ASSERT_TRUE(lg__gone_find(4242, 0xabc0, &g));
    CU_ASSERT_EQUAL(g.tid, 4242);
    CU_ASSERT_EQUAL(g.seq, 7);
    CU_ASSERT_EQUAL(g.why, LG_GONE_ENDED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g.took);
    CU_ASSERT_EQUAL(g.took->pc[0], (uintptr_t)&test_gone_records);
    CU_ASSERT_PTR_NOT_NULL(g.where);
    /* the same thread, another lock: named, but where it took it unknown */
    memset(&g, 0, sizeof g);
    CU_ASSERT_FALSE(lg__gone_find(4242, 0xdef0, &g));
    CU_ASSERT_EQUAL(g.seq, 7);
    CU_ASSERT_PTR_NULL(g.took);
    /* a thread never seen */
    memset(&g, 0, sizeof g);
    CU_ASSERT_FALSE(lg__gone_find(99999, 0xabc0, &g));
    CU_ASSERT_EQUAL(g.seq, 0);
    CU_ASSERT_EQUAL(lg__gone_alias(4242), 4242); /* no fork: no alias */
    lg__held_release(&t.held);
}

void lg_suite_sem(void)
{
    CU_pSuite s = CU_add_suite("sem", NULL, NULL);
    lg_add_test(s, "a semaphore made with 1 is a lock, others are counters",
                test_made_with_one_is_a_lock);
    lg_add_test(s, "a post by another thread makes it a counter for good",
                test_a_post_by_another_thread_makes_a_counter);
    lg_add_test(s, "named semaphores", test_names);
    lg_add_test(s, "200,000 made and destroyed: slots reused, live ones found", test_churn);
    lg_add_test(s, "gone owners: where an ended thread took its locks", test_gone_records);
}
