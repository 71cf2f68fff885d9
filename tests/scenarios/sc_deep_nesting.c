/* 600 locks held at once, in order, by two threads: the held stack has no
 * fixed cap. Then one thread takes lock 0 while holding lock 599. Edges go
 * from each lock to the next (an edge to the last lock taken by blocking
 * implies the ones below it), so the cycle found runs through all 600.
 * With the argument "ok" the inversion is skipped: nothing to report. */
#include "sc.h"
#include <string.h>

enum { N = 600 };
static pthread_mutex_t m[N];

static void *nest(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        pthread_mutex_lock(&m[i]);
    for (int i = N - 1; i >= 0; i--)
        pthread_mutex_unlock(&m[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 0; i < N; i++)
        pthread_mutex_init(&m[i], NULL);
    sc_run(nest, NULL);
    sc_run(nest, NULL);
    if (argc > 1 && strcmp(argv[1], "ok") == 0)
        return 0;
    pthread_mutex_lock(&m[N - 1]);
    pthread_mutex_lock(&m[0]);
    pthread_mutex_unlock(&m[0]);
    pthread_mutex_unlock(&m[N - 1]);
    return 0;
}
