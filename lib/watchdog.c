/*
 * watchdog.c - the watchdog thread (see watchdog.h).
 */

#include "watchdog.h"
#include "options.h"
#include "thread.h"
#include "util.h"
#include "wait.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <time.h>

static atomic_bool running;

static void *watch(void *arg)
{
    (void)arg;
    lg__busy = 1; /* lockgraph's own: nothing it does is watched */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    prctl(PR_SET_NAME, "lockgraph-wd", 0, 0, 0);
    uint64_t threshold = (uint64_t)lg__opt.watchdog * 1000000000ull;
    /* A few looks per threshold: a wait is reported at most a quarter
     * threshold (and never more than a second) late. */
    uint64_t period = threshold / 4;
    if (period > 1000000000ull)
        period = 1000000000ull;
    if (period < 10000000ull)
        period = 10000000ull;
    for (;;) {
        struct timespec ts = {(time_t)(period / 1000000000ull), (long)(period % 1000000000ull)};
        nanosleep(&ts, NULL);
        lg__wait_scan(threshold);
    }
    return NULL;
}

void lg__watchdog_start(void)
{
    if (lg__opt.watchdog <= 0 || atomic_exchange(&running, true))
        return;
    pthread_attr_t attr;
    pthread_t th;
    int saved = lg__busy;
    lg__busy = 1;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (pthread_create(&th, &attr, watch, NULL) != 0) {
        lg__write_str(2, "lockgraph: could not start the watchdog thread\n");
        atomic_store(&running, false);
    }
    pthread_attr_destroy(&attr);
    lg__busy = saved;
}

void lg__watchdog_reset_child(void)
{
    atomic_store(&running, false);
    lg__watchdog_start();
}
