/*
 * alloc.h - lockgraph's private memory.
 *
 * Everything the detector keeps comes from here, never from the host's
 * malloc: an allocator such as jemalloc takes pthread mutexes inside malloc,
 * and those calls come straight back into lockgraph, possibly while it holds
 * one of its own locks. Memory comes from mmap in 1 MiB chunks carved into
 * power-of-two size classes; big blocks are mapped on their own.
 *
 * Out of memory (mmap failed, or the max_memory option's budget is spent):
 * the call returns NULL, lg__alloc_failed() becomes true, and the caller
 * carries on without whatever it wanted to record.
 */
#ifndef LG_ALLOC_H
#define LG_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zeroed memory of at least size bytes, or NULL. Thread-safe; takes only the
 * alloc lock, a leaf. */
void *lg__alloc(size_t size);

/* Give back a block from lg__alloc; size must be the size asked for. */
void lg__free(void *p, size_t size);

/* Zeroed pages straight from mmap, no lock at all (usable inside fork
 * handlers and by a thread for its own held stack), or NULL. lg__map is for
 * short-lived buffers (formatting a finding) and is not held to max_memory,
 * so lockgraph can still say that it ran out; lg__map_limited is. */
void *lg__map(size_t size);
void *lg__map_limited(size_t size);
/* lg__map_limited, every page made at once: for memory about to be written
 * all over (a table being filled), where a read fault then a write fault
 * per page (the zero page, then a copy and a TLB flush on every CPU the
 * process runs on) costs far more than one populated mmap. */
void *lg__map_filled(size_t size);
/* lg__map, every page made at once (not held to max_memory either). */
void *lg__map_now(size_t size);
void lg__unmap(void *p, size_t size);

/* A pool of fixed-size records that are recycled only as records of the
 * same kind (type-stable memory): a reader holding a stale pointer to one
 * reads a record of that kind, never something else, and can tell by a
 * generation field that it is stale. The free-list link lives at
 * link_offset, so fields a stale reader looks at (the generation) are left
 * alone. Records are carved from blocks of 8 KiB, then 16 and 32, then
 * 64 KiB each, never returned. Guarded
 * by the alloc lock (so fork needs nothing more). */
/* Records gathered to go back at once (one lock): start zeroed, add each
 * record (its link field is overwritten), then put the lot. A chain ends
 * in NULL. */
struct lg_pool_chain {
    void *first, *last;
    size_t n;
};
#define LG_POOL_BATCHES 128
/* (On a cache line of its own: taking and giving back records writes it.)
 * Chains given back whole are kept whole (batch, up to LG_POOL_BATCHES;
 * more go on the free list) and handed out whole: taking many records from
 * the free list walks their links, a cache miss each, one after another. */
struct __attribute__((aligned(64))) lg_pool {
    uint32_t size, link_offset;
    void *free;
    char *cur, *end;
    size_t in_use;
    uint32_t nbatch;
    uint32_t blocks; /* made so far: the first are smaller (alloc.c) */
    struct lg_pool_chain batch[LG_POOL_BATCHES];
};
#define LG_POOL_INIT(type, link_field)                                                             \
    {                                                                                              \
        .size = (uint32_t)((sizeof(type) + 15) & ~(size_t)15),                                     \
        .link_offset = (uint32_t)offsetof(type, link_field)                                        \
    }
/* A record, or NULL when out of memory. Fresh records are zero; recycled
 * ones keep what they held (the caller sets every field it uses). */
void *lg__pool_get(struct lg_pool *p);
void lg__pool_put(struct lg_pool *p, void *rec);
/* Up to max records at once (one lock); how many were got. */
int lg__pool_get_many(struct lg_pool *p, void **out, int max);
void lg__pool_chain_add(const struct lg_pool *p, struct lg_pool_chain *ch, void *rec);
void lg__pool_put_chain(struct lg_pool *p, struct lg_pool_chain *ch);
/* A chain given back whole (lg__pool_put_chain), taken whole: its records
 * linked at link_offset, the last one's link NULL; first is NULL when the
 * pool keeps none. Walking it touches each record when it is used. */
struct lg_pool_chain lg__pool_get_chain(struct lg_pool *p);

/* Cap on bytes mapped in all; 0 means no cap. */
void lg__alloc_set_limit(size_t bytes);
size_t lg__alloc_mapped(void);

/* True once any allocation has failed (lg__report_oom says so once). */
bool lg__alloc_failed(void);

/* fork support: see sync.h for the order. */
void lg__alloc_lock_all(void);
void lg__alloc_unlock_all(void);
void lg__alloc_reset_child(void);

#endif
