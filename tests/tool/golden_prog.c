/*
 * golden_prog.c - the program whose findings the report tests record and
 * check against golden output (test_report.sh). Built with -g -O0 so every
 * function, file and line in the report can be checked; its threads run
 * one after the other so the findings come in the same order every time,
 * and the program never hangs.
 *
 *   report   every kind the report renders: a lock-order cycle between two
 *            named accounts (transfer() in both orders, on two tellers), a
 *            timed self-deadlock, an unlock of a lock not held, a thread
 *            ending with a lock held, and a rank violation
 *   left     only savings -> checking (for merge: half a cycle)
 *   right    only checking -> savings (the other half)
 *
 * Line numbers matter: tests/tool/data/golden-report.expected names them.
 * Add code at the end of the file.
 */
#define _GNU_SOURCE
#include <lockgraph.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t savings = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t checking = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t config = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t queue;
static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t journal = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void transfer(pthread_mutex_t *from, pthread_mutex_t *to)
{
    pthread_mutex_lock(from);
    pthread_mutex_lock(to);
    pthread_mutex_unlock(to);
    pthread_mutex_unlock(from);
}

static void *teller_to_checking(void *arg)
{
    (void)arg;
    transfer(&savings, &checking);
    return NULL;
}

static void *teller_to_savings(void *arg)
{
    (void)arg;
    transfer(&checking, &savings);
    return NULL;
}

__attribute__((noinline)) static void reload_config(void)
{
    struct timespec t;
    pthread_mutex_lock(&config);
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += 20 * 1000 * 1000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    pthread_mutex_timedlock(&config, &t); /* times out: a self-deadlock that stalls */
    pthread_mutex_unlock(&config);
}

__attribute__((noinline)) static void release_twice(void)
{
    pthread_mutex_t m;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &a);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pthread_mutex_unlock(&m); /* not held: EPERM, and a finding */
    pthread_mutex_destroy(&m);
}

static void *forgetful_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&queue);
    return NULL; /* ends holding the queue lock */
}

__attribute__((noinline)) static void journal_then_table(void)
{
    pthread_mutex_lock(&journal);
    pthread_mutex_lock(&table); /* rank 10 under rank 30 */
    pthread_mutex_unlock(&table);
    pthread_mutex_unlock(&journal);
}

struct job {
    void *(*fn)(void *);
    const char *name;
};

/* The thread names itself before it takes any lock: findings name it. */
static void *named(void *arg)
{
    struct job *j = arg;
    pthread_setname_np(pthread_self(), j->name);
    return j->fn(NULL);
}

static void run(void *(*fn)(void *), const char *name)
{
    pthread_t t;
    struct job j = {fn, name};
    pthread_create(&t, NULL, named, &j);
    pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "report";
    lg_name_lock(&savings, "savings");
    lg_name_lock(&checking, "checking");
    pthread_mutex_init(&queue, NULL);
    lg_name_lock(&queue, "queue");
    if (strcmp(mode, "left") == 0) {
        run(teller_to_checking, "teller-a");
        return 0;
    }
    if (strcmp(mode, "right") == 0) {
        run(teller_to_savings, "teller-b");
        return 0;
    }
    run(teller_to_checking, "teller-a");
    run(teller_to_savings, "teller-b");
    reload_config();
    release_twice();
    run(forgetful_worker, "forgetful");
    lg_rank_lock(&table, 10, "table");
    lg_rank_lock(&journal, 30, "journal");
    journal_then_table();
    puts("golden_prog: done");
    return 0;
}
