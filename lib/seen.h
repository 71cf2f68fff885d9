/*
 * seen.h - "have we said this already?": a lock-free set of 64-bit keys,
 * for findings reported once per something (a rank violation per pair of
 * sites, a deadlock per set of waits). Fixed size, mapped on first use,
 * never freed; no lock, no allocation after that.
 */
#ifndef LG_SEEN_H
#define LG_SEEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lg_seen {
    _Atomic(_Atomic uint64_t *) table;
    unsigned bits; /* 2^bits slots */
};
#define LG_SEEN_INIT(bits)                                                                         \
    {                                                                                              \
        NULL, (bits)                                                                               \
    }

/* A well-mixed 64-bit hash of x (splitmix64's finalizer). */
uint64_t lg__mix64(uint64_t x);

/* True the first time key is offered to s, false after. Also true when the
 * table cannot be mapped or is full around the key: a repeated finding is
 * better than a lost one. */
bool lg__seen_first(struct lg_seen *s, uint64_t key);

#endif
