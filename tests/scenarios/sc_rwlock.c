/* rwlocks and the reader rule. Mode (argv[1]):
 *   rr        rdlock R then lock M; lock M then rdlock R: readers never wait
 *             for readers on a reader-preferring rwlock: nothing.
 *   wr        wrlock R then M; M then rdlock R: a cycle.
 *   rw        rdlock R then M; M then wrlock R: a cycle.
 *   wpref     rr, on a writer-preferring rwlock
 *             (PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP): a reader can
 *             wait behind a queued writer, so a cycle.
 *   wpref_np  rr with PTHREAD_RWLOCK_PREFER_WRITER_NP, which glibc treats
 *             as reader-preferring: nothing.
 *   reread    a reader-preferring rwlock read twice by one thread, with M
 *             taken under it: nothing.
 *   static    wr with a statically initialized rwlock: a cycle.
 *   self      rdlock R then wrlock R: a self-deadlock (hangs; killed).
 *   timed     wr, the second thread using pthread_rwlock_timedrdlock: a
 *             cycle marked timed (it would stall, not hang). */
#define _GNU_SOURCE
#include "sc.h"
#include <string.h>
#include <time.h>

static pthread_rwlock_t r, rs = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t *rp = &r;
static int first_write, second_write;

static int timed;

static void take(int write)
{
    if (timed && !write) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        pthread_rwlock_timedrdlock(rp, &ts);
        return;
    }
    if (write)
        pthread_rwlock_wrlock(rp);
    else
        pthread_rwlock_rdlock(rp);
}

static void *r_then_m(void *arg)
{
    (void)arg;
    take(first_write);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pthread_rwlock_unlock(rp);
    return NULL;
}

static void *m_then_r(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    take(second_write);
    pthread_rwlock_unlock(rp);
    pthread_mutex_unlock(&m);
    return NULL;
}

static void init_kind(int kind)
{
    pthread_rwlockattr_t at;
    pthread_rwlockattr_init(&at);
    pthread_rwlockattr_setkind_np(&at, kind);
    pthread_rwlock_init(&r, &at);
}

static void pattern(int w1, int w2)
{
    first_write = w1;
    second_write = w2;
    sc_run(r_then_m, NULL);
    sc_run(m_then_r, NULL);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "wpref"))
        init_kind(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    else if (!strcmp(mode, "wpref_np"))
        init_kind(PTHREAD_RWLOCK_PREFER_WRITER_NP);
    else
        pthread_rwlock_init(&r, NULL);

    if (!strcmp(mode, "rr") || !strcmp(mode, "wpref") || !strcmp(mode, "wpref_np"))
        pattern(0, 0);
    else if (!strcmp(mode, "wr"))
        pattern(1, 0);
    else if (!strcmp(mode, "timed")) {
        timed = 1;
        pattern(1, 0);
    }
    else if (!strcmp(mode, "rw"))
        pattern(0, 1);
    else if (!strcmp(mode, "static")) {
        rp = &rs;
        pattern(1, 0);
    } else if (!strcmp(mode, "reread")) {
        pthread_rwlock_rdlock(&r);
        pthread_rwlock_rdlock(&r);
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
        pthread_rwlock_unlock(&r);
        pthread_rwlock_unlock(&r);
        pattern(0, 0);
    } else if (!strcmp(mode, "self")) {
        pthread_rwlock_rdlock(&r);
        pthread_rwlock_wrlock(&r); /* waits for itself */
        return 1;
    } else
        return 3;
    pthread_rwlock_destroy(&r);
    return 0;
}
