/* A 5,000-lock cycle: lock i then lock i+1 for every i, the last pair
 * wrapping around to lock 0. One finding with all 5,000 locks. */
#include "sc.h"

enum { N = 5000 };
static pthread_mutex_t m[N];

int main(void)
{
    for (int i = 0; i < N; i++)
        pthread_mutex_init(&m[i], NULL);
    for (int i = 0; i < N; i++)
        sc_lock2(&m[i], &m[(i + 1) % N]);
    return 0;
}
