/* Locks first seen at a lock call get their class only when it is first
 * needed (lib/registry.h): each mode takes such locks alone first, until
 * that is cached, and only then relates them to other locks. Modes:
 *   outer  static G, then G -> conn1 on one thread, conn2 -> G on another:
 *          a cycle between G's class and the connections' (one init site)
 *   inner  the same with G taken inside first: conn1 -> G, then G -> conn2
 *   tries  zeroed A and B trylocked, then zeroed C locked on top; later
 *          C -> A on another thread: the cycle A -> C -> A (A and B, both
 *          with no class yet when pushed, must not count as one class run)
 *   io     a zeroed lock, only ever taken alone, held across a write(): the
 *          finding names it with where it was first taken and its class */
#include "sc.h"
#include <string.h>
#include <unistd.h>

static pthread_mutex_t g = PTHREAD_MUTEX_INITIALIZER;

struct conn {
    pthread_mutex_t lock;
};

__attribute__((noinline)) static void conn_init(struct conn *c)
{
    pthread_mutex_init(&c->lock, NULL);
}

static void alone(pthread_mutex_t *m)
{
    for (int i = 0; i < 5; i++) {
        pthread_mutex_lock(m);
        pthread_mutex_unlock(m);
    }
}

static struct conn c1, c2;

static void *g_then_c1(void *arg)
{
    (void)arg;
    sc_lock2(&g, &c1.lock);
    return NULL;
}

static void *c2_then_g(void *arg)
{
    (void)arg;
    sc_lock2(&c2.lock, &g);
    return NULL;
}

static void *c1_then_g(void *arg)
{
    (void)arg;
    sc_lock2(&c1.lock, &g);
    return NULL;
}

static void *g_then_c2(void *arg)
{
    (void)arg;
    sc_lock2(&g, &c2.lock);
    return NULL;
}

static pthread_mutex_t *zeroed;

static void *tries(void *arg)
{
    (void)arg;
    pthread_mutex_t *a = &zeroed[0], *b = &zeroed[1], *c = &zeroed[2];
    if (pthread_mutex_trylock(a) || pthread_mutex_trylock(b))
        exit(4);
    pthread_mutex_lock(c);
    pthread_mutex_unlock(c);
    pthread_mutex_unlock(b);
    pthread_mutex_unlock(a);
    return NULL;
}

static void *c_then_a(void *arg)
{
    (void)arg;
    sc_lock2(&zeroed[2], &zeroed[0]);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "outer";
    conn_init(&c1);
    conn_init(&c2);
    zeroed = calloc(3, sizeof(*zeroed));
    if (!zeroed)
        return 3;
    if (!strcmp(mode, "outer") || !strcmp(mode, "inner")) {
        alone(&g);
        alone(&c1.lock);
        alone(&c2.lock);
        int outer = !strcmp(mode, "outer");
        sc_run(outer ? g_then_c1 : c1_then_g, NULL);
        sc_run(outer ? c2_then_g : g_then_c2, NULL);
    } else if (!strcmp(mode, "tries")) {
        for (int i = 0; i < 3; i++)
            alone(&zeroed[i]);
        sc_run(tries, NULL);
        sc_run(c_then_a, NULL);
    } else if (!strcmp(mode, "io")) {
        int p[2];
        if (pipe(p))
            return 3;
        alone(&zeroed[0]);
        pthread_mutex_lock(&zeroed[0]);
        if (write(p[1], "x", 1) != 1)
            return 3;
        pthread_mutex_unlock(&zeroed[0]);
    } else {
        fprintf(stderr, "sc_lazy_class: unknown mode %s\n", mode);
        return 2;
    }
    free(zeroed);
    return 0;
}
