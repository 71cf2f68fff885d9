/*
 * bench_classes.c - what lock classes promise, measured: short-lived locks
 * cost little, memory follows the locks alive now, and a program that has
 * run for a long time (with a harmless cycle in its graph) is as fast as one
 * that just started.
 *
 * A plain pthread program that knows nothing of lockgraph: run it bare, under
 * LD_PRELOAD=liblockgraph.so, or built with -fsanitize=thread, and compare
 * (stress/classes.sh does all three). Every workload takes its locks in an
 * order that cannot deadlock; a detector must report nothing.
 *
 *   bench_classes churn [ROUNDS]   make two mutexes, nest them, destroy
 *                                  them; ns per round (min of 5 reps)
 *   bench_classes phases           400,000 short-lived locks (malloc, init,
 *                                  nest under a global, destroy, free) in
 *                                  4 phases: RSS after each, in KiB
 *   bench_classes live [N]         N (1,000,000) live locks, each nested
 *                                  once under a global lock: RSS in KiB
 *   bench_classes benign [PHASES]  a gated (harmless) cycle in the graph,
 *                                  then phases of new locks nested in new
 *                                  orders: ns per lock, phase by phase
 *   bench_classes held N           one thread takes N locks and holds them
 *                                  all, then lets them go first-taken first
 *                                  (and again, last-taken first): seconds
 *
 * Before any workload one idle thread is started and joined, so glibc uses
 * its atomic lock paths as in any threaded program.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *idle(void *arg)
{
    return arg;
}

static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;

static void nest(pthread_mutex_t *a, pthread_mutex_t *b)
{
    pthread_mutex_lock(a);
    pthread_mutex_lock(b);
    pthread_mutex_unlock(b);
    pthread_mutex_unlock(a);
}

static int churn(long rounds)
{
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_ns();
        for (long i = 0; i < rounds; i++) {
            pthread_mutex_t a, b;
            pthread_mutex_init(&a, NULL);
            pthread_mutex_init(&b, NULL);
            nest(&a, &b);
            pthread_mutex_destroy(&b);
            pthread_mutex_destroy(&a);
        }
        double per = (now_ns() - t0) / (double)rounds;
        if (rep == 0 || per < best)
            best = per;
    }
    printf("churn %.1f ns/round\n", best);
    return 0;
}

static int phases(void)
{
    long after[4];
    for (int p = 0; p < 4; p++) {
        for (int i = 0; i < 100000; i++) {
            pthread_mutex_t *m = malloc(sizeof(*m));
            pthread_mutex_init(m, NULL);
            nest(&global, m);
            pthread_mutex_destroy(m);
            free(m);
        }
        after[p] = rss_kib();
    }
    printf("phases %ld %ld %ld %ld KiB (phase 4 - phase 1: %ld KiB)\n", after[0], after[1],
           after[2], after[3], after[3] - after[0]);
    return 0;
}

static int live(long n)
{
    long before = rss_kib();
    pthread_mutex_t *m = calloc((size_t)n, sizeof(*m));
    for (long i = 0; i < n; i++) {
        pthread_mutex_init(&m[i], NULL);
        nest(&global, &m[i]);
    }
    long after = rss_kib();
    printf("live %ld locks: %ld KiB (%.1f bytes per lock)\n", n, after - before,
           (double)(after - before) * 1024.0 / (double)n);
    return 0;
}

/* A gate G held around both orders of A and B: a cycle that cannot
 * deadlock, kept in the graph all along. */
static int benign(int nphases)
{
    pthread_mutex_t g, a, b;
    pthread_mutex_init(&g, NULL);
    pthread_mutex_init(&a, NULL);
    pthread_mutex_init(&b, NULL);
    pthread_mutex_lock(&g);
    nest(&a, &b);
    nest(&b, &a);
    pthread_mutex_unlock(&g);
    enum { PER = 2000 };
    pthread_mutex_t *locks = calloc(PER, sizeof(*locks));
    printf("benign ns/lock by phase:");
    for (int p = 0; p < nphases; p++) {
        double t0 = now_ns();
        for (int i = 0; i < PER; i++)
            pthread_mutex_init(&locks[i], NULL);
        /* new instances in new orders: a chain, and each under A */
        for (int i = 0; i + 1 < PER; i++) {
            nest(&locks[i], &locks[i + 1]);
            nest(&a, &locks[i]);
        }
        for (int i = 0; i < PER; i++)
            pthread_mutex_destroy(&locks[i]);
        printf(" %.0f", (now_ns() - t0) / (3.0 * PER));
        fflush(stdout);
    }
    printf("\n");
    return 0;
}

/* N locks held at once: the cost of each acquisition and release should not
 * grow with how many are held. */
static int held(long n)
{
    pthread_mutex_t *m = calloc((size_t)n, sizeof(*m));
    for (long i = 0; i < n; i++)
        pthread_mutex_init(&m[i], NULL);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        pthread_mutex_lock(&m[i]);
    for (long i = 0; i < n; i++) /* first taken, first released */
        pthread_mutex_unlock(&m[i]);
    double t1 = now_ns();
    for (long i = 0; i < n; i++)
        pthread_mutex_lock(&m[i]);
    for (long i = n - 1; i >= 0; i--) /* last taken, first released */
        pthread_mutex_unlock(&m[i]);
    double t2 = now_ns();
    printf("held %ld: %.3f s (FIFO release), %.3f s (LIFO release)\n", n, (t1 - t0) / 1e9,
           (t2 - t1) / 1e9);
    return 0;
}

int main(int argc, char **argv)
{
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
    pthread_join(t, NULL);
    const char *w = argc > 1 ? argv[1] : "";
    if (strcmp(w, "churn") == 0)
        return churn(argc > 2 ? atol(argv[2]) : 1000000);
    if (strcmp(w, "phases") == 0)
        return phases();
    if (strcmp(w, "live") == 0)
        return live(argc > 2 ? atol(argv[2]) : 1000000);
    if (strcmp(w, "benign") == 0)
        return benign(argc > 2 ? atoi(argv[2]) : 20);
    if (strcmp(w, "held") == 0)
        return held(argc > 2 ? atol(argv[2]) : 100000);
    fprintf(stderr, "usage: bench_classes churn|phases|live|benign|held [N]\n");
    return 2;
}
