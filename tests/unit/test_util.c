/*
 * test_util.c - the text buffer: numbers, hex, JSON escaping, growth.
 */
#include "unit.h"

#include "util.h"

#include <string.h>

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

void lg_suite_util(void)
{
    CU_pSuite s = CU_add_suite("util", NULL, NULL);
    lg_add_test(s, "numbers", test_numbers);
    lg_add_test(s, "JSON escaping keeps lines valid", test_json_escape);
    lg_add_test(s, "buffer grows to a megabyte", test_growth);
}
