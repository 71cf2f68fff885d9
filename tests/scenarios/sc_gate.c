/* Gate (guard) locks. Mode (argv[1]):
 *   guarded     A then B and B then A, both always under gate G: only one
 *               thread can be inside at a time, no deadlock: nothing.
 *   escape      guarded, then one more thread takes B then A without G:
 *               now it can deadlock against the A-then-B path: one cycle.
 *   two_gates   A then B under G1, B then A under G2: a cycle.
 *   read_gate   the "gate" is an rwlock both threads hold for reading,
 *               which does not keep them apart: a cycle. */
#include "sc.h"
#include <string.h>

static pthread_mutex_t g1 = PTHREAD_MUTEX_INITIALIZER, g2 = PTHREAD_MUTEX_INITIALIZER,
                       a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rg = PTHREAD_RWLOCK_INITIALIZER;

struct path {
    pthread_mutex_t *gate; /* NULL: none */
    int read_gate;
    pthread_mutex_t *first, *second;
};

static void *walk(void *arg)
{
    struct path *p = arg;
    if (p->read_gate)
        pthread_rwlock_rdlock(&rg);
    if (p->gate)
        pthread_mutex_lock(p->gate);
    sc_lock2(p->first, p->second);
    if (p->gate)
        pthread_mutex_unlock(p->gate);
    if (p->read_gate)
        pthread_rwlock_unlock(&rg);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    struct path ab = {&g1, 0, &a, &b}, ba = {&g1, 0, &b, &a};
    if (!strcmp(mode, "two_gates"))
        ba.gate = &g2;
    if (!strcmp(mode, "read_gate")) {
        ab.gate = ba.gate = NULL;
        ab.read_gate = ba.read_gate = 1;
    }
    for (int i = 0; i < 3; i++) {
        sc_run(walk, &ab);
        sc_run(walk, &ba);
    }
    if (!strcmp(mode, "escape")) {
        struct path bare = {NULL, 0, &b, &a};
        sc_run(walk, &bare);
    }
    return 0;
}
