/*
 * test_alloc.c - the private allocator: zeroed memory, reuse, big blocks,
 * and the max_memory budget failing cleanly.
 */
#include "unit.h"

#include "alloc.h"

#include <string.h>

static void test_zeroed_and_reused(void)
{
    char *p = lg__alloc(100);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(p[i], 0);
    memset(p, 0xab, 100);
    lg__free(p, 100);
    char *q = lg__alloc(100);
    CU_ASSERT_PTR_EQUAL(q, p); /* same class, reused */
    CU_ASSERT_EQUAL(q[50], 0); /* and zeroed again */
    lg__free(q, 100);
    char *big = lg__alloc(1 << 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    big[(1 << 20) - 1] = 1;
    lg__free(big, 1 << 20);
}

/* Runs last: it leaves the budget spent. */
static void test_budget(void)
{
    size_t now = lg__alloc_mapped();
    lg__alloc_set_limit(now + (4u << 20));
    int got = 0;
    while (lg__alloc(60000) && got < 1000)
        got++;
    CU_ASSERT(got > 10 && got < 1000);
    CU_ASSERT_TRUE(lg__alloc_failed()); /* said once: see the out-of-memory scenario */
    CU_ASSERT_PTR_NOT_NULL(lg__map(8192));     /* report buffers still work */
    lg__alloc_set_limit(0);
}

void lg_suite_alloc(void)
{
    CU_pSuite s = CU_add_suite("alloc", NULL, NULL);
    lg_add_test(s, "zeroed, reused, big blocks", test_zeroed_and_reused);
    lg_add_test(s, "max_memory budget fails cleanly", test_budget);
}
