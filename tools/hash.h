/*
 * hash.h - the one 64-bit mixer the tool's hash tables use (MurmurHash3's
 * finalizer).
 */
#ifndef LG_TOOL_HASH_H
#define LG_TOOL_HASH_H

#include <stdint.h>

static inline uint64_t lg_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

#endif
