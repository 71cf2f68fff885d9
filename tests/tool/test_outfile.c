/*
 * test_outfile.c - outfile.c: UTF-8 sequences told valid or not, the
 * filter replacing each byte of an invalid one with U+FFFD however the
 * writes split it, and an output file put in place only when committed
 * (a discarded one leaves what was there).
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

#define LEN(s) lg_utf8_seq_len((const unsigned char *)(s), sizeof(s) - 1)

static void test_seq_len(void)
{
    CU_ASSERT_EQUAL(LEN("a"), 1);
    CU_ASSERT_EQUAL(LEN("\xc3\xa9"), 2);         /* é */
    CU_ASSERT_EQUAL(LEN("\xe2\x82\xac"), 3);     /* € */
    CU_ASSERT_EQUAL(LEN("\xf0\x9f\x94\x92"), 4); /* 🔒 */
    CU_ASSERT_EQUAL(LEN("\xe9x"), 0);            /* Latin-1 é, then a letter */
    CU_ASSERT_EQUAL(LEN("\xc3"), -1);            /* a start, cut */
    CU_ASSERT_EQUAL(LEN("\xe2\x82"), -1);
    CU_ASSERT_EQUAL(LEN("\xc0\xaf"), 0);         /* overlong */
    CU_ASSERT_EQUAL(LEN("\xe0\x80\xaf"), 0);     /* overlong */
    CU_ASSERT_EQUAL(LEN("\xed\xa0\x80"), 0);     /* a surrogate */
    CU_ASSERT_EQUAL(LEN("\xf4\x90\x80\x80"), 0); /* past U+10FFFF */
    CU_ASSERT_EQUAL(LEN("\x80"), 0);             /* a continuation alone */
    CU_ASSERT_EQUAL(LEN("\xc3\x28"), 0);
}

/* `in` through the filter, written `step` bytes at a time. */
static char *filtered(const char *in, size_t n, size_t step)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    FILE *f = lg_utf8_filter(mem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    setvbuf(f, NULL, _IONBF, 0); /* each fwrite reaches the filter as it is */
    for (size_t i = 0; i < n; i += step)
        fwrite(in + i, 1, n - i < step ? n - i : step, f);
    CU_ASSERT_EQUAL(fclose(f), 0);
    fclose(mem);
    return buf;
}

static void test_filter(void)
{
    static const char in[] = "caf\xc3\xa9 caf\xe9 \xe2\x82\xac \xff\xfe end \xe2\x82";
    static const char want[] = "caf\xc3\xa9 caf\xef\xbf\xbd \xe2\x82\xac \xef\xbf\xbd\xef\xbf\xbd"
                               " end \xef\xbf\xbd\xef\xbf\xbd";
    for (size_t step = 1; step <= sizeof in; step++) {
        char *out = filtered(in, sizeof in - 1, step);
        if (strcmp(out, want) != 0) {
            fprintf(stderr, "\n  step %zu: \"%s\"\n", step, out);
            CU_FAIL("filtered text differs");
        }
        free(out);
    }
    /* Valid text goes through unchanged. */
    static const char ok[] = "lock \"na\xc3\xafve\" \xf0\x9f\x94\x92 at x.c:3\n";
    char *out = filtered(ok, sizeof ok - 1, 5);
    CU_ASSERT_STRING_EQUAL(out, ok);
    free(out);
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_outfile(void)
{
    char dir[] = "/tmp/lockgraph-test-outfile.XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.json", dir);

    /* Committed: in place, filtered. */
    struct lg_outfile o;
    CU_ASSERT_EQUAL_FATAL(lg_outfile_open(&o, path, true, "test"), 0);
    CU_ASSERT_TRUE(lg_outfile_is_file(&o));
    fputs("{\"path\": \"caf\xe9\"}\n", o.fp);
    CU_ASSERT_EQUAL(access(path, F_OK), -1); /* not there until done */
    CU_ASSERT_EQUAL(lg_outfile_commit(&o), 0);
    char *got = read_all(path);
    CU_ASSERT_STRING_EQUAL(got, "{\"path\": \"caf\xef\xbf\xbd\"}\n");
    free(got);

    /* Discarded: what was there stays, and no temporary file is left. */
    CU_ASSERT_EQUAL_FATAL(lg_outfile_open(&o, path, false, "test"), 0);
    fputs("half a report", o.fp);
    lg_outfile_discard(&o);
    got = read_all(path);
    CU_ASSERT_STRING_EQUAL(got, "{\"path\": \"caf\xef\xbf\xbd\"}\n");
    free(got);
    unlink(path);
    CU_ASSERT_EQUAL(rmdir(dir), 0); /* empty: nothing left behind */

    /* A directory that does not exist: said, -1. */
    snprintf(path, sizeof path, "%s/no/such/out.json", dir);
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(lg_outfile_open(&o, path, false, "test"), -1);
    fclose(stderr);
    stderr = saved;
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("outfile", NULL, NULL);
    CU_add_test(s, "UTF-8 sequences", test_seq_len);
    CU_add_test(s, "the UTF-8 filter, however writes split", test_filter);
    CU_add_test(s, "a file put in place, or not at all", test_outfile);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
