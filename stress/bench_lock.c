/*
 * bench_lock.c - time pthread mutex lock/unlock pairs on fixed workloads.
 *
 * What it does: runs small lock workloads and prints, per workload, the best
 * and the median of --reps repetitions (5) in nanoseconds per lock/unlock pair,
 * timed with CLOCK_MONOTONIC. It is a plain pthread program that knows
 * nothing of lockgraph: run it bare, under LD_PRELOAD=liblockgraph.so, built
 * with -fsanitize=thread, or under Valgrind, and compare (run_bench.sh does
 * all four). Every workload takes its locks in one consistent order, so a
 * deadlock detector must report nothing.
 *
 * glibc (2.34 and later) locks and unlocks a private mutex with plain stores,
 * no atomic instruction, while the process has never had a second thread;
 * once one has existed, every lock is an atomic read-modify-write. A program
 * worth checking for deadlocks has threads, so before any workload bench_lock
 * starts and joins one idle thread; --libc-single-threaded skips that and
 * times the shortcut instead (about 2.5x cheaper bare on the machine in
 * README.md, and not what any threaded program gets).
 *
 * What it does not do: check results or decide pass/fail; it only measures.
 *
 * Workloads (each repetition runs the same number of pairs; --scale
 * multiplies it, for slow tools such as Helgrind):
 *   one          one mutex, lock + unlock, one thread
 *   nested4      A,B,C,D locked, then D,C,B,A unlocked; 4 pairs per round
 *   nested20     the same with 20 mutexes: more held at once than a short
 *                scan covers (lockgraph indexes its held stack past 16), as
 *                in a program that holds a lock per table or per bucket
 *   pairs10k     10,000 mutexes, (i, i+1) for i = 0..9998 per pass: 9,999
 *                edges in one order. The first pass after init (edges being
 *                made) is timed apart from the later passes (fast path), and
 *                so is pthread_mutex_init of the 10,000.
 *   contended4t  4 threads, each nested4 on its own 4 mutexes with one
 *                shared mutex taken innermost; ns per pair of wall time over
 *                all threads' pairs
 *   independent4t  contended4t without the shared mutex: nothing is shared,
 *                so on P cores the ideal is nested4's time / min(P, 4); a
 *                detector whose fast path serializes threads cannot get there
 *   churn        a round makes two mutexes (malloc, init), nests them, and
 *                destroys and frees them: short-lived locks, ns per round
 *   first-sight  10,000 zeroed mutexes that never saw pthread_mutex_init
 *                (PTHREAD_MUTEX_INITIALIZER is all zeros on glibc), each
 *                locked and unlocked once: ns per first lock of a lock
 *
 * pairs10k also reports new-edge: its first pass in ns per edge made (9,999
 * edges, each costing two lock/unlock pairs bare).
 *
 * Locking: only the mutexes under test, plus a pthread barrier (not a mutex)
 * that starts the threads of contended4t and independent4t together.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS_DEFAULT 5
#define REPS_MAX 64
#define PAIRS10K_LOCKS 10000
#define CONTENDED_THREADS 4

/* Iterations per repetition at --scale 1: about 20 million pairs, which
 * bare takes 0.4-0.5 s at the ~22 ns/pair of the machine in README.md. */
#define ONE_ITERS 20000000.0
#define NESTED4_ITERS 5000000.0
#define NESTED20 20
#define NESTED20_ITERS 600000.0
#define PAIRS10K_PASSES 1000.0
#define CONTENDED_ITERS 1000000.0
#define CHURN_ITERS 200000.0
#define FIRST_SIGHT_LOCKS 10000

struct options {
    const char *workload;
    const char *label;
    double scale;
    int reps;
    bool json;
    bool libc_single_threaded; /* keep glibc's no-thread-yet shortcut */
};

/* One measured quantity: reps samples of ns per pair. */
struct result {
    const char *workload;
    double ns[REPS_MAX];
    int n;
    uint64_t pairs; /* pairs per repetition */
    uint64_t iters; /* rounds (or passes) per repetition */
    int threads;
    const char *unit; /* what one sample is per: "pair" or "init" */
};

static struct options opt = {"all", NULL, 1.0, REPS_DEFAULT, false, false};

/* ---------------------------------------------------------------------- */
/* Helpers.                                                               */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench_lock: %s: %s\n", what, strerror(rc));
        exit(1);
    }
}

static uint64_t scaled(double base)
{
    double v = base * opt.scale;
    return v < 1.0 ? 1 : (uint64_t)v;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "bench_lock: out of memory\n");
        exit(1);
    }
    return p;
}

/* Touch fresh memory before timing, so page faults are not counted as the
 * cost of the first lock or init on each page. */
static void prefault(void *p, size_t size)
{
    volatile char *c = p;
    for (size_t i = 0; i < size; i += 4096)
        c[i] = 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Is lockgraph loaded and watching, and what has it found? Asked through
 * dlsym, so this program keeps no link to lockgraph (a process that found
 * nothing leaves no findings file, so no file cannot tell "not loaded"). */
static bool lockgraph_watching(void)
{
    int (*active)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "lockgraph_active");
    return active && active();
}

static unsigned long lockgraph_findings(void)
{
    unsigned long (*count)(void) =
        (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "lockgraph_finding_count");
    return count ? count() : 0;
}

static void print_result(const struct result *r)
{
    double s[REPS_MAX];
    memcpy(s, r->ns, sizeof(double) * (size_t)r->n);
    qsort(s, (size_t)r->n, sizeof(double), cmp_double);
    double min = s[0];
    double med = r->n % 2 ? s[r->n / 2] : (s[r->n / 2 - 1] + s[r->n / 2]) / 2;
    if (opt.json) {
        printf("{\"workload\":\"%s\"", r->workload);
        if (opt.label)
            printf(",\"label\":\"%s\"", opt.label);
        printf(",\"unit\":\"ns/%s\",\"min\":%.2f,\"median\":%.2f,\"max\":%.2f,\"reps\":%d,"
               "\"pairs_per_rep\":%llu,\"iters_per_rep\":%llu,\"threads\":%d,\"scale\":%g,"
               "\"libc_single_threaded\":%s,\"lockgraph_active\":%s,\"lockgraph_findings\":%lu}\n",
               r->unit, min, med, s[r->n - 1], r->n, (unsigned long long)r->pairs,
               (unsigned long long)r->iters, r->threads, opt.scale,
               opt.libc_single_threaded ? "true" : "false", lockgraph_watching() ? "true" : "false",
               lockgraph_findings());
    } else {
        printf("%-16s %10.2f %10.2f %10.2f   ns/%-5s %3d reps x %llu %ss\n", r->workload, min, med,
               s[r->n - 1], r->unit, r->n, (unsigned long long)r->pairs, r->unit);
    }
    fflush(stdout);
}

/* ---------------------------------------------------------------------- */
/* one, nested4.                                                          */

static void run_one(uint64_t iters, pthread_mutex_t *m)
{
    for (uint64_t i = 0; i < iters; i++) {
        pthread_mutex_lock(m);
        pthread_mutex_unlock(m);
    }
}

static void run_nested4(uint64_t iters, pthread_mutex_t *m)
{
    for (uint64_t i = 0; i < iters; i++) {
        pthread_mutex_lock(&m[0]);
        pthread_mutex_lock(&m[1]);
        pthread_mutex_lock(&m[2]);
        pthread_mutex_lock(&m[3]);
        pthread_mutex_unlock(&m[3]);
        pthread_mutex_unlock(&m[2]);
        pthread_mutex_unlock(&m[1]);
        pthread_mutex_unlock(&m[0]);
    }
}

static void run_nested20(uint64_t iters, pthread_mutex_t *m)
{
    for (uint64_t i = 0; i < iters; i++) {
        for (int k = 0; k < NESTED20; k++)
            pthread_mutex_lock(&m[k]);
        for (int k = NESTED20 - 1; k >= 0; k--)
            pthread_mutex_unlock(&m[k]);
    }
}

static void bench_one(void)
{
    pthread_mutex_t m;
    check(pthread_mutex_init(&m, NULL), "pthread_mutex_init");
    uint64_t iters = scaled(ONE_ITERS);
    struct result r = {"one", {0}, 0, iters, iters, 1, "pair"};
    run_one(iters / 10 + 1, &m); /* warm-up: first use, caches */
    for (int k = 0; k < opt.reps; k++) {
        uint64_t t0 = now_ns();
        run_one(iters, &m);
        r.ns[r.n++] = (double)(now_ns() - t0) / (double)r.pairs;
    }
    print_result(&r);
    check(pthread_mutex_destroy(&m), "pthread_mutex_destroy");
}

static void bench_nested4(void)
{
    pthread_mutex_t m[4];
    for (int i = 0; i < 4; i++)
        check(pthread_mutex_init(&m[i], NULL), "pthread_mutex_init");
    uint64_t iters = scaled(NESTED4_ITERS);
    struct result r = {"nested4", {0}, 0, iters * 4, iters, 1, "pair"};
    run_nested4(iters / 10 + 1, m); /* warm-up: the three edges are made here */
    for (int k = 0; k < opt.reps; k++) {
        uint64_t t0 = now_ns();
        run_nested4(iters, m);
        r.ns[r.n++] = (double)(now_ns() - t0) / (double)r.pairs;
    }
    print_result(&r);
    for (int i = 0; i < 4; i++)
        check(pthread_mutex_destroy(&m[i]), "pthread_mutex_destroy");
}

static void bench_nested20(void)
{
    pthread_mutex_t m[NESTED20];
    for (int i = 0; i < NESTED20; i++)
        check(pthread_mutex_init(&m[i], NULL), "pthread_mutex_init");
    uint64_t iters = scaled(NESTED20_ITERS);
    struct result r = {"nested20", {0}, 0, iters * NESTED20, iters, 1, "pair"};
    run_nested20(iters / 10 + 1, m); /* warm-up: the edges are made here */
    for (int k = 0; k < opt.reps; k++) {
        uint64_t t0 = now_ns();
        run_nested20(iters, m);
        r.ns[r.n++] = (double)(now_ns() - t0) / (double)r.pairs;
    }
    print_result(&r);
    for (int i = 0; i < NESTED20; i++)
        check(pthread_mutex_destroy(&m[i]), "pthread_mutex_destroy");
}

/* ---------------------------------------------------------------------- */
/* pairs10k.                                                              */

static void pairs_pass(pthread_mutex_t *m, int n)
{
    /* (i, i+1) for i < n-1 only: adding (n-1, 0) would close a ring of
     * edges, a real lock-order cycle. */
    for (int i = 0; i + 1 < n; i++) {
        pthread_mutex_lock(&m[i]);
        pthread_mutex_lock(&m[i + 1]);
        pthread_mutex_unlock(&m[i + 1]);
        pthread_mutex_unlock(&m[i]);
    }
}

static void bench_pairs10k(void)
{
    const int n = PAIRS10K_LOCKS;
    const uint64_t pass_pairs = 2 * (uint64_t)(n - 1);
    uint64_t passes = scaled(PAIRS10K_PASSES);
    struct result init = {"pairs10k-init", {0}, 0, (uint64_t)n, 1, 1, "init"};
    struct result first = {"pairs10k-first", {0}, 0, pass_pairs, 1, 1, "pair"};
    struct result steady = {"pairs10k", {0}, 0, pass_pairs * passes, passes, 1, "pair"};
    struct result edge = {"new-edge", {0}, 0, (uint64_t)(n - 1), 1, 1, "edge"};

    /* Fresh mutexes every repetition, so each has a first pass of its own:
     * new locks, new edges. */
    for (int k = 0; k < opt.reps; k++) {
        pthread_mutex_t *m = xcalloc((size_t)n, sizeof(*m));
        prefault(m, (size_t)n * sizeof(*m));
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++)
            check(pthread_mutex_init(&m[i], NULL), "pthread_mutex_init");
        uint64_t t1 = now_ns();
        pairs_pass(m, n);
        uint64_t t2 = now_ns();
        for (uint64_t p = 0; p < passes; p++)
            pairs_pass(m, n);
        uint64_t t3 = now_ns();
        init.ns[init.n++] = (double)(t1 - t0) / (double)n;
        first.ns[first.n++] = (double)(t2 - t1) / (double)pass_pairs;
        edge.ns[edge.n++] = (double)(t2 - t1) / (double)(n - 1);
        steady.ns[steady.n++] = (double)(t3 - t2) / (double)steady.pairs;
        for (int i = 0; i < n; i++)
            check(pthread_mutex_destroy(&m[i]), "pthread_mutex_destroy");
        free(m);
    }
    print_result(&steady);
    print_result(&first);
    print_result(&edge);
    print_result(&init);
}

/* ---------------------------------------------------------------------- */
/* churn, first-sight.                                                    */

/* One short-lived pair: made, nested once, destroyed, freed. malloc hands
 * the same block back round after round, as it does in a real program, so
 * the addresses repeat while the locks are new. */
static void churn_round(void)
{
    pthread_mutex_t *m = malloc(2 * sizeof(*m));
    if (!m) {
        fprintf(stderr, "bench_lock: out of memory\n");
        exit(1);
    }
    check(pthread_mutex_init(&m[0], NULL), "pthread_mutex_init");
    check(pthread_mutex_init(&m[1], NULL), "pthread_mutex_init");
    pthread_mutex_lock(&m[0]);
    pthread_mutex_lock(&m[1]);
    pthread_mutex_unlock(&m[1]);
    pthread_mutex_unlock(&m[0]);
    check(pthread_mutex_destroy(&m[1]), "pthread_mutex_destroy");
    check(pthread_mutex_destroy(&m[0]), "pthread_mutex_destroy");
    free(m);
}

static void bench_churn(void)
{
    uint64_t iters = scaled(CHURN_ITERS);
    struct result r = {"churn", {0}, 0, iters, iters, 1, "round"};
    for (uint64_t i = 0; i < iters / 10 + 1; i++) /* warm-up: malloc's arena */
        churn_round();
    for (int k = 0; k < opt.reps; k++) {
        uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < iters; i++)
            churn_round();
        r.ns[r.n++] = (double)(now_ns() - t0) / (double)r.pairs;
    }
    print_result(&r);
}

static void bench_first_sight(void)
{
    const int n = FIRST_SIGHT_LOCKS;
    struct result r = {"first-sight", {0}, 0, (uint64_t)n, 1, 1, "lock"};
    for (int k = 0; k < opt.reps; k++) {
        /* Fresh zeroed memory each repetition: locks never seen before. */
        pthread_mutex_t *m = xcalloc((size_t)n, sizeof(*m));
        prefault(m, (size_t)n * sizeof(*m));
        uint64_t t0 = now_ns();
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&m[i]);
            pthread_mutex_unlock(&m[i]);
        }
        r.ns[r.n++] = (double)(now_ns() - t0) / (double)n;
        free(m);
    }
    print_result(&r);
}

/* ---------------------------------------------------------------------- */
/* contended4t.                                                           */

struct worker {
    _Alignas(64) pthread_mutex_t m[4]; /* this thread's own, nested4 order */
    pthread_mutex_t *shared;           /* NULL: independent4t */
    pthread_barrier_t *start;
    uint64_t iters;
    uint64_t t0, t1;
};

static void contended_round(struct worker *w)
{
    pthread_mutex_lock(&w->m[0]);
    pthread_mutex_lock(&w->m[1]);
    pthread_mutex_lock(&w->m[2]);
    pthread_mutex_lock(&w->m[3]);
    if (w->shared) {
        pthread_mutex_lock(w->shared); /* always innermost: one order */
        pthread_mutex_unlock(w->shared);
    }
    pthread_mutex_unlock(&w->m[3]);
    pthread_mutex_unlock(&w->m[2]);
    pthread_mutex_unlock(&w->m[1]);
    pthread_mutex_unlock(&w->m[0]);
}

static void *contended_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 1000; i++) /* warm-up: thread record, edges */
        contended_round(w);
    pthread_barrier_wait(w->start);
    w->t0 = now_ns();
    for (uint64_t i = 0; i < w->iters; i++)
        contended_round(w);
    w->t1 = now_ns();
    return NULL;
}

static void run_threads(const char *name, bool with_shared)
{
    enum { T = CONTENDED_THREADS };
    _Alignas(64) static pthread_mutex_t shared;
    struct worker *w = aligned_alloc(64, sizeof(struct worker) * T);
    if (!w) {
        fprintf(stderr, "bench_lock: out of memory\n");
        exit(1);
    }
    memset(w, 0, sizeof(struct worker) * T);
    pthread_barrier_t start;
    uint64_t iters = scaled(CONTENDED_ITERS);
    struct result r = {name, {0}, 0, iters * T * (with_shared ? 5 : 4), iters, T, "pair"};

    check(pthread_mutex_init(&shared, NULL), "pthread_mutex_init");
    for (int t = 0; t < T; t++)
        for (int i = 0; i < 4; i++)
            check(pthread_mutex_init(&w[t].m[i], NULL), "pthread_mutex_init");
    for (int k = 0; k < opt.reps; k++) {
        pthread_t tid[T];
        check(pthread_barrier_init(&start, NULL, T), "pthread_barrier_init");
        for (int t = 0; t < T; t++) {
            w[t].shared = with_shared ? &shared : NULL;
            w[t].start = &start;
            w[t].iters = iters;
            check(pthread_create(&tid[t], NULL, contended_main, &w[t]), "pthread_create");
        }
        for (int t = 0; t < T; t++)
            check(pthread_join(tid[t], NULL), "pthread_join");
        pthread_barrier_destroy(&start);
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int t = 0; t < T; t++) {
            if (w[t].t0 < lo)
                lo = w[t].t0;
            if (w[t].t1 > hi)
                hi = w[t].t1;
        }
        r.ns[r.n++] = (double)(hi - lo) / (double)r.pairs;
    }
    print_result(&r);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < 4; i++)
            check(pthread_mutex_destroy(&w[t].m[i]), "pthread_mutex_destroy");
    check(pthread_mutex_destroy(&shared), "pthread_mutex_destroy");
    free(w);
}

static void bench_contended4t(void)
{
    run_threads("contended4t", true);
}

static void bench_independent4t(void)
{
    run_threads("independent4t", false);
}

/* ---------------------------------------------------------------------- */

static void *idle_thread(void *arg)
{
    return arg;
}

/* After this glibc takes its multi-threaded (atomic) path for every lock. */
static void leave_libc_single_threaded(void)
{
    pthread_t t;
    check(pthread_create(&t, NULL, idle_thread, NULL), "pthread_create");
    check(pthread_join(t, NULL), "pthread_join");
}

struct workload {
    const char *name;
    void (*run)(void);
    bool threads; /* starts threads: never glibc's single-thread path */
};

static const struct workload workloads[] = {
    {"one", bench_one, false},
    {"nested4", bench_nested4, false},
    {"nested20", bench_nested20, false},
    {"pairs10k", bench_pairs10k, false},
    {"churn", bench_churn, false},
    {"first-sight", bench_first_sight, false},
    {"contended4t", bench_contended4t, true},
    {"independent4t", bench_independent4t, true},
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_lock [--workload NAME|all] [--json] [--scale F] [--reps N]\n"
            "                  [--label TEXT] [--libc-single-threaded] [--list]\n"
            "  --workload  one, nested4, nested20, pairs10k, churn, first-sight,\n"
            "              contended4t, independent4t, a comma-separated list of them,\n"
            "              or all (default)\n"
            "  --json      one JSON object per line per result\n"
            "  --scale     multiply iterations (default 1; e.g. 0.01 under Helgrind)\n"
            "  --reps      repetitions, best and median reported (default %d, max %d)\n"
            "  --label     copied into each JSON line (which tool ran it)\n"
            "  --libc-single-threaded  do not start the idle thread first: the workloads\n"
            "              before contended4t then time glibc's non-atomic single-thread path\n",
            REPS_DEFAULT, REPS_MAX);
}

/* Is workload name in the --workload list ("all", or names joined by
 * commas)? */
static bool selected(const char *name)
{
    if (strcmp(opt.workload, "all") == 0)
        return true;
    size_t len = strlen(name);
    for (const char *p = opt.workload; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return true;
        p += n + (end != NULL);
    }
    return false;
}

static const char *arg_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "bench_lock: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return argv[++*i];
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--workload") == 0) {
            opt.workload = arg_value(argc, argv, &i);
        } else if (strcmp(a, "--json") == 0) {
            opt.json = true;
        } else if (strcmp(a, "--scale") == 0) {
            char *end;
            const char *v = arg_value(argc, argv, &i);
            errno = 0;
            opt.scale = strtod(v, &end);
            if (errno || *end || !(opt.scale > 0)) {
                fprintf(stderr, "bench_lock: bad --scale %s\n", v);
                return 2;
            }
        } else if (strcmp(a, "--reps") == 0) {
            opt.reps = atoi(arg_value(argc, argv, &i));
            if (opt.reps < 1 || opt.reps > REPS_MAX) {
                fprintf(stderr, "bench_lock: --reps must be 1..%d\n", REPS_MAX);
                return 2;
            }
        } else if (strcmp(a, "--label") == 0) {
            opt.label = arg_value(argc, argv, &i);
        } else if (strcmp(a, "--libc-single-threaded") == 0) {
            opt.libc_single_threaded = true;
        } else if (strcmp(a, "--list") == 0) {
            for (size_t k = 0; k < NWORKLOADS; k++)
                printf("%s\n", workloads[k].name);
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "bench_lock: unknown argument %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!opt.libc_single_threaded)
        leave_libc_single_threaded();
    if (!opt.json)
        printf("%-16s %10s %10s %10s\n", "workload", "min", "median", "max");
    size_t any = 0;
    for (size_t k = 0; k < NWORKLOADS; k++)
        any += selected(workloads[k].name);
    if (!any) {
        fprintf(stderr, "bench_lock: no workload named %s\n", opt.workload);
        return 2;
    }
    for (size_t k = 0; k < NWORKLOADS; k++) {
        if (!selected(workloads[k].name))
            continue;
        /* Its threads would end the single-thread path it is meant to
         * time: skipped under "all", refused when named. */
        if (opt.libc_single_threaded && workloads[k].threads) {
            if (strcmp(opt.workload, "all") == 0)
                continue;
            fprintf(stderr, "bench_lock: %s starts threads: not with --libc-single-threaded\n",
                    workloads[k].name);
            return 2;
        }
        workloads[k].run();
    }
    return 0;
}
