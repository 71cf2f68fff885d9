/* A lock's memory freed without pthread_mutex_destroy and reused: objects
 * from calloc carry a zeroed, never-initialized mutex (valid in glibc), are
 * locked A then B, and freed with no destroy. New objects that land in the
 * same memory are locked in the opposite order: different locks, no
 * deadlock, nothing to report. Exits 4 if the allocator never gave the
 * memory back (the test would then prove nothing). With the argument
 * "keep", the objects are not freed and the same locks are inverted: a
 * real cycle, which must still be reported. */
#include "sc.h"
#include <string.h>

struct obj {
    long payload;
    pthread_mutex_t lock; /* zeroed by calloc: a default mutex, no init */
};

int main(int argc, char **argv)
{
    int keep = argc > 1 && strcmp(argv[1], "keep") == 0;
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
