/* A real AB/BA deadlock: both threads take their first lock, meet at a
 * barrier, then go for the other's. The program hangs for good; the cycle
 * must already be in the findings file (written before the second thread
 * blocked), and the test kills us. */
#include "sc.h"
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;

static void *one(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&a);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&b);
    return NULL;
}

static void *two(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&b);
    pthread_barrier_wait(&bar);
    usleep(20000); /* let `one` block first; either order deadlocks */
    pthread_mutex_lock(&a);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&t1, NULL, one, NULL);
    pthread_create(&t2, NULL, two, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return 0;
}
