/* Condition variables.
 *   inversion: holding m then x, a timed wait on m gives m back and takes it
 *              again while x is held: x -> m against m -> x, one cycle.
 *   queue:     a producer and 4 consumers on a queue guarded by m, with a
 *              stats lock always taken under m: nothing to report.
 *   cancel:    a thread cancelled inside pthread_cond_wait gets m back
 *              before its cleanup handler runs; the handler takes x under
 *              m, then unlocks m. Then main takes x, then m: exactly one
 *              cycle (m -> x in the handler, x -> m in main), and no
 *              unlock-not-held or held-at-exit. Only a detector that keeps
 *              tracking through cancellation, with m held, sees m -> x. */
#include "sc.h"
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, x = PTHREAD_MUTEX_INITIALIZER,
                       stats = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int queue, done, consumed;

static void inversion(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&m);
    pthread_mutex_lock(&x);
    pthread_cond_timedwait(&c, &m, &ts); /* times out, takes m back under x */
    pthread_mutex_unlock(&x);
    pthread_mutex_unlock(&m);
}

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    for (;;) {
        while (queue == 0 && !done)
            pthread_cond_wait(&c, &m);
        if (queue == 0 && done)
            break;
        queue--;
        pthread_mutex_lock(&stats);
        consumed++;
        pthread_mutex_unlock(&stats);
    }
    pthread_mutex_unlock(&m);
    return NULL;
}

static int run_queue(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, consumer, NULL);
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&m);
        queue++;
        pthread_cond_signal(&c);
        pthread_mutex_unlock(&m);
    }
    pthread_mutex_lock(&m);
    done = 1;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return consumed == 20000 ? 0 : 1;
}

static void unlock_m(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&x);
    pthread_mutex_unlock(&x);
    pthread_mutex_unlock(&m);
}

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_cleanup_push(unlock_m, NULL);
    for (;;)
        pthread_cond_wait(&c, &m);
    pthread_cleanup_pop(1);
    return NULL;
}

static int run_cancel(void)
{
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    usleep(50000);
    pthread_cancel(t);
    void *res;
    pthread_join(t, &res);
    /* m must be free again */
    if (pthread_mutex_trylock(&m) != 0)
        return 1;
    pthread_mutex_unlock(&m);
    pthread_mutex_lock(&x);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pthread_mutex_unlock(&x);
    return res == PTHREAD_CANCELED ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "inversion") == 0) {
        inversion();
        return 0;
    }
    if (strcmp(mode, "queue") == 0)
        return run_queue();
    if (strcmp(mode, "cancel") == 0)
        return run_cancel();
    return 3;
}
