/*
 * test_options.c - LOCKGRAPH_OPTIONS: every option, and clear errors.
 */
#include "unit.h"

#include "io.h"
#include "options.h"

#include <string.h>
#include <stdlib.h>
#include <unistd.h>

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

static void test_on_io(void)
{
    struct lg_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse(NULL, &o, err), 0);
    CU_ASSERT_EQUAL(o.on_io, LG_ACTION_REPORT);
    CU_ASSERT_STRING_EQUAL(o.io_allow, "");
    CU_ASSERT_EQUAL(parse("on_io=off", &o, err), 0);
    CU_ASSERT_EQUAL(o.on_io, LG_ACTION_OFF);
    CU_ASSERT_EQUAL(parse("on_io=abort", &o, err), 0);
    CU_ASSERT_EQUAL(o.on_io, LG_ACTION_ABORT);
    CU_ASSERT_EQUAL(parse("on_io=maybe", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'report', 'abort' or 'off'"));
    /* off is for on_io only */
    CU_ASSERT_EQUAL(parse("on_cycle=off", &o, err), -1);
}

static void test_io_allow(void)
{
    struct lg_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse("io_allow=write,read", &o, err), 0);
    CU_ASSERT_STRING_EQUAL(o.io_allow, "write,read");
    /* lock keys hold ':' themselves: the list runs to the next key= */
    CU_ASSERT_EQUAL(parse("quiet=1:io_allow=name:big lock,site:prog+0x1a2b,epoll_wait:"
                          "on_io=abort:stack_depth=8",
                          &o, err),
                    0);
    CU_ASSERT_STRING_EQUAL(o.io_allow, "name:big lock,site:prog+0x1a2b,epoll_wait");
    CU_ASSERT_EQUAL(o.on_io, LG_ACTION_ABORT);
    CU_ASSERT_EQUAL(o.stack_depth, 8);
    CU_ASSERT_TRUE(o.quiet);
    CU_ASSERT_EQUAL(parse("io_allow=name:a:b", &o, err), 0); /* "a:b" is not key= */
    CU_ASSERT_STRING_EQUAL(o.io_allow, "name:a:b");
    CU_ASSERT_EQUAL(parse("io_allow=", &o, err), 0); /* empty: nothing allowed */
    CU_ASSERT_EQUAL(parse("io_allow=wrte", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "option 'io_allow': 'wrte' is neither a watched call"));
    CU_ASSERT_EQUAL(parse("io_allow=site:prog", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "site:MODULE+0xOFFSET"));
    CU_ASSERT_EQUAL(parse("io_allow=addr:12", &o, err), -1);
    CU_ASSERT_EQUAL(parse("io_allow=name:", &o, err), -1);
    CU_ASSERT_EQUAL(parse("io_allow=sym:prog", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "sym:MODULE:SYMBOL[+0xOFFSET]"));
    CU_ASSERT_EQUAL(parse("io_allow=sym:prog:lock+0xzz", &o, err), -1);
    CU_ASSERT_EQUAL(parse("io_allow=sym:prog:bank.c:lock+0x28,write", &o, err), 0);
    /* an unknown key after a list is still an unknown key */
    CU_ASSERT_EQUAL(parse("io_allow=read:frob=1", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown option 'frob'"));
}

static void test_waits(void)
{
    struct lg_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse(NULL, &o, err), 0);
    CU_ASSERT_EQUAL(o.on_wait, LG_ACTION_REPORT);
    CU_ASSERT_EQUAL(o.on_fork, LG_ACTION_OFF); /* a child that only execs is fine */
    CU_ASSERT_TRUE(o.dump);
    CU_ASSERT_EQUAL(parse("on_wait=off:on_fork=report:dump=0", &o, err), 0);
    CU_ASSERT_EQUAL(o.on_wait, LG_ACTION_OFF);
    CU_ASSERT_EQUAL(o.on_fork, LG_ACTION_REPORT);
    CU_ASSERT_FALSE(o.dump);
    CU_ASSERT_EQUAL(parse("wait_allow=pthread_join,name:q:sem_wait,waitpid:on_wait=abort", &o, err),
                    0);
    CU_ASSERT_STRING_EQUAL(o.wait_allow, "pthread_join,name:q:sem_wait,waitpid");
    CU_ASSERT_EQUAL(o.on_wait, LG_ACTION_ABORT);
    /* each list takes its own calls, and says which it wanted */
    CU_ASSERT_EQUAL(parse("wait_allow=write", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'write' is neither a watched wait"));
    CU_ASSERT_EQUAL(parse("io_allow=pthread_join", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'pthread_join' is neither a watched call"));
}

static bool allowed(const struct lg_io_allow *a, int call)
{
    return (a->calls[call >> 6] >> (call & 63)) & 1;
}

static void test_io_allow_items(void)
{
    struct lg_io_allow a;
    char err[256];
    const char *s = "write,pread64,name:q,site:libfoo.so.1+0x2f0,addr:0x7ffd0010,getline";
    CU_ASSERT_EQUAL(lg__io_allow_parse(s, strlen(s), &a, err, sizeof(err)), 0);
    CU_ASSERT_TRUE(allowed(&a, LG_IO_WRITE));
    CU_ASSERT_TRUE(allowed(&a, LG_IO_PREAD64));
    CU_ASSERT_TRUE(allowed(&a, LG_IO_GETLINE));
    CU_ASSERT_FALSE(allowed(&a, LG_IO_READ));
    CU_ASSERT_EQUAL(a.nlocks, 3);
    CU_ASSERT_EQUAL(a.lock[0].kind, LG_ALLOW_NAME);
    CU_ASSERT_EQUAL(a.lock[0].len, 1);
    CU_ASSERT_EQUAL(a.lock[1].kind, LG_ALLOW_SITE);
    CU_ASSERT_EQUAL(a.lock[1].len, strlen("libfoo.so.1"));
    CU_ASSERT_EQUAL(a.lock[1].off, 0x2f0);
    CU_ASSERT_EQUAL(a.lock[2].kind, LG_ALLOW_ADDR);
    CU_ASSERT_EQUAL(a.lock[2].off, 0x7ffd0010);
    /* every watched call has a name io_allow (or, a wait, wait_allow) takes,
     * and only that one */
    for (int c = 0; c < LG_IO_NCALLS; c++) {
        const char *n = lg__io_call_name(c);
        bool wait = lg__io_is_wait(c);
        CU_ASSERT_EQUAL(lg__allow_parse(n, strlen(n), &a, err, sizeof(err), wait), 0);
        CU_ASSERT_TRUE(allowed(&a, c));
        CU_ASSERT_EQUAL(lg__allow_parse(n, strlen(n), &a, err, sizeof(err), !wait), -1);
    }
}

/* help=1 gives every INT option its range, straight from the table, and
 * an out-of-range value names the range too. */
static void test_help_ranges(void)
{
    char path[] = "/tmp/lg-help.XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    unlink(path);
    lg__options_help(fd);
    char text[8192];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    CU_ASSERT_FATAL(n > 0);
    text[n] = 0;
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "watchdog=INT 0-86400  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "hold_warn_ms=INT 0-86400000  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "max_memory=INT 0-1048576  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "stack_depth=INT 1-128  "));
    CU_ASSERT_PTR_NULL(strstr(text, "quiet=BOOL 0-0"));
    /* every INT line has its range */
    for (char *l = strstr(text, "=INT"); l; l = strstr(l + 1, "=INT"))
        CU_ASSERT(l[4] == ' ' && l[5] >= '0' && l[5] <= '9');

    struct lg_options o;
    char err[256];
    CU_ASSERT_EQUAL(parse("watchdog=86401", &o, err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "option 'watchdog' takes a whole number from 0 to 86400"));
}

/* LOCKGRAPH_REPORT: empty or too long is an error, like report=. */
static void test_report_env(void)
{
    struct lg_options o;
    char err[256];
    lg__options_defaults(&o);
    CU_ASSERT_EQUAL(lg__options_set_report(&o, "", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "LOCKGRAPH_REPORT is set but empty"));
    CU_ASSERT_STRING_EQUAL(o.report, "lockgraph.%p.jsonl"); /* untouched */
    static char longname[5000];
    memset(longname, 'a', sizeof(longname) - 1);
    CU_ASSERT_EQUAL(lg__options_set_report(&o, longname, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 4095 bytes"));
    longname[4096] = 0;
    CU_ASSERT_EQUAL(lg__options_set_report(&o, longname, err, sizeof(err)), -1);
    longname[4095] = 0; /* the longest that fits */
    CU_ASSERT_EQUAL(lg__options_set_report(&o, longname, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(strlen(o.report), 4095);
    CU_ASSERT_EQUAL(lg__options_set_report(&o, "/tmp/r.%p.jsonl", err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(o.report, "/tmp/r.%p.jsonl");
}

void lg_suite_options(void)
{
    CU_pSuite s = CU_add_suite("options", NULL, NULL);
    lg_add_test(s, "defaults and every option", test_defaults_and_all_options);
    lg_add_test(s, "help=1 gives every INT option its range", test_help_ranges);
    lg_add_test(s, "LOCKGRAPH_REPORT empty or too long", test_report_env);
    lg_add_test(s, "bad options give clear errors", test_errors);
    lg_add_test(s, "on_io: report, abort, off", test_on_io);
    lg_add_test(s, "on_wait, wait_allow, on_fork, dump", test_waits);
    lg_add_test(s, "io_allow: lists with ':' in their items, clear errors", test_io_allow);
    lg_add_test(s, "io_allow items: calls, name:, site:, addr:", test_io_allow_items);
}
