/*
 * u64map.h - a hash map from 64-bit keys to 64-bit values, for the tool's
 * bounded tables: a group by signature, the pids seen, a module offset's
 * symbolized frames, a line offset's replacement.
 *
 * The model: open addressing with linear probing, at most half full,
 * doubling as it grows; every key is allowed (0 included). Nothing is
 * removed. Cost: O(1) expected per operation; 16 bytes a slot.
 */
#ifndef LG_TOOL_U64MAP_H
#define LG_TOOL_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_u64map {
    uint64_t *keys; /* slot empty when its key is 0; key 0 itself is kept aside */
    uint64_t *vals;
    size_t cap, n;
    bool has_zero;
    uint64_t zero_val;
};

void lg_u64map_init(struct lg_u64map *m);
void lg_u64map_free(struct lg_u64map *m);

/* The value of `key` in *val; false when absent (val is then untouched). */
bool lg_u64map_get(const struct lg_u64map *m, uint64_t key, uint64_t *val);

/* Set `key` to `val` (replacing any value). Returns 0, or -1 when out of
 * memory (the map is unchanged). */
int lg_u64map_put(struct lg_u64map *m, uint64_t key, uint64_t val);

/* Entries, zero key included. */
size_t lg_u64map_count(const struct lg_u64map *m);

/* Walk: start with *i = 0; returns false after the last entry. */
bool lg_u64map_next(const struct lg_u64map *m, size_t *i, uint64_t *key, uint64_t *val);

#endif
