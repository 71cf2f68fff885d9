/*
 * test_dedupe.c - dedupe.c: the same cycle from two processes (other load
 * addresses, other pids) is one group; other code is another; the same
 * named locks by other code are one group with two code paths; anonymous
 * heap locks are only "the same" by their sites; suppressed findings are
 * left out; kinds this lockgraph does not know compare by their fields,
 * not their pids or times. The grouper, fed one finding at a time, joins
 * two groups a finding bridges and keeps only the first places of each.
 */
#include <CUnit/Basic.h>
#include <json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"

static struct lg_module mod(uint64_t base)
{
    return (struct lg_module){
        .path = "/x/prog", .base = base, .end = base + 0x100000, .build_id = "abcd"};
}

struct cyc {
    struct lg_finding f;
    struct lg_module m;
    struct lg_lock locks[2];
    struct lg_edge edges[2];
    uint64_t pcs[4];
};

/* A two-lock cycle in a process loaded at `base`, its edges' sites at
 * base + s0 / s1 and locks named n0, n1 (NULL: anonymous heap locks). */
static void make_cycle(struct cyc *c, long pid, uint64_t base, uint64_t s0, uint64_t s1,
                       const char *n0, const char *n1)
{
    memset(c, 0, sizeof *c);
    c->m = mod(base);
    c->f.kind = LG_KIND_CYCLE;
    c->f.pid = pid;
    c->f.file = "f.jsonl";
    c->f.modules = &c->m;
    c->f.n_modules = 1;
    c->locks[0] = (struct lg_lock){
        .id = 1, .addr = 0x7f0000001000 + (uint64_t)pid * 64, .type = "mutex", .name = (char *)n0};
    c->locks[1] = (struct lg_lock){
        .id = 2, .addr = 0x7f0000002000 + (uint64_t)pid * 64, .type = "mutex", .name = (char *)n1};
    c->pcs[0] = base + s0;
    c->pcs[1] = base + s0 + 0x10;
    c->pcs[2] = base + s1;
    c->pcs[3] = base + s1 + 0x10;
    c->edges[0] =
        (struct lg_edge){.from = 1, .to = 2, .first = {&c->pcs[0], 1}, .second = {&c->pcs[1], 1}};
    c->edges[1] =
        (struct lg_edge){.from = 2, .to = 1, .first = {&c->pcs[2], 1}, .second = {&c->pcs[3], 1}};
    c->f.locks = c->locks;
    c->f.n_locks = 2;
    c->f.edges = c->edges;
    c->f.n_edges = 2;
}

static void group(struct lg_finding *items, size_t n, const bool *skip, bool merge,
                  struct lg_groups *g)
{
    struct lg_findings set = {.items = items, .n = n};
    CU_ASSERT_EQUAL_FATAL(lg_group_findings(&set, skip, merge, g), 0);
}

static void test_same_cycle_other_process(void)
{
    struct cyc a, b, c;
    make_cycle(&a, 100, 0x555500000000, 0x1200, 0x1300, NULL, NULL);
    make_cycle(&b, 200, 0x561100000000, 0x1200, 0x1300, NULL, NULL); /* ASLR moved it */
    make_cycle(&c, 300, 0x561100000000, 0x2200, 0x2300, NULL, NULL); /* other code */
    struct lg_finding items[] = {a.f, b.f, c.f};
    struct lg_groups g;
    group(items, 3, NULL, true, &g);
    CU_ASSERT_EQUAL_FATAL(g.n, 2);
    CU_ASSERT_EQUAL(g.items[0].first, 0);
    CU_ASSERT_EQUAL(g.items[0].n, 2);
    CU_ASSERT_EQUAL(g.items[0].members[1], 1);
    CU_ASSERT_EQUAL(g.items[0].processes, 2);
    CU_ASSERT_EQUAL(g.items[0].paths, 1);
    CU_ASSERT_EQUAL(g.items[1].first, 2);
    lg_groups_free(&g);

    CU_ASSERT_EQUAL(lg_site_hash(&a.f, a.pcs[0]), lg_site_hash(&b.f, b.pcs[0]));
    CU_ASSERT_NOT_EQUAL(lg_site_hash(&a.f, a.pcs[0]), lg_site_hash(&a.f, a.pcs[1]));
    CU_ASSERT_EQUAL(lg_finding_signature(&a.f), lg_finding_signature(&b.f));

    /* Without merging, each is its own. */
    group(items, 3, NULL, false, &g);
    CU_ASSERT_EQUAL(g.n, 3);
    lg_groups_free(&g);

    /* Suppressed ones are left out. */
    bool skip[] = {true, false, false};
    group(items, 3, skip, true, &g);
    CU_ASSERT_EQUAL_FATAL(g.n, 2);
    CU_ASSERT_EQUAL(g.items[0].first, 1);
    CU_ASSERT_EQUAL(g.items[0].n, 1);
    lg_groups_free(&g);
}

static void test_same_locks_other_code(void)
{
    /* The same two named locks, taken in a cycle by other code: the same
     * cycle, counted as two code paths. */
    struct cyc a, b;
    make_cycle(&a, 100, 0x555500000000, 0x1200, 0x1300, "savings", "checking");
    make_cycle(&b, 200, 0x555500000000, 0x4200, 0x4300, "checking", "savings");
    struct lg_finding items[] = {a.f, b.f};
    struct lg_groups g;
    group(items, 2, NULL, true, &g);
    CU_ASSERT_EQUAL_FATAL(g.n, 1);
    CU_ASSERT_EQUAL(g.items[0].paths, 2);
    lg_groups_free(&g);
}

static void test_other_kinds(void)
{
    struct lg_finding items[3];
    memset(items, 0, sizeof items);
    const char *text[] = {
        "{\"kind\":\"priority-inversion\",\"pid\":1,\"seq\":4,\"time_ns\":5,\"call\":\"read\","
        "\"thread\":{\"tid\":11,\"seq\":2}}",
        "{\"kind\":\"priority-inversion\",\"pid\":2,\"seq\":9,\"time_ns\":7,\"call\":\"read\","
        "\"thread\":{\"tid\":12,\"seq\":2}}",
        "{\"kind\":\"priority-inversion\",\"pid\":3,\"seq\":1,\"time_ns\":8,\"call\":\"write\","
        "\"thread\":{\"tid\":13,\"seq\":2}}",
    };
    for (int i = 0; i < 3; i++) {
        items[i].kind = LG_KIND_OTHER;
        items[i].other_kind = "priority-inversion";
        items[i].pid = i + 1;
        items[i].file = "f.jsonl";
        items[i].raw = json_tokener_parse(text[i]);
    }
    struct lg_groups g;
    group(items, 3, NULL, true, &g);
    CU_ASSERT_EQUAL_FATAL(g.n, 2);
    CU_ASSERT_EQUAL(g.items[0].n, 2);
    lg_groups_free(&g);
    for (int i = 0; i < 3; i++)
        json_object_put(items[i].raw);
}

/* A finding that shares its code with one group and its locks with
 * another joins them: one group, shown by the earliest, with every place
 * in order. */
static void test_grouper_joins_groups(void)
{
    struct cyc a, b, c;
    make_cycle(&a, 100, 0x555500000000, 0x1200, 0x1300, "savings", "checking");
    make_cycle(&b, 200, 0x555500000000, 0x4200, 0x4300, "audit", "ledger");
    /* b's code, a's locks */
    make_cycle(&c, 300, 0x555500000000, 0x4200, 0x4300, "checking", "savings");
    struct lg_grouper *gr = lg_grouper_new(true, false, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
    CU_ASSERT_EQUAL(lg_grouper_add(gr, 0, &a.f), 0);
    CU_ASSERT_EQUAL(lg_grouper_add(gr, 1, &b.f), 0);
    const struct lg_group *g;
    CU_ASSERT_EQUAL(lg_grouper_groups(gr, &g), 2);
    CU_ASSERT_EQUAL(lg_grouper_add(gr, 2, &c.f), 0);
    CU_ASSERT_EQUAL_FATAL(lg_grouper_groups(gr, &g), 1);
    CU_ASSERT_EQUAL(g[0].first, 0);
    CU_ASSERT_PTR_EQUAL(g[0].finding, &a.f);
    CU_ASSERT_EQUAL(g[0].n, 3);
    CU_ASSERT_EQUAL(g[0].processes, 3);
    CU_ASSERT_EQUAL(g[0].paths, 2);
    CU_ASSERT_EQUAL_FATAL(g[0].n_seen, 3);
    CU_ASSERT_EQUAL(g[0].seen[0].pid, 100);
    CU_ASSERT_EQUAL(g[0].seen[1].pid, 200);
    CU_ASSERT_EQUAL(g[0].seen[2].pid, 300);
    CU_ASSERT_STRING_EQUAL(g[0].seen[2].file, "f.jsonl");
    lg_grouper_free(gr);
}

/* A group of many keeps the first places only, and counts the rest; the
 * memory is the group's, not its findings'. */
static void test_grouper_keeps_first_places(void)
{
    enum { N = 1000 };
    static struct cyc c[N];
    struct lg_grouper *gr = lg_grouper_new(true, false, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
    for (int i = 0; i < N; i++) {
        make_cycle(&c[i], 1000 + i, 0x555500000000 + (uint64_t)i * 0x100000, 0x1200, 0x1300,
                   NULL, NULL);
        c[i].f.line = (size_t)i + 1;
        CU_ASSERT_EQUAL(lg_grouper_add(gr, (size_t)i, &c[i].f), 0);
    }
    const struct lg_group *g;
    CU_ASSERT_EQUAL_FATAL(lg_grouper_groups(gr, &g), 1);
    CU_ASSERT_EQUAL(g[0].n, N);
    CU_ASSERT_EQUAL(g[0].processes, N);
    CU_ASSERT_EQUAL(g[0].paths, 1);
    CU_ASSERT_EQUAL_FATAL(g[0].n_seen, 5);
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(g[0].seen[i].line, i + 1);
    lg_grouper_free(gr);
}

/* A grouper that owns its findings frees the ones it does not show at
 * once (run under a leak checker, this leaks nothing). */
static void test_grouper_owns(void)
{
    struct lg_grouper *gr = lg_grouper_new(true, true, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
    for (int i = 0; i < 10; i++) {
        struct lg_finding *f = calloc(1, sizeof *f);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        f->kind = LG_KIND_DETECTOR_ERROR;
        f->pid = 7;
        f->error = strdup(i % 2 ? "out-of-memory" : "table-full");
        f->file = strdup("x.jsonl");
        CU_ASSERT_EQUAL(lg_grouper_add(gr, (size_t)i, f), 0);
    }
    const struct lg_group *g;
    CU_ASSERT_EQUAL_FATAL(lg_grouper_groups(gr, &g), 2);
    CU_ASSERT_STRING_EQUAL(g[0].finding->error, "table-full");
    CU_ASSERT_EQUAL(g[0].n, 5);
    CU_ASSERT_EQUAL(g[1].n, 5);
    lg_grouper_free(gr);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("dedupe", NULL, NULL);
    CU_add_test(s, "same cycle in another process", test_same_cycle_other_process);
    CU_add_test(s, "same locks, other code", test_same_locks_other_code);
    CU_add_test(s, "kinds this lockgraph does not know", test_other_kinds);
    CU_add_test(s, "grouper: a finding joins two groups", test_grouper_joins_groups);
    CU_add_test(s, "grouper: the first places kept", test_grouper_keeps_first_places);
    CU_add_test(s, "grouper: owned findings", test_grouper_owns);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
