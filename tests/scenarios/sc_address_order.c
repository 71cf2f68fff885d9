/* Per-bucket locks always taken in address order, by 4 threads over 256
 * buckets, many random pairs: a careful program; nothing to report. */
#include "sc.h"

enum { N = 256 };
static pthread_mutex_t bucket[N];

static void *mover(void *arg)
{
    unsigned s = (unsigned)(long)arg * 2654435761u + 1;
    for (int k = 0; k < 20000; k++) {
        s = s * 1103515245u + 12345u;
        int i = (int)((s >> 8) % N), j = (int)((s >> 20) % N);
        if (i == j)
            continue;
        pthread_mutex_t *lo = &bucket[i] < &bucket[j] ? &bucket[i] : &bucket[j];
        pthread_mutex_t *hi = lo == &bucket[i] ? &bucket[j] : &bucket[i];
        sc_lock2(lo, hi);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < N; i++)
        pthread_mutex_init(&bucket[i], NULL);
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, mover, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return 0;
}
