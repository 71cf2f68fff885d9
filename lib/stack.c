/*
 * stack.c - find lockgraph's own frames, intern stacks in a depot, splice.
 *
 * Capture itself is unwinder.c's (a DWARF CFI walker with a per-PC rule
 * cache, about 3-5 ns a frame once its return addresses have been seen,
 * libgcc's _Unwind_Backtrace where the cache cannot say). It runs on slow
 * paths: a lock seen for the first time, a new edge, a finding. The fast
 * path records one return address and one frame address per acquisition,
 * and lg__stack_splice rebuilds a full stack from them when a new edge
 * needs one.
 *
 * Locking: depot_lock guards the depot's chains; it is taken after graph and
 * before alloc (sync.h). Capture takes no lockgraph lock.
 */

#include "stack.h"
#include "alloc.h"
#include "symbols.h"
#include "sync.h"
#include "unwinder.h"

#include <link.h>
#include <string.h>

/* The depot's buckets start on one page and double when stacks outnumber
 * them, up to 2^DEPOT_MAX_BITS. A table made whole at its largest would
 * cost a short-lived process two page faults (a read, then a write) for
 * each of its first new stacks, each on a page of its own. */
#define DEPOT_MIN_BITS 9
#define DEPOT_MAX_BITS 20

static uintptr_t own_lo, own_hi;
static struct lg_stack **depot; /* 2^depot_bits chains, under depot_lock */
static unsigned depot_bits;
static size_t depot_count;
#define depot_lock (lg__locks.depot)

void lg__module_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < *lo)
            *lo = a;
        if (a + ph->p_memsz > *hi)
            *hi = a + ph->p_memsz;
    }
}

static int find_own(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t me = (uintptr_t)arg, lo, hi;
    lg__module_range(info, &lo, &hi);
    if (me >= lo && me < hi) {
        own_lo = lo;
        own_hi = hi;
        return 1;
    }
    return 0;
}

void lg__stack_init(void)
{
    lg__iterate_modules(find_own, (void *)(uintptr_t)&lg__stack_init);
    lg__unwind_init(own_lo, own_hi);
    /* libgcc's first unwind may set up its caches (and on older libgcc take
     * a lock or allocate): done now, while nothing is tracked. lockgraph's
     * own unwinder needs no warming (its rule table is made at its first
     * walk, lock-free), and a process that never takes a lock (a shell, a
     * compiler, under `lockgraph run make check`) never pays for it. */
    uintptr_t pcs[4];
    (void)lg__unwind_capture_libgcc(pcs, NULL, 4);
}

int lg__stack_splice(uintptr_t pc, uintptr_t cfa, const uintptr_t *pcs, const uintptr_t *cfas,
                     int n, uintptr_t *out, int max)
{
    int k = 0;
    if (max <= 0)
        return 0;
    out[k++] = pc;
    for (int i = 0; i < n && k < max; i++)
        if (cfas[i] >= cfa)
            out[k++] = pcs[i];
    return k;
}

static uint64_t hash_pcs(const uintptr_t *pcs, int n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= pcs[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

/* The depot with 2^bits chains, its stacks moved over (depot_lock held);
 * false when out of memory (the depot stays as it was). */
static bool depot_resize(unsigned bits)
{
    struct lg_stack **fresh = lg__map(sizeof(*fresh) << bits);
    if (!fresh)
        return false;
    if (depot) {
        for (size_t i = 0; i < ((size_t)1 << depot_bits); i++) {
            for (struct lg_stack *s = depot[i], *next; s; s = next) {
                next = s->next;
                struct lg_stack **head = &fresh[s->hash & ((1u << bits) - 1)];
                s->next = *head;
                *head = s;
            }
        }
        lg__unmap(depot, sizeof(*depot) << depot_bits);
    }
    depot = fresh;
    depot_bits = bits;
    return true;
}

const struct lg_stack *lg__stack_intern(const uintptr_t *pcs, int n)
{
    if (n < 0)
        n = 0;
    uint64_t h = hash_pcs(pcs, n);
    /* The one this thread interned last, without the lock: new locks taken
     * in a loop, or edges made at one call site, give one stack again and
     * again (depot stacks are never freed). */
    static __thread const struct lg_stack *last __attribute__((tls_model("initial-exec")));
    const struct lg_stack *l = last;
    if (l && l->hash == h && l->n == (uint32_t)n &&
        memcmp(l->pc, pcs, sizeof(uintptr_t) * (size_t)n) == 0)
        return l;
    lg__lock(&depot_lock);
    if (!depot && !depot_resize(DEPOT_MIN_BITS)) {
        lg__unlock(&depot_lock);
        return NULL;
    }
    struct lg_stack **head = &depot[h & ((1u << depot_bits) - 1)];
    for (struct lg_stack *s = *head; s; s = s->next) {
        if (s->hash == h && s->n == (uint32_t)n &&
            memcmp(s->pc, pcs, sizeof(uintptr_t) * (size_t)n) == 0) {
            lg__unlock(&depot_lock);
            return last = s;
        }
    }
    struct lg_stack *s = lg__alloc(sizeof(*s) + sizeof(uintptr_t) * (size_t)n);
    if (s) {
        s->hash = h;
        s->n = (uint32_t)n;
        memcpy(s->pc, pcs, sizeof(uintptr_t) * (size_t)n);
        s->next = *head;
        *head = s;
        if (++depot_count > ((size_t)1 << depot_bits) && depot_bits < DEPOT_MAX_BITS)
            (void)depot_resize(depot_bits + 1); /* out of memory: longer chains */
    }
    lg__unlock(&depot_lock);
    if (s)
        last = s;
    return s;
}

void lg__stack_lock_all(void)
{
    lg__lock(&depot_lock);
}

void lg__stack_unlock_all(void)
{
    lg__unlock(&depot_lock);
}

void lg__stack_reset_child(void)
{
    lg__lock_reset(&depot_lock);
}
