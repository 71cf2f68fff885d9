/*
 * test_keygraph.c - keygraph.c: ranks are 10 x (1 + longest path) over the
 * union of files, addr: keys stay inside their file yet still order the
 * keys around them, a cycle split across files is found and printed with
 * both files and symbolized stacks, self-edges choose same=, keys a rank
 * file cannot hold are left out, the output does not depend on the order
 * of the files, and a long chain is handled without recursion.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keygraph.h"
#include "selfmodule.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "."
#endif

static struct lg_module self;

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* ---- graphs built in memory ---- */

#define MAX_ITEMS 16

struct mem_graph {
    struct lg_graph_file g;
    struct lg_graph_lock locks[MAX_ITEMS];
    struct lg_graph_edge edges[MAX_ITEMS];
};

static void mg_init(struct mem_graph *m, const char *path)
{
    memset(m, 0, sizeof *m);
    m->g.path = (char *)path;
    m->g.pid = 1;
    m->g.complete = true;
    m->g.locks = m->locks;
    m->g.edges = m->edges;
}

static struct lg_graph_lock *mg_lock(struct mem_graph *m, const char *key, long instances)
{
    struct lg_graph_lock *l = &m->locks[m->g.n_locks++];
    l->key = (char *)key;
    l->type = "mutex";
    l->instances = instances;
    return l;
}

static struct lg_graph_edge *mg_edge(struct mem_graph *m, const char *from, const char *to)
{
    struct lg_graph_edge *e = &m->edges[m->g.n_edges++];
    e->from = (char *)from;
    e->to = (char *)to;
    e->instances = 1;
    e->line = m->g.n_edges + 1;
    return e;
}

/* Order `files` and return the rank file (or, on a cycle, the cycle
 * report) as text to free; *res says which. */
static char *run(struct lg_graph_file **files, size_t n, enum lg_keygraph_result *res,
                 struct lg_keygraph **keep)
{
    struct lg_keygraph *kg = lg_keygraph_new();
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL_FATAL(lg_keygraph_add(kg, files[i]), 0);
    *res = lg_keygraph_order(kg);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    struct lg_symbolizer *sym = lg_symbolizer_new(NULL);
    if (*res == LG_KEYGRAPH_ORDERED)
        lg_keygraph_write_ranks(kg, out, sym, out);
    else if (*res == LG_KEYGRAPH_CYCLE)
        lg_keygraph_print_cycle(kg, out, sym);
    fclose(out);
    lg_symbolizer_free(sym);
    if (keep)
        *keep = kg;
    else
        lg_keygraph_free(kg);
    return buf;
}

/* The lines of `text` that start with "rank ", joined: what a rank file
 * reader sees. */
static char *rank_lines(const char *text)
{
    char *out = calloc(strlen(text) + 1, 1);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (strncmp(p, "rank ", 5) == 0)
            strncat(out, p, len);
        p += len;
    }
    return out;
}

/* ---- tests ---- */

static void test_levels(void)
{
    /* A diamond with a shortcut: d is 3 edges deep by the longest path. */
    struct mem_graph m;
    mg_init(&m, "diamond.jsonl");
    mg_edge(&m, "name:a", "name:b");
    mg_edge(&m, "name:a", "name:c");
    mg_edge(&m, "name:b", "name:d");
    mg_edge(&m, "name:c", "name:d");
    mg_edge(&m, "name:a", "name:d");
    mg_edge(&m, "name:d", "name:e");
    mg_lock(&m, "name:lonely", 1);
    struct lg_graph_file *files[] = {&m.g};
    enum lg_keygraph_result res;
    struct lg_keygraph *kg;
    char *out = run(files, 1, &res, &kg);
    CU_ASSERT_EQUAL_FATAL(res, LG_KEYGRAPH_ORDERED);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:a"), 10);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:lonely"), 10);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:b"), 20);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:c"), 20);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:d"), 30);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:e"), 40);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:nope"), -1);
    char *ranks = rank_lines(out);
    CU_ASSERT_STRING_EQUAL(ranks, "rank 10 name:a\nrank 10 name:lonely\nrank 20 name:b\n"
                                  "rank 20 name:c\nrank 30 name:d\nrank 40 name:e\n");
    /* Only edges named b: said so rather than guessed. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# no graph-lock line for this key (only edges name it)\n"
                                       "rank 20 name:b\n"));
    free(ranks);
    free(out);
    lg_keygraph_free(kg);
}

static void test_data_union(void)
{
    struct lg_graph_file a, b;
    CU_ASSERT_EQUAL_FATAL(lg_graph_read(TEST_DATA_DIR "/graph-clean-a.jsonl", &a, stderr), 0);
    CU_ASSERT_EQUAL_FATAL(lg_graph_read(TEST_DATA_DIR "/graph-clean-b.jsonl", &b, stderr), 0);
    struct lg_graph_file *ab[] = {&a, &b}, *ba[] = {&b, &a};
    enum lg_keygraph_result res;
    struct lg_keygraph *kg;
    char *out = run(ab, 2, &res, &kg);
    CU_ASSERT_EQUAL_FATAL(res, LG_KEYGRAPH_ORDERED);
    /* b's cfg -> table puts table, and all after it, one level down from
     * where a alone would. stats is after log through a's addr: lock. */
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "sym:libfoo.so:cfg"), 10);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "sym:bank:table_lock"), 20);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "site:bank+0x1a2b"), 30);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:log"), 40);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:stats"), 60);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "addr:0x7f00dead0000"), -1);
    CU_ASSERT_PTR_NULL(strstr(out, "rank 50"));
    CU_ASSERT_PTR_NULL(strstr(out, "addr:0x7f00dead0000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# 1 lock with an addr: key"));
    /* A key with a blank cannot be written: left out, and said so. */
    CU_ASSERT_PTR_NULL(strstr(out, "rank 20 name:account 3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# 1 key is left out: a rank file cannot hold a key"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "warning: left out key \"name:account 3\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "rank 30 site:bank+0x1a2b same=address\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# mutex \"account\", up to 40 instances in one run, in 2 "
                                       "files, created at 0x55d0c2a01a2b (bank+0x1a2b)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# mutex \"config\", 1 instance, first locked at "
                                       "0x7f1234601234 (libfoo.so+0x1234); class config, rank 5 "
                                       "when recorded\n"));
    lg_keygraph_free(kg);

    /* The files' order changes the header, not one rank line. */
    char *out2 = run(ba, 2, &res, NULL);
    char *r1 = rank_lines(out), *r2 = rank_lines(out2);
    CU_ASSERT_STRING_EQUAL(r1, r2);
    CU_ASSERT_EQUAL(count(r1, "\n"), 6);
    free(r1);
    free(r2);
    free(out);
    free(out2);
    lg_graph_free(&a);
    lg_graph_free(&b);
}

/* Return addresses in two functions of this test, for stacks that
 * symbolize to something checkable. */
static void *ra[4];

__attribute__((noinline)) static void capture(int i)
{
    ra[i] = __builtin_return_address(0);
}

__attribute__((noinline)) static void make_account_lock(void)
{
    capture(0);
}

__attribute__((noinline)) static void transfer(void)
{
    capture(1);
    capture(2);
}

static void test_cycle_across_files(void)
{
    make_account_lock();
    transfer();
    uint64_t created[1] = {(uintptr_t)ra[0]};
    uint64_t first[1] = {(uintptr_t)ra[1]}, second[1] = {(uintptr_t)ra[2]};

    struct mem_graph a, b;
    mg_init(&a, "run-a.jsonl");
    mg_init(&b, "run-b.jsonl");
    a.g.modules = b.g.modules = &self;
    a.g.n_modules = b.g.n_modules = 1;
    struct lg_graph_lock *l = mg_lock(&a, "name:from", 2);
    l->created = true;
    l->name = "from";
    l->stack = (struct lg_stack){created, 1};
    mg_lock(&a, "name:to", 1);
    mg_edge(&a, "name:x", "name:from");
    struct lg_graph_edge *e = mg_edge(&a, "name:from", "name:to");
    e->first = (struct lg_stack){first, 1};
    e->second = (struct lg_stack){second, 1};
    e->thread = (struct lg_thread){.tid = 11, .seq = 2, .name = "left"};
    e->instances = 5;
    e = mg_edge(&b, "name:to", "name:from");
    e->thread = (struct lg_thread){.tid = 22, .seq = 3};
    /* Also in a third file: both files are named for that edge. */
    struct mem_graph c;
    mg_init(&c, "run-c.jsonl");
    mg_edge(&c, "name:to", "name:from");

    struct lg_graph_file *files[] = {&a.g, &b.g, &c.g};
    enum lg_keygraph_result res;
    char *out = run(files, 3, &res, NULL);
    CU_ASSERT_EQUAL_FATAL(res, LG_KEYGRAPH_CYCLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "together they have a cycle of 2 locks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "   lock L1 name:from: mutex \"from\", 2 instances, created "
                                       "at make_account_lock ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "   lock L2 name:to: mutex, 1 instance, no stack"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "   edge L1 -> L2, in run-a.jsonl (5 instances):\n"
                                       "     one instance, run-a.jsonl:3, by thread 2 \"left\" "
                                       "(tid 11):\n"
                                       "     holds L1, taken at:\n"
                                       "       #0 transfer ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "test_keygraph.c:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "     then takes L2 at:\n       #0 transfer ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "   edge L2 -> L1, in run-b.jsonl and run-c.jsonl (2 "
                                       "instances):\n     one instance, run-b.jsonl:2, by thread 3 "
                                       "(tid 22):\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "(no stack recorded)"));
    CU_ASSERT_PTR_NULL(strstr(out, "name:x")); /* not on the cycle */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no rank file was written"));
    free(out);

    /* Run a alone has no cycle: its rank file comments the lock with its
     * symbolized creation site, function and file:line. */
    struct lg_graph_file *just_a[] = {&a.g};
    out = run(just_a, 1, &res, NULL);
    CU_ASSERT_EQUAL(res, LG_KEYGRAPH_ORDERED);
    const char *at = strstr(out, "\n# mutex \"from\", 2 instances, created at make_account_lock (");
    const char *line = at ? strstr(at, "test_keygraph.c:") : NULL;
    const char *rank = at ? strstr(at, "\nrank 20 name:from\n") : NULL;
    CU_ASSERT_PTR_NOT_NULL(at);
    CU_ASSERT(line && rank && line < rank);
    free(out);

    /* Self-edges are no cycle. */
    struct mem_graph s;
    mg_init(&s, "self.jsonl");
    mg_edge(&s, "name:p", "name:p")->address_order = "ascending";
    struct lg_graph_file *one[] = {&s.g};
    out = run(one, 1, &res, NULL);
    CU_ASSERT_EQUAL(res, LG_KEYGRAPH_ORDERED);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "rank 10 name:p same=address\n"));
    free(out);
}

static void test_addr_keys_stay_in_their_file(void)
{
    /* The same address in two runs is two different locks: no cycle. */
    struct mem_graph a, b;
    mg_init(&a, "a.jsonl");
    mg_init(&b, "b.jsonl");
    mg_edge(&a, "name:p", "addr:0x1000");
    mg_edge(&b, "addr:0x1000", "name:p");
    struct lg_graph_file *files[] = {&a.g, &b.g};
    enum lg_keygraph_result res;
    char *out = run(files, 2, &res, NULL);
    CU_ASSERT_EQUAL(res, LG_KEYGRAPH_ORDERED);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# 2 locks with an addr: key"));
    /* b took p after its own addr: lock, so p sits one level up. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "rank 20 name:p\n"));
    free(out);

    /* Within one file it is one lock, and a cycle through it is real. */
    mg_edge(&a, "addr:0x1000", "name:q");
    mg_edge(&a, "name:q", "name:p");
    struct lg_graph_file *one[] = {&a.g};
    out = run(one, 1, &res, NULL);
    CU_ASSERT_EQUAL_FATAL(res, LG_KEYGRAPH_CYCLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cycle of 3 locks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "addr:0x1000 (in a.jsonl only: an address is not stable "
                                       "across runs)"));
    free(out);
}

/* The same= a key with self-edges gets from the files in `orders`. */
static char *same_for(const char *const *orders, size_t n)
{
    static struct mem_graph m[4];
    struct lg_graph_file *files[4];
    static const char *const names[4] = {"s0.jsonl", "s1.jsonl", "s2.jsonl", "s3.jsonl"};
    for (size_t i = 0; i < n; i++) {
        mg_init(&m[i], names[i]);
        mg_lock(&m[i], "site:prog+0x10", 8);
        mg_edge(&m[i], "site:prog+0x10", "site:prog+0x10")->address_order = (char *)orders[i];
        files[i] = &m[i].g;
    }
    enum lg_keygraph_result res;
    char *out = run(files, n, &res, NULL);
    CU_ASSERT_EQUAL(res, LG_KEYGRAPH_ORDERED);
    return out;
}

static void test_same_policy(void)
{
    const char *asc[] = {"ascending", "ascending"};
    char *out = same_for(asc, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# its instances were nested, always in ascending address "
                                       "order\nrank 10 site:prog+0x10 same=address\n"));
    free(out);

    const char *mixed[] = {"ascending", "descending"};
    out = same_for(mixed, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# warning: its instances were nested in both address "
                                       "orders (s0.jsonl: ascending; s1.jsonl: descending); "
                                       "same=any leaves them to the cycle detector\n"
                                       "rank 10 site:prog+0x10 same=any\n"));
    free(out);

    const char *both[] = {"both"};
    out = same_for(both, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nested in both address orders (s0.jsonl: both)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "rank 10 site:prog+0x10 same=any\n"));
    free(out);

    const char *desc[] = {"descending"};
    out = same_for(desc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nested in descending address order (s0.jsonl: "
                                       "descending)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "rank 10 site:prog+0x10 same=any\n"));
    free(out);

    const char *missing[] = {"ascending", NULL};
    out = same_for(missing, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "nested in an address order not recorded (s0.jsonl: "
                                       "ascending; s1.jsonl: not recorded)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "same=any\n"));
    free(out);
}

static void test_comment_stays_one_line(void)
{
    /* A name with a newline cannot end the comment and smuggle in a line. */
    struct mem_graph m;
    mg_init(&m, "evil.jsonl");
    mg_lock(&m, "name:evil", 1)->name = "x\nrank 1 name:evil";
    struct lg_graph_file *files[] = {&m.g};
    enum lg_keygraph_result res;
    char *out = run(files, 1, &res, NULL);
    char *ranks = rank_lines(out);
    CU_ASSERT_STRING_EQUAL(ranks, "rank 10 name:evil\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# mutex \"x\\x0arank 1 name:evil\", 1 instance"));
    free(ranks);
    free(out);
}

static void test_empty_and_warnings(void)
{
    struct mem_graph m;
    mg_init(&m, "empty.jsonl");
    m.g.complete = false;
    m.g.bad_lines = 2;
    struct lg_graph_file *files[] = {&m.g};
    enum lg_keygraph_result res;
    char *out = run(files, 1, &res, NULL);
    CU_ASSERT_EQUAL(res, LG_KEYGRAPH_ORDERED);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# lockgraph ranks v1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "#   empty.jsonl (pid 1)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# warning: empty.jsonl was cut short (no graph-end line)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# warning: empty.jsonl: 2 bad lines skipped\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "# No lock to rank in these graphs.\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "\nrank "));
    free(out);
}

static void test_long_chain(void)
{
    /* 100,000 keys in a row: levels and the cycle search are iterative. */
    enum { N = 100000 };
    struct lg_graph_file g = {.path = "chain.jsonl", .complete = true};
    g.edges = calloc(N, sizeof *g.edges);
    char(*keys)[24] = calloc(N + 1, sizeof *keys);
    for (int i = 0; i <= N; i++)
        snprintf(keys[i], sizeof keys[i], "name:k%06d", i);
    for (int i = 0; i < N; i++) {
        g.edges[i].from = keys[i];
        g.edges[i].to = keys[i + 1];
    }
    g.n_edges = N;
    struct lg_keygraph *kg = lg_keygraph_new();
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_add(kg, &g), 0);
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_order(kg), LG_KEYGRAPH_ORDERED);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:k000000"), 10);
    CU_ASSERT_EQUAL(lg_keygraph_rank_of(kg, "name:k100000"), 10L * (N + 1));
    lg_keygraph_free(kg);

    /* Closed into one cycle of N + 1 keys. */
    g.edges[N - 1].to = keys[0];
    kg = lg_keygraph_new();
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_add(kg, &g), 0);
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_order(kg), LG_KEYGRAPH_CYCLE);
    /* Printed capped, as the findings report caps a long cycle. */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    lg_keygraph_print_cycle(kg, out, NULL);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "a cycle of 100000 locks"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "   lock L1 name:k000000: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "... and 99980 more locks (L21 to L100000)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "... and 99980 more edges, L21 -> ... -> L1, not shown"));
    CU_ASSERT_EQUAL(count(buf, "   edge L"), 20);
    CU_ASSERT(count(buf, "\n") < 200);
    free(buf);
    lg_keygraph_free(kg);
    free(keys);
    free(g.edges);
}

int main(void)
{
    if (selfmodule_get(&self) != 0)
        return 1;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("keygraph", NULL, NULL);
    CU_add_test(s, "levels", test_levels);
    CU_add_test(s, "union of the data files", test_data_union);
    CU_add_test(s, "cycle across files", test_cycle_across_files);
    CU_add_test(s, "addr: keys stay in their file", test_addr_keys_stay_in_their_file);
    CU_add_test(s, "same= from self-edges", test_same_policy);
    CU_add_test(s, "comment stays one line", test_comment_stays_one_line);
    CU_add_test(s, "empty graph, warnings", test_empty_and_warnings);
    CU_add_test(s, "100,000-key chain", test_long_chain);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    selfmodule_free(&self);
    return failed ? 1 : 0;
}
