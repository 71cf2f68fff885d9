/* A lock's memory freed without pthread_mutex_destroy and reused: objects
 * from calloc carry a zeroed, never-initialized mutex (valid in glibc), are
 * locked A then B, and freed with no destroy. New objects that land in the
 * same memory are locked in the opposite order: different locks, no
 * deadlock, nothing to report. Exits 4 if the allocator never gave the
 * memory back (the test would then prove nothing). With the argument
 * "keep", the objects are not freed and the same locks are inverted: a
 * real cycle, which must still be reported. With "grown", the first pair is
 * locked, then 20,000 more locks are made and kept before it is freed:
 * lockgraph's tables (and the page counts free() asks) are rebuilt bigger
 * several times meanwhile, and must still know the first pair's pages:
 * memory that comes back is locked in the other order, nothing to report. */
#include "sc.h"
#include <string.h>

struct obj {
    long payload;
    pthread_mutex_t lock; /* zeroed by calloc: a default mutex, no init */
};

/* "grown": the first pair, then 20,000 more locks, then the pair's memory
 * freed and taken back. The allocator may hand other blocks out first
 * (jemalloc's thread cache can flush), so blocks of the same size are taken
 * until both old addresses come back, and kept meanwhile. */
static int grown(void)
{
    struct obj *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    sc_lock2(&a->lock, &b->lock);
    enum { MORE = 20000, KEEP = 100000 };
    pthread_mutex_t *more = calloc(MORE, sizeof(*more));
    for (int i = 0; i < MORE; i++) {
        pthread_mutex_init(&more[i], NULL);
        pthread_mutex_lock(&more[i]);
        pthread_mutex_unlock(&more[i]);
    }
    void *old_a = a, *old_b = b;
    free(a);
    free(b);
    static void *kept[KEEP];
    int nkept = 0;
    struct obj *na = NULL, *nb = NULL;
    while ((!na || !nb) && nkept < KEEP) {
        struct obj *x = malloc(sizeof(*x));
        if ((void *)x == old_a)
            na = x;
        else if ((void *)x == old_b)
            nb = x;
        else
            kept[nkept++] = x;
    }
    if (!na || !nb)
        return 4; /* the memory never came back: this proves nothing */
    memset(na, 0, sizeof(*na));
    memset(nb, 0, sizeof(*nb));
    sc_lock2(&nb->lock, &na->lock); /* the other order, on new locks */
    free(na);
    free(nb);
    for (int i = 0; i < nkept; i++)
        free(kept[i]);
    return 0;
}

int main(int argc, char **argv)
{
    int keep = argc > 1 && strcmp(argv[1], "keep") == 0;
    if (argc > 1 && strcmp(argv[1], "grown") == 0)
        return grown();
    for (int attempt = 0; attempt < 100; attempt++) {
        struct obj *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
        sc_lock2(&a->lock, &b->lock);
        if (keep) {
            sc_lock2(&b->lock, &a->lock);
            return 0;
        }
        void *old_a = a, *old_b = b;
        free(a);
        free(b);
        struct obj *c = calloc(1, sizeof(*c)), *d = calloc(1, sizeof(*d));
        int reused = ((void *)c == old_a || (void *)c == old_b) &&
                     ((void *)d == old_a || (void *)d == old_b);
        /* the new objects, in the order opposite to the old ones */
        struct obj *na = (void *)c == old_a ? c : d, *nb = na == c ? d : c;
        sc_lock2(&nb->lock, &na->lock);
        free(c);
        free(d);
        if (reused)
            return 0;
    }
    return 4;
}
