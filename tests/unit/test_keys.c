/*
 * test_keys.c - stable keys: module lookup, data symbols from the module's
 * own file, site keys, and the fallbacks.
 */
#include "unit.h"

#include "graph.h"
#include "keys.h"
#include "stack.h"
#include "symbols.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t lg_test_global_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    long pad;
    pthread_mutex_t inner;
} lg_test_static_struct;

static void test_module_and_symbol(void)
{
    struct lg_modinfo m;
    CU_ASSERT_TRUE_FATAL(lg__module_of((uintptr_t)&lg_test_global_lock, &m));
    CU_ASSERT_STRING_EQUAL(m.base, "lockgraph_unit");
    CU_ASSERT_PTR_NOT_NULL(strstr(m.path, "/lockgraph_unit"));
    char name[256];
    uintptr_t off = 1;
    CU_ASSERT_TRUE(lg__symbol_of(&m, (uintptr_t)&lg_test_global_lock + 8, name, sizeof(name), &off));
    CU_ASSERT_STRING_EQUAL(name, "lg_test_global_lock");
    CU_ASSERT_EQUAL(off, 8);
    CU_ASSERT_TRUE(lg__symbol_of(&m, (uintptr_t)&lg_test_static_struct.inner, name, sizeof(name),
                                 &off));
    CU_ASSERT_STRING_EQUAL(name, "lg_test_static_struct");
    CU_ASSERT_EQUAL(off, offsetof(__typeof__(lg_test_static_struct), inner));
    /* libc is a module too (its file may have only .dynsym) */
    CU_ASSERT_TRUE(lg__module_of((uintptr_t)&malloc, &m));
    CU_ASSERT_PTR_NOT_NULL(strstr(m.base, "libc"));
    /* the heap and the stack are in no module */
    void *heap = malloc(64);
    int local;
    CU_ASSERT_FALSE(lg__module_of((uintptr_t)heap, &m));
    CU_ASSERT_FALSE(lg__module_of((uintptr_t)&local, &m));
    free(heap);
}

static void test_keys(void)
{
    char key[LG_KEY_MAX];
    struct lg_node *n = lg__graph_node_new((uintptr_t)&lg_test_global_lock, LG_TYPE_MUTEX,
                                           LG_MODE_NORMAL, false, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_FALSE(lg__key_name(n, key));
    CU_ASSERT_FALSE(lg__key_site(n, key)); /* no stack yet */
    lg__key_of(n, key);
    CU_ASSERT_STRING_EQUAL(key, "sym:lockgraph_unit:lg_test_global_lock");
    atomic_store(&n->name, "table");
    lg__key_of(n, key);
    CU_ASSERT_STRING_EQUAL(key, "name:table");
    /* one word whatever the name holds */
    atomic_store(&n->name, "account 3 #x\t50%");
    lg__key_of(n, key);
    CU_ASSERT_STRING_EQUAL(key, "name:account%203%20%23x%0950%25");

    struct lg_node *s = lg__graph_node_new((uintptr_t)&lg_test_static_struct.inner, LG_TYPE_MUTEX,
                                           LG_MODE_NORMAL, false, NULL);
    lg__key_of(s, key);
    CU_ASSERT_PTR_NOT_NULL(strstr(key, "sym:lockgraph_unit:lg_test_static_struct+0x"));

    /* a heap lock: its site, as an offset into the module of frame 0 */
    void *heap = malloc(64);
    uintptr_t pcs[1] = {(uintptr_t)&test_keys + 5};
    struct lg_node *h = lg__graph_node_new((uintptr_t)heap, LG_TYPE_MUTEX, LG_MODE_NORMAL, true,
                                           lg__stack_intern(pcs, 1));
    struct lg_modinfo m;
    CU_ASSERT_TRUE_FATAL(lg__module_of(pcs[0], &m));
    char want[128];
    snprintf(want, sizeof(want), "site:lockgraph_unit+0x%lx", (unsigned long)(pcs[0] - m.bias));
    lg__key_of(h, key);
    CU_ASSERT_STRING_EQUAL(key, want);
    /* nothing known: the address, marked unstable */
    struct lg_node *a = lg__graph_node_new((uintptr_t)heap + 64, LG_TYPE_MUTEX, LG_MODE_NORMAL,
                                           false, NULL);
    lg__key_of(a, key);
    CU_ASSERT_EQUAL(strncmp(key, "addr:0x", 7), 0);
    free(heap);
}

void lg_suite_keys(void)
{
    CU_pSuite s = CU_add_suite("keys", NULL, NULL);
    lg_add_test(s, "module and data symbol of an address", test_module_and_symbol);
    lg_add_test(s, "name, sym, site and addr keys", test_keys);
}
