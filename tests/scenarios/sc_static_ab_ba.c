/* Statically initialized mutexes (no pthread_mutex_init call, ever) in
 * AB/BA across two threads: a cycle whose locks were first seen at lock. */
#include "sc.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

static void *ab(void *arg)
{
    (void)arg;
    sc_lock2(&a, &b);
    return NULL;
}

static void *ba(void *arg)
{
    (void)arg;
    sc_lock2(&b, &a);
    return NULL;
}

int main(void)
{
    sc_run(ab, NULL);
    sc_run(ba, NULL);
    return 0;
}
