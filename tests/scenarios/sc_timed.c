/* Timed locks: AB with a timed lock for B, then BA: a cycle that would
 * stall rather than hang, marked timed. Then the owner of a normal mutex
 * takes it again with a 50 ms timed lock: a self-deadlock (timed) that
 * returns ETIMEDOUT, after which the program carries on. */
#include "sc.h"
#include <errno.h>
#include <time.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
                       m = PTHREAD_MUTEX_INITIALIZER;

static struct timespec in_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

int main(void)
{
    struct timespec ts = in_ms(1000);
    pthread_mutex_lock(&a);
    if (pthread_mutex_timedlock(&b, &ts) != 0)
        return 1;
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    sc_lock2(&b, &a);

    pthread_mutex_lock(&m);
    ts = in_ms(50);
    int rc = pthread_mutex_timedlock(&m, &ts);
    pthread_mutex_unlock(&m);
    return rc == ETIMEDOUT ? 0 : 2;
}
