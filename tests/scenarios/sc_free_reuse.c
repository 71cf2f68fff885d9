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
 * several times meanwhile, and must still know the first pair's pages. */
#include "sc.h"
#include <string.h>

struct obj {
    long payload;
    pthread_mutex_t lock; /* zeroed by calloc: a default mutex, no init */
};

int main(int argc, char **argv)
{
    int keep = argc > 1 && strcmp(argv[1], "keep") == 0;
    int grown = argc > 1 && strcmp(argv[1], "grown") == 0;
    for (int attempt = 0; attempt < 100; attempt++) {
        struct obj *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
        sc_lock2(&a->lock, &b->lock);
        if (grown && attempt == 0) {
            enum { MORE = 20000 };
            pthread_mutex_t *more = calloc(MORE, sizeof(*more));
            for (int i = 0; i < MORE; i++) {
                pthread_mutex_init(&more[i], NULL);
                pthread_mutex_lock(&more[i]);
                pthread_mutex_unlock(&more[i]);
            }
        }
        if (keep) {
            sc_lock2(&b->lock, &a->lock);
            return 0;
        }
        void *old_a = a, *old_b = b;
        free(a);
        free(b);
        /* (calloc does not take from glibc's per-thread cache, where free
         * put them; malloc does, last freed first: "grown" needs the first
         * pair's memory back at once) */
        struct obj *c = grown ? malloc(sizeof(*c)) : calloc(1, sizeof(*c));
        struct obj *d = grown ? malloc(sizeof(*d)) : calloc(1, sizeof(*d));
        if (grown) {
            memset(c, 0, sizeof(*c));
            memset(d, 0, sizeof(*d));
        }
        int reused = ((void *)c == old_a || (void *)c == old_b) &&
                     ((void *)d == old_a || (void *)d == old_b);
        /* the new objects, in the order opposite to the old ones */
        struct obj *na = (void *)c == old_a ? c : d, *nb = na == c ? d : c;
        sc_lock2(&nb->lock, &na->lock);
        free(c);
        free(d);
        if (reused)
            return 0;
        if (grown)
            return 4; /* the first pair is the one that must be known */
    }
    return 4;
}
