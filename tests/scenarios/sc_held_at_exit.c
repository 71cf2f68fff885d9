/* A worker returns while holding a lock (a leaked lock: the next thread to
 * want it hangs). One held-at-exit finding naming that lock. */
#include "sc.h"

static pthread_mutex_t leaked = PTHREAD_MUTEX_INITIALIZER, fine = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fine);
    pthread_mutex_unlock(&fine);
    pthread_mutex_lock(&leaked);
    return NULL;
}

static void *exiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fine);
    pthread_exit(NULL); /* also through pthread_exit */
}

int main(void)
{
    sc_run(worker, NULL);
    sc_run(exiter, NULL);
    return 0;
}
