/*
 * run_scenarios.c - runs the scenario programs under liblockgraph.so and
 * checks what they leave in the findings file, not just their exit status.
 *
 *   lockgraph_scenarios --lib LIB --bin DIR [--jemalloc SO] [suite-filter]
 *
 * Each scenario runs in its own temporary directory with
 * LOCKGRAPH_REPORT=DIR/findings.%p.jsonl; the runner itself is never under
 * the preload. A scenario that hangs on purpose (self-deadlock, a real
 * deadlock) is killed as soon as the expected finding is on disk, which
 * proves it was written before the hang. With --jemalloc, jemalloc is
 * preloaded after lockgraph, so the allocator's own mutexes, taken inside
 * malloc, go through lockgraph too.
 */
#define _GNU_SOURCE
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *lib_path, *bin_dir, *jemalloc_path;

/* Set by a test for its next run_prog, then reset: "@DIR" in args, options
 * and report_env becomes the run's directory. */
static struct {
    bool relative;                    /* run in the directory, LOCKGRAPH_REPORT relative */
    const char *report_env;           /* LOCKGRAPH_REPORT as it is, instead of the usual */
    void (*prepare)(const char *dir); /* before the program starts */
} next_run;

/* s with "@DIR" replaced by dir, into out. */
static const char *with_dir(const char *s, const char *dir, char *out, size_t len)
{
    const char *at = s ? strstr(s, "@DIR") : NULL;
    if (!at)
        return s;
    snprintf(out, len, "%.*s%s%s", (int)(at - s), s, dir, at + 4);
    return out;
}

struct run {
    char dir[256];
    int status; /* waitpid status */
    bool killed_by_us;
    bool timed_out;
    json_object *findings[64];
    int nfindings;
    int files;
    char err[8192]; /* the program's stderr, start of */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Does any findings file in dir contain "kind":"<kind>"? */
static bool dir_has_kind(const char *dir, const char *kind)
{
    char needle[128];
    snprintf(needle, sizeof(needle), "\"kind\":\"%s\"", kind);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (!strstr(e->d_name, ".jsonl") || e->d_type == DT_LNK)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char *line = NULL;
        size_t cap = 0;
        while (!found && getline(&line, &cap, f) > 0)
            found = strstr(line, needle) != NULL;
        free(line);
        fclose(f);
    }
    closedir(d);
    return found;
}

static void load_findings(struct run *r)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        /* a link planted at a findings file's name is no findings file */
        if (!strstr(e->d_name, ".jsonl") || e->d_type == DT_LNK)
            continue;
        r->files++;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", r->dir, e->d_name);
        /* findings.PID.jsonl holds the findings of process PID only: a
         * fork child never writes into its parent's file. */
        long file_pid = -1;
        sscanf(e->d_name, "findings.%ld.jsonl", &file_pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, f)) > 0) {
            CU_ASSERT_EQUAL(line[len - 1], '\n'); /* whole lines only */
            json_object *o = json_tokener_parse(line);
            CU_ASSERT_PTR_NOT_NULL(o); /* every line is valid JSON */
            json_object *pid;
            if (o && file_pid > 0 && json_object_object_get_ex(o, "pid", &pid) &&
                json_object_get_int64(pid) != file_pid) {
                CU_FAIL("a finding in another process's file");
                fprintf(stderr, "\n  %s holds a finding of pid %lld\n", e->d_name,
                        (long long)json_object_get_int64(pid));
            }
            if (o && r->nfindings < 64)
                r->findings[r->nfindings++] = o;
            else if (o)
                json_object_put(o);
        }
        free(line);
        fclose(f);
    }
    closedir(d);
}

/* Run bin_dir/prog with args; options go to LOCKGRAPH_OPTIONS. When
 * wait_kind is set, kill the program once such a finding is on disk. */
static struct run *run_prog(const char *prog, const char *const *args, const char *options,
                            const char *wait_kind, double timeout, bool preload)
{
    struct run *r = calloc(1, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/lg-scenario.XXXXXX");
    if (!mkdtemp(r->dir)) {
        perror("mkdtemp");
        exit(2);
    }
    char exe[512], report[512], errpath[512], preload_env[1024];
    if (prog[0] == '/')
        snprintf(exe, sizeof(exe), "%s", prog);
    else
        snprintf(exe, sizeof(exe), "%s/%s", bin_dir, prog);
    if (next_run.relative)
        snprintf(report, sizeof(report), "findings.%%p.jsonl");
    else
        snprintf(report, sizeof(report), "%s/findings.%%p.jsonl", r->dir);
    char report_env[512], options_buf[1024];
    const char *report_value =
        next_run.report_env ? with_dir(next_run.report_env, r->dir, report_env, sizeof(report_env))
                            : report;
    options = with_dir(options, r->dir, options_buf, sizeof(options_buf));
    bool relative = next_run.relative;
    if (next_run.prepare)
        next_run.prepare(r->dir);
    memset(&next_run, 0, sizeof(next_run));
    snprintf(errpath, sizeof(errpath), "%s/stderr", r->dir);
    if (jemalloc_path)
        snprintf(preload_env, sizeof(preload_env), "%s %s", lib_path, jemalloc_path);
    else
        snprintf(preload_env, sizeof(preload_env), "%s", lib_path);

    pid_t pid = fork();
    if (pid == 0) {
        if (preload)
            setenv("LD_PRELOAD", preload_env, 1);
        else if (jemalloc_path)
            setenv("LD_PRELOAD", jemalloc_path, 1);
        setenv("LOCKGRAPH_REPORT", report_value, 1);
        if (relative && chdir(r->dir) != 0)
            _exit(126);
        if (options)
            setenv("LOCKGRAPH_OPTIONS", options, 1);
        else
            unsetenv("LOCKGRAPH_OPTIONS");
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        char *argv[16] = {exe};
        static char arg_buf[15][512];
        int k = 1;
        for (int i = 0; args && args[i] && k < 15; i++, k++)
            argv[k] = (char *)with_dir(args[i], r->dir, arg_buf[k], sizeof(arg_buf[k]));
        argv[k] = NULL;
        execv(exe, argv);
        _exit(127);
    }
    double start = now_s();
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            r->status = st;
            break;
        }
        if (wait_kind && dir_has_kind(r->dir, wait_kind)) {
            kill(pid, SIGKILL);
            waitpid(pid, &r->status, 0);
            r->killed_by_us = true;
            break;
        }
        if (now_s() - start > timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, &r->status, 0);
            r->timed_out = true;
            break;
        }
        usleep(10000);
    }
    FILE *ef = fopen(errpath, "r");
    if (ef) {
        size_t n = fread(r->err, 1, sizeof(r->err) - 1, ef);
        r->err[n] = 0;
        fclose(ef);
    }
    load_findings(r);
    return r;
}

static struct run *run(const char *prog, const char *options)
{
    return run_prog(prog, NULL, options, NULL, 60, true);
}

static void run_free(struct run *r)
{
    for (int i = 0; i < r->nfindings; i++)
        json_object_put(r->findings[i]);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", r->dir);
    free(r);
}

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int count_kind(const struct run *r, const char *kind)
{
    int n = 0;
    for (int i = 0; i < r->nfindings; i++)
        n += str(r->findings[i], "kind") && strcmp(str(r->findings[i], "kind"), kind) == 0;
    return n;
}

static json_object *first_kind(const struct run *r, const char *kind)
{
    for (int i = 0; i < r->nfindings; i++)
        if (str(r->findings[i], "kind") && strcmp(str(r->findings[i], "kind"), kind) == 0)
            return r->findings[i];
    return NULL;
}

static bool exited_ok(const struct run *r)
{
    return !r->timed_out && !r->killed_by_us && WIFEXITED(r->status) &&
           WEXITSTATUS(r->status) == 0;
}

static void expect_clean_exit(const struct run *r)
{
    CU_ASSERT_TRUE(exited_ok(r));
    if (!exited_ok(r))
        fprintf(stderr, "\n  status %#x timed_out %d stderr:\n%s\n", r->status, r->timed_out,
                r->err);
}

static void expect_nothing(const struct run *r)
{
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 0);
    if (r->nfindings)
        fprintf(stderr, "\n  unexpected: %s\n",
                json_object_to_json_string(r->findings[0]));
}

/* A cycle finding with n locks, n edges chaining up, every edge with both
 * stacks, a module map covering the stacks. */
static void check_cycle(json_object *f, int n)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    json_object *locks = get(f, "locks"), *edges = get(f, "edges"), *mods = get(f, "modules");
    CU_ASSERT_PTR_NOT_NULL_FATAL(locks);
    CU_ASSERT_PTR_NOT_NULL_FATAL(edges);
    CU_ASSERT_EQUAL((int)json_object_array_length(locks), n);
    CU_ASSERT_EQUAL((int)json_object_array_length(edges), n);
    CU_ASSERT(mods && json_object_array_length(mods) >= 1);
    for (int i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(edges, (size_t)i);
        json_object *next = json_object_array_get_idx(edges, (size_t)((i + 1) % n));
        CU_ASSERT_EQUAL(json_object_get_int64(get(e, "to")),
                        json_object_get_int64(get(next, "from")));
        CU_ASSERT_EQUAL(json_object_get_int64(get(e, "from")),
                        json_object_get_int64(get(json_object_array_get_idx(locks, (size_t)i),
                                                  "id")));
        json_object *s1 = get(e, "first_stack"), *s2 = get(e, "second_stack");
        CU_ASSERT(s1 && json_object_array_length(s1) >= 1);
        CU_ASSERT(s2 && json_object_array_length(s2) >= 1);
        CU_ASSERT_PTR_NOT_NULL(get(get(e, "thread"), "tid"));
    }
}

static bool json_true(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_get_boolean(v);
}

/* ---------------------------------------------------------------------- */

static void test_ab_ba_threads(void)
{
    struct run *r = run("sc_ab_ba_threads", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    CU_ASSERT_FALSE(json_true(f, "single_thread"));
    /* names given through lockgraph.h reach the finding under preload */
    json_object *locks = get(f, "locks");
    const char *n0 = str(json_object_array_get_idx(locks, 0), "name");
    const char *n1 = str(json_object_array_get_idx(locks, 1), "name");
    CU_ASSERT(n0 && n1 && strstr(n0, "lock ") && strstr(n1, "lock ") && strcmp(n0, n1) != 0);
    CU_ASSERT_TRUE(json_true(json_object_array_get_idx(locks, 0), "created"));
    json_object *e0 = json_object_array_get_idx(get(f, "edges"), 0);
    json_object *e1 = json_object_array_get_idx(get(f, "edges"), 1);
    CU_ASSERT_NOT_EQUAL(json_object_get_int(get(get(e0, "thread"), "tid")),
                        json_object_get_int(get(get(e1, "thread"), "tid")));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "lockgraph: lock-order-cycle"));
    run_free(r);
}

static void test_ab_ba_one_thread(void)
{
    struct run *r = run("sc_ab_ba_one_thread", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    CU_ASSERT_TRUE(json_true(f, "single_thread"));
    run_free(r);
}

static void test_three_cycle(void)
{
    struct run *r = run("sc_three_cycle", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 3);
    run_free(r);
}

static void test_consistent_order(void)
{
    struct run *r = run("sc_consistent_order", NULL);
    expect_nothing(r);
    CU_ASSERT_EQUAL(r->files, 0); /* a process that found nothing leaves no file */
    run_free(r);
}

static void test_trylock_backoff(void)
{
    struct run *r = run("sc_trylock_backoff", NULL);
    expect_nothing(r);
    run_free(r);
}

static void test_recursive(void)
{
    struct run *r = run("sc_recursive", NULL);
    expect_nothing(r);
    run_free(r);
}

static void test_self_deadlock(void)
{
    struct run *r = run_prog("sc_self_deadlock", NULL, NULL, "self-deadlock", 30, true);
    CU_ASSERT_TRUE(r->killed_by_us); /* it hung, and the finding was there */
    CU_ASSERT_EQUAL(count_kind(r, "self-deadlock"), 1);
    json_object *f = first_kind(r, "self-deadlock");
    if (f) {
        CU_ASSERT_STRING_EQUAL(str(get(f, "lock"), "mode"), "normal");
        CU_ASSERT(json_object_array_length(get(f, "second_stack")) >= 1);
        CU_ASSERT(json_object_array_length(get(f, "first_stack")) >= 1);
    }
    run_free(r);
}

static void test_unlock_not_held(void)
{
    struct run *r = run("sc_unlock_not_held", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "unlock-not-held"), 2);
    CU_ASSERT_EQUAL(count_kind(r, "held-at-exit"), 1);
    CU_ASSERT_EQUAL(r->nfindings, 3);
    run_free(r);
}

static void test_held_at_exit(void)
{
    struct run *r = run("sc_held_at_exit", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "held-at-exit"), 2);
    CU_ASSERT_EQUAL(r->nfindings, 2);
    json_object *f = first_kind(r, "held-at-exit");
    if (f)
        CU_ASSERT_EQUAL(json_object_array_length(get(f, "held")), 1);
    run_free(r);
}

static void test_static_ab_ba(void)
{
    struct run *r = run("sc_static_ab_ba", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    if (f) {
        json_object *l0 = json_object_array_get_idx(get(f, "locks"), 0);
        CU_ASSERT_FALSE(json_true(l0, "created"));
        CU_ASSERT(get(l0, "stack") && json_object_array_length(get(l0, "stack")) >= 1);
    }
    run_free(r);
}

static void test_cxx_mutex(void)
{
    struct run *r = run("sc_cxx_mutex", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 2);
    run_free(r);
}

static void test_real_deadlock(void)
{
    struct run *r = run_prog("sc_real_deadlock", NULL, NULL, "lock-order-cycle", 30, true);
    CU_ASSERT_TRUE(r->killed_by_us);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 2);
    run_free(r);
}

static void test_timed(void)
{
    struct run *r = run("sc_timed", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 2);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    CU_ASSERT_TRUE(f && json_true(f, "timed"));
    json_object *s = first_kind(r, "self-deadlock");
    CU_ASSERT_TRUE(s && json_true(s, "timed"));
    run_free(r);
}

static void test_spin(void)
{
    struct run *r = run("sc_spin", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 2);
    CU_ASSERT_EQUAL(r->nfindings, 2);
    int spins = 0, mutexes = 0, named = 0;
    for (int i = 0; i < r->nfindings; i++) {
        json_object *locks = get(r->findings[i], "locks");
        check_cycle(r->findings[i], 2);
        for (size_t k = 0; locks && k < json_object_array_length(locks); k++) {
            json_object *l = json_object_array_get_idx(locks, k);
            spins += strcmp(str(l, "type"), "spin") == 0;
            mutexes += strcmp(str(l, "type"), "mutex") == 0;
            named += str(l, "name") && strcmp(str(l, "name"), "spin b") == 0;
        }
    }
    CU_ASSERT_EQUAL(spins, 3);
    CU_ASSERT_EQUAL(mutexes, 1);
    CU_ASSERT_EQUAL(named, 1);
    run_free(r);

    static const char *const relock[] = {"relock", NULL};
    r = run_prog("sc_spin", relock, NULL, "self-deadlock", 30, true);
    CU_ASSERT_TRUE(r->killed_by_us);
    json_object *f = first_kind(r, "self-deadlock");
    CU_ASSERT_TRUE(f && strcmp(str(get(f, "lock"), "type"), "spin") == 0);
    run_free(r);
}

static void test_cond(void)
{
    static const char *const inversion[] = {"inversion", NULL}, *const queue[] = {"queue", NULL},
                             *const cancel[] = {"cancel", NULL};
    struct run *r = run_prog("sc_cond", inversion, NULL, NULL, 30, true);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 2);
    check_cycle(first_kind(r, "lock-order-cycle"), 2);
    /* x is held across the wait on m: x, not m, is named */
    json_object *w = first_kind(r, "held-across-wait");
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_STRING_EQUAL(str(w, "call"), "pthread_cond_timedwait");
    CU_ASSERT_EQUAL(json_object_array_length(get(w, "held")), 1);
    run_free(r);
    r = run_prog("sc_cond", queue, NULL, NULL, 60, true);
    expect_nothing(r);
    run_free(r);
    r = run_prog("sc_cond", cancel, NULL, NULL, 30, true);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 2);
    run_free(r);
}

static struct run *run_mode(const char *prog, const char *mode)
{
    const char *args[] = {mode, NULL};
    return run_prog(prog, args, NULL, NULL, 30, true);
}

/* Each of prog's n modes: a clean exit and exactly one finding, a
 * lock-order cycle among `locks` locks. */
static void expect_cycle_per_mode(const char *prog, const char *const *modes, int n, int locks)
{
    for (int i = 0; i < n; i++) {
        struct run *r = run_mode(prog, modes[i]);
        expect_clean_exit(r);
        CU_ASSERT_EQUAL(r->nfindings, 1);
        check_cycle(first_kind(r, "lock-order-cycle"), locks);
        if (r->nfindings != 1)
            fprintf(stderr, "\n  %s mode %s: %d findings\n", prog, modes[i], r->nfindings);
        run_free(r);
    }
}

/* Each of n modes of prog: a clean exit and nothing found. */
static void expect_nothing_per_mode(const char *prog, const char *const *modes, int n)
{
    for (int i = 0; i < n; i++) {
        struct run *r = run_mode(prog, modes[i]);
        expect_nothing(r);
        run_free(r);
    }
}

static void expect_rw_cycle(const char *mode, const char *held0, const char *waited1)
{
    struct run *r = run_mode("sc_rwlock", mode);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    if (f) {
        /* which lock is first depends on the closing edge: find R's */
        json_object *locks = get(f, "locks"), *edges = get(f, "edges");
        int ri = strcmp(str(json_object_array_get_idx(locks, 0), "type"), "rwlock") == 0 ? 0 : 1;
        json_object *out_of_r = json_object_array_get_idx(edges, (size_t)ri);
        json_object *into_r = json_object_array_get_idx(edges, (size_t)(1 - ri));
        CU_ASSERT_STRING_EQUAL(str(out_of_r, "held"), held0);
        CU_ASSERT_STRING_EQUAL(str(into_r, "waited"), waited1);
    }
    run_free(r);
}

static void test_rwlock(void)
{
    static const char *const nothing[] = {"rr", "wpref_np", "reread"};
    expect_nothing_per_mode("sc_rwlock", nothing, 3);
    expect_rw_cycle("wr", "exclusive", "shared");
    expect_rw_cycle("rw", "shared", "exclusive");
    expect_rw_cycle("wpref", "exclusive", "exclusive"); /* reads order as exclusive */
    expect_rw_cycle("static", "exclusive", "shared");
    struct run *rt = run_mode("sc_rwlock", "timed");
    expect_clean_exit(rt);
    json_object *ft = first_kind(rt, "lock-order-cycle");
    CU_ASSERT_TRUE(ft && json_true(ft, "timed"));
    run_free(rt);
    static const char *const self[] = {"self", NULL};
    struct run *r = run_prog("sc_rwlock", self, NULL, "self-deadlock", 30, true);
    CU_ASSERT_TRUE(r->killed_by_us);
    json_object *f = first_kind(r, "self-deadlock");
    CU_ASSERT_TRUE(f && strcmp(str(get(f, "lock"), "type"), "rwlock") == 0);
    run_free(r);
}

static void test_cxx_locks(void)
{
    static const char *const nothing[] = {"scoped", "stdlock", "recursive", "shared_ok"};
    expect_nothing_per_mode("sc_cxx_locks", nothing, 4);
    struct run *r = run_mode("sc_cxx_locks", "shared_bad");
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 2);
    run_free(r);
}

static void test_gate(void)
{
    struct run *r = run_mode("sc_gate", "guarded");
    expect_nothing(r);
    run_free(r);
    static const char *const cyc[] = {"escape", "two_gates", "read_gate"};
    expect_cycle_per_mode("sc_gate", cyc, 3, 2);
}

static void test_free_reuse(void)
{
    struct run *r = run_prog("sc_free_reuse", NULL, NULL, NULL, 30, true);
    expect_nothing(r);
    run_free(r);
    r = run_mode("sc_free_reuse", "keep");
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    run_free(r);
    r = run_mode("sc_free_reuse", "grown");
    expect_nothing(r);
    run_free(r);
}

static void test_hit_reuse(void)
{
    static const char *const modes[] = {"destroy", "reinit", "unmap", "rwlock"};
    expect_cycle_per_mode("sc_hit_reuse", modes, 4, 2);
}

/* Signal handlers that lock, landing inside the fast path's lock and
 * unlock: nothing to report, and the program saw enough signals. */
static void test_signal_locks(void)
{
    static const char *const modes[] = {"shallow", "deep", "edge"};
    expect_nothing_per_mode("sc_signal_locks", modes, 3);
}

/* Locks with no class until first needed (lib/registry.h), taken alone
 * until cached before they meet other locks. */
static void test_lazy_class(void)
{
    static const char *const scopes[][2] = {{"outer", "class"}, {"inner", "class"},
                                            {"tries", "instance"}};
    for (int i = 0; i < 3; i++) {
        struct run *r = run_mode("sc_lazy_class", scopes[i][0]);
        expect_clean_exit(r);
        CU_ASSERT_EQUAL(r->nfindings, 1);
        json_object *f = first_kind(r, "lock-order-cycle");
        check_cycle(f, 2);
        if (f) {
            CU_ASSERT_STRING_EQUAL(str(f, "scope"), scopes[i][1]);
            json_object *locks = get(f, "locks");
            for (size_t j = 0; j < 2; j++) { /* each with its class and where it began */
                json_object *l = json_object_array_get_idx(locks, j);
                CU_ASSERT_PTR_NOT_NULL(get(l, "lock_class"));
                CU_ASSERT(json_object_array_length(get(l, "stack")) >= 1);
            }
        }
        if (!f)
            fprintf(stderr, "\n  sc_lazy_class %s: no cycle\n", scopes[i][0]);
        run_free(r);
    }
    /* only ever alone, named in a finding: its addr class made for it */
    struct run *r = run_mode("sc_lazy_class", "io");
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "held-across-io"), 1);
    json_object *f = first_kind(r, "held-across-io");
    json_object *held = f ? get(f, "held") : NULL;
    json_object *lock = held ? get(json_object_array_get_idx(held, 0), "lock") : NULL;
    json_object *lc = lock ? get(lock, "lock_class") : NULL;
    CU_ASSERT_STRING_EQUAL(lc ? str(lc, "kind") : "", "addr");
    CU_ASSERT(lc && str(lc, "key") && !strncmp(str(lc, "key"), "site:sc_lazy_class+0x", 21));
    CU_ASSERT(lock && json_object_array_length(get(lock, "stack")) >= 1);
    run_free(r);
}

static void test_dlclose(void)
{
    char lib[600];
    snprintf(lib, sizeof(lib), "%s/libsc_dl_locks.so", bin_dir);
    const char *args[] = {lib, NULL, NULL};
    struct run *r = run_prog("sc_dlclose", args, NULL, NULL, 30, true);
    expect_nothing(r);
    run_free(r);
    args[1] = "keep";
    r = run_prog("sc_dlclose", args, NULL, NULL, 30, true);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 2);
    run_free(r);
    /* stacks in an unloaded library: the module map still names it */
    args[1] = "stacks";
    r = run_prog("sc_dlclose", args, NULL, NULL, 30, true);
    expect_clean_exit(r);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    bool named = false;
    json_object *mods = f ? get(f, "modules") : NULL;
    for (size_t i = 0; mods && i < json_object_array_length(mods); i++)
        named |= strstr(str(json_object_array_get_idx(mods, i), "path"), "libsc_dl_locks.so") != NULL;
    CU_ASSERT_TRUE(named);
    run_free(r);
}

static void test_trylock_kinds(void)
{
    struct run *r = run("sc_trylock_kinds", NULL);
    expect_nothing(r);
    run_free(r);
}

static void test_cancel_held(void)
{
    struct run *r = run("sc_cancel_held", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "held-at-exit"), 1);
    /* it sleeps holding the lock, and is cancelled in sleep(): one
     * held-across-io, no final count line (it never gets past the sleep) */
    CU_ASSERT_EQUAL(count_kind(r, "held-across-io"), 1);
    CU_ASSERT_EQUAL(r->nfindings, 2);
    run_free(r);
}

/* ---- held-across-io ---------------------------------------------------- */

static bool is_io(json_object *f, bool final)
{
    const char *k = str(f, "kind");
    return k && !strcmp(k, "held-across-io") && json_true(f, "final") == final;
}

/* The first line of each pair whose call is `call` (NULL: any), in order. */
static int io_firsts(const struct run *r, const char *call, json_object **out, int max)
{
    int n = 0;
    for (int i = 0; i < r->nfindings; i++) {
        json_object *f = r->findings[i];
        if (is_io(f, false) && (!call || !strcmp(str(f, "call"), call))) {
            if (out && n < max)
                out[n] = f;
            n++;
        }
    }
    return n;
}

/* A pair's total: the count of its last line (the final one, if any). */
static int64_t io_total(const struct run *r, json_object *first)
{
    int64_t pair = json_object_get_int64(get(first, "pair")), count = 0;
    for (int i = 0; i < r->nfindings; i++) {
        json_object *f = r->findings[i];
        const char *k = str(f, "kind");
        if (k && !strcmp(k, "held-across-io") && json_object_get_int64(get(f, "pair")) == pair)
            count = json_object_get_int64(get(f, "count"));
    }
    return count;
}

/* A held-across-io first line: its call, one held lock named `lock`, both
 * stacks, a thread, the fd's type when it has one. */
static void check_io(json_object *f, const char *call, const char *lock, const char *fd_type)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(str(f, "call"), call);
    CU_ASSERT_EQUAL(json_object_get_int64(get(f, "count")), 1);
    json_object *held = get(f, "held");
    CU_ASSERT_FATAL(held && json_object_array_length(held) == 1);
    json_object *h = json_object_array_get_idx(held, 0);
    const char *name = str(get(h, "lock"), "name");
    CU_ASSERT(lock ? name && !strcmp(name, lock) : !name);
    CU_ASSERT(json_object_array_length(get(h, "stack")) >= 1);
    CU_ASSERT(str(h, "key") && strlen(str(h, "key")) > 5);
    CU_ASSERT(json_object_array_length(get(f, "stack")) >= 1);
    CU_ASSERT(get(get(f, "thread"), "tid") != NULL);
    CU_ASSERT(json_object_array_length(get(f, "modules")) >= 1);
    if (fd_type) {
        const char *t = str(get(f, "fd"), "type");
        CU_ASSERT(t && !strcmp(t, fd_type));
        if (!t || strcmp(t, fd_type))
            fprintf(stderr, "\n  %s: fd type %s, expected %s\n", call, t ? t : "none", fd_type);
    }
}

/* A family: `held` gives exactly these calls, in order, each once with
 * count 1 and no final line; `nolock` and `nonblock` give nothing. */
static void io_family(const char *prog, const char *lock, const char *const *calls,
                      const char *const *types)
{
    int n = 0;
    while (calls[n])
        n++;
    struct run *r = run_mode(prog, "held");
    expect_clean_exit(r);
    json_object *f[32];
    int got = io_firsts(r, NULL, f, 32);
    CU_ASSERT_EQUAL(got, n);
    CU_ASSERT_EQUAL(r->nfindings, n); /* one call each: no final lines */
    if (got != n)
        fprintf(stderr, "\n  %s held: %d held-across-io, expected %d\n", prog, got, n);
    for (int i = 0; i < n && i < got; i++)
        check_io(f[i], calls[i], lock, types ? types[i] : NULL);
    run_free(r);
    static const char *const quiet[] = {"nolock", "nonblock"};
    expect_nothing_per_mode(prog, quiet, 2);
}

static void test_io_fd(void)
{
    static const char *const calls[] = {"write", "pread", "write", "writev",
                                        "read",  "write", "read",  NULL};
    static const char *const types[] = {"file", "file", "file", "pipe", "pipe", "pipe", "pipe"};
    io_family("sc_io_fd", "fd lock", calls, types);
}

static void test_io_socket(void)
{
    static const char *const calls[] = {"connect",  "accept",  "send",    "recv", "sendto",
                                        "recvfrom", "sendmsg", "recvmsg", NULL};
    static const char *const types[] = {"socket", "socket", "socket", "socket",
                                        "socket", "socket", "socket", "socket"};
    io_family("sc_io_socket", "net lock", calls, types);
    /* the peer is named: connect says where it connects */
    struct run *r = run_mode("sc_io_socket", "held");
    json_object *f = NULL;
    io_firsts(r, "connect", &f, 1);
    const char *peer = f ? str(get(f, "fd"), "peer") : NULL;
    CU_ASSERT(peer && !strncmp(peer, "127.0.0.1:", 10));
    run_free(r);
}

static void test_io_wait(void)
{
    static const char *const calls[] = {"poll",       "ppoll",       "select", "pselect",
                                        "epoll_wait", "epoll_pwait", NULL};
    io_family("sc_io_wait", "wait lock", calls, NULL);
}

static void test_io_sync(void)
{
    static const char *const calls[] = {"fsync", "fdatasync", "sync_file_range", "msync", NULL};
    static const char *const types[] = {"file", "file", "file", NULL};
    io_family("sc_io_sync", "sync lock", calls, types);
}

static void test_io_sleep(void)
{
    static const char *const calls[] = {"nanosleep", "clock_nanosleep", "usleep", NULL};
    io_family("sc_io_sleep", "sleep lock", calls, NULL);
}

static void test_io_stdio(void)
{
    /* no "write" among them: the write inside each stdio call is not seen
     * again */
    static const char *const calls[] = {"fwrite", "fprintf", "fputs",  "fputc", "fflush",
                                        "fgets",  "getline", "fread",  "printf", NULL};
    static const char *const types[] = {"file", "file", "file", "file",       "file",
                                        "file", "file", "file", "char-device"};
    io_family("sc_io_stdio", "stdio lock", calls, types);
}

static void test_io_dedup(void)
{
    /* 100,000 writes from one site under one lock: one finding, written
     * at once with count 1, and its total at exit */
    struct run *r = run_mode("sc_io_fd", "dedup");
    expect_clean_exit(r);
    json_object *f = NULL;
    CU_ASSERT_EQUAL(io_firsts(r, NULL, &f, 1), 1);
    check_io(f, "write", "fd lock", "char-device");
    CU_ASSERT_EQUAL(r->nfindings, 2); /* the first line and the final one */
    if (f) {
        CU_ASSERT_EQUAL(io_total(r, f), 100000);
        CU_ASSERT_STRING_EQUAL(str(get(f, "fd"), "path"), "/dev/null");
    }
    json_object *last = r->findings[r->nfindings - 1];
    CU_ASSERT_TRUE(is_io(last, true));
    run_free(r);
}

static void test_io_allow(void)
{
    static const char *const allow[] = {"allow", NULL};
    struct run *r = run_prog("sc_io_fd", allow, "io_allow=write,name:quiet", NULL, 30, true);
    expect_clean_exit(r);
    json_object *f[4];
    CU_ASSERT_EQUAL(io_firsts(r, NULL, f, 4), 2);
    CU_ASSERT_EQUAL(r->nfindings, 2);
    if (r->nfindings == 2) {
        check_io(f[0], "read", "loud", "pipe");
        check_io(f[1], "read", "loud", "pipe"); /* quiet held too, left out */
    }
    run_free(r);
    /* without the allowlist: 4 */
    r = run_mode("sc_io_fd", "allow");
    CU_ASSERT_EQUAL(io_firsts(r, NULL, NULL, 0), 4);
    run_free(r);
    /* a finding's key, given back to io_allow, silences it */
    r = run_mode("sc_io_fd", "unnamed");
    json_object *u = NULL;
    CU_ASSERT_EQUAL(io_firsts(r, "write", &u, 1), 1);
    const char *key = u ? str(json_object_array_get_idx(get(u, "held"), 0), "key") : NULL;
    CU_ASSERT(key && !strncmp(key, "site:sc_io_fd+0x", 16));
    if (key) {
        char opts[256];
        snprintf(opts, sizeof(opts), "quiet=1:io_allow=read,%s:stack_depth=8", key);
        static const char *const unnamed[] = {"unnamed", NULL};
        struct run *q = run_prog("sc_io_fd", unnamed, opts, NULL, 30, true);
        expect_nothing(q);
        run_free(q);
    }
    run_free(r);
}

static void test_io_actions(void)
{
    struct run *r = run_prog("sc_io_fd", (const char *const[]){"held", NULL}, "on_io=off", NULL,
                             30, true);
    expect_nothing(r);
    run_free(r);
    r = run_prog("sc_io_fd", (const char *const[]){"held", NULL}, "on_io=abort", NULL, 30, true);
    CU_ASSERT_TRUE(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT);
    CU_ASSERT_EQUAL(count_kind(r, "held-across-io"), 1); /* written before abort */
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "on_io=abort"));
    run_free(r);
    r = run_prog("sc_io_fd", (const char *const[]){"held", NULL}, "io_allow=wrte", NULL, 30,
                 true);
    CU_ASSERT_TRUE(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "'wrte' is neither a watched call"));
    run_free(r);
}

static void test_io_cancel(void)
{
    /* killed by the 30 s timeout if a cancel unwinds out of lockgraph with
     * its report lock held */
    struct run *r = run_mode("sc_io_fd", "cancel");
    expect_clean_exit(r);
    json_object *f[2];
    CU_ASSERT_EQUAL(io_firsts(r, NULL, f, 2), 2);
    if (r->nfindings == 2) {
        CU_ASSERT_STRING_EQUAL(str(f[0], "call"), "write");
        CU_ASSERT_STRING_EQUAL(str(f[1], "call"), "usleep");
    }
    run_free(r);
}

static void test_io_linked(void)
{
    /* sc_io_linked is linked with -llockgraph; no preload here. */
    struct run *r = run_prog("sc_io_linked", NULL, NULL, NULL, 30, false);
    expect_clean_exit(r);
    json_object *f = NULL;
    CU_ASSERT_EQUAL(io_firsts(r, NULL, &f, 1), 1);
    check_io(f, "write", "linked lock", "char-device");
    if (f)
        CU_ASSERT_EQUAL(io_total(r, f), 1000);
    run_free(r);
}

static void test_reuse(void)
{
    struct run *r = run("sc_reuse", NULL);
    expect_nothing(r);
    run_free(r);
}

static void test_address_order(void)
{
    struct run *r = run("sc_address_order", NULL);
    expect_nothing(r);
    run_free(r);
}

static void test_deep_nesting(void)
{
    static const char *const ok[] = {"ok", NULL};
    struct run *r = run_prog("sc_deep_nesting", ok, NULL, NULL, 60, true);
    expect_nothing(r);
    run_free(r);
    r = run("sc_deep_nesting", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 600);
    run_free(r);
}

static void test_long_cycle(void)
{
    struct run *r = run("sc_long_cycle", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_cycle(first_kind(r, "lock-order-cycle"), 5000);
    run_free(r);
}

static void test_many_locks(void)
{
    struct run *r = run("sc_many_locks", NULL);
    expect_nothing(r);
    run_free(r);
}

static void test_fork(void)
{
    struct run *r = run("sc_fork", NULL);
    expect_clean_exit(r);
    /* parent: a<->b; last child: b<->e; other children: nothing and no file */
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 2);
    CU_ASSERT_EQUAL(r->nfindings, 2);
    CU_ASSERT_EQUAL(r->files, 2);
    if (r->nfindings == 2)
        CU_ASSERT_NOT_EQUAL(json_object_get_int(get(r->findings[0], "pid")),
                            json_object_get_int(get(r->findings[1], "pid")));
    run_free(r);
}

/* Every way to fork while three threads take lockgraph's own locks all the
 * time: no child may hang (the forks glibc makes inside forkpty, daemon and
 * _Fork never reach an interposed fork()), and each child that closes a
 * cycle writes it to a file of its own. */
static void test_fork_kinds(void)
{
    static const char *const kinds[] = {"fork", "forkpty", "daemon", "_Fork",
                                        "vfork", "posix_spawn", "system"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        bool child_runs_code = i < 4;
        const char *args[] = {kinds[i], "20", child_runs_code ? "cycle" : NULL, NULL};
        struct run *r = run_prog("sc_fork_kinds", args, NULL, NULL, 120, true);
        expect_clean_exit(r);
        if (!exited_ok(r))
            fprintf(stderr, "  (fork kind %s)\n", kinds[i]);
        /* one AB/BA per child, each in the child's own file */
        CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), child_runs_code ? 20 : 0);
        CU_ASSERT_EQUAL(r->nfindings, child_runs_code ? 20 : 0);
        run_free(r);
    }
}

/* ---------------------------------------------------------------------- */
/* Lock classes.                                                           */

static struct run *classes(const char *mode, const char *options)
{
    const char *args[] = {mode, NULL};
    return run_prog("sc_classes", args, options, NULL, 60, true);
}

/* A lock-order cycle between classes: two locks, scope as said, each lock
 * naming its class, each edge the instances behind it. */
static void check_class_cycle(json_object *f, const char *scope, const char *kind)
{
    check_cycle(f, 2);
    if (!f)
        return;
    CU_ASSERT_STRING_EQUAL(str(f, "scope"), scope);
    json_object *locks = get(f, "locks");
    for (size_t i = 0; i < 2; i++) {
        json_object *lc = get(json_object_array_get_idx(locks, i), "lock_class");
        CU_ASSERT_PTR_NOT_NULL_FATAL(lc);
        CU_ASSERT_STRING_EQUAL(str(lc, "kind"), kind);
        CU_ASSERT(str(lc, "key") && strncmp(str(lc, "key"), "site:sc_classes+0x", 18) == 0);
        CU_ASSERT(json_object_array_length(get(lc, "site")) >= 1);
    }
    json_object *edges = get(f, "edges");
    json_object *e0 = json_object_array_get_idx(edges, 0), *e1 = json_object_array_get_idx(edges, 1);
    CU_ASSERT_PTR_NOT_NULL(get(e0, "from_lock"));
    CU_ASSERT_PTR_NOT_NULL(get(e0, "to_lock"));
    /* instance scope: each edge starts where the other ended */
    bool chained = json_object_get_int64(get(get(e0, "to_lock"), "id")) ==
                   json_object_get_int64(get(get(e1, "from_lock"), "id"));
    CU_ASSERT_EQUAL(chained, strcmp(scope, "instance") == 0);
}

static void test_classes_conn(void)
{
    struct run *r = classes("conn", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_class_cycle(first_kind(r, "lock-order-cycle"), "class", "site");
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "lock classes"));
    run_free(r);
    /* classes=0: every lock its own class; conn1 and conn2 never close it */
    r = classes("conn", "classes=0");
    expect_nothing(r);
    run_free(r);
    /* on one connection the locks close it themselves */
    r = classes("conn-same", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    check_class_cycle(first_kind(r, "lock-order-cycle"), "instance", "site");
    run_free(r);
    r = classes("conn-same", "classes=0");
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 1);
    run_free(r);
}

/* sc_classes helper (or forked-helper): the conn/table inversion, every
 * lock made by mutex_create(): one cycle between two chain classes. */
static void expect_helper_cycle(const char *mode)
{
    struct run *r = classes(mode, NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_class_cycle(f, "class", "chain");
    if (f) { /* the chain names the wrapper's caller: two different classes */
        json_object *l = get(f, "locks");
        const char *k0 = str(get(json_object_array_get_idx(l, 0), "lock_class"), "key");
        const char *k1 = str(get(json_object_array_get_idx(l, 1), "lock_class"), "key");
        CU_ASSERT(k0 && k1 && strcmp(k0, k1) != 0 && strchr(k0, '<') && strchr(k1, '<'));
    }
    run_free(r);
}

static void test_classes_wrappers(void)
{
    expect_helper_cycle("helper");
    /* db -> stats -> shard, all through Mutex_init: quiet */
    struct run *r = classes("wrapper-quiet", NULL);
    expect_nothing(r);
    run_free(r);
    /* the same with the wrapper rule off: the false cycle by init site that
     * the rule is there to remove */
    r = classes("wrapper-quiet", "lock_wrappers=-");
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 1);
    run_free(r);
    /* the same two in a fork child: the wrapper is found there too, with the
     * module table lockgraph made in the parent before the fork */
    r = classes("forked-wrapper-quiet", NULL);
    expect_nothing(r);
    run_free(r);
    expect_helper_cycle("forked-helper");
}

static void test_classes_nesting(void)
{
    struct run *r = classes("nest-address", NULL);
    expect_nothing(r);
    run_free(r);
    r = classes("nest-stable", NULL);
    expect_nothing(r);
    run_free(r);
    r = classes("nest-any", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    if (f)
        CU_ASSERT_STRING_EQUAL(str(f, "scope"), "instance");
    run_free(r);
}

static void test_classes_identity(void)
{
    struct run *r = classes("reuse-class", NULL);
    expect_nothing(r);
    run_free(r);
    r = classes("dead-inverse", NULL);
    expect_nothing(r);
    run_free(r);
}

static void test_ownership(void)
{
    /* another thread's unlock ends the hold: no false cycle, no held-at-exit */
    struct run *r = classes("unlock-other", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "unlock-not-held"), 1);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 0);
    CU_ASSERT_EQUAL(count_kind(r, "held-at-exit"), 0);
    run_free(r);
    r = classes("freed-held", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "held-lock-freed"), 1);
    json_object *f = first_kind(r, "held-lock-freed");
    if (f) {
        CU_ASSERT_STRING_EQUAL(str(f, "call"), "free");
        CU_ASSERT(json_object_array_length(get(f, "stack")) >= 1);
        CU_ASSERT(json_object_array_length(get(f, "holder_stack")) >= 1);
        CU_ASSERT_PTR_NOT_NULL(get(get(f, "holder"), "tid"));
    }
    run_free(r);
    r = classes("destroy-held", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "held-lock-freed"), 1);
    CU_ASSERT_EQUAL(count_kind(r, "held-at-exit"), 0);
    f = first_kind(r, "held-lock-freed");
    if (f) {
        CU_ASSERT_STRING_EQUAL(str(f, "call"), "pthread_rwlock_destroy");
        CU_ASSERT_STRING_EQUAL(str(f, "held"), "read");
        CU_ASSERT_NOT_EQUAL(json_object_get_int(get(get(f, "holder"), "tid")),
                            json_object_get_int(get(get(f, "thread"), "tid")));
    }
    run_free(r);
}

static void test_churn_rss(void)
{
    struct run *r = classes("churn-rss", NULL);
    expect_nothing(r); /* exit 5: memory grew with every lock ever made */
    run_free(r);
}

/* ---------------------------------------------------------------------- */
/* Ranks.                                                                  */

static json_object *held0(json_object *f)
{
    return json_object_array_get_idx(get(f, "held"), 0);
}

/* One rank-violation: taking `taking` while holding `holding`, for `why`. */
static void expect_violation(const struct run *r, const char *taking, const char *holding,
                             const char *why)
{
    json_object *f = first_kind(r, "rank-violation");
    CU_ASSERT_EQUAL(count_kind(r, "rank-violation"), 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(str(get(f, "lock"), "name"), taking);
    CU_ASSERT_EQUAL((int)json_object_array_length(get(f, "held")), 1);
    CU_ASSERT_STRING_EQUAL(str(get(held0(f), "lock"), "name"), holding);
    CU_ASSERT_STRING_EQUAL(str(held0(f), "why"), why);
    CU_ASSERT(json_object_array_length(get(f, "stack")) >= 1);
    CU_ASSERT(json_object_array_length(get(held0(f), "stack")) >= 1);
    CU_ASSERT_PTR_NOT_NULL(get(get(f, "thread"), "tid"));
}

static void ranks_api(bool preload)
{
    const char *prog = preload ? "sc_ranks" : "sc_ranks_linked";
    const char *args[2] = {NULL, NULL};
    struct run *r;
#define RUN_MODE(m) (args[0] = (m), run_prog(prog, args, NULL, NULL, 30, preload))

    r = RUN_MODE("first"); /* the very first wrong acquisition; no cycle yet */
    expect_clean_exit(r);
    expect_violation(r, "a", "b", "rank");
    CU_ASSERT_EQUAL(r->nfindings, 1); /* 100 repeats, one finding */
    json_object *f = first_kind(r, "rank-violation");
    CU_ASSERT_EQUAL(json_object_get_int(get(get(f, "lock"), "rank")), 10);
    CU_ASSERT_EQUAL(json_object_get_int(get(get(held0(f), "lock"), "rank")), 20);
    CU_ASSERT_STRING_EQUAL(str(get(f, "lock"), "class"), "a");
    CU_ASSERT_STRING_EQUAL(str(get(f, "lock"), "key"), "name:a");
    run_free(r);

    r = RUN_MODE("address"); /* same class, address order */
    expect_nothing(r);
    run_free(r);

    r = RUN_MODE("address_bad");
    expect_clean_exit(r);
    expect_violation(r, "account", "account", "same-class");
    run_free(r);

    r = RUN_MODE("strict");
    expect_clean_exit(r);
    expect_violation(r, "session", "session", "same-class");
    CU_ASSERT_EQUAL(r->nfindings, 1);
    run_free(r);

    r = RUN_MODE("order"); /* a cyclic declaration is refused and reported */
    expect_clean_exit(r);
    expect_violation(r, "cfg", "table", "order");
    f = first_kind(r, "rank-order-cycle");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL((int)json_object_array_length(get(f, "classes")), 3);
    const char *cls = json_object_to_json_string(get(f, "classes"));
    CU_ASSERT(strstr(cls, "\"cfg\"") && strstr(cls, "\"table\"") && strstr(cls, "\"stats\""));
    CU_ASSERT_EQUAL(r->nfindings, 2);
    run_free(r);

    r = RUN_MODE("mixed"); /* x 10 < y 20 < z by an order line */
    expect_clean_exit(r);
    expect_violation(r, "x", "z", "order");
    run_free(r);

    r = RUN_MODE("trylock");
    expect_nothing(r);
    run_free(r);

    r = RUN_MODE("late"); /* named first, ranked afterwards */
    expect_clean_exit(r);
    expect_violation(r, "early-a", "early-b", "rank");
    run_free(r);

    r = RUN_MODE("kinds"); /* rwlock, spinlock, mutex ranked alike */
    expect_clean_exit(r);
    expect_violation(r, "table-rw", "stats-spin", "rank");
    CU_ASSERT_STRING_EQUAL(str(get(first_kind(r, "rank-violation"), "lock"), "type"), "rwlock");
    CU_ASSERT_STRING_EQUAL(str(get(held0(first_kind(r, "rank-violation")), "lock"), "type"),
                           "spin");
    run_free(r);
#undef RUN_MODE
}

static void test_ranks_preload(void)
{
    ranks_api(true);
}

static void test_ranks_linked(void)
{
    ranks_api(false);
}

/* Read the lines of the one file in dir whose name starts with prefix. */
static int read_json_lines(const char *dir, const char *prefix, json_object **out, int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0;
        while (fp && getline(&line, &cap, fp) > 0 && n < max) {
            out[n] = json_tokener_parse(line);
            CU_ASSERT_PTR_NOT_NULL(out[n]);
            if (out[n])
                n++;
        }
        free(line);
        if (fp)
            fclose(fp);
    }
    if (d)
        closedir(d);
    return n;
}

static json_object *find_line(json_object **lines, int n, const char *kind, const char *k1,
                              const char *v1, const char *k2, const char *v2)
{
    for (int i = 0; i < n; i++)
        if (str(lines[i], "kind") && strcmp(str(lines[i], "kind"), kind) == 0 &&
            (!k1 || (str(lines[i], k1) && strcmp(str(lines[i], k1), v1) == 0)) &&
            (!k2 || (str(lines[i], k2) && strcmp(str(lines[i], k2), v2) == 0)))
            return lines[i];
    return NULL;
}

/* Preload, no source change: the graph file gives stable keys; a rank file
 * written with them is enforced on the next run. */
static void test_rank_file(void)
{
    char dir[] = "/tmp/lg-ranks.XXXXXX", opts[1024], ranks[600];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    const char *good[] = {"good", NULL}, *bad[] = {"bad", NULL};
    snprintf(opts, sizeof(opts), "graph=%s/graph.%%p.jsonl", dir);
    struct run *r = run_prog("sc_rank_file", good, opts, NULL, 30, true);
    expect_nothing(r);
    run_free(r);

    /* header, 3 keys, 3 edges, end; a preloaded allocator adds its own */
    json_object *g[256];
    int n = read_json_lines(dir, "graph.", g, 256);
    CU_ASSERT_FATAL(n >= 8);
    CU_ASSERT_STRING_EQUAL(str(g[0], "kind"), "graph");
    CU_ASSERT(json_object_array_length(get(g[0], "modules")) >= 2);
    CU_ASSERT_STRING_EQUAL(str(g[n - 1], "kind"), "graph-end");
    CU_ASSERT_EQUAL(json_object_get_int(get(g[n - 1], "locks")) +
                        json_object_get_int(get(g[n - 1], "edges")) + 2,
                    n);
    if (!jemalloc_path) {
        CU_ASSERT_EQUAL(json_object_get_int(get(g[n - 1], "locks")), 3);
        CU_ASSERT_EQUAL(json_object_get_int(get(g[n - 1], "edges")), 3);
    }
    const char *table = "sym:sc_rank_file:table_lock", *log = "sym:sc_rank_file:log_lock";
    CU_ASSERT_PTR_NOT_NULL(find_line(g, n, "graph-lock", "key", table, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(find_line(g, n, "graph-lock", "key", log, NULL, NULL));
    const char *site = NULL;
    for (int i = 0; i < n; i++)
        if (str(g[i], "key") && strncmp(str(g[i], "key"), "site:sc_rank_file+0x", 20) == 0) {
            site = str(g[i], "key");
            CU_ASSERT_EQUAL(json_object_get_int(get(g[i], "instances")), 8);
            CU_ASSERT_TRUE(json_true(g[i], "created"));
        }
    CU_ASSERT_PTR_NOT_NULL_FATAL(site);
    CU_ASSERT_PTR_NOT_NULL(find_line(g, n, "graph-edge", "from", table, "to", site));
    CU_ASSERT_PTR_NOT_NULL(find_line(g, n, "graph-edge", "from", site, "to", log));
    json_object *self = find_line(g, n, "graph-edge", "from", site, "to", site);
    CU_ASSERT_PTR_NOT_NULL_FATAL(self);
    CU_ASSERT_STRING_EQUAL(str(self, "address_order"), "ascending");
    CU_ASSERT(json_object_array_length(get(self, "second_stack")) >= 1);

    snprintf(ranks, sizeof(ranks), "%s/ranks.txt", dir);
    FILE *fp = fopen(ranks, "w");
    fprintf(fp, "# written by the test from the graph file\nrank 10 %s\nrank 20 %s same=address\n"
                "rank 30 %s\n", table, site, log);
    fclose(fp);
    for (int i = 0; i < n; i++)
        json_object_put(g[i]);

    snprintf(opts, sizeof(opts), "ranks=%s", ranks);
    r = run_prog("sc_rank_file", good, opts, NULL, 30, true);
    expect_nothing(r); /* the order it was learned from holds */
    run_free(r);
    r = run_prog("sc_rank_file", bad, opts, NULL, 30, true);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1); /* no cycle: the other order never ran */
    json_object *f = first_kind(r, "rank-violation");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(str(get(f, "lock"), "key"), table);
    CU_ASSERT_EQUAL(json_object_get_int(get(get(f, "lock"), "rank")), 10);
    CU_ASSERT_STRING_EQUAL(str(get(held0(f), "lock"), "key"), log);
    CU_ASSERT_EQUAL(json_object_get_int(get(get(held0(f), "lock"), "rank")), 30);
    CU_ASSERT_STRING_EQUAL(str(held0(f), "why"), "rank");
    run_free(r);

    snprintf(opts, sizeof(opts), "ranks=%s:on_rank=abort", ranks);
    r = run_prog("sc_rank_file", bad, opts, NULL, 30, true);
    CU_ASSERT_TRUE(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT);
    CU_ASSERT_EQUAL(count_kind(r, "rank-violation"), 1); /* written before the abort */
    run_free(r);

    /* A malformed file, and one whose order has a cycle: stop before main. */
    fp = fopen(ranks, "w");
    fprintf(fp, "rank 10 %s\nrank ten %s\n", table, log);
    fclose(fp);
    snprintf(opts, sizeof(opts), "ranks=%s", ranks);
    r = run_prog("sc_rank_file", good, opts, NULL, 30, true);
    CU_ASSERT_TRUE(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
    char want[700];
    snprintf(want, sizeof(want), "%s:2: rank 'ten' is not a whole number", ranks);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, want));
    CU_ASSERT_EQUAL(r->nfindings, 0);
    run_free(r);
    fp = fopen(ranks, "w");
    fprintf(fp, "rank 10 %s\nrank 30 %s\norder %s < %s\n", table, log, log, table);
    fclose(fp);
    r = run_prog("sc_rank_file", good, opts, NULL, 30, true);
    CU_ASSERT_TRUE(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
    snprintf(want, sizeof(want), "%s:3: the declared order has a cycle", ranks);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, want));
    run_free(r);
    r = run_prog("sc_rank_file", good, "ranks=/nonexistent/ranks.txt", NULL, 30, true);
    CU_ASSERT_TRUE(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "/nonexistent/ranks.txt: cannot open the rank file"));
    run_free(r);

    /* On demand through the API; an unwritable graph path is said, not fatal. */
    char gpath[600];
    snprintf(gpath, sizeof(gpath), "%s/api.%%p.graph", dir);
    const char *dump[] = {"dump", gpath, NULL};
    r = run_prog("sc_rank_file", dump, "graph=/nonexistent/g.jsonl", NULL, 30, true);
    expect_nothing(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "graph file '/nonexistent/g.jsonl': cannot write it"));
    run_free(r);
    n = read_json_lines(dir, "api.", g, 256);
    CU_ASSERT(n >= 8);
    CU_ASSERT_STRING_EQUAL(str(g[n - 1], "kind"), "graph-end");
    for (int i = 0; i < n; i++)
        json_object_put(g[i]);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* ---------------------------------------------------------------------- */
/* Actual deadlocks and stalls.                                            */

/* sc_deadlock sleeps, and waits on barriers, holding locks on purpose:
 * on_io=off, on_wait=off. */
static struct run *run_deadlock(const char *mode, const char *options, const char *wait_kind)
{
    const char *args[] = {mode, NULL};
    char opts[256];
    snprintf(opts, sizeof(opts), "on_io=off:on_wait=off%s%s", options ? ":" : "",
             options ? options : "");
    return run_prog("sc_deadlock", args, opts, wait_kind, 60, true);
}

/* A deadlock finding of n threads, each waiting for a lock the next one
 * holds, with stacks; returns it. */
static json_object *check_deadlock(const struct run *r, int n, const char *type)
{
    json_object *f = first_kind(r, "deadlock");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(count_kind(r, "deadlock"), 1);
    json_object *th = get(f, "threads");
    CU_ASSERT_EQUAL_FATAL((int)json_object_array_length(th), n);
    for (int i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(th, (size_t)i);
        json_object *next = json_object_array_get_idx(th, (size_t)((i + 1) % n));
        const char *want = str(get(t, "waits_for"), "addr");
        CU_ASSERT_PTR_NOT_NULL_FATAL(want);
        if (type && i == 0)
            CU_ASSERT_STRING_EQUAL(str(get(t, "waits_for"), "type"), type);
        bool held_by_next = false;
        json_object *held = get(next, "held");
        for (size_t k = 0; held && k < json_object_array_length(held); k++) {
            json_object *h = json_object_array_get_idx(held, k);
            held_by_next |= strcmp(str(get(h, "lock"), "addr"), want) == 0;
            CU_ASSERT(json_object_array_length(get(h, "stack")) >= 1);
        }
        CU_ASSERT_TRUE(held_by_next);
        CU_ASSERT(json_object_array_length(get(t, "stack")) >= 2);
        CU_ASSERT_TRUE(json_true(t, "stack_full"));
        CU_ASSERT_PTR_NOT_NULL(get(get(t, "thread"), "tid"));
        CU_ASSERT_NOT_EQUAL(json_object_get_int(get(get(t, "thread"), "tid")),
                            json_object_get_int(get(get(next, "thread"), "tid")));
    }
    return f;
}

static void test_deadlock_real(void)
{
    /* The finding is on disk while the program hangs; the test kills it. */
    struct run *r = run_deadlock("two", NULL, "deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    json_object *f = check_deadlock(r, 2, "mutex");
    CU_ASSERT_FALSE(json_true(f, "timed"));
    run_free(r);
    r = run_deadlock("three", NULL, "deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    check_deadlock(r, 3, "mutex");
    run_free(r);
    /* both orders known (cached) before the threads meet */
    r = run_deadlock("known", NULL, "deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    check_deadlock(r, 2, "mutex");
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 1);
    run_free(r);
}

static void test_deadlock_kinds(void)
{
    struct run *r = run_deadlock("rwlock", NULL, "deadlock"); /* owner: the writer */
    CU_ASSERT_TRUE(r->killed_by_us);
    check_deadlock(r, 2, NULL);
    run_free(r);
    r = run_deadlock("readers", NULL, "deadlock"); /* owner: a waiting reader */
    CU_ASSERT_TRUE(r->killed_by_us);
    check_deadlock(r, 2, NULL);
    run_free(r);
    r = run_deadlock("spin", NULL, "deadlock"); /* a spinning waiter */
    CU_ASSERT_TRUE(r->killed_by_us);
    check_deadlock(r, 2, NULL);
    run_free(r);
}

static void test_deadlock_abort(void)
{
    struct run *r = run_deadlock("two", "on_deadlock=abort", NULL);
    CU_ASSERT_TRUE(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT);
    check_deadlock(r, 2, "mutex");
    run_free(r);
}

static void test_long_wait(void)
{
    struct run *r = run_deadlock("long_wait", "watchdog=1", NULL);
    expect_clean_exit(r); /* the wait resolves; the program finishes */
    CU_ASSERT_EQUAL(count_kind(r, "long-wait"), 1);
    CU_ASSERT_EQUAL(count_kind(r, "deadlock"), 0);
    json_object *f = first_kind(r, "long-wait");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(json_object_get_int(get(get(f, "waiter"), "waiting_ms")) >= 1000);
    CU_ASSERT(json_object_array_length(get(get(f, "waiter"), "stack")) >= 1);
    json_object *owner = get(f, "owner");
    CU_ASSERT_PTR_NOT_NULL_FATAL(owner);
    CU_ASSERT_NOT_EQUAL(json_object_get_int(get(get(owner, "thread"), "tid")),
                        json_object_get_int(get(get(get(f, "waiter"), "thread"), "tid")));
    CU_ASSERT(json_object_array_length(get(owner, "stack")) >= 1); /* where it took the lock */
    run_free(r);
}

static void test_long_hold(void)
{
    struct run *r = run_deadlock("long_hold", "hold_warn_ms=40", NULL);
    expect_clean_exit(r);
    /* One site held three times past the threshold: one finding when it
     * happened, and its closing count at exit. */
    int first = 0, final = 0;
    for (int i = 0; i < r->nfindings; i++) {
        json_object *f = r->findings[i];
        if (strcmp(str(f, "kind"), "long-hold") != 0 ||
            json_object_array_length(get(f, "stack")) < 2)
            continue;
        if (json_true(f, "final")) {
            final++;
            CU_ASSERT(json_object_get_int(get(f, "count")) >= 3);
            CU_ASSERT(json_object_get_int(get(f, "worst_ms")) >= 60);
        } else if (json_object_get_int(get(f, "held_ms")) >= 60) {
            first++;
            CU_ASSERT_EQUAL(json_object_get_int(get(f, "count")), 1);
        }
    }
    CU_ASSERT_EQUAL(first, 1);
    CU_ASSERT_EQUAL(final, 1);
    run_free(r);
}

static void test_timed_stall(void)
{
    /* Both sides retry a timed lock: each try is short, the stall is not. */
    struct run *r = run_deadlock("timed", "watchdog=1", NULL);
    expect_clean_exit(r);
    json_object *f = check_deadlock(r, 2, "mutex");
    CU_ASSERT_TRUE(json_true(f, "timed"));
    run_free(r);
}

static void test_watchdog_fork(void)
{
    struct run *r = run_deadlock("fork", "watchdog=1", NULL);
    expect_nothing(r); /* parent and child exit at once: nothing kept alive */
    CU_ASSERT_FALSE(r->timed_out);
    run_free(r);
}

static void test_on_cycle_abort(void)
{
    struct run *r = run("sc_ab_ba_one_thread", "on_cycle=abort");
    CU_ASSERT_TRUE(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 1); /* written before abort */
    run_free(r);
}

static void test_quiet(void)
{
    struct run *r = run("sc_ab_ba_one_thread", "quiet=1");
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    CU_ASSERT_PTR_NULL(strstr(r->err, "lockgraph"));
    run_free(r);
}

static void test_bad_option(void)
{
    struct run *r = run("sc_ab_ba_one_thread", "quiet=1:frobnicate=2");
    CU_ASSERT_TRUE(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "unknown option 'frobnicate'"));
    CU_ASSERT_EQUAL(r->nfindings, 0);
    run_free(r);
    r = run("sc_ab_ba_one_thread", "stack_depth=lots");
    CU_ASSERT_TRUE(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "stack_depth"));
    run_free(r);
}

static void test_unwritable_report(void)
{
    struct run *r = run("sc_ab_ba_one_thread", "report=/nonexistent-dir/x.jsonl");
    expect_clean_exit(r);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "cannot open report file '/nonexistent-dir/x.jsonl'"));
    /* nothing lost: the finding itself went to stderr */
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "\"kind\":\"lock-order-cycle\""));
    run_free(r);
}

static void test_out_of_memory(void)
{
    /* 8 MiB cannot hold 200,000 locks: lockgraph says so once, keeps the
     * program running, and reports nothing false. */
    static const char *const n[] = {"200000", NULL};
    struct run *r = run_prog("sc_many_locks", n, "max_memory=8", NULL, 60, true);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "detector-error"), 1);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "detector-error");
    if (f)
        CU_ASSERT_STRING_EQUAL(str(f, "error"), "out-of-memory");
    run_free(r);
}

static void test_linked(void)
{
    /* sc_linked is linked with -llockgraph; no preload here. */
    struct run *r = run_prog("sc_linked", NULL, "on_assert=report", NULL, 30, false);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 1);
    CU_ASSERT_EQUAL(count_kind(r, "held-across-io"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "assertion failed: no locks held"));
    run_free(r);
}

/* ---------------------------------------------------------------------- */
/* Waits that are not locks, and owners that are gone (sc_waits).          */

static struct run *run_waits(const char *mode, const char *options, const char *wait_kind)
{
    const char *args[] = {mode, NULL};
    return run_prog("sc_waits", args, options, wait_kind, 60, true);
}

/* The held-across-wait finding for call, holding n locks, with stacks and
 * keys; returns it. */
static json_object *check_wait(const struct run *r, const char *call, const char *family, int n)
{
    json_object *f = NULL;
    for (int i = 0; i < r->nfindings && !f; i++)
        if (strcmp(str(r->findings[i], "kind"), "held-across-wait") == 0 &&
            strcmp(str(r->findings[i], "call"), call) == 0)
            f = r->findings[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(str(f, "family"), family);
    CU_ASSERT_EQUAL(json_object_get_int(get(f, "count")), 1);
    CU_ASSERT_FALSE(json_true(f, "final"));
    CU_ASSERT_PTR_NOT_NULL(get(f, "waits_on"));
    CU_ASSERT(json_object_array_length(get(f, "stack")) >= 2);
    json_object *held = get(f, "held");
    CU_ASSERT_EQUAL_FATAL((int)json_object_array_length(held), n);
    for (int i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(held, (size_t)i);
        CU_ASSERT_PTR_NOT_NULL(str(h, "key"));
        CU_ASSERT(json_object_array_length(get(h, "stack")) >= 1);
    }
    return f;
}

static void test_join_held(void)
{
    /* main holds L and joins a worker that wants L: a deadlock of a lock
     * and a join, on disk while it hangs */
    struct run *r = run_waits("join_held", NULL, "deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    json_object *w = check_wait(r, "pthread_join", "join", 1);
    CU_ASSERT_STRING_EQUAL(str(get(w, "waits_on"), "what"), "join");
    json_object *f = first_kind(r, "deadlock");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(count_kind(r, "deadlock"), 1);
    json_object *th = get(f, "threads");
    CU_ASSERT_EQUAL_FATAL((int)json_object_array_length(th), 2);
    int joins = -1;
    for (int i = 0; i < 2; i++)
        if (get(json_object_array_get_idx(th, (size_t)i), "joins"))
            joins = i;
    CU_ASSERT_FATAL(joins >= 0);
    json_object *joiner = json_object_array_get_idx(th, (size_t)joins);
    json_object *worker = json_object_array_get_idx(th, (size_t)(1 - joins));
    /* the joiner joins the worker, which waits for the lock the joiner holds */
    CU_ASSERT_EQUAL(json_object_get_int(get(get(joiner, "joins"), "tid")),
                    json_object_get_int(get(get(worker, "thread"), "tid")));
    CU_ASSERT_STRING_EQUAL(str(get(joiner, "waits_for"), "type"), "thread");
    CU_ASSERT_STRING_EQUAL(str(get(joiner, "waits_on"), "what"), "join");
    CU_ASSERT_STRING_EQUAL(str(get(worker, "waits_for"), "type"), "mutex");
    json_object *held = get(joiner, "held");
    CU_ASSERT_EQUAL_FATAL((int)json_object_array_length(held), 1);
    CU_ASSERT_STRING_EQUAL(str(get(json_object_array_get_idx(held, 0), "lock"), "addr"),
                           str(get(worker, "waits_for"), "addr"));
    run_free(r);
}

static void test_cond_held(void)
{
    /* written when the wait starts, before the program hangs */
    struct run *r = run_waits("cond_held", NULL, "held-across-wait");
    CU_ASSERT_TRUE(r->killed_by_us);
    json_object *f = check_wait(r, "pthread_cond_wait", "cond", 1);
    json_object *on = get(f, "waits_on");
    CU_ASSERT_STRING_EQUAL(str(on, "what"), "cond");
    CU_ASSERT_PTR_NOT_NULL(str(on, "cond"));
    /* the cache lock is named, not the cond's own mutex */
    CU_ASSERT_STRING_NOT_EQUAL(
        str(get(on, "mutex"), "addr"),
        str(get(json_object_array_get_idx(get(f, "held"), 0), "lock"), "addr"));
    CU_ASSERT_STRING_EQUAL(str(json_object_array_get_idx(get(f, "held"), 0), "key"),
                           "sym:sc_waits:cache");
    CU_ASSERT_EQUAL(count_kind(r, "deadlock"), 0); /* a cond var has no owner */
    run_free(r);
}

/* A deadlock on a lock whose owner is gone: one waiter, the gone owner
 * named with where it took the lock. Returns the gone_owner object. */
static json_object *check_gone(json_object *f, const char *gone)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    json_object *th = get(f, "threads");
    CU_ASSERT_EQUAL_FATAL((int)json_object_array_length(th), 1);
    json_object *w = json_object_array_get_idx(th, 0);
    CU_ASSERT_STRING_EQUAL(str(get(w, "waits_for"), "type"), "mutex");
    CU_ASSERT(json_object_array_length(get(w, "stack")) >= 2);
    json_object *g = get(f, "gone_owner");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_STRING_EQUAL(str(g, "gone"), gone);
    CU_ASSERT(json_object_get_int(get(get(g, "thread"), "tid")) > 0);
    CU_ASSERT_NOT_EQUAL(json_object_get_int(get(get(g, "thread"), "tid")),
                        json_object_get_int(get(get(w, "thread"), "tid")));
    CU_ASSERT(json_object_array_length(get(g, "stack")) >= 1);
    return g;
}

static void test_exit_held(void)
{
    struct run *r = run_waits("exit_held", NULL, "deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    json_object *e = first_kind(r, "held-at-exit");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    json_object *g = check_gone(first_kind(r, "deadlock"), "ended");
    CU_ASSERT_EQUAL(json_object_get_int(get(get(g, "thread"), "tid")),
                    json_object_get_int(get(get(e, "thread"), "tid")));
    CU_ASSERT(json_object_array_length(get(g, "end_stack")) >= 1);
    run_free(r);
}

static void test_fork_held(void)
{
    struct run *r = run_waits("fork_held", "on_fork=report", "deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    CU_ASSERT_EQUAL(r->files, 2);
    json_object *f = first_kind(r, "deadlock"), *fk = first_kind(r, "fork-with-locks-held");
    json_object *g = check_gone(f, "not-in-process");
    CU_ASSERT(json_object_array_length(get(g, "fork_stack")) >= 2);
    /* in the child: the parent's thread holding M at the fork, where */
    CU_ASSERT_PTR_NOT_NULL_FATAL(fk);
    CU_ASSERT_EQUAL(json_object_get_int(get(fk, "pid")), json_object_get_int(get(f, "pid")));
    json_object *t0 = json_object_array_get_idx(get(fk, "threads"), 0);
    CU_ASSERT_EQUAL(json_object_get_int(get(get(t0, "thread"), "tid")),
                    json_object_get_int(get(get(g, "thread"), "tid")));
    CU_ASSERT_STRING_EQUAL(
        str(get(json_object_array_get_idx(get(t0, "held"), 0), "lock"), "addr"),
        str(get(json_object_array_get_idx(get(f, "threads"), 0), "waits_for"), "addr"));
    CU_ASSERT(json_object_array_length(get(fk, "fork_stack")) >= 2);
    run_free(r);
    /* on_fork is off by default */
    r = run_waits("fork_held", NULL, "deadlock");
    CU_ASSERT_EQUAL(count_kind(r, "fork-with-locks-held"), 0);
    CU_ASSERT_EQUAL(count_kind(r, "deadlock"), 1);
    run_free(r);
}

static void test_sem_lock(void)
{
    struct run *r = run_waits("sem_lock", NULL, NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    check_cycle(f, 2);
    json_object *locks = get(f, "locks");
    int sems = 0;
    for (int i = 0; i < 2; i++)
        sems += strcmp(str(json_object_array_get_idx(locks, (size_t)i), "type"), "semaphore") == 0;
    CU_ASSERT_EQUAL(sems, 1);
    run_free(r);
}

static void test_sem_named_and_deadlock(void)
{
    /* a named semaphore is named after itself */
    struct run *r = run_waits("sem_named", NULL, NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *f = first_kind(r, "lock-order-cycle");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    bool named = false;
    for (int i = 0; i < 2; i++) {
        json_object *l = json_object_array_get_idx(get(f, "locks"), (size_t)i);
        named |= strcmp(str(l, "type"), "semaphore") == 0 && str(l, "name") &&
                 strncmp(str(l, "name"), "/lockgraph-sc.", 14) == 0;
    }
    CU_ASSERT_TRUE(named);
    run_free(r);
    /* made with 1, posted by another thread: a counter after all */
    r = run_waits("sem_signal", NULL, NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    json_object *w = check_wait(r, "sem_wait", "semaphore", 1);
    CU_ASSERT_STRING_EQUAL(str(get(json_object_array_get_idx(get(w, "held"), 0), "lock"), "type"),
                           "mutex");
    run_free(r);
    /* the owner of a semaphore lock is the thread that took it: a real
     * deadlock through one */
    r = run_waits("sem_deadlock", "on_wait=off", "deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    json_object *d = first_kind(r, "deadlock");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    json_object *th = get(d, "threads");
    CU_ASSERT_EQUAL_FATAL((int)json_object_array_length(th), 2);
    int sems = 0;
    for (int i = 0; i < 2; i++)
        sems += strcmp(str(get(json_object_array_get_idx(th, (size_t)i), "waits_for"), "type"),
                       "semaphore") == 0;
    CU_ASSERT_EQUAL(sems, 1);
    run_free(r);
}

static void test_wait_calls(void)
{
    struct run *r = run_waits("calls", NULL, NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "held-across-wait"), 6);
    CU_ASSERT_EQUAL(r->nfindings, 6);
    check_wait(r, "pthread_join", "join", 1);
    check_wait(r, "pthread_barrier_wait", "barrier", 1);
    json_object *s = check_wait(r, "sem_wait", "semaphore", 1);
    CU_ASSERT_STRING_EQUAL(str(get(s, "waits_on"), "what"), "semaphore");
    json_object *w = check_wait(r, "waitpid", "process", 1);
    CU_ASSERT(json_object_get_int(get(get(w, "waits_on"), "pid")) > 0);
    check_wait(r, "system", "process", 1);
    run_free(r);
    /* wait_allow by call and by lock, and on_wait=off */
    r = run_waits("calls", "wait_allow=pthread_join,system,sem_wait", NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "held-across-wait"), 2);
    run_free(r);
    r = run_waits("calls", "wait_allow=sym:sc_waits:L", NULL);
    expect_nothing(r);
    run_free(r);
    r = run_waits("calls", "on_wait=off", NULL);
    expect_nothing(r);
    run_free(r);
    r = run_waits("calls", "on_wait=abort", NULL);
    CU_ASSERT_TRUE(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT);
    CU_ASSERT_EQUAL(count_kind(r, "held-across-wait"), 1);
    run_free(r);
}

static void test_atexit_relock(void)
{
    struct run *r = run_waits("atexit", NULL, "self-deadlock");
    CU_ASSERT_TRUE(r->killed_by_us);
    CU_ASSERT_EQUAL(count_kind(r, "self-deadlock"), 1);
    run_free(r);
}

static void test_waits_quiet(void)
{
    static const char *const quiet[] = {"cond_own", "join_free", "sem_counter", "fork_exec"};
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
        struct run *r = run_waits(quiet[i], NULL, NULL);
        expect_nothing(r);
        if (r->nfindings)
            fprintf(stderr, "  (mode %s)\n", quiet[i]);
        run_free(r);
    }
    /* the child holds it while it talks and sleeps: that is I/O */
    struct run *r = run_waits("pshared", "on_io=off", NULL);
    expect_nothing(r);
    run_free(r);
    /* a robust mutex whose owner died is handed over: its owner ended
     * holding it (held-at-exit), and that is all */
    r = run_waits("robust", NULL, NULL);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "deadlock"), 0);
    CU_ASSERT_EQUAL(count_kind(r, "held-at-exit"), 1);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    run_free(r);
}

static void test_no_library(void)
{
    struct run *r = run_prog("sc_no_library", NULL, NULL, NULL, 30, false);
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(r->files, 0);
    run_free(r);
}

/* ---------------------------------------------------------------------- */
/* The findings file: where it is made, when, and where it never is.      */

static bool is_root(void)
{
    if (geteuid() == 0)
        return true;
    fprintf(stderr, "\n  (needs root: skipped)\n");
    return false;
}

/* The whole of a small file, or "" when it cannot be read. */
static const char *slurp(const char *dir, const char *name)
{
    static char buf[4096];
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

static bool exists(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

/* MODE of sc_report_file, then one AB/BA cycle: it must be in one findings
 * file, whatever the program did to its process first. */
static struct run *report_mode(const char *mode, const char *options)
{
    const char *const args[] = {mode, "@DIR", NULL};
    return run_prog("sc_report_file", args, options, NULL, 30, true);
}

static void expect_one_cycle_in_file(struct run *r)
{
    expect_clean_exit(r);
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 1);
    CU_ASSERT_EQUAL(r->nfindings, 1);
    CU_ASSERT_EQUAL(r->files, 1);
    if (r->nfindings != 1 || r->files != 1)
        fprintf(stderr, "\n  %d findings in %d files; stderr:\n%s\n", r->nfindings, r->files,
                r->err);
}

/* Every process under the preload used to leave an empty file: sh, env,
 * timeout, cat, each command of a script. */
static void test_report_none_when_clean(void)
{
    static const char *const script[] = {
        "-c", "env true; timeout 20 true; echo x | cat >/dev/null; sh -c 'exec true'", NULL};
    struct run *r = run_prog("/bin/sh", script, NULL, NULL, 30, true);
    expect_nothing(r);
    CU_ASSERT_EQUAL(r->files, 0);
    run_free(r);
    /* _exit, found nothing */
    r = report_mode("nothing-_exit", NULL);
    expect_nothing(r);
    CU_ASSERT_EQUAL(r->files, 0);
    run_free(r);
}

/* A relative report path is resolved once, at start: findings made after
 * chdir, by the program and by a child it forks then (whose file is made
 * then), land in the directory the program started in, and the message on
 * stderr names the absolute path. */
static void test_report_relative_chdir(void)
{
    next_run.relative = true;
    struct run *r = report_mode("chdir", NULL);
    expect_clean_exit(r);
    /* the parent's and the fork child's, each in its own file, here */
    CU_ASSERT_EQUAL(count_kind(r, "lock-order-cycle"), 2);
    CU_ASSERT_EQUAL(r->files, 2);
    char want[600];
    snprintf(want, sizeof(want), "[%s/findings.", r->dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, want));
    run_free(r);
}

static void test_report_chroot(void)
{
    if (!is_root())
        return;
    struct run *r = report_mode("chroot", NULL);
    expect_one_cycle_in_file(r);
    run_free(r);
}

/* The report directory is root's (0700): after setuid(65534) the file
 * could not be made; it is made just before. */
static void test_report_setuid(void)
{
    if (!is_root())
        return;
    struct run *r = report_mode("setuid", NULL);
    expect_one_cycle_in_file(r);
    run_free(r);
    r = report_mode("fork-daemon", NULL);
    expect_one_cycle_in_file(r);
    run_free(r);
}

static void test_report_closefds(void)
{
    struct run *r = report_mode("closefds", NULL);
    expect_one_cycle_in_file(r);
    run_free(r);
}

/* Every fd the limit allows is in use at the first finding: the spare fd
 * lockgraph kept from start is given up to make the file. */
static void test_report_nofile(void)
{
    struct run *r = report_mode("nofile", NULL);
    expect_one_cycle_in_file(r);
    run_free(r);
}

/* A daemon's own file on fd 2 never receives lockgraph's lines; they go to
 * the stderr the program started with while it is still there. */
static void test_report_stderr_replaced(void)
{
    struct run *r = report_mode("stderr-data", NULL);
    expect_one_cycle_in_file(r);
    CU_ASSERT_STRING_EQUAL(slurp(r->dir, "data"), "data\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "lockgraph: lock-order-cycle"));
    run_free(r);
    r = report_mode("daemon-data", NULL);
    expect_one_cycle_in_file(r);
    CU_ASSERT_STRING_EQUAL(slurp(r->dir, "data"), "data\n");
    run_free(r);
}

static void plant_victim(const char *dir)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/victim", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("precious\n", f);
        fclose(f);
    }
}

static void plant_links(const char *dir)
{
    plant_victim(dir);
    char from[512], to[512];
    snprintf(to, sizeof(to), "%s/victim", dir);
    snprintf(from, sizeof(from), "%s/fixed.jsonl", dir);
    if (symlink(to, from) != 0)
        perror("symlink");
    snprintf(from, sizeof(from), "%s/graph.jsonl", dir);
    if (symlink(to, from) != 0)
        perror("symlink");
}

/* Links planted at the findings file's name, before the program starts or
 * while it runs, and at the graph file's: nothing is written through them,
 * each is named on stderr, and the finding is not lost (stderr has it). */
static void test_report_symlinks(void)
{
    next_run.prepare = plant_links;
    next_run.report_env = "@DIR/fixed.jsonl";
    struct run *r = run_prog("sc_ab_ba_one_thread", NULL, "graph=@DIR/graph.jsonl", NULL, 30, true);
    expect_clean_exit(r);
    CU_ASSERT_STRING_EQUAL(slurp(r->dir, "victim"), "precious\n");
    char want[600];
    snprintf(want, sizeof(want), "report file '%s/fixed.jsonl' is a symbolic link", r->dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, want));
    snprintf(want, sizeof(want), "graph file '%s/graph.jsonl': is a symbolic link", r->dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "lockgraph: finding: {\"kind\":\"lock-order-cycle\""));
    run_free(r);

    next_run.prepare = plant_victim;
    r = report_mode("symlink", NULL);
    expect_clean_exit(r);
    CU_ASSERT_STRING_EQUAL(slurp(r->dir, "victim"), "precious\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "' is a symbolic link: not writing there"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "lockgraph: finding: {\"kind\":\"lock-order-cycle\""));
    CU_ASSERT_EQUAL(r->files, 0);
    run_free(r);

    /* a dangling link would have made a new file at its target */
    r = report_mode("dangling", NULL);
    expect_clean_exit(r);
    CU_ASSERT_FALSE(exists(r->dir, "new-victim"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "' is a symbolic link: not writing there"));
    run_free(r);
}

/* A file made early, before an identity change, that stayed empty is
 * removed at exit, and at _exit. */
static void test_report_early_removed(void)
{
    if (!is_root())
        return;
    struct run *r = report_mode("seteuid-back", NULL);
    expect_nothing(r);
    CU_ASSERT_EQUAL(r->files, 0);
    run_free(r);
    r = report_mode("seteuid-_exit", NULL);
    expect_nothing(r);
    CU_ASSERT_EQUAL(r->files, 0);
    run_free(r);
}

static void test_report_env_empty(void)
{
    next_run.report_env = "";
    struct run *r = run("sc_ab_ba_one_thread", NULL);
    CU_ASSERT_TRUE(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r->err, "LOCKGRAPH_REPORT is set but empty"));
    CU_ASSERT_EQUAL(r->files, 0);
    run_free(r);
}

/* A process-shared lock the parent holds across fork is the parent's: the
 * child taking it waits for the parent, no self-deadlock (with
 * on_cycle=abort the child would abort). */
static void test_pshared_fork(void)
{
    struct run *r = run("sc_pshared_fork", NULL);
    expect_nothing(r);
    run_free(r);
    r = run("sc_pshared_fork", "on_cycle=abort");
    expect_nothing(r);
    run_free(r);
    static const char *const rw[] = {"rw", NULL};
    r = run_prog("sc_pshared_fork", rw, NULL, NULL, 30, true);
    expect_nothing(r);
    run_free(r);
    /* Held by another thread at the fork: in the child it is the parent's
     * still, neither a gone owner nor inherited locked for good (a barrier
     * wait holding them is held-across-wait, not what is looked at here). */
    static const char *const thread[] = {"thread", NULL};
    r = run_prog("sc_pshared_fork", thread, "on_fork=report:on_wait=off", NULL, 30, true);
    expect_nothing(r);
    run_free(r);
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lib") && i + 1 < argc)
            lib_path = realpath(argv[++i], NULL);
        else if (!strcmp(argv[i], "--bin") && i + 1 < argc)
            bin_dir = realpath(argv[++i], NULL); /* some runs chdir first */
        else if (!strcmp(argv[i], "--jemalloc") && i + 1 < argc)
            jemalloc_path = argv[++i];
        else
            filter = argv[i];
    }
    if (!lib_path || !bin_dir) {
        fprintf(stderr, "usage: %s --lib LIB --bin DIR [--jemalloc SO] [name-filter]\n",
                argv[0]);
        return 2;
    }
    if (jemalloc_path && access(jemalloc_path, R_OK) != 0) {
        fprintf(stderr, "jemalloc not found at %s\n", jemalloc_path);
        return 2;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(jemalloc_path ? "scenarios (jemalloc)" : "scenarios", NULL, NULL);
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"AB/BA on two threads, one after the other", test_ab_ba_threads},
        {"AB/BA in one thread", test_ab_ba_one_thread},
        {"3-lock cycle over 3 threads", test_three_cycle},
        {"consistent order over 8 threads: nothing", test_consistent_order},
        {"trylock back-off: nothing", test_trylock_backoff},
        {"recursive mutex relocked: nothing", test_recursive},
        {"normal mutex relocked by owner: self-deadlock before the hang", test_self_deadlock},
        {"unlock of a mutex not held", test_unlock_not_held},
        {"thread exits holding a lock", test_held_at_exit},
        {"statically initialized mutexes AB/BA", test_static_ab_ba},
        {"C++ std::mutex AB/BA", test_cxx_mutex},
        {"real AB/BA deadlock behind a barrier", test_real_deadlock},
        {"timed locks: timed cycle, timed self-deadlock", test_timed},
        {"spinlocks: cycles, mixed with a mutex, relock", test_spin},
        {"condition variables: re-acquisition orders, queue, cancellation", test_cond},
        {"rwlocks: the reader rule, both sides; writer preference; self", test_rwlock},
        {"C++ scoped_lock, std::lock, recursive_mutex, shared_mutex", test_cxx_locks},
        {"gate locks: guarded, escaped later, two gates, read-held gate", test_gate},
        {"memory freed without destroy and reused: nothing", test_free_reuse},
        {"a lock replaced at a cached address: the new order is seen", test_hit_reuse},
        {"locks alone until cached, then nested: classes made when needed", test_lazy_class},
        {"signal handlers locking inside the fast path: nothing", test_signal_locks},
        {"dlclose retires a library's locks", test_dlclose},
        {"trylock back-off with spinlocks and rwlocks: nothing", test_trylock_kinds},
        {"thread cancelled holding a lock: held-at-exit", test_cancel_held},
        {"held-across-io: fd I/O", test_io_fd},
        {"held-across-io: sockets", test_io_socket},
        {"held-across-io: waiting", test_io_wait},
        {"held-across-io: durability", test_io_sync},
        {"held-across-io: sleeping", test_io_sleep},
        {"held-across-io: stdio", test_io_stdio},
        {"held-across-io: 100,000 writes, one finding, the right count", test_io_dedup},
        {"held-across-io: io_allow by call, lock name, site key", test_io_allow},
        {"held-across-io: on_io=off, on_io=abort, a bad io_allow", test_io_actions},
        {"held-across-io: a cancel pending while the finding is written", test_io_cancel},
        {"held-across-io: linked test build", test_io_linked},
        {"destroyed and re-initialized memory: nothing", test_reuse},
        {"locks taken in address order: nothing", test_address_order},
        {"600 locks held at once", test_deep_nesting},
        {"5,000-lock cycle", test_long_cycle},
        {"200,000 locks created, used, destroyed: nothing", test_many_locks},
        {"fork: each process its own file", test_fork},
        {"lock classes: conn/table inversion on different connections", test_classes_conn},
        {"lock classes: through lock wrappers", test_classes_wrappers},
        {"lock classes: locks of one class held together", test_classes_nesting},
        {"lock classes: memory reused by another class, a dead inverse", test_classes_identity},
        {"an unlock by another thread, a lock freed or destroyed while held", test_ownership},
        {"400,000 short-lived locks: memory follows the live ones", test_churn_rss},
        {"fork, forkpty, daemon, _Fork, vfork, posix_spawn, system under churn: no hang",
         test_fork_kinds},
        {"on_cycle=abort", test_on_cycle_abort},
        {"quiet=1", test_quiet},
        {"bad LOCKGRAPH_OPTIONS", test_bad_option},
        {"unwritable report path", test_unwritable_report},
        {"out of memory inside the detector", test_out_of_memory},
        {"linked test build with annotations", test_linked},
        {"header without the library", test_no_library},
        {"ranks in code, preloaded: first wrong acquisition, nesting, orders", test_ranks_preload},
        {"ranks in code, linked build", test_ranks_linked},
        {"rank file from a graph file, enforced; bad rank files", test_rank_file},
        {"real deadlocks, two and three threads: found while they hang", test_deadlock_real},
        {"real deadlocks through rwlocks (writer, readers) and a spinlock", test_deadlock_kinds},
        {"on_deadlock=abort", test_deadlock_abort},
        {"watchdog: a long wait that resolves", test_long_wait},
        {"hold_warn_ms: one site, counted", test_long_hold},
        {"a stall of timed locks that keep retrying", test_timed_stall},
        {"watchdog in a program that forks and exits", test_watchdog_fork},
        {"report file: none from processes that found nothing (sh, env, timeout, _exit)",
         test_report_none_when_clean},
        {"report file: relative path, finding after chdir", test_report_relative_chdir},
        {"report file: finding after chroot", test_report_chroot},
        {"report file: finding after setuid, and in a daemon child", test_report_setuid},
        {"report file: finding after closing every fd", test_report_closefds},
        {"report file: finding with every fd in use (RLIMIT_NOFILE)", test_report_nofile},
        {"report file: fd 2 replaced by the program's own file", test_report_stderr_replaced},
        {"report file: symbolic links planted at report and graph names", test_report_symlinks},
        {"report file: made early, still empty: removed at exit and _exit",
         test_report_early_removed},
        {"report file: LOCKGRAPH_REPORT empty", test_report_env_empty},
        {"process-shared locks held across fork, by the forking thread or another: the "
         "parent's",
         test_pshared_fork},
        {"join holding the lock the joined thread needs: deadlock, held-across-wait",
         test_join_held},
        {"condition wait holding the lock its signaller needs: held-across-wait", test_cond_held},
        {"thread ended holding a lock, then waited for: deadlock, gone owner", test_exit_held},
        {"lock held by another thread at fork, taken in the child: deadlock, not in process",
         test_fork_held},
        {"semaphore used as a lock against a mutex: lock-order-cycle", test_sem_lock},
        {"named semaphore lock; one that turns out a signal; a deadlock through one",
         test_sem_named_and_deadlock},
        {"held-across-wait: join, barrier, semaphore, waitpid, system; wait_allow, on_wait",
         test_wait_calls},
        {"atexit handler relocking a mutex main holds: self-deadlock", test_atexit_relock},
        {"waits that cannot deadlock, pshared and robust owners: quiet", test_waits_quiet},
    };
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (!filter || strstr(tests[i].name, filter))
            CU_add_test(s, tests[i].name, tests[i].fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed == 0 && ran > 0 ? 0 : 1;
}
