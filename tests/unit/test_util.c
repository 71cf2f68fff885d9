/*
 * test_util.c - the text buffer: numbers, hex, JSON escaping, growth.
 */
#include "unit.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_numbers(void)
{
    struct lg_buf b = {0};
    lg__buf_u64(&b, 0);
    lg__buf_char(&b, ' ');
    lg__buf_i64(&b, -42);
    lg__buf_char(&b, ' ');
    lg__buf_hex(&b, 0xdeadbeef);
    lg__buf_char(&b, ' ');
    lg__buf_u64(&b, 18446744073709551615ull);
    CU_ASSERT_STRING_EQUAL(b.p, "0 -42 0xdeadbeef 18446744073709551615");
    lg__buf_free(&b);
}

static void test_json_escape(void)
{
    struct lg_buf b = {0};
    lg__buf_json_str(&b, "a\"b\\c\nd\te\x01 caf\xc3\xa9 bad\xff!");
    CU_ASSERT_STRING_EQUAL(b.p, "\"a\\\"b\\\\c\\nd\\te\\u0001 caf\xc3\xa9 bad\\u00ff!\"");
    lg__buf_free(&b);
}

static void test_growth(void)
{
    struct lg_buf b = {0};
    for (int i = 0; i < 100000; i++)
        lg__buf_str(&b, "0123456789");
    CU_ASSERT_EQUAL(b.len, 1000000);
    CU_ASSERT_FALSE(b.failed);
    CU_ASSERT_EQUAL(b.p[999999], '9');
    lg__buf_free(&b);
}

/* A buffer in the caller's storage: a short string stays there (nothing
 * mapped), a long one moves into a mapping with what it had, and the
 * storage is never unmapped. */
static void test_borrowed(void)
{
    char tmp[16];
    memset(tmp, 'x', sizeof(tmp));
    struct lg_buf b;
    lg__buf_in(&b, tmp, sizeof(tmp));
    CU_ASSERT_STRING_EQUAL(b.p, "");
    lg__buf_str(&b, "lockgraph.");
    lg__buf_u64(&b, 1234);
    CU_ASSERT_PTR_EQUAL(b.p, tmp);
    CU_ASSERT_STRING_EQUAL(tmp, "lockgraph.1234");
    lg__buf_str(&b, "-and-more-than-sixteen");
    CU_ASSERT_PTR_NOT_EQUAL(b.p, tmp);
    CU_ASSERT_FALSE(b.borrowed);
    CU_ASSERT_STRING_EQUAL(b.p, "lockgraph.1234-and-more-than-sixteen");
    lg__buf_free(&b);
    CU_ASSERT_PTR_NULL(b.p);
    lg__buf_in(&b, tmp, sizeof(tmp));
    lg__buf_char(&b, 'z');
    lg__buf_free(&b); /* the caller's storage: left alone */
    CU_ASSERT_EQUAL(tmp[0], 'z');
}

/* lg__open_output: a new file with O_EXCL, an existing regular file of
 * ours; never a link (to a file or dangling), a FIFO, a hard link, or
 * another user's file; O_TRUNC only once the file passed. */
static void test_open_output(void)
{
    char dir[] = "/tmp/lg-unit-open.XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    int d = open(dir, O_PATH | O_DIRECTORY);
    const char *why;
    int fd = lg__open_output(d, "new", O_APPEND, &why);
    CU_ASSERT(fd >= 0);
    CU_ASSERT(write(fd, "x\n", 2) == 2);
    close(fd);
    fd = lg__open_output(d, "new", O_APPEND, &why); /* ours: appended to */
    CU_ASSERT(fd >= 0 && (fcntl(fd, F_GETFL) & O_APPEND) && !(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);

    CU_ASSERT_EQUAL(symlinkat("new", d, "link"), 0);
    CU_ASSERT_EQUAL(lg__open_output(d, "link", O_TRUNC, &why), -1);
    CU_ASSERT(why && strcmp(why, "is a symbolic link") == 0);
    CU_ASSERT_EQUAL(symlinkat("nowhere", d, "dangling"), 0);
    CU_ASSERT_EQUAL(lg__open_output(d, "dangling", O_APPEND, &why), -1);
    CU_ASSERT(faccessat(d, "nowhere", F_OK, 0) != 0);
    CU_ASSERT_EQUAL(mkfifoat(d, "fifo", 0600), 0);
    CU_ASSERT_EQUAL(lg__open_output(d, "fifo", O_APPEND, &why), -1);
    CU_ASSERT(why && strcmp(why, "is not a regular file") == 0);
    CU_ASSERT_EQUAL(linkat(d, "new", d, "hard", 0), 0);
    CU_ASSERT_EQUAL(lg__open_output(d, "new", O_APPEND, &why), -1);
    CU_ASSERT(why && strcmp(why, "has other hard links") == 0);
    unlinkat(d, "hard", 0);
    struct stat st;
    CU_ASSERT(fstatat(d, "new", &st, 0) == 0 && st.st_size == 2); /* nothing truncated */
    if (geteuid() == 0) {
        CU_ASSERT_EQUAL(fchownat(d, "new", 65534, 65534, 0), 0);
        CU_ASSERT_EQUAL(lg__open_output(d, "new", O_APPEND, &why), -1);
        CU_ASSERT(why && strcmp(why, "belongs to another user") == 0);
        CU_ASSERT_EQUAL(fchownat(d, "new", 0, 0, 0), 0);
    }
    fd = lg__open_output(d, "new", O_TRUNC, &why);
    CU_ASSERT(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    close(d);
}

static void test_path_absolute(void)
{
    char out[4096], cwd[4096];
    CU_ASSERT_FATAL(getcwd(cwd, sizeof(cwd)) != NULL);
    CU_ASSERT_EQUAL(lg__path_absolute("/a/b", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "/a/b");
    CU_ASSERT_EQUAL(lg__path_absolute("r.%p.jsonl", out, sizeof(out)), 0);
    CU_ASSERT(strncmp(out, cwd, strlen(cwd)) == 0 && strcmp(out + strlen(cwd), "/r.%p.jsonl") == 0);
    CU_ASSERT_EQUAL(lg__path_absolute("r.jsonl", out, 4), -1);
}

void lg_suite_util(void)
{
    CU_pSuite s = CU_add_suite("util", NULL, NULL);
    lg_add_test(s, "numbers", test_numbers);
    lg_add_test(s, "JSON escaping keeps lines valid", test_json_escape);
    lg_add_test(s, "buffer grows to a megabyte", test_growth);
    lg_add_test(s, "buffer in the caller's storage, then mapped", test_borrowed);
    lg_add_test(s, "files lockgraph writes: no links, ours only", test_open_output);
    lg_add_test(s, "paths made absolute", test_path_absolute);
}
