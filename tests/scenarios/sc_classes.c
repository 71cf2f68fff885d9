/* Lock classes: inversions between kinds of lock on different objects,
 * locks made through a wrapper, locks of one class held together, and the
 * instances behind them coming and going.
 *
 *   sc_classes MODE
 *
 *   conn          conn_update(c1): conn lock, then table; table_sweep(c2):
 *                 table, then conn lock. No connection is taken both ways,
 *                 yet the day both meet on one it hangs: a class cycle.
 *   conn-same     the same on one connection: the locks close it themselves.
 *   helper        conn and table locks both made by a mutex_create() helper:
 *                 the same class cycle, seen through the wrapper.
 *   wrapper-quiet a database made of wrapper mutexes (Mutex_init): db ->
 *                 stats -> shard by instance. By init site alone "wrapper ->
 *                 stats -> wrapper" would be a false cycle.
 *   nest-address  bucket locks of one class nested in address order, under
 *                 a global lock and without: quiet.
 *   nest-any      transfer(a, b) and transfer(b, a) on accounts of one
 *                 class: an instance cycle.
 *   nest-stable   locks of one class nested in an order that is not the
 *                 address order but never inverted: quiet.
 *   reuse-class   a lock taken under G is destroyed; a lock of another class
 *                 made in its memory is taken over G: quiet.
 *   dead-inverse  nested a -> b (one class); b destroyed; a new b' in its
 *                 place nested b' -> a: quiet (b is gone).
 *   unlock-other  T1 locks M; main unlocks it (a default mutex allows it);
 *                 T1 then takes N; later main takes N then M: no false
 *                 cycle, no held-at-exit for T1, one unlock-not-held.
 *   freed-held    an object's mutex is locked and the object freed:
 *                 held-lock-freed, and the thread's hold ends with it.
 *   destroy-held  an rwlock read-held by a thread is destroyed by main:
 *                 held-lock-freed naming that thread.
 *   churn-rss     400,000 short-lived locks in 4 phases (init, nest under a
 *                 global, destroy, free): exits 5 if the RSS grew by more than
 *                 64 MiB from phase 1 to phase 4 (the target is 8 MiB).
 *   forked-MODE   MODE in a child of a fork made before any lock: the child
 *                 decides wrappers with the module table its parent made
 *                 for it before the fork (lockgraph's fork handler).
 */
#include "sc.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- connections and a table --------------------------------------- */

struct conn {
    pthread_mutex_t *lock;
    int id;
};
static pthread_mutex_t *table_lock;
static bool through_helper;

/* A C lock wrapper: every lock of the program made here. */
__attribute__((noinline)) pthread_mutex_t *mutex_create(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    pthread_mutex_init(m, NULL);
    return m;
}

__attribute__((noinline)) static struct conn *conn_new(int id)
{
    struct conn *c = calloc(1, sizeof(*c));
    c->id = id;
    if (through_helper) {
        c->lock = mutex_create();
    } else {
        c->lock = malloc(sizeof(*c->lock));
        pthread_mutex_init(c->lock, NULL);
    }
    return c;
}

__attribute__((noinline)) static void table_new(void)
{
    if (through_helper) {
        table_lock = mutex_create();
    } else {
        table_lock = malloc(sizeof(*table_lock));
        pthread_mutex_init(table_lock, NULL);
    }
}

static void conn_update(struct conn *c)
{
    pthread_mutex_lock(c->lock);
    pthread_mutex_lock(table_lock);
    pthread_mutex_unlock(table_lock);
    pthread_mutex_unlock(c->lock);
}

static void table_sweep(struct conn *c)
{
    pthread_mutex_lock(table_lock);
    pthread_mutex_lock(c->lock);
    pthread_mutex_unlock(c->lock);
    pthread_mutex_unlock(table_lock);
}

static void *update_thread(void *arg)
{
    conn_update(arg);
    return NULL;
}

static int conns(bool same)
{
    table_new();
    struct conn *c1 = conn_new(1), *c2 = same ? c1 : conn_new(2);
    sc_run(update_thread, c1);
    table_sweep(c2);
    return 0;
}

/* ---- a database of wrapper mutexes ---------------------------------- */

struct Mutex {
    pthread_mutex_t mu;
};

/* Like port::Mutex's constructor: every Mutex is made here. */
__attribute__((noinline)) void Mutex_init(struct Mutex *m)
{
    pthread_mutex_init(&m->mu, NULL);
}

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

struct db {
    struct Mutex mutex;
    struct Mutex shard[4];
};

__attribute__((noinline)) static void cache_new(struct db *d)
{
    for (int i = 0; i < 4; i++)
        Mutex_init(&d->shard[i]);
}

__attribute__((noinline)) static struct db *db_open(void)
{
    struct db *d = calloc(1, sizeof(*d));
    Mutex_init(&d->mutex);
    cache_new(d);
    return d;
}

static int wrapper_quiet(void)
{
    struct db *d = db_open();
    for (int i = 0; i < 4; i++) {
        /* db -> stats */
        pthread_mutex_lock(&d->mutex.mu);
        pthread_mutex_lock(&stats_lock);
        pthread_mutex_unlock(&stats_lock);
        pthread_mutex_unlock(&d->mutex.mu);
        /* stats -> shard */
        pthread_mutex_lock(&stats_lock);
        pthread_mutex_lock(&d->shard[i].mu);
        pthread_mutex_unlock(&d->shard[i].mu);
        pthread_mutex_unlock(&stats_lock);
    }
    return 0;
}

/* ---- one class held together ---------------------------------------- */

enum { NB = 64 };
static pthread_mutex_t *bucket[NB];
static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;

static void make_buckets(void)
{
    pthread_mutex_t *all = calloc(NB, sizeof(*all));
    for (int i = 0; i < NB; i++) {
        bucket[i] = &all[i];
        pthread_mutex_init(bucket[i], NULL); /* one site: one class */
    }
}

static int nest_address(void)
{
    make_buckets();
    unsigned s = 12345;
    for (int k = 0; k < 2000; k++) {
        s = s * 1103515245u + 12345u;
        int i = (int)((s >> 8) % NB), j = (int)((s >> 20) % NB);
        if (i == j)
            continue;
        pthread_mutex_t *lo = bucket[i] < bucket[j] ? bucket[i] : bucket[j];
        pthread_mutex_t *hi = lo == bucket[i] ? bucket[j] : bucket[i];
        if (k & 1)
            pthread_mutex_lock(&global);
        sc_lock2(lo, hi);
        if (k & 1)
            pthread_mutex_unlock(&global);
    }
    return 0;
}

static void transfer(pthread_mutex_t *from, pthread_mutex_t *to)
{
    sc_lock2(from, to);
}

static void *transfer_back(void *arg)
{
    (void)arg;
    transfer(bucket[7], bucket[3]);
    return NULL;
}

static int nest_any(void)
{
    make_buckets();
    transfer(bucket[3], bucket[7]);
    sc_run(transfer_back, NULL);
    return 0;
}

static int nest_stable(void)
{
    make_buckets();
    /* a chain against the address order, again and again: 9 -> 8 -> ... */
    for (int round = 0; round < 10; round++)
        for (int i = 9; i > 0; i--)
            sc_lock2(bucket[i], bucket[i - 1]);
    return 0;
}

/* ---- identity ------------------------------------------------------- */

__attribute__((noinline)) static void init_here(pthread_mutex_t *m)
{
    pthread_mutex_init(m, NULL);
}

__attribute__((noinline)) static void init_there(pthread_mutex_t *m)
{
    pthread_mutex_init(m, NULL);
}

static int reuse_class(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    init_here(m);
    sc_lock2(&global, m); /* G -> here */
    pthread_mutex_destroy(m);
    init_there(m);
    sc_lock2(m, &global); /* there -> G: another class */
    return 0;
}

static int dead_inverse(void)
{
    make_buckets();
    sc_lock2(bucket[1], bucket[2]);
    pthread_mutex_destroy(bucket[2]);
    pthread_mutex_init(bucket[2], NULL); /* the same site: the same class */
    sc_lock2(bucket[2], bucket[1]);
    return 0;
}

/* ---- ownership ------------------------------------------------------ */

static pthread_mutex_t m_own = PTHREAD_MUTEX_INITIALIZER, n_own = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t bar;

static void *owner_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m_own);
    pthread_barrier_wait(&bar); /* main unlocks m_own now */
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&n_own); /* m_own is not held any more: no m -> n */
    pthread_mutex_unlock(&n_own);
    return NULL;
}

static int unlock_other(void)
{
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, owner_thread, NULL);
    pthread_barrier_wait(&bar);
    pthread_mutex_unlock(&m_own); /* another thread's lock */
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    sc_lock2(&n_own, &m_own); /* n -> m: fine, nobody took m -> n */
    return 0;
}

struct obj {
    long payload;
    pthread_mutex_t lock;
};

static int freed_held(void)
{
    struct obj *o = malloc(sizeof(*o));
    pthread_mutex_init(&o->lock, NULL);
    pthread_mutex_lock(&o->lock);
    free(o); /* the lock goes while held */
    return 0;
}

static pthread_rwlock_t *rw;

static void *reader_thread(void *arg)
{
    (void)arg;
    pthread_rwlock_rdlock(rw);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar); /* main destroys it meanwhile */
    return NULL;
}

static int destroy_held(void)
{
    rw = malloc(sizeof(*rw));
    pthread_rwlock_init(rw, NULL);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, reader_thread, NULL);
    pthread_barrier_wait(&bar);
    pthread_rwlock_destroy(rw); /* glibc allows it; the reader still holds it */
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    free(rw);
    return 0;
}

/* ---- memory --------------------------------------------------------- */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int churn_rss(void)
{
    long after[4];
    for (int phase = 0; phase < 4; phase++) {
        for (int i = 0; i < 100000; i++) {
            pthread_mutex_t *m = malloc(sizeof(*m));
            pthread_mutex_init(m, NULL);
            sc_lock2(&global, m);
            pthread_mutex_destroy(m);
            free(m);
        }
        after[phase] = rss_kib();
    }
    fprintf(stderr, "sc_classes churn-rss: RSS after each phase (KiB): %ld %ld %ld %ld\n",
            after[0], after[1], after[2], after[3]);
    return after[3] - after[0] > 64 * 1024 ? 5 : 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strncmp(mode, "forked-", 7) == 0) {
        pid_t p = fork();
        if (p < 0)
            return 3;
        if (p == 0) {
            char *args[] = {argv[0], (char *)mode + 7, NULL};
            return main(2, args);
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
            return 3;
        return WEXITSTATUS(st);
    }
    if (strcmp(mode, "conn") == 0)
        return conns(false);
    if (strcmp(mode, "conn-same") == 0)
        return conns(true);
    if (strcmp(mode, "helper") == 0) {
        through_helper = true;
        return conns(false);
    }
    if (strcmp(mode, "wrapper-quiet") == 0)
        return wrapper_quiet();
    if (strcmp(mode, "nest-address") == 0)
        return nest_address();
    if (strcmp(mode, "nest-any") == 0)
        return nest_any();
    if (strcmp(mode, "nest-stable") == 0)
        return nest_stable();
    if (strcmp(mode, "reuse-class") == 0)
        return reuse_class();
    if (strcmp(mode, "dead-inverse") == 0)
        return dead_inverse();
    if (strcmp(mode, "unlock-other") == 0)
        return unlock_other();
    if (strcmp(mode, "freed-held") == 0)
        return freed_held();
    if (strcmp(mode, "destroy-held") == 0)
        return destroy_held();
    if (strcmp(mode, "churn-rss") == 0)
        return churn_rss();
    fprintf(stderr, "unknown mode '%s'\n", mode);
    return 3;
}
