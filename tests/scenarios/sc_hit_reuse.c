/* Identity under the known-order fast path: a thread takes A then the lock
 * at `slot` until that order is cached (the hit cache, lib/runtime.h, keyed
 * by the slot's address), then the lock at slot is replaced by another lock
 * of another kind (another init site, or never initialized) in the same
 * memory, and A then slot, slot then A are taken. That is a real cycle
 * between A and the new lock; a cache entry that outlived the old lock
 * would answer "known" for A then slot and the cycle would be missed.
 * Modes:
 *   destroy  destroyed, and initialized again at another site
 *   reinit   initialized again at another site, without destroy
 *   unmap    its page unmapped, and mapped again at the same address: a
 *            zeroed mutex (PTHREAD_MUTEX_INITIALIZER) never initialized
 *   rwlock   the same as destroy with a rwlock, write-locked after A, then
 *            read-locked before A */
#include "sc.h"
#include <string.h>
#include <sys/mman.h>

static pthread_mutex_t a;
static pthread_mutex_t *slot;

static void warm(void)
{
    for (int i = 0; i < 5; i++)
        sc_lock2(&a, slot);
}

static void *reverse(void *arg)
{
    (void)arg;
    sc_lock2(slot, &a);
    return NULL;
}

__attribute__((noinline)) static void init_old(pthread_mutex_t *m)
{
    pthread_mutex_init(m, NULL);
}

__attribute__((noinline)) static void init_new(pthread_mutex_t *m)
{
    pthread_mutex_init(m, NULL);
}

static pthread_rwlock_t rw;

__attribute__((noinline)) static void rw_init_old(void)
{
    pthread_rwlock_init(&rw, NULL);
}

__attribute__((noinline)) static void rw_init_new(void)
{
    pthread_rwlock_init(&rw, NULL);
}

static void a_then_rw(void)
{
    pthread_mutex_lock(&a);
    pthread_rwlock_wrlock(&rw);
    pthread_rwlock_unlock(&rw);
    pthread_mutex_unlock(&a);
}

static void *rw_then_a(void *arg)
{
    (void)arg;
    pthread_rwlock_rdlock(&rw);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_rwlock_unlock(&rw);
    return NULL;
}

static int rwlock_mode(void)
{
    rw_init_old();
    for (int i = 0; i < 5; i++)
        a_then_rw();
    pthread_rwlock_destroy(&rw);
    rw_init_new();
    a_then_rw();
    sc_run(rw_then_a, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "destroy";
    if (!strcmp(mode, "rwlock")) {
        pthread_mutex_init(&a, NULL);
        return rwlock_mode();
    }
    pthread_mutex_init(&a, NULL);
    slot = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slot == MAP_FAILED)
        return 3;
    init_old(slot);
    warm();
    if (!strcmp(mode, "destroy")) {
        pthread_mutex_destroy(slot);
        init_new(slot);
    } else if (!strcmp(mode, "reinit")) {
        init_new(slot);
    } else if (!strcmp(mode, "unmap")) {
        void *old = slot;
        munmap(old, 4096);
        slot = mmap(old, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (slot != old) {
            fprintf(stderr, "sc_hit_reuse: the page did not map at the same address\n");
            return 4;
        }
    } else {
        fprintf(stderr, "sc_hit_reuse: unknown mode %s\n", mode);
        return 2;
    }
    sc_lock2(&a, slot);
    sc_run(reverse, NULL);
    return 0;
}
