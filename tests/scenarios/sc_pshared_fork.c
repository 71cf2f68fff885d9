/*
 * sc_pshared_fork - a process-shared mutex and rwlock in shared memory, held
 * by the parent across fork (the rwlock for reading); the child then takes
 * both, the rwlock for writing. They are the parent's locks: the child waits
 * for the parent to let go, which it does right after the fork. Nothing to
 * report; before, the child's first lock of each was a self-deadlock.
 *
 *   sc_pshared_fork [rw]     rw: the rwlock alone
 *   sc_pshared_fork thread   another thread holds both at the fork, and
 *                            lets go after it: the child waits for the
 *                            parent, no lock of it is locked for good (no
 *                            gone owner, no fork-with-locks-held)
 */
#include "sc.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct shm {
    pthread_mutex_t m;
    pthread_rwlock_t rw;
};
static pthread_barrier_t bar;

static void *hold_both(void *arg)
{
    struct shm *s = arg;
    pthread_mutex_lock(&s->m);
    pthread_rwlock_rdlock(&s->rw);
    pthread_barrier_wait(&bar); /* held: fork now */
    pthread_barrier_wait(&bar); /* forked */
    pthread_rwlock_unlock(&s->rw);
    pthread_mutex_unlock(&s->m);
    return NULL;
}

int main(int argc, char **argv)
{
    bool with_mutex = !(argc > 1 && !strcmp(argv[1], "rw"));
    bool by_thread = argc > 1 && !strcmp(argv[1], "thread");
    struct shm *s =
        mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        return 3;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->m, &ma);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED);
    pthread_rwlock_init(&s->rw, &ra);

    if (by_thread) {
        pthread_t t;
        pthread_barrier_init(&bar, NULL, 2);
        pthread_create(&t, NULL, hold_both, s);
        pthread_barrier_wait(&bar);
        pid_t pid = fork();
        if (pid == 0) {
            pthread_mutex_lock(&s->m); /* held by the parent's thread, which lets go */
            pthread_rwlock_wrlock(&s->rw);
            pthread_rwlock_unlock(&s->rw);
            pthread_mutex_unlock(&s->m);
            _exit(0);
        }
        pthread_barrier_wait(&bar);
        pthread_join(t, NULL);
        int st;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4;
    }
    if (with_mutex)
        pthread_mutex_lock(&s->m);
    /* read-held: a write by the thread holding it would wait for itself */
    pthread_rwlock_rdlock(&s->rw);
    pid_t pid = fork();
    if (pid == 0) {
        if (with_mutex)
            pthread_mutex_lock(&s->m);
        pthread_rwlock_wrlock(&s->rw);
        pthread_rwlock_unlock(&s->rw);
        if (with_mutex)
            pthread_mutex_unlock(&s->m);
        _exit(0);
    }
    pthread_rwlock_unlock(&s->rw);
    if (with_mutex)
        pthread_mutex_unlock(&s->m);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4;
}
