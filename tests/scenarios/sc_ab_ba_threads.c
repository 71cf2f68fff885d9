/* AB on one thread, then BA on another, one after the other: never hangs,
 * must be reported as a 2-lock cycle made by two threads. The locks are
 * named through lockgraph.h, which works with the library only preloaded. */
#include "sc.h"
#include <lockgraph.h>

static pthread_mutex_t a, b;

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
    pthread_mutex_init(&a, NULL);
    pthread_mutex_init(&b, NULL);
    lg_name_lock(&a, "lock A");
    lg_name_lock(&b, "lock B");
    sc_run(ab, NULL);
    sc_run(ba, NULL);
    puts("done");
    return 0;
}
