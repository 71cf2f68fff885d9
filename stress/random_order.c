/*
 * random_order.c - many threads, random subsets of locks, one hidden order.
 *
 *   random_order [THREADS [ITERATIONS [inject]]]
 *
 * Every lock has a rank in a hidden random order. Each thread repeatedly
 * takes a random subset of the shared locks plus some of its own, always in
 * rank order, some with trylock, and releases them in a random order; between
 * rounds it destroys and re-initializes its own locks and frees and
 * reallocates their memory, so addresses are reused for new locks all the
 * time. Nothing here can deadlock: a detector must report nothing.
 *
 * With "inject", after all threads are done, the main thread takes two
 * shared locks once against the hidden order, from its own call site: that
 * one inversion must be reported, exactly once. The two lock addresses are
 * printed ("inject: 0x... 0x...") so a checker can find them in the report.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SHARED = 128, OWN = 8, MAXSET = 6 };

static pthread_mutex_t shared[SHARED];
static int rank_of[SHARED]; /* hidden order: lower rank first */
static int by_rank[SHARED]; /* lock index at each rank */
static long iterations = 20000;

static unsigned long long next(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

struct own {
    pthread_mutex_t *m; /* heap: freed and reallocated */
};

static void *worker(void *arg)
{
    unsigned long long s = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 7;
    struct own own[OWN];
    for (int i = 0; i < OWN; i++) {
        own[i].m = malloc(sizeof(pthread_mutex_t));
        pthread_mutex_init(own[i].m, NULL);
    }
    pthread_mutex_t *held[MAXSET + OWN];
    for (long it = 0; it < iterations; it++) {
        /* Pick ranks of shared locks, ascending; the thread's own locks
         * come after every shared one (they rank last, in index order). */
        int k = 1 + (int)(next(&s) % MAXSET), n = 0;
        int r = (int)(next(&s) % SHARED);
        for (int j = 0; j < k && r < SHARED; j++) {
            pthread_mutex_t *m = &shared[by_rank[r]];
            if (next(&s) % 4 == 0) {
                if (pthread_mutex_trylock(m) == 0)
                    held[n++] = m;
            } else {
                pthread_mutex_lock(m);
                held[n++] = m;
            }
            r += 1 + (int)(next(&s) % 8);
        }
        int o = (int)(next(&s) % OWN);
        for (int j = o; j < OWN; j += 1 + (int)(next(&s) % 3)) {
            pthread_mutex_lock(own[j].m);
            held[n++] = own[j].m;
        }
        /* release in a random order */
        while (n > 0) {
            int j = (int)(next(&s) % (unsigned)n);
            pthread_mutex_unlock(held[j]);
            held[j] = held[--n];
        }
        /* churn: a new lock in old memory, or in new memory */
        int c = (int)(next(&s) % OWN);
        pthread_mutex_destroy(own[c].m);
        if (next(&s) % 2) {
            free(own[c].m);
            own[c].m = malloc(sizeof(pthread_mutex_t));
        }
        pthread_mutex_init(own[c].m, NULL);
    }
    for (int i = 0; i < OWN; i++) {
        pthread_mutex_destroy(own[i].m);
        free(own[i].m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    if (argc > 2)
        iterations = atol(argv[2]);
    int inject = argc > 3 && strcmp(argv[3], "inject") == 0;
    if (threads < 1 || threads > 1024 || iterations < 1) {
        fprintf(stderr, "usage: random_order [THREADS [ITERATIONS [inject]]]\n");
        return 2;
    }
    unsigned long long s = 12345;
    for (int i = 0; i < SHARED; i++) {
        pthread_mutex_init(&shared[i], NULL);
        by_rank[i] = i;
    }
    for (int i = SHARED - 1; i > 0; i--) {
        int j = (int)(next(&s) % (unsigned)(i + 1));
        int t = by_rank[i];
        by_rank[i] = by_rank[j];
        by_rank[j] = t;
    }
    for (int r = 0; r < SHARED; r++)
        rank_of[by_rank[r]] = r;

    pthread_t *t = calloc((size_t)threads, sizeof(*t));
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);

    if (inject) {
        /* Ranks 10 and 11: adjacent in the order, so the threads surely
         * made an edge from the first to the second. Take them backwards. */
        pthread_mutex_t *lo = &shared[by_rank[10]], *hi = &shared[by_rank[11]];
        printf("inject: %p %p\n", (void *)hi, (void *)lo);
        pthread_mutex_lock(hi);
        pthread_mutex_lock(lo);
        pthread_mutex_unlock(lo);
        pthread_mutex_unlock(hi);
    }
    printf("done: %d threads x %ld rounds\n", threads, iterations);
    free(t);
    return 0;
}
