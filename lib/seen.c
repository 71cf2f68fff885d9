/*
 * seen.c - the once-only set (see seen.h): open addressing, keys stored
 * hashed with the low bit set so that 0 marks an empty slot, inserted with
 * a compare-and-swap, probed at most 64 slots.
 */

#include "seen.h"
#include "alloc.h"

uint64_t lg__mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

bool lg__seen_first(struct lg_seen *s, uint64_t key)
{
    size_t size = sizeof(uint64_t) << s->bits;
    _Atomic uint64_t *t = atomic_load_explicit(&s->table, memory_order_acquire);
    if (!t) {
        _Atomic uint64_t *fresh = lg__map(size), *none = NULL;
        if (!fresh)
            return true;
        if (atomic_compare_exchange_strong(&s->table, &none, fresh)) {
            t = fresh;
        } else {
            lg__unmap(fresh, size);
            t = none;
        }
    }
    uint64_t x = lg__mix64(key) | 1;
    uint32_t mask = (1u << s->bits) - 1;
    for (uint32_t i = (uint32_t)x & mask, probes = 0; probes < 64; i = (i + 1) & mask, probes++) {
        uint64_t v = atomic_load_explicit(&t[i], memory_order_relaxed);
        if (v == x)
            return false;
        if (v == 0) {
            if (atomic_compare_exchange_strong(&t[i], &v, x))
                return true;
            if (v == x)
                return false;
        }
    }
    return true;
}
