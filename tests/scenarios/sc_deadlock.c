/* Real deadlocks and stalls, for the wait-for chain and the watchdog.
 * argv[1] picks one:
 *
 *   two        AB/BA behind a barrier: hangs for good (the test kills it)
 *   known      "two", after each thread took its order five times without
 *              contention (one after the other): both orders are cached
 *              (lib/runtime.h's hit cache) when the threads meet: hangs
 *   three      A->B, B->C, C->A over three threads: hangs
 *   rwlock     a writer and a mutex: T1 write-holds R and waits for M, T2
 *              holds M and waits to write R: hangs
 *   readers    T1 read-holds R and waits for M, T2 holds M and waits to
 *              write R (the owner is a reader): hangs
 *   spin       T1 holds spinlock S and waits for M, T2 holds M and spins on
 *              S: hangs (spinning)
 *   long_wait  T2 waits for a lock T1 holds until the long-wait finding is
 *              written (with watchdog=1: after 1 s; at most 30 s), then gets
 *              it: exits 0
 *   long_hold  one site holds a lock 60 ms, three times; another 1 ms: exit 0
 *   timed      AB/BA where both sides retry timedlock every 10 ms until the
 *              stall is reported (at most 30 s), then give up: exits 0 (a
 *              stall, not a hang)
 *   fork       forks; parent and child take a lock and exit: exit 0
 */
#include "sc.h"
#include <errno.h>
#include <stdbool.h>
#include <lockgraph.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
                       c = PTHREAD_MUTEX_INITIALIZER, m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static pthread_barrier_t bar;

struct pair {
    pthread_mutex_t *first, *second;
};

static void *take_two(void *arg)
{
    struct pair *p = arg;
    pthread_mutex_lock(p->first);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(p->second);
    return NULL;
}

/* take_two, after taking the pair five times while the other thread waits
 * at the first barrier (or has passed it). */
static pthread_barrier_t warm;

static void *warm_then_two(void *arg)
{
    struct pair *p = arg;
    bool first = p->first == &a;
    if (!first)
        pthread_barrier_wait(&warm);
    for (int i = 0; i < 5; i++) {
        pthread_mutex_lock(p->first);
        pthread_mutex_lock(p->second);
        pthread_mutex_unlock(p->second);
        pthread_mutex_unlock(p->first);
    }
    if (first)
        pthread_barrier_wait(&warm);
    pthread_barrier_wait(&warm);
    return take_two(p);
}

static void *rw_writer(void *arg)
{
    (void)arg;
    pthread_rwlock_wrlock(&rw);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&m);
    return NULL;
}

static void *rw_reader(void *arg)
{
    (void)arg;
    pthread_rwlock_rdlock(&rw);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&m);
    return NULL;
}

static void *m_then_write(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_barrier_wait(&bar);
    usleep(20000);
    pthread_rwlock_wrlock(&rw);
    return NULL;
}

static void *spin_holder(void *arg)
{
    (void)arg;
    pthread_spin_lock(&spin);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&m);
    return NULL;
}

static void *m_then_spin(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_barrier_wait(&bar);
    usleep(20000);
    pthread_spin_lock(&spin);
    return NULL;
}

/* Until lockgraph has said something (so a loaded machine cannot make the
 * test race the watchdog), or give up after max_ms. */
static void until_reported(int max_ms)
{
    for (int i = 0; i < max_ms / 10 && lg_finding_count() == 0; i++)
        usleep(10000);
}

static void *hold_a_while(void *arg)
{
    pthread_mutex_lock(&a);
    pthread_barrier_wait(&bar);
    until_reported((int)(long)arg);
    pthread_mutex_unlock(&a);
    return NULL;
}

static void *wait_for_a(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    return NULL;
}

static void hold(pthread_mutex_t *l, useconds_t us)
{
    pthread_mutex_lock(l);
    usleep(us);
    pthread_mutex_unlock(l);
}

static void *timed_two(void *arg)
{
    struct pair *p = arg;
    pthread_mutex_lock(p->first);
    pthread_barrier_wait(&bar);
    /* the lock-order cycle is reported first, then the stall */
    for (int i = 0; i < 3000 && lg_finding_count() < 2; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (pthread_mutex_timedlock(p->second, &ts) == 0) {
            pthread_mutex_unlock(p->second);
            break;
        }
    }
    pthread_mutex_unlock(p->first);
    return NULL;
}

static void run2(void *(*f1)(void *), void *a1, void *(*f2)(void *), void *a2)
{
    pthread_t t1, t2;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&t1, NULL, f1, a1);
    pthread_create(&t2, NULL, f2, a2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "two";
    pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
    if (strcmp(mode, "two") == 0) {
        struct pair p1 = {&a, &b}, p2 = {&b, &a};
        run2(take_two, &p1, take_two, &p2);
    } else if (strcmp(mode, "known") == 0) {
        struct pair p1 = {&a, &b}, p2 = {&b, &a};
        pthread_barrier_init(&warm, NULL, 2);
        run2(warm_then_two, &p1, warm_then_two, &p2);
    } else if (strcmp(mode, "three") == 0) {
        struct pair p[3] = {{&a, &b}, {&b, &c}, {&c, &a}};
        pthread_t t[3];
        pthread_barrier_init(&bar, NULL, 3);
        for (int i = 0; i < 3; i++)
            pthread_create(&t[i], NULL, take_two, &p[i]);
        for (int i = 0; i < 3; i++)
            pthread_join(t[i], NULL);
    } else if (strcmp(mode, "rwlock") == 0) {
        run2(rw_writer, NULL, m_then_write, NULL);
    } else if (strcmp(mode, "readers") == 0) {
        run2(rw_reader, NULL, m_then_write, NULL);
    } else if (strcmp(mode, "spin") == 0) {
        run2(spin_holder, NULL, m_then_spin, NULL);
    } else if (strcmp(mode, "long_wait") == 0) {
        run2(hold_a_while, (void *)30000L, wait_for_a, NULL);
    } else if (strcmp(mode, "long_hold") == 0) {
        for (int i = 0; i < 3; i++)
            hold(&a, 60000);
        hold(&b, 1000);
    } else if (strcmp(mode, "timed") == 0) {
        struct pair p1 = {&a, &b}, p2 = {&b, &a};
        run2(timed_two, &p1, timed_two, &p2);
    } else if (strcmp(mode, "fork") == 0) {
        hold(&a, 1000);
        pid_t pid = fork();
        if (pid == 0) {
            hold(&a, 1000);
            usleep(50000);
            _exit(0);
        }
        hold(&a, 1000);
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 3;
    } else {
        return 2;
    }
    return 0;
}
