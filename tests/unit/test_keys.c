/*
 * test_keys.c - stable keys: module lookup, data symbols from the module's
 * own file, site keys, and the fallbacks.
 */
#include "unit.h"

#include "class.h"
#include "graph.h"
#include "registry.h"
#include "runtime.h"
#include "keys.h"
#include "stack.h"
#include "symbols.h"

#include <pthread.h>
#include <stdio.h>
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
    lg__busy = 1;
    struct lg_thread *t = lg__self ? lg__self : lg__thread_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    lg__section_step(t, memory_order_relaxed);
    /* A static lock never initialized: its own class, keyed by its symbol. */
    struct lg_node *n = lg__registry_get((uintptr_t)&lg_test_global_lock, LG_TYPE_MUTEX,
                                         LG_MODE_NORMAL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_FALSE(lg__key_name(n, key));
    CU_ASSERT_FALSE(lg__key_site(n, key)); /* no stack yet */
    lg__key_of(n, key);
    CU_ASSERT_STRING_EQUAL(key, "sym:lockgraph_unit:lg_test_global_lock");
    CU_ASSERT_PTR_NULL(atomic_load(&n->klass)); /* made when first needed */
    lg__key_of_class(lg__registry_class(n), key);
    CU_ASSERT_STRING_EQUAL(key, "sym:lockgraph_unit:lg_test_global_lock");
    atomic_store(&n->name, "table");
    lg__key_of(n, key);
    CU_ASSERT_STRING_EQUAL(key, "name:table");
    /* one word whatever the name holds */
    atomic_store(&n->name, "account 3 #x\t50%");
    lg__key_of(n, key);
    CU_ASSERT_STRING_EQUAL(key, "name:account%203%20%23x%0950%25");
    struct lg_class *named = lg__class_for_name("account 3", LG_TYPE_MUTEX, LG_MODE_NORMAL);
    lg__key_of_class(named, key);
    CU_ASSERT_STRING_EQUAL(key, "name:account%203");

    struct lg_node *s = lg__registry_get((uintptr_t)&lg_test_static_struct.inner, LG_TYPE_MUTEX,
                                         LG_MODE_NORMAL, NULL);
    lg__key_of(s, key);
    CU_ASSERT_PTR_NOT_NULL(strstr(key, "sym:lockgraph_unit:lg_test_static_struct+0x"));

    /* a heap lock never initialized: where it was first taken, as an offset
     * into the module of frame 0 */
    void *heap = malloc(128);
    uintptr_t pcs[1] = {(uintptr_t)&test_keys + 5};
    struct lg_node *h = lg__registry_get((uintptr_t)heap, LG_TYPE_MUTEX, LG_MODE_NORMAL,
                                         lg__stack_intern(pcs, 1));
    struct lg_modinfo m;
    CU_ASSERT_TRUE_FATAL(lg__module_of(pcs[0], &m));
    char want[128];
    snprintf(want, sizeof(want), "site:lockgraph_unit+0x%lx", (unsigned long)(pcs[0] - m.bias));
    lg__key_of(h, key); /* before its class is made */
    CU_ASSERT_STRING_EQUAL(key, want);
    lg__key_of_class(lg__registry_class(h), key);
    CU_ASSERT_STRING_EQUAL(key, want);
    /* a lock made by an init call: its class is the call site, whatever
     * memory it is in (a static lock too) */
    struct lg_class *k = lg__class_for_init(pcs[0], LG_TYPE_MUTEX, LG_MODE_NORMAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL(k->kind, LG_CLASS_SITE);
    CU_ASSERT_PTR_EQUAL(lg__class_for_init(pcs[0], LG_TYPE_MUTEX, LG_MODE_NORMAL), k);
    struct lg_node *c = lg__registry_create((uintptr_t)heap + 64, LG_TYPE_MUTEX, LG_MODE_NORMAL, k);
    lg__key_site(c, key);
    CU_ASSERT_STRING_EQUAL(key, want);
    lg__key_of_class(k, key);
    CU_ASSERT_STRING_EQUAL(key, want);
    /* nothing known: the address, marked unstable */
    struct lg_node *a = lg__registry_get((uintptr_t)heap + 96, LG_TYPE_MUTEX, LG_MODE_NORMAL,
                                         NULL);
    lg__key_of(a, key);
    CU_ASSERT_EQUAL(strncmp(key, "addr:0x", 7), 0);
    lg__registry_retire_range((uintptr_t)heap, (uintptr_t)heap + 128, NULL, NULL);
    free(heap);
    lg__section_step(t, memory_order_release);
    lg__busy = 0;
}

/* The name rule for lock wrappers: a word mutex, mtx, lock, rwlock,
 * spinlock or spin, plain or mangled; not inside another word. */
static void test_wrapper_names(void)
{
    static const char *const yes[] = {
        "mutex_create", "apr_thread_mutex_create", "g_mutex_init", "CRYPTO_THREAD_lock_new",
        "PR_NewLock", "_ZN4port5MutexC2Ev", "_ZN4base4LockC1Ev", "uv_rwlock_init",
        "my_spinlock_init", "mtx_init", "LockManager"};
    static const char *const no[] = {"conn_new", "block_alloc", "clock_gettime", "unlock_all",
                                     "blockLoader", "deadlocked", "main", "table_sweep"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        CU_ASSERT_TRUE(lg__class_wrapper_name(yes[i]));
        if (!lg__class_wrapper_name(yes[i]))
            fprintf(stderr, "\n  not a wrapper: %s\n", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        CU_ASSERT_FALSE(lg__class_wrapper_name(no[i]));
        if (lg__class_wrapper_name(no[i]))
            fprintf(stderr, "\n  a wrapper: %s\n", no[i]);
    }
}

void lg_suite_keys(void)
{
    CU_pSuite s = CU_add_suite("keys", NULL, NULL);
    lg_add_test(s, "module and data symbol of an address", test_module_and_symbol);
    lg_add_test(s, "name, sym, site and addr keys, of locks and of classes", test_keys);
    lg_add_test(s, "lock wrappers by name", test_wrapper_names);
}
