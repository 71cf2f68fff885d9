/*
 * test_graphfile.c - graphfile.c: a whole graph file reads into the structs
 * (header and module map, locks with their optional fields, edges with
 * address_order), and each way a real file goes wrong is told apart: a bad
 * line is skipped with file:line, a file cut short is used with a warning,
 * and a file that is not a graph file (empty, garbage, a findings file, a
 * missing header) is refused.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graphfile.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "."
#endif

#define HEADER                                                                                     \
    "{\"kind\":\"graph\",\"version\":1,\"pid\":42,\"time_ns\":7,\"exe\":\"/usr/bin/prog\","        \
    "\"modules\":[{\"path\":\"/usr/bin/prog\",\"base\":\"0x1000\",\"end\":\"0x9000\"}]}\n"
#define LOCK_A "{\"kind\":\"graph-lock\",\"key\":\"name:a\",\"instances\":1}\n"
#define LOCK_B "{\"kind\":\"graph-lock\",\"key\":\"name:b\",\"instances\":1}\n"
#define EDGE_AB "{\"kind\":\"graph-edge\",\"from\":\"name:a\",\"to\":\"name:b\",\"instances\":2}\n"
#define END(l, e) "{\"kind\":\"graph-end\",\"locks\":" #l ",\"edges\":" #e "}\n"

/* Read `text` as a graph file; diagnostics in *diag and the file's name in
 * *path (both to free). Returns what lg_graph_read returned. */
static int read_text(const char *text, struct lg_graph_file *g, char **diag, char **path)
{
    *path = strdup("/tmp/lockgraph-test-graph.XXXXXX");
    int fd = mkstemp(*path);
    CU_ASSERT_FATAL(fd >= 0);
    size_t len = strlen(text);
    CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
    close(fd);
    size_t dlen = 0;
    FILE *fp = open_memstream(diag, &dlen);
    int r = lg_graph_read(*path, g, fp);
    fclose(fp);
    unlink(*path);
    return r;
}

/* `diag` has "PATH:LINE: WHAT" (or "PATH: WHAT" for line 0). */
static void expect_diag(const char *diag, const char *path, int line, const char *what)
{
    char want[512];
    if (line)
        snprintf(want, sizeof want, "%s:%d: %s", path, line, what);
    else
        snprintf(want, sizeof want, "%s: %s", path, what);
    if (!strstr(diag, want)) {
        fprintf(stderr, "\n  diagnostics:\n%s  lack: %s\n", diag, want);
        CU_FAIL("diagnostic missing");
    }
}

static void test_whole_file(void)
{
    struct lg_graph_file g;
    CU_ASSERT_EQUAL_FATAL(lg_graph_read(TEST_DATA_DIR "/graph-clean-a.jsonl", &g, stderr), 0);
    CU_ASSERT_EQUAL(g.version, 1);
    CU_ASSERT_EQUAL(g.pid, 100);
    CU_ASSERT_STRING_EQUAL(g.exe, "/nonexistent/lockgraph-test/bank");
    CU_ASSERT_EQUAL_FATAL(g.n_modules, 1);
    CU_ASSERT_EQUAL(g.modules[0].base, 0x55d0c2a00000);
    CU_ASSERT_TRUE(g.complete);
    CU_ASSERT_EQUAL(g.end_locks, 5);
    CU_ASSERT_EQUAL(g.end_edges, 5);
    CU_ASSERT_EQUAL(g.bad_lines, 0);

    CU_ASSERT_EQUAL_FATAL(g.n_locks, 5);
    const struct lg_graph_lock *l = &g.locks[0];
    CU_ASSERT_STRING_EQUAL(l->key, "sym:bank:table_lock");
    CU_ASSERT_STRING_EQUAL(l->type, "mutex");
    CU_ASSERT_STRING_EQUAL(l->name, "table");
    CU_ASSERT_FALSE(l->created);
    CU_ASSERT_EQUAL(l->instances, 1);
    CU_ASSERT_EQUAL_FATAL(l->stack.n, 2);
    CU_ASSERT_EQUAL(l->stack.pcs[0], 0x55d0c2a01100);
    CU_ASSERT_EQUAL(l->line, 2);
    CU_ASSERT_EQUAL(g.locks[1].instances, 40);
    CU_ASSERT_STRING_EQUAL(g.locks[4].type, "rwlock");
    CU_ASSERT_PTR_NULL(g.locks[3].name);
    CU_ASSERT_FALSE(g.locks[0].has_rank);

    CU_ASSERT_EQUAL_FATAL(g.n_edges, 5);
    const struct lg_graph_edge *e = &g.edges[0];
    CU_ASSERT_STRING_EQUAL(e->from, "sym:bank:table_lock");
    CU_ASSERT_STRING_EQUAL(e->to, "site:bank+0x1a2b");
    CU_ASSERT_EQUAL(e->instances, 40);
    CU_ASSERT_STRING_EQUAL(e->held, "exclusive");
    CU_ASSERT_PTR_NULL(e->address_order);
    CU_ASSERT_EQUAL(e->thread.tid, 101);
    CU_ASSERT_STRING_EQUAL(e->thread.name, "teller");
    CU_ASSERT_EQUAL(e->first.n, 2);
    CU_ASSERT_EQUAL(e->second.pcs[0], 0x55d0c2a01410);
    CU_ASSERT_EQUAL(e->line, 7);
    CU_ASSERT_STRING_EQUAL(g.edges[1].address_order, "ascending");
    CU_ASSERT_STRING_EQUAL(g.edges[4].waited, "shared");
    lg_graph_free(&g);

    /* class and rank, from a run that had a rank file */
    CU_ASSERT_EQUAL_FATAL(lg_graph_read(TEST_DATA_DIR "/graph-clean-b.jsonl", &g, stderr), 0);
    CU_ASSERT_STRING_EQUAL(g.locks[0].class_name, "config");
    CU_ASSERT_TRUE(g.locks[0].has_rank);
    CU_ASSERT_EQUAL(g.locks[0].rank, 5);
    CU_ASSERT_EQUAL(g.n_modules, 2);
    lg_graph_free(&g);
}

static void test_bad_lines_are_skipped(void)
{
    struct lg_graph_file g;
    char *diag, *path;
    const char *text =
        HEADER LOCK_A "not json\n"
                      "{\"kind\":\"graph-edge\",\"from\":\"name:a\"}\n"
                      "{\"kind\":\"graph-lock\",\"key\":\"\"}\n"
                      "{\"kind\":\"graph-lock\",\"key\":\"name:c\",\"rank\":\"x\"}\n"
                      "[1]\n"
                      "{\"kind\":\"graph-from-the-future\"}\n" LOCK_B EDGE_AB END(2, 1);
    CU_ASSERT_EQUAL_FATAL(read_text(text, &g, &diag, &path), 0);
    CU_ASSERT_EQUAL(g.n_locks, 2);
    CU_ASSERT_EQUAL(g.n_edges, 1);
    CU_ASSERT_EQUAL(g.bad_lines, 5);
    CU_ASSERT_EQUAL(g.unknown_lines, 1);
    CU_ASSERT_TRUE(g.complete);
    CU_ASSERT_STRING_EQUAL(g.locks[1].key, "name:b");
    CU_ASSERT_EQUAL(g.locks[1].line, 9);
    expect_diag(diag, path, 3, "bad line skipped: not valid JSON");
    expect_diag(diag, path, 4, "bad line skipped: no \"to\"");
    expect_diag(diag, path, 5, "bad line skipped: \"key\" is empty");
    expect_diag(diag, path, 6, "bad line skipped: \"rank\" is not an integer");
    expect_diag(diag, path, 7, "bad line skipped: not a JSON object");
    expect_diag(diag, path, 0,
                "note: ignored 1 line of a kind this lockgraph does not know "
                "(\"graph-from-the-future\")");
    CU_ASSERT_PTR_NULL(strstr(diag, "cut short"));
    lg_graph_free(&g);
    free(diag);
    free(path);
}

static void test_cut_short(void)
{
    struct lg_graph_file g;
    char *diag, *path;
    /* The writer died mid-line: that line is ignored, and there is no
     * graph-end. */
    CU_ASSERT_EQUAL_FATAL(
        read_text(HEADER LOCK_A LOCK_B "{\"kind\":\"graph-edge\",\"fr", &g, &diag, &path), 0);
    CU_ASSERT_FALSE(g.complete);
    CU_ASSERT_TRUE(g.cut_line);
    CU_ASSERT_EQUAL(g.n_locks, 2);
    CU_ASSERT_EQUAL(g.bad_lines, 0);
    expect_diag(diag, path, 4, "warning: last line is incomplete");
    expect_diag(diag, path, 0, "warning: no graph-end line: the file was cut short");
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "using the 2 locks and 0 edges read\n"));
    lg_graph_free(&g);
    free(diag);
    free(path);

    /* Cut between lines: only graph-end is missing. */
    CU_ASSERT_EQUAL_FATAL(read_text(HEADER LOCK_A, &g, &diag, &path), 0);
    CU_ASSERT_FALSE(g.complete);
    CU_ASSERT_FALSE(g.cut_line);
    expect_diag(diag, path, 0, "warning: no graph-end line");
    lg_graph_free(&g);
    free(diag);
    free(path);
}

static void test_end_counts_and_after_end(void)
{
    struct lg_graph_file g;
    char *diag, *path;
    CU_ASSERT_EQUAL_FATAL(read_text(HEADER LOCK_A END(3, 0) LOCK_B, &g, &diag, &path), 0);
    CU_ASSERT_TRUE(g.complete);
    CU_ASSERT_EQUAL(g.n_locks, 1);
    CU_ASSERT_EQUAL(g.bad_lines, 1);
    expect_diag(diag, path, 4, "bad line skipped: a \"graph-lock\" line after graph-end");
    expect_diag(diag, path, 0, "warning: graph-end counts 3 locks and 0 edges, 1 and 0 were read");
    lg_graph_free(&g);
    free(diag);
    free(path);
}

/* Files that cannot be used at all: -1, *g empty, one clear message. */
static void expect_refused(const char *text, int line, const char *what)
{
    struct lg_graph_file g;
    char *diag, *path;
    CU_ASSERT_EQUAL(read_text(text, &g, &diag, &path), -1);
    CU_ASSERT_EQUAL(g.n_locks + g.n_edges + g.n_modules, 0);
    CU_ASSERT_PTR_NULL(g.path);
    expect_diag(diag, path, line, what);
    free(diag);
    free(path);
}

static void test_not_a_graph_file(void)
{
    expect_refused("", 0, "not a graph file: it is empty");
    expect_refused("\n  \n", 0, "not a graph file: it is empty");
    expect_refused("{\"kind\":\"gra", 0, "not a graph file: its only line is incomplete");
    expect_refused("\x7f"
                   "ELF\x02\x01\n",
                   1, "not a graph file: not valid JSON");
    expect_refused("\n{\"kind\":\"lock-order-cycle\"}\n", 2,
                   "not a graph file: its first line is a \"lock-order-cycle\" line, not the "
                   "\"graph\" header (a findings file?)");
    expect_refused(LOCK_A END(1, 0), 1,
                   "not a graph file: its first line is a \"graph-lock\" line, not the "
                   "\"graph\" header (the start of the file is missing)");
    expect_refused("{\"pid\":1}\n", 1, "not a graph file: its first line has no \"kind\"");
    expect_refused("{\"kind\":\"graph\",\"modules\":[{\"base\":\"0x1\"}]}\n", 1,
                   "not a graph file: a module has no \"path\"");
}

/* What the vertices are: lock classes when a graph-lock line is of a
 * site, chain or name class (classes=1); locks when every one is a class
 * of its own (classes=0 writes class_kind addr) or none says (earlier
 * versions). */
static void test_classes(void)
{
    static const struct {
        const char *kinds[2];
        bool classes;
    } cases[] = {
        {{"\"site\"", "\"addr\""}, true},
        {{"\"addr\"", "\"chain\""}, true},
        {{"\"name\"", NULL}, true},
        {{"\"addr\"", "\"addr\""}, false},
        {{NULL, NULL}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024];
        size_t k = (size_t)snprintf(text, sizeof text, "%s", HEADER);
        for (int j = 0; j < 2; j++) {
            const char *kind = cases[i].kinds[j];
            k += (size_t)snprintf(
                text + k, sizeof text - k,
                "{\"kind\":\"graph-lock\",\"key\":\"name:%c\",\"instances\":1%s%s}\n", 'a' + j,
                kind ? ",\"class_kind\":" : "", kind ? kind : "");
        }
        snprintf(text + k, sizeof text - k, "%s", END(2, 0));
        struct lg_graph_file g;
        char *diag, *path;
        CU_ASSERT_EQUAL_FATAL(read_text(text, &g, &diag, &path), 0);
        CU_ASSERT_EQUAL(g.classes, cases[i].classes);
        lg_graph_free(&g);
        free(diag);
        free(path);
    }
    CU_ASSERT_STRING_EQUAL(lg_graph_noun(true, 1), "lock class");
    CU_ASSERT_STRING_EQUAL(lg_graph_noun(true, 3), "lock classes");
    CU_ASSERT_STRING_EQUAL(lg_graph_noun(false, 1), "lock");
    CU_ASSERT_STRING_EQUAL(lg_graph_noun(false, 0), "locks");
}

static void test_missing_file(void)
{
    struct lg_graph_file g;
    char *diag = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&diag, &len);
    CU_ASSERT_EQUAL(lg_graph_read("/nonexistent/graph.jsonl", &g, fp), -1);
    fclose(fp);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "cannot open /nonexistent/graph.jsonl: No such file"));
    free(diag);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("graphfile", NULL, NULL);
    CU_add_test(s, "whole file", test_whole_file);
    CU_add_test(s, "bad lines skipped", test_bad_lines_are_skipped);
    CU_add_test(s, "cut short", test_cut_short);
    CU_add_test(s, "graph-end counts, lines after it", test_end_counts_and_after_end);
    CU_add_test(s, "not a graph file", test_not_a_graph_file);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "lock classes or locks", test_classes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
