/*
 * test_suppress.c - suppress.c: the file format (comments, blank lines,
 * TYPE:GLOB patterns, a bad line named with file:line), suppressions= in
 * an options string, and matching: kind, a lock's name or key, a function
 * or source file of any stack (this test's own functions, symbolized from
 * its debug info), every pattern of a rule at once, hits counted.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selfmodule.h"
#include "suppress.h"

static struct lg_module self;

/* Functions whose addresses stand in for frames of a stack. */
__attribute__((noinline)) void legacy_flush(void)
{
    __asm__ volatile("");
}

__attribute__((noinline)) void modern_flush(void)
{
    __asm__ volatile("");
}

/* A return address inside `fn` (the symbolizer looks up pc - 1). */
static uint64_t pc_in(void (*fn)(void))
{
    return (uint64_t)(uintptr_t)fn + 2;
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/lockgraph-supp.XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int load(struct lg_supp *s, const char *text, char **diag)
{
    char *path = write_temp(text);
    size_t len = 0;
    FILE *d = open_memstream(diag, &len);
    int rc = lg_supp_load(s, path, d);
    fclose(d);
    unlink(path);
    free(path);
    return rc;
}

static void test_file_format(void)
{
    struct lg_supp s;
    char *diag;
    lg_supp_init(&s);
    CU_ASSERT_EQUAL(load(&s,
                         "# accepted findings\n"
                         "\n"
                         "lock:queue            # the log queue, by design\n"
                         "  kind:held-at-exit function:worker_*\n"
                         "file:*/vendor/*\n",
                         &diag),
                    0);
    CU_ASSERT_STRING_EQUAL(diag, "");
    CU_ASSERT_EQUAL_FATAL(s.n, 3);
    CU_ASSERT_EQUAL(s.rules[0].line, 3);
    CU_ASSERT_STRING_EQUAL(s.rules[0].text, "lock:queue");
    CU_ASSERT_EQUAL(s.rules[1].n_pats, 2);
    CU_ASSERT_EQUAL(s.rules[1].pats[0].type, LG_SUPP_KIND);
    CU_ASSERT_EQUAL(s.rules[1].pats[1].type, LG_SUPP_FUNCTION);
    CU_ASSERT_STRING_EQUAL(s.rules[1].pats[1].glob, "worker_*");
    CU_ASSERT_EQUAL(s.rules[2].pats[0].type, LG_SUPP_FILE);
    free(diag);
    lg_supp_free(&s);

    lg_supp_init(&s);
    CU_ASSERT_EQUAL(load(&s, "lock:a\ntransfer\nlock:\nbogus:x\n", &diag), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, ":2: bad suppression: 'transfer' is not a pattern"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, ":3: bad suppression: 'lock:' has an empty pattern"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, ":4: bad suppression: 'bogus:x' is not a pattern"));
    free(diag);
    lg_supp_free(&s);

    size_t len = 0;
    FILE *d = open_memstream(&diag, &len);
    lg_supp_init(&s);
    CU_ASSERT_EQUAL(lg_supp_load(&s, "/nonexistent/supp.txt", d), -1);
    fclose(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "cannot open suppressions file /nonexistent/supp.txt"));
    free(diag);
    lg_supp_free(&s);
}

static void test_from_options(void)
{
    char buf[64];
    CU_ASSERT_TRUE(lg_supp_from_options("quiet=1:suppressions=/a/s.txt:graph=g", buf, sizeof buf));
    CU_ASSERT_STRING_EQUAL(buf, "/a/s.txt");
    CU_ASSERT_TRUE(lg_supp_from_options("suppressions=x:suppressions=y", buf, sizeof buf));
    CU_ASSERT_STRING_EQUAL(buf, "y");
    CU_ASSERT_FALSE(lg_supp_from_options("suppressions=x:suppressions=", buf, sizeof buf));
    CU_ASSERT_FALSE(lg_supp_from_options("quiet=1", buf, sizeof buf));
    CU_ASSERT_FALSE(lg_supp_from_options(NULL, buf, sizeof buf));
}

static void test_matching(void)
{
    struct lg_symbolizer *sym = lg_symbolizer_new(NULL);
    uint64_t pcs[2] = {pc_in(legacy_flush), pc_in(modern_flush)};
    struct lg_lock lock = {
        .id = 1, .type = "mutex", .name = "log queue", .key = "name:log%20queue"};
    struct lg_held held = {.lock = lock, .stack = {pcs, 2}};
    struct lg_finding f = {
        .kind = LG_KIND_HELD_AT_EXIT, .modules = &self, .n_modules = 1, .held = &held, .n_held = 1};
    struct {
        const char *rules;
        bool match;
    } cases[] = {
        {"kind:held-at-exit\n", true},
        {"kind:lock-order-cycle\n", false},
        {"lock:log*\n", true},
        {"lock:name:log%20queue\n", true},
        {"lock:queue\n", false},
        {"function:legacy_*\n", true},
        {"function:modern_flush\n", true},
        {"function:nothing_like_it\n", false},
        {"file:test_suppress.c\n", true},
        {"file:*/tests/tool/*\n", true},
        {"file:other.c\n", false},
        /* Every pattern of a line must match; any line will do. */
        {"kind:held-at-exit function:nothing_like_it\n", false},
        {"kind:held-at-exit lock:log* function:legacy_flush\n", true},
        {"lock:nope\nfunction:legacy_flush\n", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct lg_supp s;
        char *diag;
        lg_supp_init(&s);
        CU_ASSERT_EQUAL_FATAL(load(&s, cases[i].rules, &diag), 0);
        const struct lg_supp_rule *r = lg_supp_match_finding(&s, &f, sym);
        if ((r != NULL) != cases[i].match) {
            fprintf(stderr, "\n  rules \"%s\": %s, wanted %s\n", cases[i].rules,
                    r ? "matched" : "no match", cases[i].match ? "a match" : "none");
            CU_FAIL("suppression match");
        }
        if (r)
            CU_ASSERT_EQUAL(r->hits, 1);
        free(diag);
        lg_supp_free(&s);
    }
    lg_symbolizer_free(sym);
}

int main(void)
{
    if (selfmodule_get(&self) != 0)
        return 1;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("suppress", NULL, NULL);
    CU_add_test(s, "file format", test_file_format);
    CU_add_test(s, "suppressions= in options", test_from_options);
    CU_add_test(s, "matching", test_matching);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    selfmodule_free(&self);
    return failed ? 1 : 0;
}
