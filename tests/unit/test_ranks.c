/*
 * test_ranks.c - rank files (good and malformed), what the declared order
 * forbids, its closure, cycles in it, and the once-per-site-pair rule.
 */
#include "unit.h"

#include "ranks.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct lg_ranks *parse(const char *text, char *err)
{
    struct lg_ranks *r = lg__ranks_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    err[0] = 0;
    if (lg__ranks_parse(r, text, strlen(text), "r.txt", err, 512) != 0)
        return NULL;
    return r;
}

/* The error text of a file that must not parse. */
static const char *bad(const char *text)
{
    static char err[512];
    struct lg_ranks *r = parse(text, err);
    CU_ASSERT_PTR_NULL(r);
    return err;
}

#define EXPECT_ERROR(text, needle)                                                                 \
    do {                                                                                           \
        const char *e_ = bad(text);                                                                \
        if (!strstr(e_, needle))                                                                   \
            fprintf(stderr, "\n  got '%s', wanted '%s'\n", e_, needle);                            \
        CU_ASSERT_PTR_NOT_NULL(strstr(e_, needle));                                                \
    } while (0)

static enum lg_why check(struct lg_ranks *r, const char *held, const char *taking)
{
    struct lg_rank_class *h = lg__ranks_find(r, held), *c = lg__ranks_find(r, taking);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return lg__ranks_check(r, h, 0x1000, c, 0x2000);
}

static void test_good_file(void)
{
    char err[512];
    struct lg_ranks *r = parse("# lockgraph ranks v1\n"
                               "\n"
                               "class accounts site:bank+0x1a2b site:bank+0x1c40   # two sites\n"
                               "rank 10 sym:bank:table_lock\n"
                               "  rank\t20 accounts same=address\n"
                               "rank 30 name:log\n"
                               "rank 30 name:log\n" /* the same again is fine */
                               "rank 5 site:libstdc++.so.6+0x10\n"
                               "order name:config < sym:bank:table_lock < name:stats\n",
                               err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(err, "");
    struct lg_rank_class *acc = lg__ranks_find(r, "accounts");
    CU_ASSERT_PTR_NOT_NULL_FATAL(acc);
    CU_ASSERT_PTR_EQUAL(lg__ranks_find(r, "site:bank+0x1a2b"), acc);
    CU_ASSERT_PTR_EQUAL(lg__ranks_find(r, "site:bank+0x1c40"), acc);
    CU_ASSERT_EQUAL(atomic_load(&acc->rank), 20);
    CU_ASSERT_EQUAL(atomic_load(&acc->same), LG_SAME_ADDRESS);
    CU_ASSERT_EQUAL(acc->line, 5);
    CU_ASSERT_PTR_NULL(lg__ranks_find(r, "name:nobody"));
    CU_ASSERT_PTR_NULL(lg__ranks_find(r, "nobody"));
    /* accounts, table, log, libstdc++ site, config, stats */
    CU_ASSERT_EQUAL(lg__ranks_class_count(r), 6);
}

static void test_rank_rule(void)
{
    char err[512];
    struct lg_ranks *r = parse("rank 10 name:a\nrank 20 name:b\nrank 20 name:b2\n"
                               "rank 30 name:c same=any\nrank 40 name:d same=address\n"
                               "rank 50 name:e same=strict\nrank 60 name:f\n",
                               err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(check(r, "name:a", "name:b"), LG_WHY_NONE);
    CU_ASSERT_EQUAL(check(r, "name:b", "name:a"), LG_WHY_RANK);
    CU_ASSERT_EQUAL(check(r, "name:a", "name:f"), LG_WHY_NONE);
    CU_ASSERT_EQUAL(check(r, "name:f", "name:a"), LG_WHY_RANK);
    /* equal rank, two classes: never, either way */
    CU_ASSERT_EQUAL(check(r, "name:b", "name:b2"), LG_WHY_RANK);
    CU_ASSERT_EQUAL(check(r, "name:b2", "name:b"), LG_WHY_RANK);
    /* one class: its policy */
    struct lg_rank_class *c = lg__ranks_find(r, "name:c"), *d = lg__ranks_find(r, "name:d"),
                    *e = lg__ranks_find(r, "name:e"), *f = lg__ranks_find(r, "name:f");
    CU_ASSERT_EQUAL(lg__ranks_check(r, c, 0x2000, c, 0x1000), LG_WHY_NONE);
    CU_ASSERT_EQUAL(lg__ranks_check(r, d, 0x1000, d, 0x2000), LG_WHY_NONE);
    CU_ASSERT_EQUAL(lg__ranks_check(r, d, 0x2000, d, 0x1000), LG_WHY_SAME);
    CU_ASSERT_EQUAL(lg__ranks_check(r, e, 0x1000, e, 0x2000), LG_WHY_SAME);
    CU_ASSERT_EQUAL(lg__ranks_check(r, f, 0x1000, f, 0x2000), LG_WHY_SAME); /* default strict */
}

static void test_partial_order(void)
{
    char err[512];
    struct lg_ranks *r = parse("class cfg name:config name:config2\n"
                               "order cfg < name:table < name:stats\n"
                               "order name:x < name:y\n"
                               "rank 10 name:r10\n"
                               "rank 20 name:r20\n"
                               "order name:r20 < name:z\n"
                               "order name:w < name:r10\n",
                               err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(check(r, "name:config", "name:table"), LG_WHY_NONE);
    CU_ASSERT_EQUAL(check(r, "name:table", "name:config2"), LG_WHY_ORDER);
    /* transitive */
    CU_ASSERT_EQUAL(check(r, "name:stats", "name:config"), LG_WHY_ORDER);
    CU_ASSERT_EQUAL(check(r, "name:config", "name:stats"), LG_WHY_NONE);
    /* unrelated: nothing to say */
    CU_ASSERT_EQUAL(check(r, "name:x", "name:table"), LG_WHY_NONE);
    CU_ASSERT_EQUAL(check(r, "name:table", "name:x"), LG_WHY_NONE);
    /* through ranks: r10 < r20 < z, and w < r10 < r20 */
    CU_ASSERT_EQUAL(check(r, "name:z", "name:r10"), LG_WHY_ORDER);
    CU_ASSERT_EQUAL(check(r, "name:r10", "name:z"), LG_WHY_NONE);
    CU_ASSERT_EQUAL(check(r, "name:r20", "name:w"), LG_WHY_ORDER);
    CU_ASSERT_EQUAL(check(r, "name:z", "name:w"), LG_WHY_ORDER);
    CU_ASSERT_EQUAL(check(r, "name:r20", "name:r10"), LG_WHY_RANK);
    /* a class only in order lines is strict with itself */
    struct lg_rank_class *x = lg__ranks_find(r, "name:x");
    CU_ASSERT_EQUAL(lg__ranks_check(r, x, 0x1000, x, 0x2000), LG_WHY_SAME);
}

static void test_cycles_rejected(void)
{
    EXPECT_ERROR("order name:a < name:b\norder name:b < name:c\n\norder name:c < name:a\n",
                 "r.txt:4: the declared order has a cycle: ");
    const char *e = bad("order name:a < name:b\norder name:b < name:a\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "name:a < name:b < name:a") ||
                           strstr(e, "name:b < name:a < name:b"));
    /* against the ranks */
    EXPECT_ERROR("rank 10 name:x\nrank 20 name:y\norder name:y < name:x\n",
                 "r.txt:3: the declared order has a cycle: name:");
    /* through ranks and a class */
    EXPECT_ERROR("class k name:k1 name:k2\nrank 10 k\nrank 20 name:m\norder name:m < name:n\n"
                 "order name:n < k\n",
                 "cycle");
    EXPECT_ERROR("order name:a < name:a\n", "r.txt:1: 'name:a' cannot come before itself");
}

static void test_malformed(void)
{
    EXPECT_ERROR("rank 10\n", "r.txt:1: expected 'rank NUMBER LOCK");
    EXPECT_ERROR("\n\nrank ten name:a\n", "r.txt:3: rank 'ten' is not a whole number");
    EXPECT_ERROR("rank -1 name:a\n", "is not a whole number");
    EXPECT_ERROR("rank 2147483648 name:a\n", "is not a whole number");
    EXPECT_ERROR("rank 10 name:a same=sometimes\n", "expected same=strict, same=address");
    EXPECT_ERROR("rank 10 name:a\nrank 20 name:a\n", "r.txt:2: name:a already has rank 10 (line 1)");
    EXPECT_ERROR("rank 10 accounts\n", "'accounts' is not a declared class");
    EXPECT_ERROR("rank 10 addr:0x7ffd1234\n", "addr: keys change from run to run");
    EXPECT_ERROR("rank 10 file:x\n", "not a key");
    EXPECT_ERROR("rank 10 name:\n", "a name: key needs");
    EXPECT_ERROR("rank 10 sym:bank\n", "a sym: key is sym:MODULE:SYMBOL");
    EXPECT_ERROR("rank 10 site:bank+1234\n", "a site: key is site:MODULE+0xOFFSET");
    EXPECT_ERROR("rank 10 site:+0x12\n", "a site: key is");
    EXPECT_ERROR("class\n", "expected 'class NAME KEY...'");
    EXPECT_ERROR("class a\n", "expected 'class NAME KEY...'");
    EXPECT_ERROR("class a:b name:x\n", "class name 'a:b' may hold only");
    EXPECT_ERROR("class a name:x\nclass a name:y\n", "r.txt:2: class 'a' is declared twice");
    EXPECT_ERROR("class a name:x\nclass b name:x\n", "name:x is already in class a");
    EXPECT_ERROR("order name:a\n", "expected 'order LOCK < LOCK");
    EXPECT_ERROR("order name:a > name:b\n", "expected '<' between locks, found '>'");
    EXPECT_ERROR("order name:a < name:b <\n", "expected 'order LOCK < LOCK");
    EXPECT_ERROR("ranks 10 name:a\n", "unknown declaration 'ranks'");
    static const char nul[] = "rank 10 name:a\nrank\0 20 name:b\n";
    char err[512];
    struct lg_ranks *r = lg__ranks_new();
    CU_ASSERT_EQUAL(lg__ranks_parse(r, nul, sizeof(nul) - 1, "r.txt", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "r.txt:2: a NUL byte"));
}

static void test_load_file(void)
{
    char err[512];
    struct lg_ranks *r = lg__ranks_new();
    CU_ASSERT_EQUAL(lg__ranks_load(r, "/nonexistent/ranks.txt", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/ranks.txt: cannot open the rank file"));
    CU_ASSERT_EQUAL(lg__ranks_load(r, "/tmp", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
    char path[] = "/tmp/lg-ranks-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char *text = "rank 1 name:a\nrank 2 name:b\nbogus\n";
    CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    CU_ASSERT_EQUAL(lg__ranks_load(r, path, err, sizeof(err)), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: unknown declaration 'bogus' (expected rank, class or order)", path);
    if (strcmp(err, want) != 0)
        fprintf(stderr, "\n  got '%s'\n  want '%s'\n", err, want);
    CU_ASSERT_STRING_EQUAL(err, want);
    unlink(path);
}

static void test_api_declarations(void)
{
    struct lg_ranks *r = lg__ranks_new();
    struct lg_rank_cycle cyc;
    CU_ASSERT_EQUAL(lg__ranks_set_rank(r, "a", 10, -1, &cyc), 1); /* new class */
    CU_ASSERT_EQUAL(lg__ranks_set_rank(r, "a", 10, LG_SAME_ADDRESS, &cyc), 0);
    CU_ASSERT_PTR_NOT_NULL(lg__ranks_find(r, "name:a"));
    CU_ASSERT_PTR_EQUAL(lg__ranks_find(r, "name:a"), lg__ranks_find(r, "a"));
    CU_ASSERT_STRING_EQUAL(lg__ranks_find(r, "name:a")->label, "a");
    CU_ASSERT_EQUAL(atomic_load(&lg__ranks_find(r, "name:a")->same), LG_SAME_ADDRESS);
    CU_ASSERT_EQUAL(lg__ranks_set_rank(r, "account 3", 70, -1, &cyc), 1);
    CU_ASSERT_PTR_NOT_NULL(lg__ranks_find(r, "name:account%203"));
    CU_ASSERT_EQUAL(lg__ranks_add_order(r, "p", "q", &cyc), 1);
    CU_ASSERT_EQUAL(lg__ranks_add_order(r, "q", "s", &cyc), 1);
    CU_ASSERT_EQUAL(lg__ranks_add_order(r, "s", "p", &cyc), -1);
    CU_ASSERT_EQUAL(cyc.n, 4); /* back to the start */
    CU_ASSERT_PTR_EQUAL(cyc.label[0], cyc.label[3]);
    /* refused: the order is as before */
    CU_ASSERT_EQUAL(check(r, "name:s", "name:p"), LG_WHY_ORDER);
    CU_ASSERT_EQUAL(check(r, "name:p", "name:s"), LG_WHY_NONE);
    CU_ASSERT_EQUAL(lg__ranks_add_order(r, "p", "p", &cyc), -1);
    /* a rank against the order is refused and leaves the old rank */
    CU_ASSERT_EQUAL(lg__ranks_set_rank(r, "p", 50, -1, &cyc), 0);
    CU_ASSERT_EQUAL(lg__ranks_set_rank(r, "q", 40, -1, &cyc), -1);
    CU_ASSERT(cyc.n >= 3);
    CU_ASSERT_EQUAL(atomic_load(&lg__ranks_find(r, "q")->rank), LG_NO_RANK);
    CU_ASSERT_EQUAL(lg__ranks_set_rank(r, "q", 60, -1, &cyc), 0);
}

static void test_first_time(void)
{
    CU_ASSERT_TRUE(lg__ranks_first_time(0x401000, 0x402000));
    CU_ASSERT_FALSE(lg__ranks_first_time(0x401000, 0x402000));
    CU_ASSERT_TRUE(lg__ranks_first_time(0x402000, 0x401000)); /* the pair is ordered */
    CU_ASSERT_TRUE(lg__ranks_first_time(0x401000, 0x402001));
    unsigned fresh = 0;
    for (uintptr_t i = 0; i < 20000; i++)
        fresh += lg__ranks_first_time(0x500000 + i, 0x600000);
    CU_ASSERT_EQUAL(fresh, 20000);
    for (uintptr_t i = 0; i < 20000; i++)
        fresh -= !lg__ranks_first_time(0x500000 + i, 0x600000);
    CU_ASSERT_EQUAL(fresh, 0);
}

/* A long chain of order lines: the closure is right end to end. */
static void test_long_chain(void)
{
    static char text[200000];
    size_t len = 0;
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "order name:l%d < name:l%d\n", i,
                                i + 1);
    char err[512];
    struct lg_ranks *r = parse(text, err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(check(r, "name:l2000", "name:l0"), LG_WHY_ORDER);
    CU_ASSERT_EQUAL(check(r, "name:l0", "name:l2000"), LG_WHY_NONE);
    CU_ASSERT_EQUAL(check(r, "name:l1001", "name:l1000"), LG_WHY_ORDER);
}

void lg_suite_ranks(void)
{
    CU_pSuite s = CU_add_suite("ranks", NULL, NULL);
    lg_add_test(s, "a good rank file", test_good_file);
    lg_add_test(s, "rank rule and same-class policies", test_rank_rule);
    lg_add_test(s, "partial order, transitive, mixed with ranks", test_partial_order);
    lg_add_test(s, "cycles in the declared order are rejected with the line", test_cycles_rejected);
    lg_add_test(s, "malformed lines give the line and the reason", test_malformed);
    lg_add_test(s, "rank files from disk", test_load_file);
    lg_add_test(s, "declarations through the API, refused cycles", test_api_declarations);
    lg_add_test(s, "once per pair of sites", test_first_time);
    lg_add_test(s, "2,000-step order chain", test_long_chain);
}
