/*
 * test_graph.c - the lock graph against a brute-force reachability oracle.
 *
 * Cycles of length 2, 3, 10 and 1,000 are found exactly once with the right
 * locks; random DAGs never report a cycle; random graphs report a cycle
 * exactly when the new edge closes one, and the reported cycle is a real,
 * shortest one; a cycle closed by the last of 100,000 edges is found;
 * vertices removed with their edges (locks that are gone) leave no trace,
 * checked against the oracle under random removals; what is removed is
 * given back after a grace period.
 */
#include "unit.h"

#include "graph.h"
#include "reclaim.h"
#include "stack.h"

#include <stdlib.h>
#include <string.h>

static struct lg_comp comp = {0, INT64_MIN, INT64_MAX};

static struct lg_vertex *node(void)
{
    struct lg_vertex *n = lg__graph_vertex_new(LG_VERTEX_CLASS, NULL, &comp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    return n;
}

static enum lg_add_result add(struct lg_vertex *a, struct lg_vertex *b, struct lg_cycle **c)
{
    struct lg_edge_info info = {0};
    info.tid = 1;
    return lg__graph_add_edge(a, b, &info, c);
}

/* The cycle's edges chain up and close. */
static void check_cycle_shape(const struct lg_cycle *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        CU_ASSERT_PTR_EQUAL(c->edge[i].to, c->edge[(i + 1) % c->n].from);
}

static void ring(uint32_t len)
{
    struct lg_vertex **n = calloc(len, sizeof(*n));
    for (uint32_t i = 0; i < len; i++)
        n[i] = node();
    int cycles = 0;
    struct lg_cycle *c = NULL;
    for (uint32_t i = 0; i + 1 < len; i++) {
        CU_ASSERT_EQUAL(add(n[i], n[i + 1], &c), LG_EDGE_ADDED);
        CU_ASSERT_PTR_NULL(c);
    }
    CU_ASSERT_EQUAL(add(n[len - 1], n[0], &c), LG_EDGE_CYCLE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    cycles++;
    CU_ASSERT_EQUAL(c->n, len);
    /* Edge 0 is the closing edge, then the path back around. */
    CU_ASSERT_PTR_EQUAL(c->edge[0].from, n[len - 1]);
    for (uint32_t i = 1; i < len; i++)
        CU_ASSERT_PTR_EQUAL(c->edge[i].from, n[i - 1]);
    check_cycle_shape(c);
    CU_ASSERT_TRUE(c->single_thread);
    lg__graph_cycle_free(c);
    /* Every edge again: all known, nothing reported twice. */
    for (uint32_t i = 0; i < len; i++) {
        CU_ASSERT_PTR_NOT_NULL(lg__graph_find(n[i], n[(i + 1) % len]));
        CU_ASSERT_EQUAL(add(n[i], n[(i + 1) % len], &c), LG_EDGE_EXISTS);
        CU_ASSERT_PTR_NULL(c);
    }
    CU_ASSERT_EQUAL(cycles, 1);
    free(n);
}

static void test_ring_2(void)
{
    ring(2);
}
static void test_ring_3(void)
{
    ring(3);
}
static void test_ring_10(void)
{
    ring(10);
}
static void test_ring_1000(void)
{
    ring(1000);
}
static void test_ring_5000(void)
{
    ring(5000);
}

/* Insertion in the reverse of the topological order forces Pearce-Kelly to
 * reorder at every step; still no cycle. */
static void test_reverse_chain_no_cycle(void)
{
    enum { N = 2000 };
    struct lg_vertex *n[N];
    for (int i = 0; i < N; i++)
        n[i] = node();
    struct lg_cycle *c = NULL;
    for (int i = N - 1; i > 0; i--) {
        CU_ASSERT_EQUAL(add(n[i - 1], n[i], &c), LG_EDGE_ADDED);
        CU_ASSERT_PTR_NULL(c);
    }
    CU_ASSERT_EQUAL(add(n[N - 1], n[0], &c), LG_EDGE_CYCLE);
    CU_ASSERT_EQUAL(c ? c->n : 0, N);
    lg__graph_cycle_free(c);
}

/* ---- brute force oracle ---- */

enum { ON = 60 };
static unsigned char adj[ON][ON];

static int reach(int from, int to, int *dist)
{
    /* BFS distance from -> to, -1 when unreachable. */
    int d[ON], q[ON], h = 0, t = 0;
    for (int i = 0; i < ON; i++)
        d[i] = -1;
    d[from] = 0;
    q[t++] = from;
    while (h < t) {
        int u = q[h++];
        for (int v = 0; v < ON; v++)
            if (adj[u][v] && d[v] < 0) {
                d[v] = d[u] + 1;
                q[t++] = v;
            }
    }
    if (dist)
        *dist = d[to];
    return d[to] >= 0;
}

static void test_random_dags(void)
{
    unsigned long long seed = 0x5eed1234ull;
    for (int round = 0; round < 20; round++) {
        struct lg_vertex *n[ON];
        int order[ON];
        for (int i = 0; i < ON; i++) {
            n[i] = node();
            order[i] = i;
        }
        for (int i = ON - 1; i > 0; i--) { /* hidden order: a random permutation */
            int j = (int)(lg_test_rand(&seed) % (unsigned)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        memset(adj, 0, sizeof(adj));
        for (int k = 0; k < 600; k++) {
            int a = (int)(lg_test_rand(&seed) % ON), b = (int)(lg_test_rand(&seed) % ON);
            if (a == b)
                continue;
            if (a > b) {
                int t = a;
                a = b;
                b = t;
            }
            struct lg_cycle *c = NULL;
            enum lg_add_result r = add(n[order[a]], n[order[b]], &c);
            CU_ASSERT(r == LG_EDGE_ADDED || r == LG_EDGE_EXISTS);
            CU_ASSERT_PTR_NULL(c);
            adj[order[a]][order[b]] = 1;
        }
        for (int a = 0; a < ON; a++)
            for (int b = 0; b < ON; b++)
                if (a != b)
                    CU_ASSERT_EQUAL(lg__graph_find(n[a], n[b]) != NULL, adj[a][b] != 0);
    }
}

static void test_random_graphs_vs_oracle(void)
{
    unsigned long long seed = 0xabcdef99ull;
    int reported = 0, closing = 0;
    for (int round = 0; round < 30; round++) {
        struct lg_vertex *n[ON];
        for (int i = 0; i < ON; i++)
            n[i] = node();
        memset(adj, 0, sizeof(adj));
        for (int k = 0; k < 150; k++) {
            int a = (int)(lg_test_rand(&seed) % ON), b = (int)(lg_test_rand(&seed) % ON);
            if (a == b || adj[a][b])
                continue;
            int dist = -1;
            int closes = reach(b, a, &dist);
            struct lg_cycle *c = NULL;
            enum lg_add_result r = add(n[a], n[b], &c);
            adj[a][b] = 1;
            closing += closes;
            if (closes) {
                CU_ASSERT_EQUAL(r, LG_EDGE_CYCLE);
                if (c) {
                    reported++;
                    CU_ASSERT_EQUAL(c->n, (uint32_t)dist + 1); /* shortest */
                    CU_ASSERT_PTR_EQUAL(c->edge[0].from, n[a]);
                    CU_ASSERT_PTR_EQUAL(c->edge[0].to, n[b]);
                    check_cycle_shape(c);
                }
            } else {
                CU_ASSERT_EQUAL(r, LG_EDGE_ADDED);
                CU_ASSERT_PTR_NULL(c);
            }
            lg__graph_cycle_free(c);
        }
    }
    CU_ASSERT(closing > 100); /* the test really exercised cycles */
    CU_ASSERT_EQUAL(reported, closing);
}

/* 100,000 edges over 20,000 locks in 10 levels (lock hierarchies are
 * shallow, however many instances they have), locks created in random
 * order, edges added in random order, always from a lower level to a higher
 * one; the last edge goes from the deepest level back to the top and closes
 * a cycle, which must be found. (A single chain thousands of locks long,
 * inserted against creation order, is Pearce-Kelly's bad case: every edge
 * reorders the chain. It works, slowly; see the graph.h note.) */
static void test_last_of_100k_edges(void)
{
    enum { N = 20000, LEVELS = 10, PER = N / LEVELS, E = 100000 };
    unsigned long long seed = 42;
    struct lg_vertex **n = calloc(N, sizeof(*n));
    int *perm = calloc(N, sizeof(*perm));
    for (int i = 0; i < N; i++)
        perm[i] = i;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(lg_test_rand(&seed) % (unsigned)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < N; i++) /* creation order unrelated to level */
        n[perm[i]] = node();
    struct lg_cycle *c = NULL;
    /* a path through the levels: node 0 of each level to node 0 of the next */
    for (int l = 0; l + 1 < LEVELS; l++)
        CU_ASSERT_EQUAL(add(n[l * PER], n[(l + 1) * PER], &c), LG_EDGE_ADDED);
    int added = LEVELS - 1;
    while (added < E - 1) {
        int la = (int)(lg_test_rand(&seed) % LEVELS), lb = (int)(lg_test_rand(&seed) % LEVELS);
        if (la == lb)
            continue;
        if (la > lb) {
            int t = la;
            la = lb;
            lb = t;
        }
        int a = la * PER + (int)(lg_test_rand(&seed) % PER);
        int b = lb * PER + (int)(lg_test_rand(&seed) % PER);
        enum lg_add_result r = add(n[a], n[b], &c);
        CU_ASSERT(r == LG_EDGE_ADDED || r == LG_EDGE_EXISTS);
        CU_ASSERT_PTR_NULL(c);
        if (r == LG_EDGE_ADDED)
            added++;
    }
    CU_ASSERT_EQUAL(lg__graph_edge_count() >= (uint64_t)E - 1, 1);
    /* The last edge: deepest level back to the top. */
    CU_ASSERT_EQUAL(add(n[(LEVELS - 1) * PER], n[0], &c), LG_EDGE_CYCLE);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c) {
        check_cycle_shape(c);
        CU_ASSERT(c->n >= 2 && c->n <= LEVELS);
        CU_ASSERT_PTR_EQUAL(c->edge[0].from, n[(LEVELS - 1) * PER]);
    }
    lg__graph_cycle_free(c);
    free(n);
    free(perm);
}

/* After one cycle, a second cycle that runs through the first one's closing
 * edge (kept out of the topological order) is still found. */
static void test_cycle_through_cyclic_edge(void)
{
    struct lg_vertex *a = node(), *b = node(), *c3 = node();
    struct lg_cycle *c = NULL;
    CU_ASSERT_EQUAL(add(a, b, &c), LG_EDGE_ADDED);
    CU_ASSERT_EQUAL(add(b, a, &c), LG_EDGE_CYCLE);
    lg__graph_cycle_free(c);
    /* b->a is cyclic. Now a->c3 and c3->b close b->a->c3->b. */
    CU_ASSERT_EQUAL(add(a, c3, &c), LG_EDGE_ADDED);
    CU_ASSERT_EQUAL(add(c3, b, &c), LG_EDGE_CYCLE);
    CU_ASSERT_EQUAL(c ? c->n : 0, 3);
    lg__graph_cycle_free(c);
}

/* The same acquisition sites closing cycles between other lock instances
 * (transfer(a, b) over many accounts) are reported once. */
static void test_same_sites_reported_once(void)
{
    static const uintptr_t first_pcs[] = {0x1111, 0x2222};
    static const uintptr_t second_pcs[] = {0x1119, 0x2222};
    struct lg_edge_info info = {0};
    info.first = lg__stack_intern(first_pcs, 2);
    info.second = lg__stack_intern(second_pcs, 2);
    int cycles = 0;
    for (int k = 0; k < 10; k++) {
        struct lg_vertex *a = node(), *b = node();
        struct lg_cycle *c = NULL;
        lg__graph_add_edge(a, b, &info, &c);
        if (lg__graph_add_edge(b, a, &info, &c) == LG_EDGE_CYCLE)
            cycles++;
        lg__graph_cycle_free(c);
    }
    CU_ASSERT_EQUAL(cycles, 1);
    CU_ASSERT(lg__graph_cycles_suppressed() >= 9);
}

/* The reader rule on a reader-preferring rwlock R and mutexes. */
static struct lg_vertex *rwnode(void)
{
    return node(); /* what makes it a reader is the combination on each edge */
}

static enum lg_add_result add_as(struct lg_vertex *a, struct lg_vertex *b, unsigned combo,
                                 struct lg_cycle **c)
{
    struct lg_edge_info info = {0};
    info.tid = 1;
    return lg__graph_add_edge_as(a, b, &info, combo, c);
}

static void test_reader_rule(void)
{
    struct lg_vertex *r = rwnode(), *m = node();
    struct lg_cycle *c = NULL;
    /* rdlock R, then lock M; lock M, then rdlock R: readers do not block
     * readers, so R cannot be where this deadlocks. */
    CU_ASSERT_EQUAL(add_as(r, m, LG_COMBO(0, 1), &c), LG_EDGE_ADDED);
    CU_ASSERT_EQUAL(add_as(m, r, LG_COMBO(1, 0), &c), LG_EDGE_ADDED);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_TRUE(lg__graph_knows(m, r, LG_COMBO(1, 0)));
    CU_ASSERT_FALSE(lg__graph_knows(m, r, LG_COMBO(1, 1)));
    /* Now a writer: lock M, then wrlock R. It waits for the reader who
     * waits for M: a cycle, reported, with the combinations that make it. */
    CU_ASSERT_EQUAL(add_as(m, r, LG_COMBO(1, 1), &c), LG_EDGE_CYCLE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->n, 2);
    CU_ASSERT_EQUAL(c->combo[0], LG_COMBO(1, 1));
    CU_ASSERT_EQUAL(c->combo[1], LG_COMBO(0, 1));
    check_cycle_shape(c);
    lg__graph_cycle_free(c);
    CU_ASSERT_EQUAL(add_as(m, r, LG_COMBO(1, 1), &c), LG_EDGE_EXISTS);
}

static void test_reader_rule_longer(void)
{
    /* A -> R (R read), R -> B (R held for reading), B -> A: R is passed only
     * shared: no deadlock. Holding R for writing on R -> B makes one. */
    struct lg_vertex *a = node(), *r = rwnode(), *b = node();
    struct lg_cycle *c = NULL;
    CU_ASSERT_EQUAL(add_as(a, r, LG_COMBO(1, 0), &c), LG_EDGE_ADDED);
    CU_ASSERT_EQUAL(add_as(r, b, LG_COMBO(0, 1), &c), LG_EDGE_ADDED);
    CU_ASSERT_EQUAL(add_as(b, a, LG_COMBO_EXCL, &c), LG_EDGE_ADDED);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_EQUAL(add_as(r, b, LG_COMBO(1, 1), &c), LG_EDGE_CYCLE);
    CU_ASSERT_EQUAL(c ? c->n : 0, 3);
    if (c)
        check_cycle_shape(c);
    lg__graph_cycle_free(c);
}

/* Random edges and random removals of vertices (a lock destroyed, a new
 * one in its place) against the oracle: cycles exactly when the live graph
 * has one, shortest, and no edge of a removed vertex is ever known again. */
static void test_removal_vs_oracle(void)
{
    unsigned long long seed = 0x7777ull;
    int closing = 0, reported = 0, removed = 0;
    for (int round = 0; round < 20; round++) {
        struct lg_vertex *n[ON];
        for (int i = 0; i < ON; i++)
            n[i] = node();
        memset(adj, 0, sizeof(adj));
        for (int k = 0; k < 400; k++) {
            if (lg_test_rand(&seed) % 5 == 0) {
                int x = (int)(lg_test_rand(&seed) % ON);
                struct lg_vertex *old = n[x];
                lg__graph_vertex_remove(old);
                CU_ASSERT_TRUE(atomic_load(&old->dead));
                n[x] = node();
                for (int i = 0; i < ON; i++)
                    adj[x][i] = adj[i][x] = 0;
                removed++;
                continue;
            }
            int a = (int)(lg_test_rand(&seed) % ON), b = (int)(lg_test_rand(&seed) % ON);
            if (a == b || adj[a][b])
                continue;
            int dist = -1;
            int closes = reach(b, a, &dist);
            struct lg_cycle *c = NULL;
            enum lg_add_result r = add(n[a], n[b], &c);
            adj[a][b] = 1;
            closing += closes;
            if (closes) {
                CU_ASSERT_EQUAL(r, LG_EDGE_CYCLE);
                if (c) {
                    reported++;
                    CU_ASSERT_EQUAL(c->n, (uint32_t)dist + 1);
                    check_cycle_shape(c);
                }
            } else {
                CU_ASSERT_EQUAL(r, LG_EDGE_ADDED);
                CU_ASSERT_PTR_NULL(c);
            }
            lg__graph_cycle_free(c);
        }
        for (int a = 0; a < ON; a++)
            for (int b = 0; b < ON; b++)
                if (a != b)
                    CU_ASSERT_EQUAL(lg__graph_find(n[a], n[b]) != NULL, adj[a][b] != 0);
        for (int i = 0; i < ON; i++)
            lg__graph_vertex_remove(n[i]);
    }
    CU_ASSERT(closing > 50);
    CU_ASSERT(removed > 500);
    CU_ASSERT_EQUAL(reported, closing);
    /* Everything removed goes back once no reader can see it. */
    CU_ASSERT_TRUE(lg__reclaim_drain());
    CU_ASSERT_EQUAL(lg__reclaim_pending(), 0);
}

/* Two components: a cycle that cannot deadlock kept in one (its edge stays
 * out of the order) changes nothing for the other. */
static void test_components_apart(void)
{
    static struct lg_comp other = {0, INT64_MIN, INT64_MAX};
    struct lg_vertex *a = node(), *b = node();
    struct lg_cycle *c = NULL;
    CU_ASSERT_EQUAL(add(a, b, &c), LG_EDGE_ADDED);
    CU_ASSERT_EQUAL(add(b, a, &c), LG_EDGE_CYCLE);
    lg__graph_cycle_free(c);
    struct lg_vertex *x = lg__graph_vertex_new(LG_VERTEX_INSTANCE, NULL, &other);
    struct lg_vertex *y = lg__graph_vertex_new(LG_VERTEX_INSTANCE, NULL, &other);
    CU_ASSERT_EQUAL(add(x, y, &c), LG_EDGE_ADDED);
    CU_ASSERT_EQUAL(other.ncyclic, 0);
    CU_ASSERT(comp.ncyclic >= 1);
    /* Removing the cyclic edge's ends empties its component's count. */
    uint64_t before = comp.ncyclic;
    lg__graph_vertex_remove(a);
    CU_ASSERT(comp.ncyclic < before);
    lg__graph_vertex_remove(b);
    lg__graph_vertex_remove(x);
    lg__graph_vertex_remove(y);
}

void lg_suite_graph(void)
{
    CU_pSuite s = CU_add_suite("graph", NULL, NULL);
    lg_add_test(s, "cycle of 2 found once", test_ring_2);
    lg_add_test(s, "cycle of 3 found once", test_ring_3);
    lg_add_test(s, "cycle of 10 found once", test_ring_10);
    lg_add_test(s, "cycle of 1000 found once", test_ring_1000);
    lg_add_test(s, "cycle of 5000 found once", test_ring_5000);
    lg_add_test(s, "reverse-order chain reorders, no false cycle", test_reverse_chain_no_cycle);
    lg_add_test(s, "random DAGs: no cycle, edges known", test_random_dags);
    lg_add_test(s, "random graphs match brute force", test_random_graphs_vs_oracle);
    lg_add_test(s, "cycle closed by the last of 100,000 edges", test_last_of_100k_edges);
    lg_add_test(s, "cycle through an earlier cycle's edge", test_cycle_through_cyclic_edge);
    lg_add_test(s, "same sites on other instances reported once", test_same_sites_reported_once);
    lg_add_test(s, "reader rule: shared-only rwlock cycle is not a deadlock", test_reader_rule);
    lg_add_test(s, "reader rule through three locks", test_reader_rule_longer);
    lg_add_test(s, "random edges and removals match brute force", test_removal_vs_oracle);
    lg_add_test(s, "a cycle in one component costs the other nothing", test_components_apart);
}
