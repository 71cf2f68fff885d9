/*
 * u64map.c - open addressing over 64-bit keys (see u64map.h).
 */
#include "u64map.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

void lg_u64map_init(struct lg_u64map *m)
{
    memset(m, 0, sizeof *m);
}

void lg_u64map_free(struct lg_u64map *m)
{
    free(m->keys);
    free(m->vals);
    lg_u64map_init(m);
}

static size_t slot(const struct lg_u64map *m, uint64_t key)
{
    size_t i = (size_t)lg_mix64(key) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

bool lg_u64map_get(const struct lg_u64map *m, uint64_t key, uint64_t *val)
{
    if (key == 0) {
        if (m->has_zero)
            *val = m->zero_val;
        return m->has_zero;
    }
    if (m->cap == 0)
        return false;
    size_t i = slot(m, key);
    if (!m->keys[i])
        return false;
    *val = m->vals[i];
    return true;
}

static int grow(struct lg_u64map *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    struct lg_u64map g = {.keys = calloc(cap, sizeof *g.keys),
                          .vals = malloc(cap * sizeof *g.vals),
                          .cap = cap,
                          .n = m->n,
                          .has_zero = m->has_zero,
                          .zero_val = m->zero_val};
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t j = slot(&g, m->keys[i]);
            g.keys[j] = m->keys[i];
            g.vals[j] = m->vals[i];
        }
    free(m->keys);
    free(m->vals);
    *m = g;
    return 0;
}

int lg_u64map_put(struct lg_u64map *m, uint64_t key, uint64_t val)
{
    if (key == 0) {
        m->has_zero = true;
        m->zero_val = val;
        return 0;
    }
    if (2 * (m->n + 1) > m->cap && grow(m) != 0)
        return -1;
    size_t i = slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->n++;
    }
    m->vals[i] = val;
    return 0;
}

size_t lg_u64map_count(const struct lg_u64map *m)
{
    return m->n + (m->has_zero ? 1 : 0);
}

bool lg_u64map_next(const struct lg_u64map *m, size_t *i, uint64_t *key, uint64_t *val)
{
    /* Position 0 is the zero key; slot s is position s + 1. */
    if (*i == 0) {
        (*i)++;
        if (m->has_zero) {
            *key = 0;
            *val = m->zero_val;
            return true;
        }
    }
    for (; *i <= m->cap; (*i)++) {
        size_t s = *i - 1;
        if (m->keys[s]) {
            *key = m->keys[s];
            *val = m->vals[s];
            (*i)++;
            return true;
        }
    }
    return false;
}
