/*
 * readme_prog.c - the programs the README's "Using it" commands name, for
 * tests/readme/readme_test.sh: one binary, linked under each name, that
 * acts by the name it was run as.
 *
 *   server, test_suite   lock a then b, then b then a (on two threads, one
 *                        after the other: a potential deadlock that never
 *                        hangs); arguments are ignored
 *   test_a               lock a then b only
 *   test_b               lock b then a only: neither run alone has a cycle,
 *                        their graph files merged do
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *a_then_b(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_a);
    pthread_mutex_lock(&lock_b);
    pthread_mutex_unlock(&lock_b);
    pthread_mutex_unlock(&lock_a);
    return NULL;
}

static void *b_then_a(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_b);
    pthread_mutex_lock(&lock_a);
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
    return NULL;
}

static void run(void *(*fn)(void *))
{
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (strcmp(name, "test_a") == 0) {
        run(a_then_b);
    } else if (strcmp(name, "test_b") == 0) {
        run(b_then_a);
    } else if (strcmp(name, "server") == 0 || strcmp(name, "test_suite") == 0) {
        run(a_then_b);
        run(b_then_a);
    } else {
        fprintf(stderr, "readme_prog: run me as server, test_suite, test_a or test_b\n");
        return 2;
    }
    return 0;
}
