/*
 * watchdog.c - the watchdog thread (see watchdog.h).
 */

#include "watchdog.h"
#include "options.h"
#include "thread.h"
#include "util.h"
#include "wait.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static atomic_bool running;

static void *watch(void *arg)
{
    (void)arg;
    lg__own_thread_enter("lockgraph-wd");
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
    if (!lg__own_thread_start(watch)) {
        lg__write_str(2, "lockgraph: could not start the watchdog thread\n");
        atomic_store(&running, false);
    }
}

void lg__watchdog_reset_child(void)
{
    atomic_store(&running, false);
    lg__watchdog_start();
}
