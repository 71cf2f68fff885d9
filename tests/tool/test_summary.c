/*
 * test_summary.c - summary.c's text: a 2-lock cycle gets the scenario table,
 * a first_stack that repeats its function loses the repeat (unless captured
 * whole), a 1000-lock cycle prints 20 edges and summarizes the rest, and the
 * closing line counts by kind and process.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selfmodule.h"
#include "summary.h"

static struct lg_module self;

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Print `set` and return the text (to free). */
static char *render(const struct lg_findings *set, bool closing)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    struct lg_summary_opts o = {.out = fp, .sym = lg_symbolizer_new(NULL)};
    lg_summary_print(set, &o);
    if (closing)
        lg_summary_closing(fp, set, "REPORT");
    lg_symbolizer_free(o.sym);
    fclose(fp);
    return buf;
}

static struct lg_lock make_lock(long id, const char *name)
{
    struct lg_lock l = {.id = id,
                        .addr = 0x1000 + 64 * (uint64_t)id,
                        .type = "mutex",
                        .mode = "normal",
                        .name = (char *)name};
    return l;
}

static void test_two_lock_scenario(void)
{
    struct lg_lock locks[2] = {make_lock(7, "account 1"), make_lock(9, "account 2")};
    struct lg_edge edges[2] = {
        {.from = 7, .to = 9, .thread = {.tid = 4244, .seq = 2, .name = "teller-1"}},
        {.from = 9, .to = 7, .thread = {.tid = 4245, .seq = 3, .name = "teller-2"}},
    };
    struct lg_finding f = {.kind = LG_KIND_CYCLE,
                           .pid = 4242,
                           .locks = locks,
                           .n_locks = 2,
                           .edges = edges,
                           .n_edges = 2};
    struct lg_findings set = {.items = &f, .n = 1};
    char *out = render(&set, true);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "== lock-order-cycle #1 (pid 4242): potential deadlock "
                                       "among 2 locks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "lock L1 mutex 0x11c0 \"account 1\" (normal)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "edge L1 -> L2 by thread 2 \"teller-1\" (tid 4244):"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "edge L2 -> L1 by thread 3 \"teller-2\" (tid 4245):"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Possible scenario:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "lock(L2)  <- waits for thread 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "lock(L1)  <- waits for thread 2: deadlock"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "lockgraph: 1 finding (1 lock-order-cycle) in 1 process; "
                                       "report: REPORT\n"));
    free(out);
}

/* Return addresses captured at two call sites of one function, and in its
 * caller: what a first_stack looks like when `from` was taken in the same
 * function that then takes `to`. */
static void *ra[3];

__attribute__((noinline)) static void capture(int i)
{
    ra[i] = __builtin_return_address(0);
}

__attribute__((noinline)) static void takes_two_locks(void)
{
    capture(0);
    capture(1);
}

__attribute__((noinline)) static void outer_caller(void)
{
    takes_two_locks();
    ra[2] = __builtin_return_address(0); /* any address inside outer_caller's caller */
}

static void test_first_stack_drops_repeated_frame(void)
{
    outer_caller();
    uint64_t first[3] = {(uintptr_t)ra[0], (uintptr_t)ra[1], (uintptr_t)ra[2]};
    uint64_t second[1] = {(uintptr_t)ra[1]};
    struct lg_lock locks[2] = {make_lock(1, "a"), make_lock(2, "b")};
    struct lg_edge edges[2] = {
        {.from = 1,
         .to = 2,
         .thread = {.tid = 1, .seq = 1},
         .first = {first, 3},
         .second = {second, 1}},
        {.from = 2, .to = 1, .thread = {.tid = 2, .seq = 2}},
    };
    struct lg_finding f = {.kind = LG_KIND_CYCLE,
                           .pid = 1,
                           .locks = locks,
                           .n_locks = 2,
                           .edges = edges,
                           .n_edges = 2,
                           .modules = &self,
                           .n_modules = 1};
    struct lg_findings set = {.items = &f, .n = 1};

    char *out = render(&set, false);
    /* Frame 1 repeated takes_two_locks: dropped, so the caller is #1. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "#0 takes_two_locks ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "test_summary.c:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "#1 test_first_stack_drops_repeated_frame"));
    CU_ASSERT_EQUAL(count(out, "takes_two_locks"), 2); /* once per stack */
    free(out);

    edges[0].first_exact = true; /* captured whole: every frame is real */
    out = render(&set, false);
    CU_ASSERT_EQUAL(count(out, "takes_two_locks"), 3);
    free(out);
}

static void test_long_cycle_is_capped(void)
{
    enum { N = 1000 };
    struct lg_lock *locks = calloc(N, sizeof *locks);
    struct lg_edge *edges = calloc(N, sizeof *edges);
    uint64_t pcs[2] = {0x55d0c2a01234, 0x55d0c2a01300};
    for (int i = 0; i < N; i++) {
        locks[i] = make_lock(i + 1, NULL);
        locks[i].stack = (struct lg_stack){pcs, 2};
        edges[i] = (struct lg_edge){.from = i + 1,
                                    .to = (i + 1) % N + 1,
                                    .thread = {.tid = 100 + i, .seq = i + 1},
                                    .first = {pcs, 2},
                                    .second = {pcs, 2}};
    }
    struct lg_finding f = {.kind = LG_KIND_CYCLE,
                           .pid = 7,
                           .locks = locks,
                           .n_locks = N,
                           .edges = edges,
                           .n_edges = N};
    struct lg_findings set = {.items = &f, .n = 1};
    char *out = render(&set, true);
    CU_ASSERT_EQUAL(count(out, "   edge L"), LG_SUMMARY_MAX_EDGES);
    CU_ASSERT_EQUAL(count(out, "   lock L"), LG_SUMMARY_MAX_EDGES);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "... and 980 more locks (L21 to L1000)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "... and 980 more edges, L21 -> ... -> L1, not shown"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "thread 1000 holds L1000, waits for L1: deadlock"));
    CU_ASSERT(count(out, "\n") < 400);
    free(out);
    free(locks);
    free(edges);
}

static void test_other_kinds_and_closing(void)
{
    uint64_t pc[1] = {0x10};
    struct lg_held held[1] = {{.lock = make_lock(5, "queue"), .stack = {pc, 1}}};
    struct lg_finding items[5] = {
        {.kind = LG_KIND_SELF_DEADLOCK,
         .pid = 10,
         .lock = make_lock(1, "solo"),
         .thread = {.tid = 10, .seq = 1, .name = "main"},
         .first_stack = {pc, 1},
         .second_stack = {pc, 1}},
        {.kind = LG_KIND_UNLOCK_NOT_HELD,
         .pid = 10,
         .lock = {.id = 0, .addr = 0xdead0, .type = "mutex"},
         .thread = {.tid = 10, .seq = 1},
         .stack = {pc, 1}},
        {.kind = LG_KIND_HELD_AT_EXIT,
         .pid = 11,
         .thread = {.tid = 12, .seq = 2, .name = "w"},
         .held = held,
         .n_held = 1},
        {.kind = LG_KIND_DETECTOR_ERROR, .pid = 12, .error = "out-of-memory", .message = "m"},
        {.kind = LG_KIND_SELF_DEADLOCK,
         .pid = 11,
         .lock = make_lock(1, "solo"),
         .thread = {.tid = 12, .seq = 2},
         .timed = true},
    };
    struct lg_findings set = {.items = items, .n = 5, .corrupt_lines = 1};
    char *out = render(&set, true);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "== self-deadlock #1 (pid 10): thread 1 \"main\" (tid 10) "
                                       "takes a lock it already holds"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "== self-deadlock #2 (pid 11)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "stalls until the timeout"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "== unlock-not-held #1 (pid 10)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "never seen locked by lockgraph"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "== held-at-exit #1 (pid 11): thread 2 \"w\" (tid 12) "
                                       "ended holding 1 lock"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "== detector-error (pid 12)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "lockgraph: 4 findings (2 self-deadlock, 1 "
                                       "unlock-not-held, 1 held-at-exit) in 2 processes; 1 "
                                       "detector error"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 unreadable line skipped; report: REPORT"));

    struct lg_summary_counts c;
    lg_summary_count(&set, &c);
    CU_ASSERT_EQUAL(c.findings, 4);
    CU_ASSERT_EQUAL(c.processes, 2);
    CU_ASSERT_EQUAL(c.per_kind[LG_KIND_DETECTOR_ERROR], 1);
    free(out);

    struct lg_findings none = {0};
    out = render(&none, true);
    CU_ASSERT_STRING_EQUAL(out, "lockgraph: no findings; report: REPORT\n");
    free(out);
}

int main(void)
{
    if (selfmodule_get(&self) != 0)
        return 1;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("summary", NULL, NULL);
    CU_add_test(s, "two-lock scenario", test_two_lock_scenario);
    CU_add_test(s, "first_stack repeat dropped", test_first_stack_drops_repeated_frame);
    CU_add_test(s, "1000-lock cycle capped", test_long_cycle_is_capped);
    CU_add_test(s, "other kinds and closing line", test_other_kinds_and_closing);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    selfmodule_free(&self);
    return failed ? 1 : 0;
}
