/* 8 threads, each taking four locks nested in the same order many times,
 * concurrently: nothing to report. */
#include "sc.h"

static pthread_mutex_t m[4] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                               PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static long counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int k = 0; k < 20000; k++) {
        for (int i = 0; i < 4; i++)
            pthread_mutex_lock(&m[i]);
        counter++;
        for (int i = 3; i >= 0; i--)
            pthread_mutex_unlock(&m[i]);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    printf("%ld\n", counter);
    return counter == 8 * 20000 ? 0 : 1;
}
