/*
 * test_findings.c - findings.c: every kind parses into the structs, unknown
 * kinds and fields are ignored, corrupt lines are reported with file:line
 * and skipped, a truncated last line is a warning, empty and missing files
 * behave, and a 1000-lock cycle on one line parses whole; a line over the
 * bound is refused and the rest read, endless input ends with an error,
 * garbage is told from a line cut short, and problems are capped.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "findings.h"
#include "jsonl.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "."
#endif

#define MODS                                                                                       \
    "\"modules\":[{\"path\":\"/usr/bin/prog\",\"base\":\"0x55d0c2a00000\","                        \
    "\"end\":\"0x55d0c2a1f000\",\"build_id\":\"3e2f\"}]"
#define HEAD(kind)                                                                                 \
    "{\"kind\":\"" kind "\",\"version\":1,\"seq\":3,\"pid\":4242,\"time_ns\":17," MODS
#define LOCK(id, addr)                                                                             \
    "{\"id\":" #id ",\"addr\":\"" addr "\",\"type\":\"mutex\",\"mode\":\"normal\","                \
    "\"name\":\"account " #id "\",\"created\":true,\"stack\":[\"0x55d0c2a01234\"]}"
#define THREAD "{\"tid\":4244,\"seq\":2,\"name\":\"teller-1\"}"

static int parse(const char *line, struct lg_finding *f, char *err, size_t errlen)
{
    bool unknown;
    int r = lg_finding_parse(line, strlen(line), f, &unknown, err, errlen);
    CU_ASSERT_FALSE(unknown && r != 0);
    return r;
}

/* A temporary file holding `text`; the caller unlinks and frees the name. */
static char *temp_file(const char *text, size_t len)
{
    char *path = strdup("/tmp/lockgraph-test-findings.XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, len) == (ssize_t)len);
    close(fd);
    return path;
}

/* lg_findings_read_file on `text`, with its diagnostics in *diag (to free). */
static int read_text(const char *text, struct lg_findings *set, char **diag, char **path_out)
{
    char *path = temp_file(text, strlen(text));
    size_t len = 0;
    FILE *fp = open_memstream(diag, &len);
    lg_findings_init(set);
    int r = lg_findings_read_file(set, path, fp);
    fclose(fp);
    unlink(path);
    if (path_out)
        *path_out = path;
    else
        free(path);
    return r;
}

/* ---- one line of each kind ---- */

static void test_cycle(void)
{
    const char *line = HEAD("lock-order-cycle") ",\"locks\":[" LOCK(7, "0x7ffd5c1e3a40") "," LOCK(
        9, "0x7ffd5c1e3a80") "],\"edges\":["
                             "{\"from\":7,\"to\":9,\"thread\":" THREAD ",\"timed\":false,"
                             "\"first_stack\":[\"0x1\",\"0x2\"],\"first_stack_exact\":false,"
                             "\"second_stack\":[\"0x3\",\"0x4\",\"0x5\"]},"
                             "{\"from\":9,\"to\":7,\"thread\":{\"tid\":4245,\"seq\":3},"
                             "\"timed\":true,\"first_stack\":[],\"first_stack_exact\":true,"
                             "\"second_stack\":[\"0x6\"]}],"
                             "\"timed\":true,\"single_thread\":false}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_CYCLE);
    CU_ASSERT_EQUAL(f.version, 1);
    CU_ASSERT_EQUAL(f.seq, 3);
    CU_ASSERT_EQUAL(f.pid, 4242);
    CU_ASSERT_EQUAL(f.time_ns, 17);
    CU_ASSERT_EQUAL_FATAL(f.n_modules, 1);
    CU_ASSERT_STRING_EQUAL(f.modules[0].path, "/usr/bin/prog");
    CU_ASSERT_EQUAL(f.modules[0].base, 0x55d0c2a00000);
    CU_ASSERT_EQUAL(f.modules[0].end, 0x55d0c2a1f000);
    CU_ASSERT_STRING_EQUAL(f.modules[0].build_id, "3e2f");
    CU_ASSERT_EQUAL_FATAL(f.n_locks, 2);
    CU_ASSERT_EQUAL(f.locks[0].id, 7);
    CU_ASSERT_EQUAL(f.locks[0].addr, 0x7ffd5c1e3a40);
    CU_ASSERT_STRING_EQUAL(f.locks[0].type, "mutex");
    CU_ASSERT_STRING_EQUAL(f.locks[0].mode, "normal");
    CU_ASSERT_STRING_EQUAL(f.locks[1].name, "account 9");
    CU_ASSERT_TRUE(f.locks[1].created);
    CU_ASSERT_EQUAL_FATAL(f.locks[1].stack.n, 1);
    CU_ASSERT_EQUAL(f.locks[1].stack.pcs[0], 0x55d0c2a01234);
    CU_ASSERT_EQUAL_FATAL(f.n_edges, 2);
    CU_ASSERT_EQUAL(f.edges[0].from, 7);
    CU_ASSERT_EQUAL(f.edges[0].to, 9);
    CU_ASSERT_EQUAL(f.edges[0].thread.tid, 4244);
    CU_ASSERT_EQUAL(f.edges[0].thread.seq, 2);
    CU_ASSERT_STRING_EQUAL(f.edges[0].thread.name, "teller-1");
    CU_ASSERT_FALSE(f.edges[0].first_exact);
    CU_ASSERT_EQUAL(f.edges[0].first.n, 2);
    CU_ASSERT_EQUAL(f.edges[0].second.n, 3);
    CU_ASSERT_EQUAL(f.edges[0].second.pcs[2], 5);
    CU_ASSERT_PTR_NULL(f.edges[1].thread.name);
    CU_ASSERT_TRUE(f.edges[1].timed);
    CU_ASSERT_TRUE(f.edges[1].first_exact);
    CU_ASSERT_EQUAL(f.edges[1].first.n, 0);
    CU_ASSERT_TRUE(f.timed);
    CU_ASSERT_FALSE(f.single_thread);
    lg_finding_free(&f);
}

static void test_self_deadlock(void)
{
    const char *line = HEAD("self-deadlock") ",\"lock\":" LOCK(
        3, "0x10") ",\"thread\":" THREAD ",\"first_stack\":[\"0x20\",\"0x21\"],"
                   "\"second_stack\":[\"0x30\"],\"timed\":true}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_SELF_DEADLOCK);
    CU_ASSERT_EQUAL(f.lock.id, 3);
    CU_ASSERT_EQUAL(f.lock.addr, 0x10);
    CU_ASSERT_EQUAL(f.thread.tid, 4244);
    CU_ASSERT_EQUAL(f.first_stack.n, 2);
    CU_ASSERT_EQUAL(f.second_stack.pcs[0], 0x30);
    CU_ASSERT_TRUE(f.timed);
    lg_finding_free(&f);
}

static void test_unlock_not_held(void)
{
    /* id 0 and no stack: lockgraph never saw this lock locked. */
    const char *line = HEAD("unlock-not-held") ",\"lock\":{\"id\":0,\"addr\":\"0xdead0\","
                                               "\"type\":\"mutex\",\"mode\":\"errorcheck\","
                                               "\"created\":false},"
                                               "\"thread\":" THREAD ",\"stack\":[\"0x40\"]}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_UNLOCK_NOT_HELD);
    CU_ASSERT_EQUAL(f.lock.id, 0);
    CU_ASSERT_EQUAL(f.lock.stack.n, 0);
    CU_ASSERT_PTR_NULL(f.lock.name);
    CU_ASSERT_STRING_EQUAL(f.lock.mode, "errorcheck");
    CU_ASSERT_EQUAL(f.stack.n, 1);
    lg_finding_free(&f);
}

static void test_held_at_exit(void)
{
    const char *line = HEAD(
        "held-at-exit") ",\"thread\":" THREAD ",\"held\":["
                        "{\"lock\":" LOCK(1, "0x100") ",\"stack\":[\"0x50\"]},"
                                                      "{\"lock\":" LOCK(
                                                          2, "0x200") ",\"stack\":[\"0x60\"]}]}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_HELD_AT_EXIT);
    CU_ASSERT_EQUAL_FATAL(f.n_held, 2);
    CU_ASSERT_EQUAL(f.held[0].lock.id, 1);
    CU_ASSERT_EQUAL(f.held[1].lock.addr, 0x200);
    CU_ASSERT_EQUAL(f.held[1].stack.pcs[0], 0x60);
    lg_finding_free(&f);
}

static void test_detector_error(void)
{
    const char *line = "{\"kind\":\"detector-error\",\"version\":1,\"seq\":1,\"pid\":9,"
                       "\"time_ns\":1,\"modules\":[],\"error\":\"out-of-memory\","
                       "\"message\":\"some locks are not tracked\"}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_DETECTOR_ERROR);
    CU_ASSERT_STRING_EQUAL(f.error, "out-of-memory");
    CU_ASSERT_STRING_EQUAL(f.message, "some locks are not tracked");
    CU_ASSERT_EQUAL(f.n_modules, 0);
    lg_finding_free(&f);
}

/* A lock in a ranked class carries key, class and rank (rank absent for a
 * class ordered only by `order` lines). */
#define RANKED_LOCK(id, addr, key, cls, rank)                                                      \
    "{\"id\":" #id ",\"addr\":\"" addr "\",\"type\":\"mutex\",\"mode\":\"normal\","                \
    "\"created\":true,\"stack\":[\"0x55d0c2a01234\"],\"key\":\"" key "\",\"class\":\"" cls         \
    "\"" rank "}"

#define TAKEN RANKED_LOCK(9, "0x2000", "site:bank+0x1a2b", "accounts", ",\"rank\":20")
#define HELD_LOG                                                                                   \
    "{\"lock\":" RANKED_LOCK(3, "0x1000", "name:log", "log",                                       \
                             ",\"rank\":30") ",\"stack\":[\"0x60\"],"                              \
                                             "\"stack_exact\":true,"                               \
                                             "\"why\":\"rank\"}"
#define HELD_CFG                                                                                   \
    "{\"lock\":" RANKED_LOCK(4, "0x1800", "name:cfg", "cfg",                                       \
                             "") ",\"stack\":[\"0x61\"],\"why\":\"order\"}"

static void test_rank_violation(void)
{
    const char *line = HEAD("rank-violation") ",\"lock\":" TAKEN ",\"thread\":" THREAD
                                              ",\"stack\":[\"0x70\",\"0x71\"],"
                                              "\"held\":[" HELD_LOG "," HELD_CFG "]}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_RANK_VIOLATION);
    CU_ASSERT_STRING_EQUAL(lg_kind_name(f.kind), "rank-violation");
    CU_ASSERT_EQUAL(f.lock.id, 9);
    CU_ASSERT_STRING_EQUAL(f.lock.key, "site:bank+0x1a2b");
    CU_ASSERT_STRING_EQUAL(f.lock.class_name, "accounts");
    CU_ASSERT_TRUE(f.lock.has_rank);
    CU_ASSERT_EQUAL(f.lock.rank, 20);
    CU_ASSERT_EQUAL(f.thread.seq, 2);
    CU_ASSERT_EQUAL_FATAL(f.stack.n, 2);
    CU_ASSERT_EQUAL(f.stack.pcs[1], 0x71);
    CU_ASSERT_EQUAL_FATAL(f.n_held, 2);
    CU_ASSERT_STRING_EQUAL(f.held[0].lock.key, "name:log");
    CU_ASSERT_EQUAL(f.held[0].lock.rank, 30);
    CU_ASSERT_TRUE(f.held[0].stack_exact);
    CU_ASSERT_STRING_EQUAL(f.held[0].why, "rank");
    CU_ASSERT_EQUAL(f.held[0].stack.pcs[0], 0x60);
    CU_ASSERT_FALSE(f.held[1].stack_exact);
    CU_ASSERT_STRING_EQUAL(f.held[1].why, "order");
    CU_ASSERT_FALSE(f.held[1].lock.has_rank); /* ordered only by `order` lines */
    CU_ASSERT_EQUAL(f.held[1].lock.rank, 0);
    lg_finding_free(&f);
}

static void test_rank_order_cycle(void)
{
    const char *line = "{\"kind\":\"rank-order-cycle\",\"version\":1,\"seq\":1,\"pid\":5,"
                       "\"modules\":[],\"classes\":[\"config\",\"table\",\"stats\"]}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_RANK_CYCLE);
    CU_ASSERT_STRING_EQUAL(lg_kind_name(f.kind), "rank-order-cycle");
    CU_ASSERT_EQUAL_FATAL(f.n_classes, 3);
    CU_ASSERT_STRING_EQUAL(f.classes[0], "config");
    CU_ASSERT_STRING_EQUAL(f.classes[2], "stats");
    lg_finding_free(&f);
}

/* Locks outside any ranked class have none of the rank fields. */
static void test_lock_without_rank_fields(void)
{
    const char *line = HEAD("self-deadlock") ",\"lock\":" LOCK(
        3, "0x10") ",\"thread\":" THREAD ",\"first_stack\":[],\"second_stack\":[]}";
    struct lg_finding f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(parse(line, &f, err, sizeof err), 1);
    CU_ASSERT_PTR_NULL(f.lock.key);
    CU_ASSERT_PTR_NULL(f.lock.class_name);
    CU_ASSERT_FALSE(f.lock.has_rank);
    lg_finding_free(&f);
}

static void test_unknown_kind_and_fields(void)
{
    struct lg_finding f;
    bool unknown;
    char err[256];
    /* A newer runtime's kind is kept whole, to be shown field by field. */
    const char *k = "{\"kind\":\"kind-from-the-future\",\"pid\":1,\"whatever\":[1,{\"a\":2}]}";
    CU_ASSERT_EQUAL_FATAL(lg_finding_parse(k, strlen(k), &f, &unknown, err, sizeof err), 1);
    CU_ASSERT_TRUE(unknown);
    CU_ASSERT_EQUAL(f.kind, LG_KIND_OTHER);
    CU_ASSERT_STRING_EQUAL(lg_finding_kind(&f), "kind-from-the-future");
    CU_ASSERT_EQUAL(f.pid, 1);
    CU_ASSERT_PTR_NOT_NULL(f.raw);
    lg_finding_free(&f);
    /* Its common fields must still be right; an empty kind is no kind. */
    const char *bad = "{\"kind\":\"kind-from-the-future\",\"pid\":\"one\"}";
    CU_ASSERT_EQUAL(lg_finding_parse(bad, strlen(bad), &f, &unknown, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "kind-from-the-future: \"pid\" is not an integer"));
    const char *empty = "{\"kind\":\"\"}";
    CU_ASSERT_EQUAL(lg_finding_parse(empty, strlen(empty), &f, &unknown, err, sizeof err), -1);

    const char *extra = "{\"kind\":\"detector-error\",\"pid\":2,\"new_field\":{\"x\":[1,2]},"
                        "\"error\":\"out-of-memory\",\"modules\":[{\"path\":\"/a\",\"base\":"
                        "\"0x0\",\"end\":\"0x10\",\"arch\":\"x86_64\"}]}";
    CU_ASSERT_EQUAL_FATAL(lg_finding_parse(extra, strlen(extra), &f, &unknown, err, sizeof err), 1);
    CU_ASSERT_FALSE(unknown);
    CU_ASSERT_EQUAL(f.pid, 2);
    CU_ASSERT_PTR_NULL(f.modules[0].build_id);
    lg_finding_free(&f);
}

static void expect_corrupt(const char *line, const char *reason)
{
    struct lg_finding f;
    bool unknown;
    char err[256];
    int r = lg_finding_parse(line, strlen(line), &f, &unknown, err, sizeof err);
    CU_ASSERT_EQUAL(r, -1);
    if (r == -1 && !strstr(err, reason)) {
        fprintf(stderr, "\n  line %s\n  gave \"%s\", wanted \"%s\"\n", line, err, reason);
        CU_FAIL("wrong reason");
    }
    if (r == 1)
        lg_finding_free(&f);
}

/* lg_json_bytes_unescape on `in`: `want` (NULL: nothing to change). */
static void expect_bytes(const char *in, const char *want, size_t want_len)
{
    size_t len = 0;
    char *got = lg_json_bytes_unescape(in, strlen(in), &len);
    if (!want) {
        CU_ASSERT_PTR_NULL(got);
    } else {
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(len, want_len);
        CU_ASSERT(memcmp(got, want, want_len) == 0 && got[len] == '\0');
    }
    free(got);
}

/* The library writes a byte that is not UTF-8 as \u00XX (lib/util.c):
 * read back, it is that byte, not the character U+00XX. Nothing else is
 * touched: other escapes, an escaped backslash before "u00ff", text
 * outside strings; a line the copy cannot parse is named in its own
 * offsets. */
static void test_bytes_unescaped(void)
{
    expect_bytes("{\"path\":\"/x/plain.so\"}", NULL, 0);
    expect_bytes("{\"path\":\"/mod\\u00ffdir/lib\\u00E9.so\"}",
                 "{\"path\":\"/mod\xff"
                 "dir/lib\xe9.so\"}",
                 27);
    expect_bytes("{\"a\":\"\\u007f\\u0100\\u00f\\n\\\"\"}", NULL, 0);
    expect_bytes("{\"a\":\"\\\\u00ff\"}", NULL, 0);
    expect_bytes("{\"a\":\"x\\\\\\u0080\"}", "{\"a\":\"x\\\\\x80\"}", 12);
    expect_bytes("{\"a\\u00ff\":1}", "{\"a\xff\":1}", 8);
    expect_bytes("{\"a\":\"\\u00f", NULL, 0);

    /* Read as a finding: the module's path holds the bytes. */
    const char *line = "{\"kind\":\"detector-error\",\"pid\":1,\"modules\":[{\"path\":"
                       "\"/caf\\u00e9/lib.so\",\"base\":\"0x1000\",\"end\":\"0x2000\"}]}";
    struct lg_finding f;
    bool unknown;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(lg_finding_parse(line, strlen(line), &f, &unknown, err, sizeof err), 1);
    CU_ASSERT_EQUAL_FATAL(f.n_modules, 1);
    CU_ASSERT_STRING_EQUAL(f.modules[0].path, "/caf\xe9/lib.so");
    lg_finding_free(&f);
    /* Broken lines with such an escape: the reason, in the line's own
     * byte offsets. */
    expect_corrupt("{\"kind\":\"detector-error\",\"x\":\"\\u00ff\"} trailing",
                   "text after the object at byte 40");
    expect_corrupt("{\"kind\":\"detector-error\",\"x\":\"\\u00ff\",]", "not valid JSON");
}

static void test_corrupt_lines(void)
{
    expect_corrupt("{\"kind\":\"detector-error\"", "incomplete");
    expect_corrupt("hello", "not valid JSON");
    expect_corrupt("[1,2]", "not a JSON object");
    expect_corrupt("{\"pid\":1}", "no \"kind\"");
    expect_corrupt("{\"kind\":7}", "no \"kind\"");
    expect_corrupt("{\"kind\":\"detector-error\"} trailing", "text after the object");
    expect_corrupt("{\"kind\":\"lock-order-cycle\",\"edges\":[]}",
                   "lock-order-cycle: no \"locks\"");
    expect_corrupt("{\"kind\":\"lock-order-cycle\",\"locks\":{},\"edges\":[]}", "not an array");
    expect_corrupt("{\"kind\":\"lock-order-cycle\",\"locks\":[],\"edges\":[]}", "no locks");
    expect_corrupt("{\"kind\":\"self-deadlock\",\"thread\":{}}", "no \"lock\"");
    expect_corrupt("{\"kind\":\"self-deadlock\",\"lock\":{\"addr\":\"zz\"},\"thread\":{}}",
                   "not a hex address");
    expect_corrupt("{\"kind\":\"unlock-not-held\",\"lock\":{},\"thread\":{},\"stack\":[true]}",
                   "not an address");
    expect_corrupt("{\"kind\":\"held-at-exit\",\"thread\":{},\"held\":[3]}", "not an object");
    expect_corrupt("{\"kind\":\"detector-error\",\"pid\":\"x\"}", "\"pid\" is not an integer");
    expect_corrupt("{\"kind\":\"detector-error\",\"modules\":[{\"base\":\"0x1\"}]}", "no \"path\"");
    expect_corrupt("{\"kind\":\"rank-violation\",\"lock\":{},\"thread\":{}}",
                   "rank-violation: no \"held\"");
    expect_corrupt("{\"kind\":\"rank-violation\",\"thread\":{},\"held\":[]}", "no \"lock\"");
    expect_corrupt("{\"kind\":\"rank-violation\",\"lock\":{\"rank\":\"high\"},\"thread\":{},"
                   "\"held\":[]}",
                   "\"rank\" is not an integer");
    expect_corrupt("{\"kind\":\"rank-violation\",\"lock\":{},\"thread\":{},"
                   "\"held\":[{\"lock\":{},\"why\":3}]}",
                   "\"why\" is not a string");
    expect_corrupt("{\"kind\":\"rank-order-cycle\"}", "rank-order-cycle: no \"classes\"");
    expect_corrupt("{\"kind\":\"rank-order-cycle\",\"classes\":[]}", "no classes");
    expect_corrupt("{\"kind\":\"rank-order-cycle\",\"classes\":[\"a\",1]}", "not a string");
}

static void test_blank_line_is_skipped(void)
{
    struct lg_finding f;
    bool unknown;
    char err[64];
    CU_ASSERT_EQUAL(lg_finding_parse("  \r", 3, &f, &unknown, err, sizeof err), 0);
    CU_ASSERT_FALSE(unknown);
}

/* ---- whole files ---- */

#define DE(pid) "{\"kind\":\"detector-error\",\"pid\":" #pid ",\"error\":\"out-of-memory\"}\n"
#define HX(pid) "{\"kind\":\"held-at-exit\",\"pid\":" #pid ",\"thread\":{},\"held\":[]}\n"

static void test_file_with_corrupt_middle_line(void)
{
    struct lg_findings set;
    char *diag, *path;
    CU_ASSERT_EQUAL(read_text(HX(1) "{\"kind\": oops\n" HX(3), &set, &diag, &path), 0);
    CU_ASSERT_EQUAL(set.n, 2);
    CU_ASSERT_EQUAL(set.corrupt_lines, 1);
    CU_ASSERT_EQUAL(set.files_read, 1);
    CU_ASSERT_EQUAL(set.items[1].pid, 3);
    CU_ASSERT_EQUAL(set.items[1].line, 3);
    CU_ASSERT_STRING_EQUAL(set.items[1].file, path);
    char where[128];
    snprintf(where, sizeof where, "%s:2: corrupt line skipped", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, where));
    lg_findings_free(&set);
    free(diag);
    free(path);
}

static void test_file_with_truncated_last_line(void)
{
    struct lg_findings set;
    char *diag, *path;
    CU_ASSERT_EQUAL(read_text(DE(1) DE(2) "{\"kind\":\"detector-err", &set, &diag, &path), 0);
    CU_ASSERT_EQUAL(set.n, 2);
    CU_ASSERT_EQUAL(set.truncated_lines, 1);
    CU_ASSERT_EQUAL(set.corrupt_lines, 0);
    char where[128];
    snprintf(where, sizeof where, "%s:3: warning: last line is incomplete", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, where));
    lg_findings_free(&set);
    free(diag);
    free(path);

    /* Complete JSON but no newline is still a cut line: the writer adds
     * the newline in the same write. */
    CU_ASSERT_EQUAL(read_text(DE(1) "{\"kind\":\"detector-error\"}", &set, &diag, NULL), 0);
    CU_ASSERT_EQUAL(set.n, 1);
    CU_ASSERT_EQUAL(set.truncated_lines, 1);
    lg_findings_free(&set);
    free(diag);
}

static void test_empty_file(void)
{
    struct lg_findings set;
    char *diag;
    CU_ASSERT_EQUAL(read_text("", &set, &diag, NULL), 0);
    CU_ASSERT_EQUAL(set.n, 0);
    CU_ASSERT_EQUAL(set.files_read, 1);
    CU_ASSERT_EQUAL(set.corrupt_lines + set.truncated_lines + set.unreadable_files, 0);
    CU_ASSERT_STRING_EQUAL(diag, "");
    lg_findings_free(&set);
    free(diag);
}

static void test_missing_file(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    char *diag = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&diag, &len);
    CU_ASSERT_EQUAL(lg_findings_read_file(&set, "/nonexistent/lockgraph.jsonl", fp), -1);
    fclose(fp);
    CU_ASSERT_EQUAL(set.unreadable_files, 1);
    CU_ASSERT_EQUAL(set.n, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "/nonexistent/lockgraph.jsonl"));
    lg_findings_free(&set);
    free(diag);
}

static void test_unknown_kinds_are_counted(void)
{
    struct lg_findings set;
    char *diag;
    read_text("{\"kind\":\"lock-convoy\"}\n" DE(1) "{\"kind\":\"priority-inversion\"}\n", &set,
              &diag, NULL);
    CU_ASSERT_EQUAL_FATAL(set.n, 3);
    CU_ASSERT_EQUAL(set.unknown_lines, 2);
    CU_ASSERT_EQUAL(set.corrupt_lines, 0);
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_OTHER);
    CU_ASSERT_STRING_EQUAL(lg_finding_kind(&set.items[2]), "priority-inversion");
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "2 findings of a kind this lockgraph does not know "
                                        "(\"lock-convoy\" on line 1, ...)"));
    lg_findings_free(&set);
    free(diag);
}

static void test_data_file(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    FILE *null = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(lg_findings_read_file(&set, TEST_DATA_DIR "/cycle.jsonl", null), 0);
    fclose(null);
    CU_ASSERT_EQUAL_FATAL(set.n, 4);
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_CYCLE);
    CU_ASSERT_EQUAL(set.items[1].kind, LG_KIND_HELD_AT_EXIT);
    CU_ASSERT_EQUAL(set.items[2].kind, LG_KIND_OTHER);
    CU_ASSERT_EQUAL(set.items[3].kind, LG_KIND_DETECTOR_ERROR);
    CU_ASSERT_EQUAL(set.unknown_lines, 1);
    lg_findings_free(&set);
}

/* One line holding a 1000-lock cycle, each lock and edge with stacks: about
 * a megabyte, the size the library writes for the cycles DESIGN.md asks us
 * to handle. */
static void test_huge_cycle_line(void)
{
    enum { N = 1000 };
    size_t cap = 4u << 20, len = 0;
    char *buf = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    len += (size_t)snprintf(buf + len, cap - len, "%s", HEAD("lock-order-cycle") ",\"locks\":[");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "%s{\"id\":%d,\"addr\":\"0x%x\",\"type\":\"mutex\","
                                "\"mode\":\"normal\",\"name\":\"lock %d\",\"created\":true,"
                                "\"stack\":[\"0x55d0c2a01234\",\"0x55d0c2a01300\"]}",
                                i ? "," : "", i + 1, 0x1000 + 64 * i, i);
    len += (size_t)snprintf(buf + len, cap - len, "],\"edges\":[");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(
            buf + len, cap - len,
            "%s{\"from\":%d,\"to\":%d,\"thread\":{\"tid\":%d,\"seq\":%d,\"name\":\"w\"},"
            "\"timed\":false,\"first_stack\":[\"0x55d0c2a01400\",\"0x55d0c2a01500\"],"
            "\"first_stack_exact\":false,\"second_stack\":[\"0x55d0c2a01410\","
            "\"0x55d0c2a01500\",\"0x7f1234594ac3\"]}",
            i ? "," : "", i + 1, (i + 1) % N + 1, 5000 + i, i + 2);
    len += (size_t)snprintf(buf + len, cap - len, "],\"timed\":false,\"single_thread\":false}\n");
    CU_ASSERT_FATAL(len < cap - 1);

    struct lg_findings set;
    char *diag;
    CU_ASSERT_EQUAL(read_text(buf, &set, &diag, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(set.n, 1);
    const struct lg_finding *f = &set.items[0];
    CU_ASSERT_EQUAL(f->n_locks, N);
    CU_ASSERT_EQUAL_FATAL(f->n_edges, N);
    CU_ASSERT_EQUAL(f->edges[N - 1].from, N);
    CU_ASSERT_EQUAL(f->edges[N - 1].to, 1);
    CU_ASSERT_STRING_EQUAL(f->locks[N - 1].name, "lock 999");
    CU_ASSERT_STRING_EQUAL(diag, "");
    lg_findings_free(&set);
    free(diag);
    free(buf);
}

/* ---- what a file may hold that is not findings ---- */

/* A line over the bound is refused with file:line; the lines around it
 * are still read. */
static void test_long_line_refused(void)
{
    size_t n = LG_JSONL_MAX_LINE + 1000;
    char *text = malloc(n + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t k = (size_t)snprintf(text, n + 64, "%s", DE(1));
    memset(text + k, 'x', n);
    k += n;
    k += (size_t)snprintf(text + k, 64, "\n%s", DE(2));
    char *path = temp_file(text, k);
    free(text);
    struct lg_findings set;
    lg_findings_init(&set);
    char *diag = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&diag, &len);
    CU_ASSERT_EQUAL(lg_findings_read_file(&set, path, fp), 0);
    fclose(fp);
    CU_ASSERT_EQUAL(set.n, 2);
    CU_ASSERT_EQUAL(set.corrupt_lines, 1);
    CU_ASSERT_EQUAL(set.usable_files, 1);
    char where[256];
    snprintf(where, sizeof where, "%s:2: line of %zu bytes is longer than the 16 MiB", path, n);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, where));
    unlink(path);
    free(path);
    free(diag);
    lg_findings_free(&set);
}

/* Input that never ends a line stops being read, with a clear error,
 * without taking more than a line's bound of memory. */
static void test_endless_input(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    char *diag = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&diag, &len);
    CU_ASSERT_EQUAL(lg_findings_read_file(&set, "/dev/zero", fp), -1);
    fclose(fp);
    CU_ASSERT_EQUAL(set.n, 0);
    CU_ASSERT_EQUAL(set.unreadable_files, 1);
    CU_ASSERT_EQUAL(set.usable_files, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "/dev/zero:1: no end of line in 256 MiB: not a findings "
                                        "file"));
    free(diag);
    lg_findings_free(&set);
}

/* A last line without newline is a finding cut short only if it starts
 * a JSON object; else it is garbage, and a file of garbage alone is not a
 * file that was read. */
static void test_garbage_without_newline(void)
{
    struct lg_findings set;
    char *diag, *path;
    CU_ASSERT_EQUAL(read_text("\x7f"
                              "ELF\x02\x01 binary",
                              &set, &diag, &path),
                    0);
    CU_ASSERT_EQUAL(set.corrupt_lines, 1);
    CU_ASSERT_EQUAL(set.truncated_lines, 0);
    CU_ASSERT_EQUAL(set.usable_files, 0);
    char where[128];
    snprintf(where, sizeof where, "%s:1: corrupt line skipped: not valid JSON (and no newline",
             path);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, where));
    lg_findings_free(&set);
    free(diag);
    free(path);

    CU_ASSERT_EQUAL(read_text("{\"kind\":\"held-at-ex", &set, &diag, NULL), 0);
    CU_ASSERT_EQUAL(set.truncated_lines, 1);
    CU_ASSERT_EQUAL(set.corrupt_lines, 0);
    CU_ASSERT_EQUAL(set.usable_files, 1);
    lg_findings_free(&set);
    free(diag);

#define CUT(s) lg_json_is_cut_object(s, strlen(s))
    CU_ASSERT_TRUE(CUT("  {\"a\": [1, {\"b\""));
    CU_ASSERT_TRUE(CUT("{}"));
    CU_ASSERT_FALSE(CUT("{\"a\" 1"));
    CU_ASSERT_FALSE(CUT("[1, 2"));
    CU_ASSERT_FALSE(CUT(""));
#undef CUT
}

/* Problems are named for the first few lines of a file; the rest are
 * counted in one line. */
static void test_problems_capped(void)
{
    char text[4096] = "";
    for (int i = 0; i < 25; i++)
        strcat(text, "garbage\n");
    strcat(text, DE(1));
    struct lg_findings set;
    char *diag, *path;
    CU_ASSERT_EQUAL(read_text(text, &set, &diag, &path), 0);
    CU_ASSERT_EQUAL(set.n, 1);
    CU_ASSERT_EQUAL(set.corrupt_lines, 25);
    CU_ASSERT_EQUAL(set.usable_files, 1); /* it had a finding */
    size_t named = 0;
    for (const char *p = diag; (p = strstr(p, "corrupt line skipped")); p++)
        named++;
    CU_ASSERT_EQUAL(named, LG_FINDINGS_MAX_PROBLEMS);
    char more[256];
    snprintf(more, sizeof more, "%s: ... and 15 more unreadable lines (the first 10 are named)",
             path);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, more));
    lg_findings_free(&set);
    free(diag);
    free(path);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("findings", NULL, NULL);
    CU_add_test(s, "lock-order-cycle", test_cycle);
    CU_add_test(s, "self-deadlock", test_self_deadlock);
    CU_add_test(s, "unlock-not-held", test_unlock_not_held);
    CU_add_test(s, "held-at-exit", test_held_at_exit);
    CU_add_test(s, "detector-error", test_detector_error);
    CU_add_test(s, "rank-violation", test_rank_violation);
    CU_add_test(s, "rank-order-cycle", test_rank_order_cycle);
    CU_add_test(s, "lock without rank fields", test_lock_without_rank_fields);
    CU_add_test(s, "unknown kind and fields", test_unknown_kind_and_fields);
    CU_add_test(s, "corrupt lines", test_corrupt_lines);
    CU_add_test(s, "bytes escaped as \\u00XX", test_bytes_unescaped);
    CU_add_test(s, "blank line", test_blank_line_is_skipped);
    CU_add_test(s, "corrupt middle line", test_file_with_corrupt_middle_line);
    CU_add_test(s, "truncated last line", test_file_with_truncated_last_line);
    CU_add_test(s, "empty file", test_empty_file);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "unknown kinds counted", test_unknown_kinds_are_counted);
    CU_add_test(s, "data/cycle.jsonl", test_data_file);
    CU_add_test(s, "1000-lock cycle line", test_huge_cycle_line);
    CU_add_test(s, "line over the bound", test_long_line_refused);
    CU_add_test(s, "endless input", test_endless_input);
    CU_add_test(s, "garbage without newline", test_garbage_without_newline);
    CU_add_test(s, "problems capped", test_problems_capped);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
