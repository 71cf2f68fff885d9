/* Thread 1 takes A then B. Thread 2 holds B and only trylocks A, backing
 * off when it is busy (memcached's item locks do this thousands of times a
 * run). Run concurrently: no deadlock is possible, nothing to report. The
 * trylocked A still orders what comes after it: C taken under it is fine
 * because everyone takes C last. */
#include "sc.h"
#include <sched.h>

/* Enough rounds to exercise back-off many times; few enough that the
 * yielding loop finishes quickly on a loaded machine. */
enum { ROUNDS = 2000 };

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
                       c = PTHREAD_MUTEX_INITIALIZER;

static void *forward(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&a);
        pthread_mutex_lock(&b);
        pthread_mutex_lock(&c);
        pthread_mutex_unlock(&c);
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
    }
    return NULL;
}

static void *backoff(void *arg)
{
    (void)arg;
    int got = 0;
    while (got < ROUNDS) {
        pthread_mutex_lock(&b);
        if (pthread_mutex_trylock(&a) == 0) {
            pthread_mutex_lock(&c);
            pthread_mutex_unlock(&c);
            pthread_mutex_unlock(&a);
            got++;
        }
        pthread_mutex_unlock(&b);
        sched_yield();
    }
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, forward, NULL);
    pthread_create(&t2, NULL, backoff, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return 0;
}
