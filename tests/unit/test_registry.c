/*
 * test_registry.c - address -> lock instance: first use, init, destroy,
 * reuse of an address, and concurrent first use from many threads.
 */
#include "unit.h"

#include "registry.h"

#include <pthread.h>

static void test_first_use_and_lookup(void)
{
    uintptr_t a = 0x7000100;
    CU_ASSERT_PTR_NULL(lg__registry_lookup(a));
    struct lg_node *n = lg__registry_get(a, LG_TYPE_MUTEX, LG_MODE_RECURSIVE, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_EQUAL(n->addr, a);
    CU_ASSERT_EQUAL(n->mode, LG_MODE_RECURSIVE);
    CU_ASSERT_FALSE(n->created);
    CU_ASSERT_PTR_EQUAL(lg__registry_lookup(a), n);
    CU_ASSERT_PTR_EQUAL(lg__registry_get(a, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL), n);
}

static void test_reuse_gets_new_identity(void)
{
    uintptr_t a = 0x7000200;
    struct lg_node *n1 = lg__registry_create(a, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n1);
    CU_ASSERT_TRUE(n1->created);
    lg__registry_retire(a);
    CU_ASSERT_TRUE(atomic_load(&n1->dead));
    CU_ASSERT_PTR_NULL(lg__registry_lookup(a));
    struct lg_node *n2 = lg__registry_get(a, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n2);
    CU_ASSERT_NOT_EQUAL(n1->id, n2->id);
    /* init over a live lock (no destroy) also makes a new one */
    struct lg_node *n3 = lg__registry_create(a, LG_TYPE_MUTEX, LG_MODE_ERRORCHECK, NULL);
    CU_ASSERT_TRUE(atomic_load(&n2->dead));
    CU_ASSERT_NOT_EQUAL(n3->id, n2->id);
    CU_ASSERT_PTR_EQUAL(lg__registry_lookup(a), n3);
}

enum { THREADS = 8, ADDRS = 5000 };
static struct lg_node *seen[THREADS][ADDRS];

static void *racer(void *arg)
{
    long k = (long)arg;
    for (int i = 0; i < ADDRS; i++)
        seen[k][i] = lg__registry_get(0x9000000 + (uintptr_t)i * 8, LG_TYPE_MUTEX,
                                      LG_MODE_NORMAL, NULL);
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
            same &= seen[k][i] == seen[0][i] && seen[0][i] != NULL;
    CU_ASSERT_TRUE(same);
}

static void test_many_addresses(void)
{
    /* More addresses than buckets would be fine too; 300k keeps it quick. */
    for (uintptr_t i = 0; i < 300000; i++)
        CU_ASSERT_PTR_NOT_NULL(
            lg__registry_get(0x20000000 + i * 48, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL));
    int ok = 1;
    for (uintptr_t i = 0; i < 300000; i++)
        ok &= lg__registry_lookup(0x20000000 + i * 48) != NULL;
    CU_ASSERT_TRUE(ok);
}

void lg_suite_registry(void)
{
    CU_pSuite s = CU_add_suite("registry", NULL, NULL);
    lg_add_test(s, "first use creates, lookup finds", test_first_use_and_lookup);
    lg_add_test(s, "destroyed or re-initialized address gets a new identity",
                test_reuse_gets_new_identity);
    lg_add_test(s, "8 threads racing on first use agree", test_concurrent_first_use);
    lg_add_test(s, "300,000 addresses", test_many_addresses);
}
