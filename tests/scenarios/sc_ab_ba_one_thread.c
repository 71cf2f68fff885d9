/* AB then BA on the same thread: still a cycle (tomorrow the two paths may
 * run on two threads), reported with single_thread=true. */
#include "sc.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    sc_lock2(&a, &b);
    sc_lock2(&b, &a);
    return 0;
}
