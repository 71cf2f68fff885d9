/*
 * test_held.c - the held stack: order, growth past the inline part (1,027
 * locks held at once, as one Kyoto Cabinet test does), removal mid-stack.
 */
#include "unit.h"

#include "held.h"

static void test_push_find_remove(void)
{
    struct lg_held_stack h;
    lg__held_init(&h);
    for (uintptr_t i = 1; i <= 1027; i++) {
        struct lg_held *e = lg__held_slot(&h);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        *e = (struct lg_held){.addr = i * 16, .count = 1};
    }
    CU_ASSERT_EQUAL(h.n, 1027);
    CU_ASSERT_EQUAL(lg__held_find(&h, 16), 0);
    CU_ASSERT_EQUAL(lg__held_find(&h, 1027 * 16), 1026);
    CU_ASSERT_EQUAL(lg__held_find(&h, 5), -1);
    lg__held_remove(&h, 500); /* addr 501*16 */
    CU_ASSERT_EQUAL(h.n, 1026);
    CU_ASSERT_EQUAL(lg__held_find(&h, 501 * 16), -1);
    CU_ASSERT_EQUAL(h.e[500].addr, 502 * 16);
    CU_ASSERT_EQUAL(h.e[499].addr, 500 * 16);
    struct lg_held *grown = h.e;
    lg__held_release(&h);
    CU_ASSERT_EQUAL(h.n, 0);
    /* kept, never unmapped: another thread may be reading it */
    CU_ASSERT_PTR_EQUAL(h.e, grown);
    CU_ASSERT_EQUAL(h.e[0].addr, 16);
}

static void test_find_prefers_top(void)
{
    struct lg_held_stack h;
    lg__held_init(&h);
    struct lg_held a = {.addr = 8, .count = 1}, b = {.addr = 16, .count = 1};
    *lg__held_slot(&h) = a;
    *lg__held_slot(&h) = b;
    *lg__held_slot(&h) = a; /* never happens for one lock, but top wins */
    CU_ASSERT_EQUAL(lg__held_find(&h, 8), 2);
    lg__held_release(&h);
}

void lg_suite_held(void)
{
    CU_pSuite s = CU_add_suite("held", NULL, NULL);
    lg_add_test(s, "1,027 held locks: push, find, remove in the middle", test_push_find_remove);
    lg_add_test(s, "find searches from the top", test_find_prefers_top);
}
