/* Identity: A then B; both destroyed; two new mutexes initialized in the
 * same memory are then taken in the opposite order. The old A->B edge
 * belongs to locks that no longer exist: nothing to report. The same with
 * static-style reuse: a mutex re-initialized without destroy. */
#include "sc.h"
#include <string.h>

static pthread_mutex_t slots[2];

int main(void)
{
    pthread_mutex_init(&slots[0], NULL);
    pthread_mutex_init(&slots[1], NULL);
    sc_lock2(&slots[0], &slots[1]);
    pthread_mutex_destroy(&slots[0]);
    pthread_mutex_destroy(&slots[1]);

    pthread_mutex_init(&slots[0], NULL);
    pthread_mutex_init(&slots[1], NULL);
    sc_lock2(&slots[1], &slots[0]);

    /* re-initialized in place, no destroy */
    pthread_mutex_init(&slots[0], NULL);
    pthread_mutex_init(&slots[1], NULL);
    sc_lock2(&slots[0], &slots[1]);
    return 0;
}
