/* Sleeping while holding a lock. Modes:
 *   held      nanosleep, clock_nanosleep, usleep, each 1 us: 3
 *   nolock    the same with no lock held: nothing
 *   nonblock  zero durations (and sleep(0)) under the lock: nothing
 * (sleep(1) under a lock is in sc_cancel_held.)
 */
#define _GNU_SOURCE
#include "sc.h"
#include <lockgraph.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void naps(int locked, long ns)
{
    struct timespec ts = {0, ns};
    if (locked)
        pthread_mutex_lock(&m);
    nanosleep(&ts, NULL);
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    usleep((useconds_t)(ns / 1000));
    if (!ns)
        sleep(0);
    if (locked)
        pthread_mutex_unlock(&m);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "held";
    lg_name_lock(&m, "sleep lock");
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    if (!strcmp(mode, "held"))
        naps(1, 1000);
    else if (!strcmp(mode, "nolock"))
        naps(0, 1000);
    else if (!strcmp(mode, "nonblock"))
        naps(1, 0);
    else
        return 2;
    return 0;
}
