/*
 * test_stack.c - capture (own frames dropped), depot interning, splicing.
 */
#include "unit.h"

#include "stack.h"

__attribute__((noinline)) static int capture_two_deep(uintptr_t *pcs, uintptr_t *cfas)
{
    int n = lg__stack_capture(pcs, cfas, 32);
    __asm__ volatile("" ::: "memory");
    return n;
}

static void test_capture(void)
{
    lg__stack_init();
    uintptr_t pcs[32], cfas[32];
    int n = capture_two_deep(pcs, cfas);
    /* This test binary is not lockgraph's own module, so frames start in
     * capture_two_deep or its caller and go up through CUnit to main. */
    CU_ASSERT(n >= 3);
    for (int i = 1; i < n; i++)
        CU_ASSERT(cfas[i] >= cfas[i - 1]); /* outer frames sit higher */
}

static void test_intern(void)
{
    uintptr_t a[] = {1, 2, 3}, b[] = {1, 2, 3}, c[] = {1, 2, 4};
    const struct lg_stack *sa = lg__stack_intern(a, 3), *sb = lg__stack_intern(b, 3),
                          *sc = lg__stack_intern(c, 3), *sd = lg__stack_intern(a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT_PTR_EQUAL(sa, sb);
    CU_ASSERT_PTR_NOT_EQUAL(sa, sc);
    CU_ASSERT_PTR_NOT_EQUAL(sa, sd);
    CU_ASSERT_EQUAL(sd->n, 2);
    CU_ASSERT_EQUAL(sa->pc[2], 3);
}

static void test_splice(void)
{
    /* Now: frames f0..f3 at increasing frame addresses. The earlier lock
     * was taken at pc 0x99 with frame address 200: frames at 200 and above
     * were live then. */
    uintptr_t pcs[] = {0x10, 0x20, 0x30, 0x40}, cfas[] = {100, 200, 300, 400}, out[8];
    int k = lg__stack_splice(0x99, 200, pcs, cfas, 4, out, 8);
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_EQUAL(out[0], 0x99);
    CU_ASSERT_EQUAL(out[1], 0x20);
    CU_ASSERT_EQUAL(out[3], 0x40);
    CU_ASSERT_EQUAL(lg__stack_splice(0x99, 200, pcs, cfas, 4, out, 2), 2);
}

void lg_suite_stack(void)
{
    CU_pSuite s = CU_add_suite("stack", NULL, NULL);
    lg_add_test(s, "capture walks outward", test_capture);
    lg_add_test(s, "depot interns equal stacks once", test_intern);
    lg_add_test(s, "splice keeps the frames live at the earlier lock", test_splice);
}
