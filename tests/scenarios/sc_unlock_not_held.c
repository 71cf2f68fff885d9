/* Unlock of a mutex the thread does not hold: an error-checking mutex, so
 * the program itself survives it (EPERM); and a mutex locked by another
 * thread, unlocked here. Two unlock-not-held findings. */
#include "sc.h"
#include <errno.h>

static pthread_mutex_t e, held_elsewhere;

static void *taker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&held_elsewhere);
    return NULL; /* also leaves holding it: held-at-exit */
}

int main(void)
{
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&e, &at);
    pthread_mutex_init(&held_elsewhere, &at);
    int rc = pthread_mutex_unlock(&e);
    sc_run(taker, NULL);
    pthread_mutex_unlock(&held_elsewhere);
    return rc == EPERM ? 0 : 1;
}
