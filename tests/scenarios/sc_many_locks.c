/* Many lock instances (argument: how many, default 200,000), each taken in
 * a pair with its neighbour in a consistent order, then all destroyed and
 * the memory reused: lockgraph keeps up and reports nothing. */
#include "sc.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    pthread_mutex_t *m = calloc((size_t)n, sizeof(*m));
    if (!m)
        return 3;
    for (int round = 0; round < 2; round++) {
        for (long i = 0; i < n; i++)
            pthread_mutex_init(&m[i], NULL);
        for (long i = 0; i + 1 < n; i++)
            sc_lock2(&m[i], &m[i + 1]);
        for (long i = 0; i < n; i++)
            pthread_mutex_destroy(&m[i]);
    }
    free(m);
    puts("ok");
    return 0;
}
