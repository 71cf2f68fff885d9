/*
 * fold_prog.c - one lock class the library sees as two: an init helper,
 * guard_init(), inlined into make_a() and make_b() (built -O2 -g, and
 * always_inline), so the locks they make have two init sites, one source
 * line. `report`, `merge` and `ranks` fold the two classes into one
 * (test_report.sh, case fold).
 *
 *   graph-cycle  g -> a lock of make_a; a lock of make_b -> g: no cycle
 *                between the library's classes, one between the source's
 *   graph-order  g -> a lock of each: one class for the rank file
 *   class-a      a class cycle, table -> a lock of make_a -> table (on two
 *                of them)
 *   class-b      the same with make_b's locks
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static volatile int made_a, made_b;

static inline __attribute__((always_inline)) void guard_init(pthread_mutex_t *m)
{
    pthread_mutex_init(m, NULL);
}

/* Their code differs (the counters), so no pass folds the two into one
 * function: each keeps its own inlined copy of guard_init. */
__attribute__((noinline)) static pthread_mutex_t *make_a(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    guard_init(m);
    made_a++;
    return m;
}

__attribute__((noinline)) static pthread_mutex_t *make_b(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m) + 16);
    guard_init(m);
    made_b += 2;
    return m;
}

__attribute__((noinline)) static void nest(pthread_mutex_t *outer, pthread_mutex_t *inner)
{
    pthread_mutex_lock(outer);
    pthread_mutex_lock(inner);
    pthread_mutex_unlock(inner);
    pthread_mutex_unlock(outer);
}

static int class_cycle(pthread_mutex_t *(*make)(void))
{
    pthread_mutex_t *one = make(), *two = make();
    nest(one, &table);
    nest(&table, two);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "graph-cycle") == 0) {
        nest(&g, make_a());
        nest(make_b(), &g);
        return 0;
    }
    if (strcmp(mode, "graph-order") == 0) {
        nest(&g, make_a());
        nest(&g, make_b());
        return 0;
    }
    if (strcmp(mode, "class-a") == 0)
        return class_cycle(make_a);
    if (strcmp(mode, "class-b") == 0)
        return class_cycle(make_b);
    fprintf(stderr, "usage: fold_prog graph-cycle|graph-order|class-a|class-b\n");
    return 2;
}
