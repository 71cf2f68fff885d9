/*
 * test_reportpath.c - reportpath.c: %p matches digits only, a stale fixed
 * report is removed before a run (never through a link), a missing report
 * directory is made, and a %p pattern lists this run's files in natural
 * order, leaving out older files and look-alikes.
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

static void test_prepare_fixed_name(void)
{
    /* a stale report of an earlier run goes: the library makes a new one
     * at its first finding */
    put("fixed.jsonl", "{\"kind\":\"old\"}\n");
    char path[256];
    snprintf(path, sizeof path, "%s/fixed.jsonl", dir);
    CU_ASSERT_EQUAL(lg_report_prepare(path, stderr), 0);
    struct stat st;
    CU_ASSERT_EQUAL(lstat(path, &st), -1);

    /* never through a link, never anything not a plain file of ours */
    FILE *null = fopen("/dev/null", "w");
    put("victim", "precious\n");
    char victim[256];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    CU_ASSERT_EQUAL(symlink(victim, path), 0);
    CU_ASSERT_EQUAL(lg_report_prepare(path, null), -1);
    CU_ASSERT_EQUAL(stat(victim, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 9);
    unlink(path);
    CU_ASSERT_EQUAL(mkfifo(path, 0600), 0);
    CU_ASSERT_EQUAL(lg_report_prepare(path, null), -1);
    unlink(path);
    CU_ASSERT_EQUAL(link(victim, path), 0);
    CU_ASSERT_EQUAL(lg_report_prepare(path, null), -1);
    unlink(path);
    unlink(victim);

    /* a directory that cannot be made */
    put("file", "x\n");
    snprintf(path, sizeof path, "%s/file/sub/r.%%p.jsonl", dir);
    CU_ASSERT_EQUAL(lg_report_prepare(path, null), -1);
    snprintf(path, sizeof path, "%s/file/sub/r.jsonl", dir);
    CU_ASSERT_EQUAL(lg_report_prepare(path, null), -1);
    fclose(null);
    snprintf(path, sizeof path, "%s/file", dir);
    unlink(path);
}

/* A missing directory is made, however deep (but not one with a %p). */
static void test_prepare_makes_directory(void)
{
    char path[256], made[256];
    snprintf(path, sizeof path, "%s/out/deeper/lg.%%p.jsonl", dir);
    CU_ASSERT_EQUAL(lg_report_prepare(path, stderr), 0);
    snprintf(made, sizeof made, "%s/out/deeper", dir);
    struct stat st;
    CU_ASSERT(stat(made, &st) == 0 && S_ISDIR(st.st_mode));
    rmdir(made);
    snprintf(made, sizeof made, "%s/out", dir);
    rmdir(made);
    snprintf(path, sizeof path, "%s/d%%p/lg.jsonl", dir);
    CU_ASSERT_EQUAL(lg_report_prepare(path, stderr), 0);
    snprintf(made, sizeof made, "%s/d%%p", dir);
    CU_ASSERT_EQUAL(stat(made, &st), -1);
}

static void test_pid(void)
{
    CU_ASSERT_EQUAL(lg_report_pid("/t/f.%p.jsonl", "/t/f.4242.jsonl"), 4242);
    CU_ASSERT_EQUAL(lg_report_pid("/t/f.%p.jsonl", "/u/f.4242.jsonl"), -1);
    CU_ASSERT_EQUAL(lg_report_pid("/t/f.jsonl", "/t/f.jsonl"), -1);
    CU_ASSERT_EQUAL(lg_report_pid("/t/f.%p.jsonl", "/t/f..jsonl"), -1);
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
    CU_add_test(s, "prepare: a fixed name, links refused", test_prepare_fixed_name);
    CU_add_test(s, "prepare: the directory is made", test_prepare_makes_directory);
    CU_add_test(s, "the pid in a file name", test_pid);
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
