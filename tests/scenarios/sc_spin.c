/* Spinlocks: AB/BA between two spinlocks (one named before its first use),
 * and a mixed cycle between a mutex and a spinlock: two cycles, their locks
 * typed "spin". With the argument "relock", the owner takes a spinlock
 * again: a self-deadlock (it spins forever; the test kills it). */
#include "sc.h"
#include <lockgraph.h>
#include <string.h>

static pthread_spinlock_t a, b, s;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *ab(void *arg)
{
    (void)arg;
    pthread_spin_lock(&a);
    pthread_spin_lock(&b);
    pthread_spin_unlock(&b);
    pthread_spin_unlock(&a);
    return NULL;
}

static void *ba(void *arg)
{
    (void)arg;
    pthread_spin_lock(&b);
    pthread_spin_lock(&a);
    pthread_spin_unlock(&a);
    pthread_spin_unlock(&b);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_spin_init(&a, PTHREAD_PROCESS_PRIVATE);
    pthread_spin_init(&b, PTHREAD_PROCESS_PRIVATE);
    pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
    if (argc > 1 && strcmp(argv[1], "relock") == 0) {
        pthread_spin_lock(&s);
        pthread_spin_lock(&s); /* spins forever */
        return 1;
    }
    lg_name_lock(&b, "spin b");
    sc_run(ab, NULL);
    sc_run(ba, NULL);

    pthread_mutex_lock(&m);
    pthread_spin_lock(&s);
    pthread_spin_unlock(&s);
    pthread_mutex_unlock(&m);
    pthread_spin_lock(&s);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pthread_spin_unlock(&s);

    pthread_spin_destroy(&a);
    pthread_spin_destroy(&b);
    pthread_spin_destroy(&s);
    return 0;
}
