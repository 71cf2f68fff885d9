/*
 * test_classes.c - lock classes in the reports: cycles between classes and
 * held-lock-freed, from findings files recorded by real runs of
 * liblockgraph.so on tests/scenarios/sc_classes (record_findings.sh):
 * read into their structs (scope, each lock's instance and class, each
 * edge's instances), printed as text (a class cycle in its own words; an
 * instance cycle exactly as a file without the new fields prints), grouped
 * (the same classes and code are one finding, a class cycle never joins
 * one the locks close), suppressed by class key; and a class key's sites
 * read back from a module map.
 *
 * The recorded module paths point nowhere (/nonexistent/...), so frames
 * print as module+offset on every machine.
 */
#include <CUnit/Basic.h>
#include <json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classkey.h"
#include "dedupe.h"
#include "findings.h"
#include "summary.h"
#include "suppress.h"

static bool load(struct lg_findings *set, const char *const *names, size_t n)
{
    lg_findings_init(set);
    FILE *diag = fopen("/dev/null", "w");
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, names[i]);
        if (lg_findings_read_file(set, path, diag ? diag : stderr) != 0)
            ok = false;
    }
    if (diag)
        fclose(diag);
    return ok && set->corrupt_lines == 0 && set->unknown_lines == 0;
}

static bool load1(struct lg_findings *set, const char *name)
{
    return load(set, &name, 1);
}

/* The text of `set`, with the closing line (to free). */
static char *render(const struct lg_findings *set)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    struct lg_summary_opts o = {.out = fp, .sym = lg_symbolizer_new(NULL)};
    lg_summary_print(set, &o);
    lg_summary_closing(fp, set, "REPORT");
    lg_symbolizer_free(o.sym);
    fclose(fp);
    return buf;
}

#define HAS(text, needle)                                                                          \
    do {                                                                                           \
        bool has_ = strstr((text), (needle)) != NULL;                                              \
        CU_ASSERT(has_);                                                                           \
        if (!has_)                                                                                 \
            fprintf(stderr, "\nmissing: [%s]\nin:\n%s\n", (needle), (text));                       \
    } while (0)

/* ---- reading ---- */

static void test_read_class_cycle(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "classes-helper.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 1);
    const struct lg_finding *f = &set.items[0];
    CU_ASSERT_EQUAL(f->kind, LG_KIND_CYCLE);
    CU_ASSERT_STRING_EQUAL(f->scope, "class");
    CU_ASSERT_TRUE(lg_finding_class_scope(f));
    CU_ASSERT_EQUAL_FATAL(f->n_locks, 2);
    const struct lg_lock *l = &f->locks[0];
    /* `id` is the graph's vertex (the class), lock_id the instance. */
    CU_ASSERT_EQUAL(l->id, 2);
    CU_ASSERT_TRUE(l->has_lock_id);
    CU_ASSERT_EQUAL(l->lock_id, 1);
    CU_ASSERT_TRUE(l->cls.known);
    CU_ASSERT_EQUAL(l->cls.id, 2);
    CU_ASSERT_STRING_EQUAL(l->cls.kind, "chain");
    CU_ASSERT_STRING_EQUAL(l->cls.key, "site:sc_classes+0x134d<sc_classes+0x13d6");
    CU_ASSERT_EQUAL_FATAL(l->cls.site.n, 2);
    CU_ASSERT_EQUAL(l->cls.site.pcs[0], 0x5636b7d7634d);
    CU_ASSERT_EQUAL(l->cls.site.pcs[1], 0x5636b7d763d6);
    CU_ASSERT_EQUAL_FATAL(f->n_edges, 2);
    const struct lg_edge *e = &f->edges[0];
    CU_ASSERT_EQUAL(e->from, 2);
    CU_ASSERT_EQUAL(e->to, 3);
    CU_ASSERT_TRUE(e->from_lock.known);
    CU_ASSERT_EQUAL(e->from_lock.id, 1);
    CU_ASSERT_EQUAL(e->from_lock.addr, 0x5636e4a562a0);
    CU_ASSERT_EQUAL(e->to_lock.id, 3);
    CU_ASSERT_EQUAL(e->to_lock.addr, 0x5636e4a56340);
    lg_findings_free(&set);

    CU_ASSERT_FATAL(load1(&set, "classes-conn-same.jsonl"));
    CU_ASSERT_STRING_EQUAL(set.items[0].scope, "instance");
    CU_ASSERT_FALSE(lg_finding_class_scope(&set.items[0]));
    lg_findings_free(&set);

    /* A file of an earlier version: no scope, no classes (and a kind
     * from the future, which load1 would refuse). */
    lg_findings_init(&set);
    FILE *diag = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL_FATAL(lg_findings_read_file(&set, TEST_DATA_DIR "/cycle.jsonl", diag), 0);
    fclose(diag);
    CU_ASSERT_FATAL(set.n > 0);
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_CYCLE);
    CU_ASSERT_PTR_NULL(set.items[0].scope);
    CU_ASSERT_FALSE(lg_finding_class_scope(&set.items[0]));
    CU_ASSERT_FALSE(set.items[0].locks[0].cls.known);
    CU_ASSERT_FALSE(set.items[0].locks[0].has_lock_id);
    CU_ASSERT_FALSE(set.items[0].edges[0].from_lock.known);
    lg_findings_free(&set);
}

static void test_read_held_lock_freed(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "held-lock-destroyed.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 1);
    const struct lg_finding *f = &set.items[0];
    CU_ASSERT_EQUAL(f->kind, LG_KIND_HELD_LOCK_FREED);
    CU_ASSERT_STRING_EQUAL(lg_finding_kind(f), "held-lock-freed");
    CU_ASSERT_STRING_EQUAL(f->call, "pthread_rwlock_destroy");
    CU_ASSERT_STRING_EQUAL(f->lock.type, "rwlock");
    CU_ASSERT_STRING_EQUAL(f->lock.cls.key, "site:sc_classes+0x1c42");
    CU_ASSERT_EQUAL(f->thread.seq, 1);
    CU_ASSERT_TRUE(f->owner.known);
    CU_ASSERT_EQUAL(f->owner.thread.seq, 2);
    CU_ASSERT_EQUAL_FATAL(f->owner.stack.n, 1);
    CU_ASSERT_EQUAL(f->owner.stack.pcs[0], 0x55ecc61f2bf0);
    CU_ASSERT_EQUAL(f->stack.pcs[0], 0x55ecc61f2c96);
    CU_ASSERT_STRING_EQUAL(f->hold, "read");
    lg_findings_free(&set);

    /* What the kind needs: a lock and a thread. */
    static const char *const bad[] = {
        "{\"kind\":\"held-lock-freed\",\"pid\":1,\"call\":\"free\",\"thread\":{\"tid\":1}}",
        "{\"kind\":\"held-lock-freed\",\"pid\":1,\"call\":\"free\",\"lock\":{\"id\":1}}",
        "{\"kind\":\"held-lock-freed\",\"pid\":1,\"lock\":{\"id\":1},\"thread\":{\"tid\":1},"
        "\"holder\":7}",
        "{\"kind\":\"lock-order-cycle\",\"pid\":1,\"scope\":3,\"locks\":[{\"id\":1}],"
        "\"edges\":[]}",
        "{\"kind\":\"lock-order-cycle\",\"pid\":1,\"locks\":[{\"id\":1,\"lock_class\":[]}],"
        "\"edges\":[]}",
        "{\"kind\":\"lock-order-cycle\",\"pid\":1,\"locks\":[{\"id\":1}],"
        "\"edges\":[{\"from\":1,\"to\":1,\"from_lock\":{\"addr\":[]}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct lg_finding g;
        bool unknown;
        char err[256];
        CU_ASSERT_EQUAL(lg_finding_parse(bad[i], strlen(bad[i]), &g, &unknown, err, sizeof err),
                        -1);
    }
}

/* ---- text ---- */

static void test_render_class_cycle(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "classes-conn.jsonl"));
    char *out = render(&set);
    HAS(out, "== lock-order-cycle #1 (pid 7737): potential deadlock between 2 lock classes\n"
             "   Never on one pair of locks in this run, but any C1 lock and C2 lock taken in\n"
             "   these two orders can deadlock");
    HAS(out, "   class C1: every mutex (normal) made at 0x55af74add404 (sc_classes+0x1404) "
             "[key site:sc_classes+0x1404]\n"
             "   class C2: every mutex (normal) made at 0x55af74add3bc (sc_classes+0x13bc) "
             "[key site:sc_classes+0x13bc]\n");
    HAS(out, "   edge C1 -> C2 by thread 1 \"sc_classes\" (tid 7737), on mutex 0x55af82c6b2a0 -> "
             "mutex 0x55af82c6b340:\n     holds C1 lock 0x55af82c6b2a0, taken at:\n");
    HAS(out, "     then takes C2 lock 0x55af82c6b340 at:\n");
    HAS(out, "   edge C2 -> C1 by thread 2 \"sc_classes\" (tid 7741), on mutex 0x55af82c6b2f0 -> "
             "mutex 0x55af82c6b2a0:\n");
    HAS(out, "   2 edges, 2 threads and 3 locks involved.\n");
    HAS(out, "   Possible scenario, two threads on the same C1 lock and C2 lock:\n"
             "       thread 1                thread 2\n"
             "       --------                --------\n"
             "       lock(C1)\n"
             "                               lock(C2)\n"
             "       lock(C2)  <- waits for thread 2\n"
             "                               lock(C1)  <- waits for thread 1: deadlock\n");
    HAS(out, "   Fix: take locks of these classes in one order everywhere");
    CU_ASSERT_PTR_NULL(strstr(out, " L1"));
    free(out);
    lg_findings_free(&set);

    CU_ASSERT_FATAL(load1(&set, "classes-helper.jsonl"));
    out = render(&set);
    HAS(out, "   class C1: every mutex (normal) made by 0x5636b7d7634d (sc_classes+0x134d) called "
             "from 0x5636b7d763d6 (sc_classes+0x13d6) [key "
             "site:sc_classes+0x134d<sc_classes+0x13d6]\n");
    HAS(out, "   class C2: every mutex (normal) made by 0x5636b7d7634d (sc_classes+0x134d) called "
             "from 0x5636b7d7638b (sc_classes+0x138b)");
    free(out);
    lg_findings_free(&set);
}

/* Remove the members the lock classes added, wherever they are. */
static void strip(json_object *v)
{
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            strip(json_object_array_get_idx(v, i));
        return;
    }
    if (!json_object_is_type(v, json_type_object))
        return;
    static const char *const added[] = {"scope", "lock_id", "lock_class", "from_lock", "to_lock"};
    for (size_t i = 0; i < sizeof added / sizeof *added; i++)
        json_object_object_del(v, added[i]);
    json_object_object_foreach(v, k, m)
    {
        (void)k;
        strip(m);
    }
}

/* A cycle the locks close prints as the same line printed before the
 * lock classes: word for word. */
static void test_render_instance_cycle_unchanged(void)
{
    static const char *const files[] = {"classes-conn-same.jsonl", "classes-nest-any.jsonl"};
    for (size_t i = 0; i < 2; i++) {
        struct lg_findings now, before;
        CU_ASSERT_FATAL(load1(&now, files[i]));
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, files[i]);
        json_object *o = json_object_from_file(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        strip(o);
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        CU_ASSERT_PTR_NULL(strstr(text, "lock_class"));
        lg_findings_init(&before);
        struct lg_finding f;
        bool unknown;
        char err[256];
        CU_ASSERT_EQUAL_FATAL(lg_finding_parse(text, strlen(text), &f, &unknown, err, sizeof err),
                              1);
        before.items = calloc(1, sizeof f);
        before.items[0] = f;
        before.n = before.cap = 1;
        json_object_put(o);

        char *a = render(&now), *b = render(&before);
        /* The closing lines name the same file: the rest must match. */
        CU_ASSERT_STRING_EQUAL(a, b);
        HAS(a, "potential deadlock among 2 locks");
        free(a);
        free(b);
        lg_findings_free(&now);
        lg_findings_free(&before);
    }
}

static void test_render_held_lock_freed(void)
{
    static const char *const names[] = {"held-lock-freed.jsonl", "held-lock-destroyed.jsonl"};
    struct lg_findings set;
    CU_ASSERT_FATAL(load(&set, names, 2));
    char *out = render(&set);
    HAS(out, "== held-lock-freed #1 (pid 7777): thread 1 \"sc_classes\" (tid 7777) frees a lock "
             "it holds\n"
             "   lock mutex 0x558db1f792a8 (normal), created at 0x558d8d960bb2 "
             "(sc_classes+0x1bb2)\n"
             "   freed (free) at:\n"
             "     #0 0x558d8d960bce (sc_classes+0x1bce)\n");
    HAS(out, "   held exclusively by the same thread, taken at:\n"
             "     #0 0x558d8d960bc2 (sc_classes+0x1bc2)\n"
             "   The lock's memory is gone while it is held");
    HAS(out, "== held-lock-freed #2 (pid 7783): thread 1 \"sc_classes\" (tid 7783) destroys a "
             "lock thread 2 (tid 7787) holds for reading\n");
    HAS(out, "   destroyed (pthread_rwlock_destroy) at:\n");
    HAS(out, "   held for reading by thread 2 (tid 7787), taken at:\n"
             "     #0 0x55ecc61f2bf0 (sc_classes+0x1bf0)\n"
             "   Destroying a lock that is held is undefined behaviour");
    HAS(out, "   Fix: let every holder unlock it before it is freed or destroyed.\n");
    HAS(out, "lockgraph: 2 findings (2 held-lock-freed) in 2 processes");
    CU_ASSERT_PTR_NULL(strstr(out, "does not know"));
    free(out);

    /* Freed and destroyed are two problems; each the same in another run. */
    CU_ASSERT_NOT_EQUAL(lg_finding_signature(&set.items[0]), lg_finding_signature(&set.items[1]));
    lg_findings_free(&set);
}

/* ---- grouping ---- */

static size_t groups(const struct lg_findings *set, lg_class_identity_fn fn,
                     const struct lg_group **out, struct lg_grouper **gr)
{
    *gr = lg_grouper_new(true, false, SIZE_MAX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*gr);
    if (fn)
        lg_grouper_fold_classes(*gr, fn, NULL);
    for (size_t i = 0; i < set->n; i++)
        CU_ASSERT_EQUAL(lg_grouper_add(*gr, i, &set->items[i]), 0);
    return lg_grouper_groups(*gr, out);
}

static uint64_t one_class(void *arg, const struct lg_finding *f, const struct lg_lock *l)
{
    (void)arg;
    (void)f;
    return l->cls.kind && strcmp(l->cls.kind, "addr") != 0 ? 42 : 0;
}

static void test_dedupe_class_cycles(void)
{
    /* conn twice (one build: the same classes and code), the same code
     * through the wrapper (other classes), the same classes closed by one
     * connection's own locks. */
    static const char *const names[] = {"classes-conn.jsonl", "classes-conn-rerun.jsonl",
                                        "classes-helper.jsonl", "classes-conn-same.jsonl"};
    struct lg_findings set;
    CU_ASSERT_FATAL(load(&set, names, 4));
    const struct lg_group *g;
    struct lg_grouper *gr;
    size_t n = groups(&set, NULL, &g, &gr);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(g[0].first, 0);
    CU_ASSERT_EQUAL(g[0].n, 2);
    CU_ASSERT_EQUAL(g[1].first, 2);
    CU_ASSERT_EQUAL(g[1].n, 1);
    CU_ASSERT_EQUAL(g[2].first, 3);
    CU_ASSERT_EQUAL(g[2].n, 1);
    lg_grouper_free(gr);

    /* Classes told apart by another identity (report's: by source line):
     * the same identity for every class joins conn and helper. */
    n = groups(&set, one_class, &g, &gr);
    CU_ASSERT_EQUAL(n, 2);
    lg_grouper_free(gr);

    /* A wrapper's locks share their init site: their classes' keys, not
     * that site, tell them apart. */
    const struct lg_finding *h = &set.items[2];
    bool s1, s2;
    uint64_t a = lg_lock_identity(h, &h->locks[0], &s1), b = lg_lock_identity(h, &h->locks[1], &s2);
    CU_ASSERT_TRUE(s1 && s2);
    CU_ASSERT_NOT_EQUAL(a, b);
    lg_findings_free(&set);
}

/* ---- suppressions ---- */

static void test_suppress_by_class(void)
{
    char path[] = "/tmp/lockgraph-test-classes-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char *rules = "lock:site:sc_classes+0x134d<*\n"
                        "kind:held-lock-freed lock:site:sc_classes+0x1c42\n";
    CU_ASSERT_EQUAL(write(fd, rules, strlen(rules)), (ssize_t)strlen(rules));
    close(fd);
    struct lg_supp supp;
    lg_supp_init(&supp);
    CU_ASSERT_EQUAL_FATAL(lg_supp_load(&supp, path, stderr), 0);
    unlink(path);

    static const char *const names[] = {"classes-helper.jsonl", "classes-conn.jsonl",
                                        "held-lock-destroyed.jsonl", "held-lock-freed.jsonl"};
    struct lg_findings set;
    CU_ASSERT_FATAL(load(&set, names, 4));
    struct lg_symbolizer *sym = lg_symbolizer_new(NULL);
    /* The wrapper's classes by their keys; the conn cycle's are others. */
    CU_ASSERT_PTR_NOT_NULL(lg_supp_match_finding(&supp, &set.items[0], sym));
    CU_ASSERT_PTR_NULL(lg_supp_match_finding(&supp, &set.items[1], sym));
    CU_ASSERT_PTR_NOT_NULL(lg_supp_match_finding(&supp, &set.items[2], sym));
    CU_ASSERT_PTR_NULL(lg_supp_match_finding(&supp, &set.items[3], sym));
    lg_symbolizer_free(sym);
    lg_findings_free(&set);
    lg_supp_free(&supp);
}

/* ---- class keys ---- */

static void test_class_key_sites(void)
{
    struct lg_module mods[] = {
        {.path = "/usr/lib/libc.so.6", .base = 0x7f0000000000, .end = 0x7f0000200000},
        {.path = "/opt/app/sc_classes", .base = 0x5636b7d75000, .end = 0x5636b7d79000},
        {.path = "/opt/app/lib foo+1.so", .base = 0x7e0000000000, .end = 0x7e0000100000},
    };
    uint64_t pcs[LG_CLASS_MAX_SITES];
    CU_ASSERT_EQUAL_FATAL(lg_class_key_sites("site:sc_classes+0x134d<sc_classes+0x13d6", mods, 3,
                                             pcs, LG_CLASS_MAX_SITES),
                          2);
    /* The same addresses the finding recorded for that class. */
    CU_ASSERT_EQUAL(pcs[0], 0x5636b7d7634d);
    CU_ASSERT_EQUAL(pcs[1], 0x5636b7d763d6);
    CU_ASSERT_EQUAL(lg_class_key_sites("site:sc_classes+0x1404", mods, 3, pcs, 16), 1);
    CU_ASSERT_EQUAL(pcs[0], 0x5636b7d76404);
    /* A module name escaped as keys are written, and holding a '+'. */
    CU_ASSERT_EQUAL(lg_class_key_sites("site:lib%20foo+1.so+0x10<libc.so.6+0x20", mods, 3, pcs, 16),
                    2);
    CU_ASSERT_EQUAL(pcs[0], 0x7e0000000010);
    CU_ASSERT_EQUAL(pcs[1], 0x7f0000000020);
    /* Not a site key, a module not in the map, a bad offset, too many. */
    CU_ASSERT_EQUAL(lg_class_key_sites("sym:sc_classes:table", mods, 3, pcs, 16), 0);
    CU_ASSERT_EQUAL(lg_class_key_sites("name:site:x+0x1", mods, 3, pcs, 16), 0);
    CU_ASSERT_EQUAL(lg_class_key_sites("site:other+0x10", mods, 3, pcs, 16), 0);
    CU_ASSERT_EQUAL(lg_class_key_sites("site:sc_classes+0x1g", mods, 3, pcs, 16), 0);
    CU_ASSERT_EQUAL(lg_class_key_sites("site:sc_classes", mods, 3, pcs, 16), 0);
    CU_ASSERT_EQUAL(lg_class_key_sites("site:sc_classes+0x1<", mods, 3, pcs, 16), 0);
    CU_ASSERT_EQUAL(lg_class_key_sites("site:sc_classes+0x1<sc_classes+0x2", mods, 3, pcs, 1), 0);

    /* Without debug info nothing folds. */
    char text[256];
    struct lg_symbolizer *sym = lg_symbolizer_new(NULL);
    CU_ASSERT_FALSE(lg_class_fold_text(sym, mods, 3, pcs, 1, text, sizeof text));
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "classes-helper.jsonl"));
    CU_ASSERT_EQUAL(lg_class_fold_identity(sym, &set.items[0], &set.items[0].locks[0]), 0);
    lg_findings_free(&set);
    lg_symbolizer_free(sym);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("classes", NULL, NULL);
    CU_add_test(s, "read a cycle between classes", test_read_class_cycle);
    CU_add_test(s, "read held-lock-freed", test_read_held_lock_freed);
    CU_add_test(s, "render a cycle between classes", test_render_class_cycle);
    CU_add_test(s, "render an instance cycle as before", test_render_instance_cycle_unchanged);
    CU_add_test(s, "render held-lock-freed", test_render_held_lock_freed);
    CU_add_test(s, "group class cycles", test_dedupe_class_cycles);
    CU_add_test(s, "suppress by class key", test_suppress_by_class);
    CU_add_test(s, "a class key's sites", test_class_key_sites);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
