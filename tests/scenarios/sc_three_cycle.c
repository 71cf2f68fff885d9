/* A->B, B->C, C->A on three threads: a 3-lock cycle, reported once. */
#include "sc.h"

static pthread_mutex_t m[3];

static void *pair(void *arg)
{
    long i = (long)arg;
    sc_lock2(&m[i], &m[(i + 1) % 3]);
    return NULL;
}

int main(void)
{
    for (int i = 0; i < 3; i++)
        pthread_mutex_init(&m[i], NULL);
    for (long i = 0; i < 3; i++)
        sc_run(pair, (void *)i);
    return 0;
}
