/*
 * test_reportpath.c - reportpath.c: %p matches digits only, a fixed report
 * name is truncated before a run, and a %p pattern lists this run's files
 * in natural order, leaving out older files and look-alikes.
 */
#include <CUnit/Basic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reportpath.h"

static char dir[] = "/tmp/lockgraph-test-reportpath.XXXXXX";

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_match(void)
{
    CU_ASSERT_TRUE(lg_report_match("/t/f.%p.jsonl", "/t/f.4242.jsonl"));
    CU_ASSERT_TRUE(lg_report_match("/t/f.%p1.jsonl", "/t/f.42421.jsonl"));
    CU_ASSERT_TRUE(lg_report_match("/t/a%p-%p", "/t/a1-22"));
    CU_ASSERT_FALSE(lg_report_match("/t/f.%p.jsonl", "/t/f..jsonl"));
    CU_ASSERT_FALSE(lg_report_match("/t/f.%p.jsonl", "/t/f.12x.jsonl"));
    CU_ASSERT_FALSE(lg_report_match("/t/f.%p.jsonl", "/t/f.12.jsonl.bak"));
    CU_ASSERT_TRUE(lg_report_match("/t/plain", "/t/plain"));
    CU_ASSERT_TRUE(lg_report_has_pid("x%p"));
    CU_ASSERT_FALSE(lg_report_has_pid("x%d"));
}

static void test_prepare_truncates_fixed_name(void)
{
    put("fixed.jsonl", "{\"kind\":\"old\"}\n");
    char path[256];
    snprintf(path, sizeof path, "%s/fixed.jsonl", dir);
    CU_ASSERT_EQUAL(lg_report_prepare(path, stderr), 0);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 0);

    FILE *null = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(lg_report_prepare("/nonexistent/dir/r.%p.jsonl", null), -1);
    CU_ASSERT_EQUAL(lg_report_prepare("/nonexistent/dir/r.jsonl", null), -1);
    fclose(null);
}

static void test_list_pid_pattern(void)
{
    put("f.100.jsonl", "x\n");
    put("f.99.jsonl", "x\n");
    put("f.abc.jsonl", "x\n");
    put("f.7.jsonl.tmp", "x\n");
    put("old.5.jsonl", "x\n");
    char pattern[256], old[256];
    snprintf(pattern, sizeof pattern, "%s/f.%%p.jsonl", dir);
    snprintf(old, sizeof old, "%s/old.5.jsonl", dir);

    char **paths;
    size_t n;
    CU_ASSERT_EQUAL(lg_report_list(pattern, NULL, &paths, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(paths[0], "/f.99.jsonl"));
    CU_ASSERT_PTR_NOT_NULL(strstr(paths[1], "/f.100.jsonl"));
    lg_report_list_free(paths, n);

    /* A file older than the run start is an earlier run's. */
    struct timespec times[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    CU_ASSERT_EQUAL(utimensat(AT_FDCWD, old, times, 0), 0);
    snprintf(pattern, sizeof pattern, "%s/old.%%p.jsonl", dir);
    struct timespec since = {.tv_sec = 2000};
    CU_ASSERT_EQUAL(lg_report_list(pattern, &since, &paths, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    lg_report_list_free(paths, n);
    since.tv_sec = 1000;
    CU_ASSERT_EQUAL(lg_report_list(pattern, &since, &paths, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    lg_report_list_free(paths, n);

    /* A fixed name lists itself when it exists, nothing otherwise. */
    CU_ASSERT_EQUAL(lg_report_list(old, NULL, &paths, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    lg_report_list_free(paths, n);
    CU_ASSERT_EQUAL(lg_report_list("/nonexistent/x.jsonl", NULL, &paths, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    lg_report_list_free(paths, n);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("reportpath", NULL, NULL);
    CU_add_test(s, "match", test_match);
    CU_add_test(s, "prepare truncates", test_prepare_truncates_fixed_name);
    CU_add_test(s, "list %p", test_list_pid_pattern);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        failed++;
    return failed ? 1 : 0;
}
