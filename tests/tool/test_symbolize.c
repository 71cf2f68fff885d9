/*
 * test_symbolize.c - symbolize.c against this test executable itself: a
 * function's address and a return address come back as function and
 * file:line, and an address in inlined code as the inlined function and its
 * caller; a module whose file is missing or whose build-id differs, and an
 * address in no module, fall back to module+offset, with the reason said once.
 *
 * Built with -g -O0 (see CMakeLists.txt) so line numbers are exact.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "selfmodule.h"
#include "symbolize.h"

static struct lg_module self;

__attribute__((noinline)) int lg_test_target_function(int x)
{
    return x * 3 + 1;
}

static void *captured;

__attribute__((noinline)) static void capture_return_address(void)
{
    captured = __builtin_return_address(0);
}

static int call_line;

__attribute__((noinline)) static void caller_of_capture(void)
{
    /* One line on purpose: the return address must map to this line. */
    // clang-format off
    call_line = __LINE__; capture_return_address();
    // clang-format on
}

/* An inlined helper around a real call: the return address of that call
 * lies in inlined code, inside inline_caller. */
static int inline_call_line, inline_site_line;

__attribute__((always_inline)) static inline void inlined_helper(void)
{
    // clang-format off
    inline_call_line = __LINE__; capture_return_address();
    // clang-format on
}

__attribute__((noinline)) static void inline_caller(void)
{
    // clang-format off
    inline_site_line = __LINE__; inlined_helper();
    // clang-format on
}

/* A diagnostics stream the test can read back. */
struct diag {
    char *buf;
    size_t len;
    FILE *fp;
};

static void diag_open(struct diag *d)
{
    d->buf = NULL;
    d->len = 0;
    d->fp = open_memstream(&d->buf, &d->len);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_function_address(void)
{
    struct lg_symbolizer *s = lg_symbolizer_new(stderr);
    struct lg_frame fr;
    /* As if lg_test_target_function's first byte were a return address + 1:
     * the lookup of pc - 1 lands on the function's entry. */
    uint64_t pc = (uint64_t)(uintptr_t)&lg_test_target_function + 1;
    lg_symbolize(s, &self, 1, pc, &fr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fr.function);
    CU_ASSERT_STRING_EQUAL(fr.function, "lg_test_target_function");
    CU_ASSERT_EQUAL(fr.function_offset, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fr.file);
    CU_ASSERT_PTR_NOT_NULL(strstr(fr.file, "test_symbolize.c"));
    CU_ASSERT(fr.line > 0);
    CU_ASSERT_STRING_EQUAL(fr.module, self.path);
    CU_ASSERT_EQUAL(fr.module_offset, pc - self.base);
    lg_symbolizer_free(s);
}

static void test_return_address_is_the_call_line(void)
{
    caller_of_capture();
    struct lg_symbolizer *s = lg_symbolizer_new(stderr);
    struct lg_frame fr;
    lg_symbolize(s, &self, 1, (uint64_t)(uintptr_t)captured, &fr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fr.function);
    CU_ASSERT_STRING_EQUAL(fr.function, "caller_of_capture");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fr.file);
    CU_ASSERT_EQUAL(fr.line, call_line);
    lg_symbolizer_free(s);
}

static void test_inlined_calls_expand(void)
{
    inline_caller();
    struct lg_symbolizer *s = lg_symbolizer_new(stderr);
    struct lg_frame fr[8];
    size_t n = lg_symbolize_inline(s, &self, 1, (uint64_t)(uintptr_t)captured, fr, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_TRUE(fr[0].inlined);
    CU_ASSERT_STRING_EQUAL(fr[0].function, "inlined_helper");
    CU_ASSERT_EQUAL(fr[0].line, inline_call_line);
    CU_ASSERT(fr[0].file && strstr(fr[0].file, "test_symbolize.c"));
    CU_ASSERT_FALSE(fr[1].inlined);
    CU_ASSERT_STRING_EQUAL(fr[1].function, "inline_caller");
    CU_ASSERT_EQUAL(fr[1].line, inline_site_line);
    CU_ASSERT(fr[1].file && strstr(fr[1].file, "test_symbolize.c"));

    /* Without inlining there is one frame, the same as lg_symbolize's. */
    caller_of_capture();
    n = lg_symbolize_inline(s, &self, 1, (uint64_t)(uintptr_t)captured, fr, 8);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_FALSE(fr[0].inlined);
    CU_ASSERT_STRING_EQUAL(fr[0].function, "caller_of_capture");
    CU_ASSERT_EQUAL(fr[0].line, call_line);

    /* No module: still one frame. */
    CU_ASSERT_EQUAL(lg_symbolize_inline(s, NULL, 0, 0x1234, fr, 8), 1);
    CU_ASSERT_PTR_NULL(fr[0].module);
    lg_symbolizer_free(s);
}

static void test_no_recorded_build_id_still_symbolizes(void)
{
    struct lg_module m = self;
    m.build_id = NULL;
    struct lg_symbolizer *s = lg_symbolizer_new(stderr);
    struct lg_frame fr;
    lg_symbolize(s, &m, 1, (uint64_t)(uintptr_t)&lg_test_target_function + 4, &fr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fr.function);
    CU_ASSERT_STRING_EQUAL(fr.function, "lg_test_target_function");
    lg_symbolizer_free(s);
}

static void test_build_id_mismatch_falls_back(void)
{
    if (!self.build_id) {
        fprintf(stderr, "(test executable has no build-id; skipped) ");
        return;
    }
    struct lg_module m = self;
    char other[256];
    snprintf(other, sizeof other, "%s", self.build_id);
    other[0] = other[0] == '0' ? '1' : '0';
    m.build_id = other;

    struct diag d;
    diag_open(&d);
    struct lg_symbolizer *s = lg_symbolizer_new(d.fp);
    struct lg_frame fr;
    uint64_t pc = (uint64_t)(uintptr_t)&lg_test_target_function + 4;
    lg_symbolize(s, &m, 1, pc, &fr);
    CU_ASSERT_PTR_NULL(fr.function);
    CU_ASSERT_PTR_NULL(fr.file);
    CU_ASSERT_STRING_EQUAL(fr.module, self.path);
    CU_ASSERT_EQUAL(fr.module_offset, pc - self.base);
    lg_symbolize(s, &m, 1, pc + 1, &fr); /* a second lookup says nothing new */
    lg_symbolizer_free(s);
    fclose(d.fp);
    CU_ASSERT_EQUAL(count(d.buf, "build-id differs"), 1);
    free(d.buf);
}

static void test_missing_file_falls_back(void)
{
    struct lg_module m = {.path = "/nonexistent/lockgraph-test/libgone.so",
                          .base = 0x7f0000000000,
                          .end = 0x7f0000100000,
                          .build_id = "abcd"};
    struct diag d;
    diag_open(&d);
    struct lg_symbolizer *s = lg_symbolizer_new(d.fp);
    struct lg_frame fr;
    lg_symbolize(s, &m, 1, 0x7f0000001234, &fr);
    CU_ASSERT_PTR_NULL(fr.function);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fr.module);
    CU_ASSERT_STRING_EQUAL(fr.module, m.path);
    CU_ASSERT_EQUAL(fr.module_offset, 0x1234);
    lg_symbolize(s, &m, 1, 0x7f0000005678, &fr);
    CU_ASSERT_EQUAL(fr.module_offset, 0x5678);
    lg_symbolizer_free(s);
    fclose(d.fp);
    CU_ASSERT_EQUAL(count(d.buf, "libgone.so: cannot read"), 1);
    free(d.buf);
}

/* The same file loaded at another address (another process, ASLR) is
 * the same code: the same function and line, once from cache, with the
 * pc and offset of each lookup; inlined calls too; a note about a file
 * that cannot be read is said once whatever its loads. */
static void test_other_load_same_answer(void)
{
    inline_caller();
    uint64_t pc = (uint64_t)(uintptr_t)captured, shift = 0x100000000000ull;
    struct lg_module moved = self;
    moved.base += shift;
    moved.end += shift;
    struct lg_symbolizer *s = lg_symbolizer_new(stderr);
    struct lg_frame a[8], b[8], c[8];
    size_t na = lg_symbolize_inline(s, &self, 1, pc, a, 8);
    size_t nb = lg_symbolize_inline(s, &moved, 1, pc + shift, b, 8);
    size_t nc = lg_symbolize_inline(s, &moved, 1, pc + shift, c, 1); /* asked for one */
    CU_ASSERT_EQUAL_FATAL(na, 2);
    CU_ASSERT_EQUAL_FATAL(nb, 2);
    CU_ASSERT_EQUAL(nc, 1);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_STRING_EQUAL(a[i].function, b[i].function);
        CU_ASSERT_EQUAL(a[i].line, b[i].line);
        CU_ASSERT_EQUAL(b[i].pc, pc + shift);
        CU_ASSERT_EQUAL(b[i].module_offset, a[i].module_offset);
    }
    CU_ASSERT_STRING_EQUAL(c[0].function, "inline_caller"); /* as lg_symbolize answers */
    struct lg_frame fr;
    lg_symbolize(s, &moved, 1, (uint64_t)(uintptr_t)&lg_test_target_function + 1 + shift, &fr);
    CU_ASSERT_STRING_EQUAL(fr.function, "lg_test_target_function");
    CU_ASSERT_EQUAL(fr.pc, (uint64_t)(uintptr_t)&lg_test_target_function + 1 + shift);
    lg_symbolizer_free(s);

    struct lg_module gone[2] = {{.path = "/nonexistent/lockgraph-test/libgone.so",
                                 .base = 0x7f0000000000,
                                 .end = 0x7f0000100000},
                                {.path = "/nonexistent/lockgraph-test/libgone.so",
                                 .base = 0x7f1000000000,
                                 .end = 0x7f1000100000}};
    struct diag d;
    diag_open(&d);
    s = lg_symbolizer_new(d.fp);
    lg_symbolizer_prepare(s, gone, 2);
    lg_symbolize(s, &gone[1], 1, 0x7f1000001234, &fr);
    CU_ASSERT_EQUAL(fr.module_offset, 0x1234);
    lg_symbolizer_free(s);
    fclose(d.fp);
    CU_ASSERT_EQUAL(count(d.buf, "libgone.so: cannot read"), 1);
    free(d.buf);
}

static void test_address_in_no_module(void)
{
    struct lg_symbolizer *s = lg_symbolizer_new(NULL);
    struct lg_frame fr;
    lg_symbolize(s, &self, 1, 0x10, &fr);
    CU_ASSERT_PTR_NULL(fr.module);
    CU_ASSERT_PTR_NULL(fr.function);
    CU_ASSERT_EQUAL(fr.pc, 0x10);
    lg_symbolize(s, NULL, 0, 0x1234, &fr);
    CU_ASSERT_PTR_NULL(fr.module);
    lg_symbolizer_free(s);
}

/* Nested ranges: a module with base 0 covering everything (like a non-PIE
 * executable's) must not capture addresses of a module above it. */
static void test_tightest_module_wins(void)
{
    struct lg_module mods[2] = {
        {.path = "/nonexistent/lockgraph-test/outer", .base = 0, .end = UINT64_MAX},
        {.path = "/nonexistent/lockgraph-test/inner", .base = 0x5000, .end = 0x9000},
    };
    struct lg_symbolizer *s = lg_symbolizer_new(NULL);
    struct lg_frame fr;
    lg_symbolize(s, mods, 2, 0x6001, &fr);
    CU_ASSERT_STRING_EQUAL(fr.module, mods[1].path);
    CU_ASSERT_EQUAL(fr.module_offset, 0x1001);
    lg_symbolize(s, mods, 2, 0x4001, &fr);
    CU_ASSERT_STRING_EQUAL(fr.module, mods[0].path);
    lg_symbolizer_free(s);
}

int main(void)
{
    if (selfmodule_get(&self) != 0) {
        fprintf(stderr, "cannot describe the test executable\n");
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite suite = CU_add_suite("symbolize", NULL, NULL);
    CU_add_test(suite, "function address", test_function_address);
    CU_add_test(suite, "return address is the call line", test_return_address_is_the_call_line);
    CU_add_test(suite, "inlined calls expand", test_inlined_calls_expand);
    CU_add_test(suite, "no recorded build-id", test_no_recorded_build_id_still_symbolizes);
    CU_add_test(suite, "build-id mismatch", test_build_id_mismatch_falls_back);
    CU_add_test(suite, "missing file", test_missing_file_falls_back);
    CU_add_test(suite, "address in no module", test_address_in_no_module);
    CU_add_test(suite, "tightest module wins", test_tightest_module_wins);
    CU_add_test(suite, "another load of the same file", test_other_load_same_answer);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    selfmodule_free(&self);
    return failed ? 1 : 0;
}
