#define _GNU_SOURCE
/* A recursive mutex relocked by its owner, with another lock taken inside
 * and outside in a consistent order: nothing to report, and no
 * unlock-not-held from the nested unlocks. */
#include "sc.h"
#include <lockgraph.h>

static pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t r2, m = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    /* Named before its first use: lockgraph learns it is recursive only
     * when it is first locked. */
    lg_name_lock(&r, "static recursive");
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&r2, &at);
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&r);
        pthread_mutex_lock(&r);
        pthread_mutex_lock(&m);
        pthread_mutex_lock(&r2);
        pthread_mutex_lock(&r2);
        pthread_mutex_unlock(&r2);
        pthread_mutex_unlock(&r2);
        pthread_mutex_unlock(&m);
        pthread_mutex_unlock(&r);
        pthread_mutex_lock(&m); /* m under r once, here without: fine */
        pthread_mutex_unlock(&m);
        pthread_mutex_unlock(&r);
    }
    return 0;
}
