/*
 * test_options.c - LOCKGRAPH_OPTIONS: every option, and clear errors.
 */
#include "unit.h"

#include "options.h"

#include <string.h>

static int parse(const char *s, struct lg_options *o, char *err)
{
    lg__options_defaults(o);
    return lg__options_parse(s, o, err, 256);
}

static void test_defaults_and_all_options(void)
{
    struct lg_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse(NULL, &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.report, "lockgraph.%p.jsonl");
    CU_ASSERT_EQUAL(o.on_cycle, LG_ACTION_REPORT);
    CU_ASSERT_EQUAL(o.on_assert, LG_ACTION_ABORT);
    CU_ASSERT_EQUAL(o.stack_depth, 16);
    CU_ASSERT_EQUAL(parse("report=/tmp/x.%p:on_cycle=abort:stack_depth=24:quiet=1:"
                          "held_stacks=yes:max_memory=64:on_assert=report",
                          &o, err),
                    0);
    CU_ASSERT_STRING_EQUAL(o.report, "/tmp/x.%p");
    CU_ASSERT_EQUAL(o.on_cycle, LG_ACTION_ABORT);
    CU_ASSERT_EQUAL(o.on_assert, LG_ACTION_REPORT);
    CU_ASSERT_EQUAL(o.stack_depth, 24);
    CU_ASSERT_TRUE(o.quiet);
    CU_ASSERT_TRUE(o.held_stacks);
    CU_ASSERT_EQUAL(o.max_memory, 64);
    CU_ASSERT_EQUAL(parse("quiet=1::", &o, err), 0); /* empty items are fine */
    CU_ASSERT_EQUAL(parse("", &o, err), 0);
}

static void test_errors(void)
{
    struct lg_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse("bogus=1", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown option 'bogus'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "stack_depth")); /* lists the known ones */
    CU_ASSERT_EQUAL(parse("quiet", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected key=value"));
    CU_ASSERT_EQUAL(parse("on_cycle=explode", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'report' or 'abort'"));
    CU_ASSERT_EQUAL(parse("stack_depth=0", &o, err), -1);
    CU_ASSERT_EQUAL(parse("stack_depth=500", &o, err), -1);
    CU_ASSERT_EQUAL(parse("stack_depth=1x", &o, err), -1);
    CU_ASSERT_EQUAL(parse("quiet=maybe", &o, err), -1);
    CU_ASSERT_EQUAL(parse("report=", &o, err), -1);
    CU_ASSERT_EQUAL(parse("quiet=1:bogus", &o, err), -1);
}

void lg_suite_options(void)
{
    CU_pSuite s = CU_add_suite("options", NULL, NULL);
    lg_add_test(s, "defaults and every option", test_defaults_and_all_options);
    lg_add_test(s, "bad options give clear errors", test_errors);
}
