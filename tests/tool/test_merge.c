/*
 * test_merge.c - the union's cycles (keygraph.c lg_keygraph_cycles) and the
 * merge report (merge.c): a cycle split across two files is found and
 * marked as only in the union, one file's own cycle is marked as that
 * file's; the reader rule and the gate rule are applied over the merged
 * edges; self-edges are no cycle; a cycle is listed once as a set of keys;
 * the cap holds; a 100,000-key ring is found in one search; files taken
 * (their lines dropped) give the union files added do.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keygraph.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "."
#endif

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

/* An exclusive, ungated edge; tests adjust the fields they are about. */
static struct lg_graph_edge *mg_edge(struct mem_graph *m, const char *from, const char *to)
{
    struct lg_graph_edge *e = &m->edges[m->g.n_edges++];
    e->from = (char *)from;
    e->to = (char *)to;
    e->instances = 1;
    e->held = "exclusive";
    e->waited = "exclusive";
    e->line = m->g.n_edges + 1;
    return e;
}

struct result {
    struct lg_keygraph *kg;
    struct lg_keycycle *c;
    size_t n;
    bool capped;
};

static void cycles(struct lg_graph_file **files, size_t n, size_t max, struct result *r)
{
    r->kg = lg_keygraph_new();
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL_FATAL(lg_keygraph_add(r->kg, files[i]), 0);
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_cycles(r->kg, max, &r->c, &r->n, &r->capped), 0);
}

static void done(struct result *r)
{
    lg_keycycles_free(r->c, r->n);
    lg_keygraph_free(r->kg);
}

/* The keys of cycle i, "a>b>c" from its first edge's tail. */
static void keys_of(struct result *r, size_t i, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t k = 0; k < r->c[i].n; k++) {
        struct lg_keyedge_view e;
        struct lg_keynode_view v;
        lg_keygraph_edge_view(r->kg, r->c[i].edges[k], &e);
        lg_keygraph_node_view(r->kg, e.from, &v);
        if (k)
            strncat(buf, ">", len - strlen(buf) - 1);
        strncat(buf, v.key, len - strlen(buf) - 1);
    }
}

static void test_split_across_files(void)
{
    struct mem_graph a, b;
    mg_init(&a, "a.jsonl");
    mg_init(&b, "b.jsonl");
    mg_edge(&a, "name:x", "name:y");
    mg_edge(&a, "name:w", "name:x");
    mg_edge(&b, "name:y", "name:x");
    struct lg_graph_file *files[] = {&a.g, &b.g};
    struct result r;
    cycles(files, 2, 100, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    char k[128];
    keys_of(&r, 0, k, sizeof k);
    CU_ASSERT_STRING_EQUAL(k, "name:x>name:y");
    CU_ASSERT_EQUAL(r.c[0].single_file, SIZE_MAX);
    /* Each edge names its own file. */
    struct lg_keyedge_view e0, e1;
    lg_keygraph_edge_view(r.kg, r.c[0].edges[0], &e0);
    lg_keygraph_edge_view(r.kg, r.c[0].edges[1], &e1);
    CU_ASSERT_EQUAL(e0.n_files, 1);
    CU_ASSERT_EQUAL(e0.files[0], 0);
    CU_ASSERT_EQUAL(e1.files[0], 1);
    CU_ASSERT_PTR_EQUAL(e1.inst, &b.edges[0]);
    done(&r);

    /* Either file alone: no cycle. */
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL(r.n, 0);
    done(&r);
}

static void test_single_file_cycle(void)
{
    struct mem_graph a, b;
    mg_init(&a, "a.jsonl");
    mg_init(&b, "b.jsonl");
    mg_edge(&a, "name:x", "name:y");
    mg_edge(&a, "name:y", "name:x");
    mg_edge(&b, "name:y", "name:x");
    struct lg_graph_file *files[] = {&b.g, &a.g};
    struct result r;
    cycles(files, 2, 100, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.c[0].single_file, 1); /* a.jsonl, the second file added */
    done(&r);
}

static void test_reader_rule(void)
{
    /* x -> r waits for r shared, r -> x holds r shared: r never blocks its
     * waiter (a reader-preferring rwlock), so no deadlock. */
    struct mem_graph a;
    mg_init(&a, "a.jsonl");
    mg_edge(&a, "name:x", "name:r")->waited = "shared";
    mg_edge(&a, "name:r", "name:x")->held = "shared";
    struct lg_graph_file *files[] = {&a.g};
    struct result r;
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL(r.n, 0);
    done(&r);

    /* Held shared but waited for exclusively (a writer): it blocks. */
    a.edges[0].waited = "exclusive";
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL(r.n, 1);
    done(&r);

    /* Shared in one run, exclusive in another: merged, exclusive wins, and
     * only the union shows the cycle. */
    struct mem_graph b;
    a.edges[0].waited = "shared";
    mg_init(&b, "b.jsonl");
    mg_edge(&b, "name:x", "name:r");
    struct lg_graph_file *both[] = {&a.g, &b.g};
    cycles(both, 2, 100, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.c[0].single_file, SIZE_MAX);
    done(&r);
}

static void test_gate_rule(void)
{
    struct mem_graph a, b;
    mg_init(&a, "a.jsonl");
    mg_edge(&a, "name:x", "name:y")->gate = "name:g";
    mg_edge(&a, "name:y", "name:x")->gate = "name:g";
    struct lg_graph_file *files[] = {&a.g, &b.g};
    struct result r;
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL(r.n, 0); /* both orders under one gate */
    done(&r);

    a.edges[1].gate = "name:h"; /* two gates: two threads can be inside */
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL(r.n, 1);
    done(&r);

    /* Another run made y -> x without the gate: the union's edge is
     * ungated, and only the union deadlocks. */
    a.edges[1].gate = "name:g";
    mg_init(&b, "b.jsonl");
    mg_edge(&b, "name:y", "name:x");
    cycles(files, 2, 100, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.c[0].single_file, SIZE_MAX);
    done(&r);
}

static void test_self_edges_and_sets(void)
{
    struct mem_graph a;
    mg_init(&a, "a.jsonl");
    mg_edge(&a, "site:p+0x10", "site:p+0x10")->address_order = "both";
    struct lg_graph_file *files[] = {&a.g};
    struct result r;
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL(r.n, 0);
    done(&r);

    /* A triangle and a back edge: {a,b} and {a,b,c}, each once, whichever
     * edge found them. */
    mg_init(&a, "a.jsonl");
    mg_edge(&a, "name:a", "name:b");
    mg_edge(&a, "name:b", "name:c");
    mg_edge(&a, "name:c", "name:a");
    mg_edge(&a, "name:b", "name:a");
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 2);
    char k0[128], k1[128];
    keys_of(&r, 0, k0, sizeof k0);
    keys_of(&r, 1, k1, sizeof k1);
    CU_ASSERT(strcmp(k0, "name:a>name:b") == 0 || strcmp(k1, "name:a>name:b") == 0);
    CU_ASSERT(strcmp(k0, "name:a>name:b>name:c") == 0 || strcmp(k1, "name:a>name:b>name:c") == 0);
    done(&r);

    cycles(files, 1, 1, &r);
    CU_ASSERT_EQUAL(r.n, 1);
    CU_ASSERT_TRUE(r.capped);
    done(&r);
}

/* addr: keys name a lock only in their file: the same address in two runs
 * is two locks, and makes no cycle. */
static void test_addr_keys(void)
{
    struct mem_graph a, b;
    mg_init(&a, "a.jsonl");
    mg_init(&b, "b.jsonl");
    mg_edge(&a, "name:x", "addr:0x1000");
    mg_edge(&b, "addr:0x1000", "name:x");
    struct lg_graph_file *files[] = {&a.g, &b.g};
    struct result r;
    cycles(files, 2, 100, &r);
    CU_ASSERT_EQUAL(r.n, 0);
    done(&r);
}

static void test_long_ring(void)
{
    enum { N = 100000 };
    char **keys = calloc(N, sizeof *keys);
    struct lg_graph_file g = {.path = "ring.jsonl", .complete = true};
    g.edges = calloc(N, sizeof *g.edges);
    for (size_t i = 0; i < N; i++) {
        keys[i] = malloc(16);
        snprintf(keys[i], 16, "name:k%06zu", i);
    }
    for (size_t i = 0; i < N; i++) {
        g.edges[i].from = keys[i];
        g.edges[i].to = keys[(i + 1) % N];
        g.edges[i].instances = 1;
    }
    g.n_edges = N;
    struct lg_graph_file *files[] = {&g};
    struct result r;
    cycles(files, 1, 100, &r);
    CU_ASSERT_EQUAL_FATAL(r.n, 1);
    CU_ASSERT_EQUAL(r.c[0].n, N);
    CU_ASSERT_EQUAL(r.c[0].single_file, 0);
    done(&r);
    for (size_t i = 0; i < N; i++)
        free(keys[i]);
    free(keys);
    free(g.edges);
}

/* Files taken (folded in, their lines freed) give the union that files
 * added (referenced) do: the same keys, edges, cycles, attributes, and the
 * stacks of each edge's first instance and key's first lock, kept. */
static void test_take_equals_add(void)
{
    static const char *const names[] = {"graph-clean-a.jsonl", "graph-cycle-a.jsonl",
                                        "graph-clean-b.jsonl", "graph-cycle-b.jsonl"};
    enum { N = 4 };
    struct lg_graph_file ref[N], took[N];
    struct lg_keygraph *a = lg_keygraph_new(), *b = lg_keygraph_new();
    FILE *diag = fopen("/dev/null", "w");
    for (size_t i = 0; i < N; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, names[i]);
        CU_ASSERT_EQUAL_FATAL(lg_graph_read(path, &ref[i], diag), 0);
        CU_ASSERT_EQUAL_FATAL(lg_graph_read(path, &took[i], diag), 0);
        CU_ASSERT_EQUAL(lg_keygraph_add(a, &ref[i]), 0);
        CU_ASSERT_EQUAL(lg_keygraph_take(b, &took[i]), 0);
        CU_ASSERT_PTR_NULL(took[i].path); /* taken: left empty */
    }
    fclose(diag);
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_n_nodes(a), lg_keygraph_n_nodes(b));
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_n_edges(a), lg_keygraph_n_edges(b));
    for (size_t v = 0; v < lg_keygraph_n_nodes(a); v++) {
        struct lg_keynode_view x, y;
        lg_keygraph_node_view(a, v, &x);
        lg_keygraph_node_view(b, v, &y);
        CU_ASSERT_STRING_EQUAL(x.key, y.key);
        CU_ASSERT_EQUAL(x.lock == NULL, y.lock == NULL);
        if (x.lock && y.lock)
            CU_ASSERT_EQUAL(x.lock->stack.n, y.lock->stack.n);
    }
    for (size_t k = 0; k < lg_keygraph_n_edges(a); k++) {
        struct lg_keyedge_view x, y;
        lg_keygraph_edge_view(a, k, &x);
        lg_keygraph_edge_view(b, k, &y);
        CU_ASSERT_EQUAL(x.instances, y.instances);
        CU_ASSERT_EQUAL(x.n_files, y.n_files);
        CU_ASSERT_EQUAL(x.held_exclusive, y.held_exclusive);
        CU_ASSERT_EQUAL(x.waited_exclusive, y.waited_exclusive);
        CU_ASSERT_EQUAL(x.gate == NULL, y.gate == NULL);
        CU_ASSERT_EQUAL(x.inst->line, y.inst->line);
        CU_ASSERT_EQUAL(x.inst->second.n, y.inst->second.n);
        if (x.inst->second.n && y.inst->second.n)
            CU_ASSERT_EQUAL(x.inst->second.pcs[0], y.inst->second.pcs[0]);
    }
    struct lg_keycycle *ca, *cb;
    size_t na, nb;
    bool capped;
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_cycles(a, 100, &ca, &na, &capped), 0);
    CU_ASSERT_EQUAL_FATAL(lg_keygraph_cycles(b, 100, &cb, &nb, &capped), 0);
    CU_ASSERT_EQUAL_FATAL(na, 1);
    CU_ASSERT_EQUAL_FATAL(nb, 1);
    CU_ASSERT_EQUAL(ca[0].n, cb[0].n);
    CU_ASSERT_EQUAL(ca[0].single_file, cb[0].single_file);
    CU_ASSERT_EQUAL(cb[0].single_file, SIZE_MAX); /* only the union has it */
    const struct lg_graph_file *g = lg_keygraph_file(b, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(g->path, "graph-cycle-a.jsonl"));
    CU_ASSERT_EQUAL(g->n_edges, 0);   /* its lines are gone */
    CU_ASSERT(g->read_edges > 0);     /* and counted */
    CU_ASSERT(g->n_modules > 0);      /* its module map stays, for the stacks kept */
    lg_keycycles_free(ca, na);
    lg_keycycles_free(cb, nb);
    lg_keygraph_free(a);
    lg_keygraph_free(b);
    for (size_t i = 0; i < N; i++)
        lg_graph_free(&ref[i]);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("merge", NULL, NULL);
    CU_add_test(s, "cycle split across files", test_split_across_files);
    CU_add_test(s, "one file's own cycle", test_single_file_cycle);
    CU_add_test(s, "reader rule", test_reader_rule);
    CU_add_test(s, "gate rule", test_gate_rule);
    CU_add_test(s, "self-edges, cycles as key sets, cap", test_self_edges_and_sets);
    CU_add_test(s, "addr: keys", test_addr_keys);
    CU_add_test(s, "100,000-key ring", test_long_ring);
    CU_add_test(s, "files taken = files added", test_take_equals_add);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
