/* trylock back-off with every kind of lock, run concurrently: thread 1 takes
 * A then B blocking; thread 2 holds B and only try-locks A, backing off when
 * busy. Once with spinlocks, once with rwlocks written (trywrlock), once with
 * rwlocks read on the try side (tryrdlock against a writer): nothing. */
#define _GNU_SOURCE
#include "sc.h"
#include <sched.h>

static pthread_spinlock_t sa, sb;
static pthread_rwlock_t ra = PTHREAD_RWLOCK_INITIALIZER, rb = PTHREAD_RWLOCK_INITIALIZER;
static int kind; /* 0 spin, 1 rwlock write, 2 rwlock read on the try side */

/* Enough rounds to exercise the pattern; few enough that spinners on a
 * loaded 2-core machine (burning whole time slices while the holder is
 * descheduled) still finish well inside the runner's timeout. */
enum { ROUNDS = 1000 };

static void *forward(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (kind == 0) {
            pthread_spin_lock(&sa);
            pthread_spin_lock(&sb);
            pthread_spin_unlock(&sb);
            pthread_spin_unlock(&sa);
        } else {
            pthread_rwlock_wrlock(&ra);
            pthread_rwlock_wrlock(&rb);
            pthread_rwlock_unlock(&rb);
            pthread_rwlock_unlock(&ra);
        }
    }
    return NULL;
}

static void *backoff(void *arg)
{
    (void)arg;
    for (int got = 0; got < ROUNDS;) {
        if (kind == 0) {
            pthread_spin_lock(&sb);
            if (pthread_spin_trylock(&sa) == 0) {
                pthread_spin_unlock(&sa);
                got++;
            }
            pthread_spin_unlock(&sb);
        } else {
            pthread_rwlock_wrlock(&rb);
            int rc = kind == 1 ? pthread_rwlock_trywrlock(&ra) : pthread_rwlock_tryrdlock(&ra);
            if (rc == 0) {
                pthread_rwlock_unlock(&ra);
                got++;
            }
            pthread_rwlock_unlock(&rb);
        }
        sched_yield();
    }
    return NULL;
}

int main(void)
{
    pthread_spin_init(&sa, 0);
    pthread_spin_init(&sb, 0);
    for (kind = 0; kind < 3; kind++) {
        pthread_t t1, t2;
        pthread_create(&t1, NULL, forward, NULL);
        pthread_create(&t2, NULL, backoff, NULL);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
    }
    return 0;
}
