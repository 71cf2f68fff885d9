/*
 * test_held.c - the held stack: order, growth past the inline part (1,027
 * locks held at once, as one Kyoto Cabinet test does), removal mid-stack
 * (a hole, order kept), the index that answers lookups in a deep stack, and
 * random pushes and releases checked against a plain array.
 */
#include "unit.h"

#include "held.h"

#include <stdlib.h>
#include <string.h>

static struct lg_held *push(struct lg_held_stack *h, uintptr_t addr)
{
    struct lg_held *e = lg__held_slot(h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    *e = (struct lg_held){.addr = addr, .count = 1};
    lg__held_pushed(h);
    return e;
}

/* The live entries, bottom to top, as addresses. */
static int live(const struct lg_held_stack *h, uintptr_t *out, int max)
{
    int k = 0;
    for (uint32_t i = 0; i < h->n && k < max; i++)
        if (!lg__held_is_hole(&h->e[i]))
            out[k++] = h->e[i].addr;
    return k;
}

static void test_push_find_remove(void)
{
    struct lg_held_stack h;
    lg__held_init(&h);
    for (uintptr_t i = 1; i <= 1027; i++)
        push(&h, i * 16);
    CU_ASSERT_EQUAL(h.n, 1027);
    CU_ASSERT_EQUAL(lg__held_find(&h, 16), 0);
    CU_ASSERT_EQUAL(lg__held_find(&h, 1027 * 16), 1026);
    CU_ASSERT_EQUAL(lg__held_find(&h, 5), -1);
    lg__held_remove(&h, 500); /* addr 501*16: a hole, the rest stay put */
    CU_ASSERT_EQUAL(lg__held_count(&h), 1026);
    CU_ASSERT_EQUAL(lg__held_find(&h, 501 * 16), -1);
    CU_ASSERT_EQUAL(lg__held_find(&h, 502 * 16), 501);
    CU_ASSERT_TRUE(lg__held_is_hole(&h.e[500]));
    CU_ASSERT_EQUAL(h.e[499].addr, 500 * 16);
    static uintptr_t got[2000];
    CU_ASSERT_EQUAL(live(&h, got, 2000), 1026);
    CU_ASSERT_EQUAL(got[499], 500 * 16);
    CU_ASSERT_EQUAL(got[500], 502 * 16); /* order kept */
    struct lg_held *grown = h.e;
    lg__held_release(&h);
    CU_ASSERT_EQUAL(h.n, 0);
    /* kept, never unmapped: another thread may be reading it */
    CU_ASSERT_PTR_EQUAL(h.e, grown);
    CU_ASSERT_EQUAL(h.e[0].addr, 16);
}

static void test_find_prefers_top(void)
{
    struct lg_held_stack h;
    lg__held_init(&h);
    push(&h, 8);
    push(&h, 16);
    push(&h, 8); /* never happens for one lock, but top wins */
    CU_ASSERT_EQUAL(lg__held_find(&h, 8), 2);
    lg__held_release(&h);
}

/* Holes that reach the top go; a stack mostly holes is compacted. */
static void test_holes(void)
{
    struct lg_held_stack h;
    lg__held_init(&h);
    for (uintptr_t i = 1; i <= 100; i++)
        push(&h, i * 8);
    for (int i = 98; i >= 50; i--)
        lg__held_remove(&h, lg__held_find(&h, (uintptr_t)(i + 1) * 8));
    CU_ASSERT_EQUAL(lg__held_count(&h), 51);
    CU_ASSERT(lg__held_release_top(&h, 100 * 8)); /* the top: the holes below go too */
    CU_ASSERT_EQUAL(h.n, 50);
    CU_ASSERT_EQUAL(h.holes, 0);
    CU_ASSERT_EQUAL(h.e[h.n - 1].addr, 50 * 8);
    /* FIFO release of a deep stack: compacted as it goes, never all holes */
    for (uintptr_t i = 1; i <= 40; i++)
        lg__held_remove(&h, lg__held_find(&h, i * 8));
    CU_ASSERT_EQUAL(lg__held_count(&h), 10);
    CU_ASSERT(h.n < 40);
    for (uintptr_t i = 41; i <= 50; i++)
        CU_ASSERT(lg__held_find(&h, i * 8) >= 0);
    /* Shallow again, then deeper: every push is found, index or not. */
    for (uintptr_t i = 50; i > 45; i--)
        CU_ASSERT(lg__held_release_top(&h, i * 8));
    for (uintptr_t i = 1000; i < 1030; i++) {
        push(&h, i * 8);
        for (uintptr_t j = 1000; j <= i; j++)
            CU_ASSERT(lg__held_find(&h, j * 8) >= 0);
    }
    lg__held_release(&h);
}

/* Random pushes, releases from anywhere, and lookups, against a plain
 * array; 100,000 locks at once at the deepest. */
static void test_random_vs_array(void)
{
    enum { MAX = 100000 };
    uintptr_t *ref = calloc(MAX, sizeof(*ref));
    int nref = 0;
    struct lg_held_stack h;
    lg__held_init(&h);
    unsigned long long seed = 99;
    uintptr_t next = 64;
    int bad = 0;
    for (int step = 0; step < 400000; step++) {
        unsigned r = (unsigned)(lg_test_rand(&seed) % 100);
        bool grow = step < 200000 ? r < 60 : r < 40;
        if (nref < MAX && (grow || nref == 0)) {
            push(&h, next);
            ref[nref++] = next;
            next += 64;
        } else {
            int j = (r % 3 == 0) ? nref - 1 : (int)(lg_test_rand(&seed) % (unsigned)nref);
            uintptr_t a = ref[j];
            memmove(&ref[j], &ref[j + 1], (size_t)(nref - j - 1) * sizeof(*ref));
            nref--;
            if (!lg__held_release_top(&h, a)) {
                int i = lg__held_find(&h, a);
                bad += i < 0;
                if (i >= 0 && --h.e[i].count == 0)
                    lg__held_remove(&h, i);
            }
        }
        if (step % 997 == 0) {
            bad += (int)lg__held_count(&h) != nref;
            for (int k = 0; k < 20 && nref; k++) {
                int j = (int)(lg_test_rand(&seed) % (unsigned)nref);
                int i = lg__held_find(&h, ref[j]);
                bad += i < 0 || h.e[i].addr != ref[j];
            }
            bad += lg__held_find(&h, next + 64) != -1;
            if (nref)
                bad += h.e[h.n - 1].addr != ref[nref - 1]; /* top is live, in order */
        }
    }
    static uintptr_t got[MAX];
    int k = live(&h, got, MAX);
    bad += k != nref;
    for (int i = 0; i < k && i < nref; i++)
        bad += got[i] != ref[i];
    CU_ASSERT_EQUAL(bad, 0);
    lg__held_release(&h);
    free(ref);
}

void lg_suite_held(void)
{
    CU_pSuite s = CU_add_suite("held", NULL, NULL);
    lg_add_test(s, "1,027 held locks: push, find, remove in the middle", test_push_find_remove);
    lg_add_test(s, "find searches from the top", test_find_prefers_top);
    lg_add_test(s, "holes: popped at the top, compacted when many", test_holes);
    lg_add_test(s, "random pushes and releases against an array", test_random_vs_array);
}
