/* A thread cancelled (at a cancellation point, sleeping) while it holds a
 * lock ends holding it: one held-at-exit finding; nothing else. */
#include "sc.h"
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    for (;;)
        sleep(1); /* cancellation point */
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    usleep(50000);
    pthread_cancel(t);
    void *res;
    pthread_join(t, &res);
    return res == PTHREAD_CANCELED ? 0 : 1;
}
