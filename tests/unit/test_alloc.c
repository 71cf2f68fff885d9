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

/* Records given back as a chain come out of the pool as the same records,
 * whatever the offset of their link field. */
struct rec {
    unsigned long gen;
    char pad[40];
    void *link; /* not first: a chain linked by the field's address breaks */
    unsigned long tail;
};
static struct lg_pool rec_pool = LG_POOL_INIT(struct rec, link);

static void test_pool_chain(void)
{
    enum { N = 100 };
    struct rec *r[N];
    CU_ASSERT_EQUAL(lg__pool_get_many(&rec_pool, (void **)r, N), N);
    struct lg_pool_chain back = {0};
    for (int i = 0; i < N; i++) {
        r[i]->tail = (unsigned long)i;
        lg__pool_chain_add(&rec_pool, &back, r[i]);
    }
    CU_ASSERT_EQUAL(back.n, (size_t)N);
    lg__pool_put_chain(&rec_pool, &back);
    int same = 0;
    for (int i = 0; i < N; i++) {
        struct rec *x = lg__pool_get(&rec_pool);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        for (int j = 0; j < N; j++)
            same += x == r[j];
        x->tail = 0; /* writable: a real record, not one shifted by the link's offset */
    }
    CU_ASSERT_EQUAL(same, N);
}

/* Chains given back are taken whole (lg__pool_get_chain): the same records,
 * linked at the link field, ending in NULL, newest chain first. More chains
 * than the pool keeps whole go on its free list, and come back from there. */
static struct lg_pool batch_pool = LG_POOL_INIT(struct rec, link);

static void test_pool_batches(void)
{
    enum { CHAINS = LG_POOL_BATCHES + 3, PER = 5 };
    static struct rec *r[CHAINS][PER];
    for (int c = 0; c < CHAINS; c++) /* all taken before any goes back */
        CU_ASSERT_EQUAL_FATAL(lg__pool_get_many(&batch_pool, (void **)r[c], PER), PER);
    for (int c = 0; c < CHAINS; c++) {
        struct lg_pool_chain back = {0};
        for (int i = 0; i < PER; i++)
            lg__pool_chain_add(&batch_pool, &back, r[c][i]);
        lg__pool_put_chain(&batch_pool, &back);
    }
    /* the last chain kept whole comes out first, whole */
    struct lg_pool_chain ch = lg__pool_get_chain(&batch_pool);
    CU_ASSERT_EQUAL(ch.n, (size_t)PER);
    int n = 0, mine = 0;
    for (struct rec *x = ch.first; x; x = x->link, n++)
        for (int i = 0; i < PER; i++)
            mine += x == r[LG_POOL_BATCHES - 1][i];
    CU_ASSERT_EQUAL(n, PER);
    CU_ASSERT_EQUAL(mine, PER);
    /* every other record comes back, once, through the other takers */
    int total = 0, dup = 0;
    static struct rec *seen[CHAINS * PER];
    for (;;) {
        struct rec *x = NULL;
        struct lg_pool_chain more = lg__pool_get_chain(&batch_pool);
        if (more.first) {
            for (x = more.first; x; x = x->link)
                seen[total++] = x;
            continue;
        }
        if (batch_pool.free == NULL)
            break;
        x = lg__pool_get(&batch_pool);
        seen[total++] = x;
    }
    for (int i = 0; i < total; i++)
        for (int j = i + 1; j < total; j++)
            dup += seen[i] == seen[j];
    CU_ASSERT_EQUAL(total, (CHAINS - 1) * PER);
    CU_ASSERT_EQUAL(dup, 0);
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
    lg_add_test(s, "records back as a chain are the same records", test_pool_chain);
    lg_add_test(s, "chains kept whole, taken whole; the rest from the free list",
                test_pool_batches);
    lg_add_test(s, "max_memory budget fails cleanly", test_budget);
}
