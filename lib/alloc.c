/*
 * alloc.c - lockgraph's private allocator (see alloc.h for the why).
 *
 * Size classes are powers of two from 16 bytes to 64 KiB, each with a free
 * list threaded through the free blocks. Small blocks are carved from 1 MiB
 * chunks that are never returned to the kernel; blocks above 64 KiB are
 * mapped and unmapped on their own. Nothing here calls anything but mmap and
 * munmap.
 *
 * Locking: one lock, alloc_lock, guards the free lists and the current chunk.
 * It is the innermost lock of the library: nothing is called while holding
 * it except mmap.
 */
#include "alloc.h"
#include "sync.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define MIN_SHIFT 4
#define MAX_SHIFT 16
#define NCLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define CHUNK_SIZE (1u << 20)
#define HUGE_PAGE ((size_t)2 << 20)

struct free_block {
    struct free_block *next;
};

#define alloc_lock (lg__locks.alloc)
static struct free_block *free_list[NCLASSES];
static char *chunk_cur, *chunk_end;
static atomic_size_t mapped;
static size_t limit;
static atomic_bool failed;

static size_t page_round(size_t n)
{
    return (n + 4095) & ~(size_t)4095;
}

static void *map_pages(size_t size, bool limited, int extra)
{
    size = page_round(size);
    size_t now = atomic_fetch_add(&mapped, size) + size;
    if (limited && limit && now > limit) {
        atomic_fetch_sub(&mapped, size);
        atomic_store(&failed, true);
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
    if (p == MAP_FAILED) {
        atomic_fetch_sub(&mapped, size);
        atomic_store(&failed, true);
        return NULL;
    }
    /* A mapping this large is a sparse table (the tid map: 32 MiB, a few
     * words written). With transparent huge pages set to "always", its
     * first write would zero and keep 2 MiB. */
    if (size >= HUGE_PAGE)
        (void)madvise(p, size, MADV_NOHUGEPAGE);
    return p;
}

void *lg__map(size_t size)
{
    return map_pages(size, false, 0);
}

void *lg__map_limited(size_t size)
{
    return map_pages(size, true, 0);
}

void *lg__map_filled(size_t size)
{
    return map_pages(size, true, MAP_POPULATE);
}

void *lg__map_now(size_t size)
{
    return map_pages(size, false, MAP_POPULATE);
}

void lg__unmap(void *p, size_t size)
{
    if (!p)
        return;
    size = page_round(size);
    munmap(p, size);
    atomic_fetch_sub(&mapped, size);
}

static int size_class(size_t size)
{
    int shift = MIN_SHIFT;
    while (((size_t)1 << shift) < size)
        shift++;
    return shift - MIN_SHIFT;
}

void *lg__alloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << MAX_SHIFT))
        return lg__map_limited(size);

    int c = size_class(size);
    size_t bsize = (size_t)1 << (c + MIN_SHIFT);
    void *p = NULL;

    lg__lock(&alloc_lock);
    if (free_list[c]) {
        struct free_block *b = free_list[c];
        free_list[c] = b->next;
        p = b;
        lg__unlock(&alloc_lock);
        memset(p, 0, bsize);
        return p;
    }
    /* Keep blocks aligned to their size up to a page, so a 64-byte block
     * never straddles two cache lines. A new chunk when this one is short;
     * the tail of the old one (under 64 KiB of 1 MiB) is lost. */
    size_t align = bsize < 4096 ? bsize : 4096;
    uintptr_t cur = ((uintptr_t)chunk_cur + align - 1) & ~(uintptr_t)(align - 1);
    if (!chunk_cur || cur + bsize > (uintptr_t)chunk_end) {
        char *chunk = lg__map_limited(CHUNK_SIZE);
        if (!chunk) {
            lg__unlock(&alloc_lock);
            return NULL;
        }
        chunk_cur = chunk;
        chunk_end = chunk + CHUNK_SIZE;
        cur = (uintptr_t)chunk;
    }
    p = (void *)cur;
    chunk_cur = (char *)(cur + bsize);
    lg__unlock(&alloc_lock);
    return p; /* fresh from mmap: already zero */
}

void lg__free(void *p, size_t size)
{
    if (!p)
        return;
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << MAX_SHIFT)) {
        lg__unmap(p, size);
        return;
    }
    int c = size_class(size);
    struct free_block *b = p;
    lg__lock(&alloc_lock);
    b->next = free_list[c];
    free_list[c] = b;
    lg__unlock(&alloc_lock);
}

/* ---------------------------------------------------------------------- */
/* Pools.                                                                  */

#define POOL_BLOCK (64u << 10)

/* The size of a pool's next block: 8 KiB for its first, doubling up to
 * POOL_BLOCK, and never fewer than 8 records. Blocks are populated (below),
 * and a short process (a worker just forked, a test) uses a few records of
 * each pool: a process's first new edge made two 64 KiB blocks whole, and
 * cost 83 us; with 8 KiB ones, 64 (bench_process cold). */
static size_t pool_block_size(const struct lg_pool *p)
{
    size_t b = (size_t)POOL_BLOCK >> (3 - (p->blocks < 3 ? p->blocks : 3));
    while (b < 8 * (size_t)p->size)
        b <<= 1;
    return b;
}

/* alloc lock held. The free list empty: a batch kept whole goes onto it
 * (the pool's single and many takers use the list). */
static void unbatch(struct lg_pool *p)
{
    if (p->free || !p->nbatch)
        return;
    struct lg_pool_chain *ch = &p->batch[--p->nbatch];
    *(void **)((char *)ch->last + p->link_offset) = NULL;
    p->free = ch->first;
}

void *lg__pool_get(struct lg_pool *p)
{
    lg__lock_t *l = &alloc_lock;
    lg__lock(l);
    unbatch(p);
    void *r = p->free;
    if (r) {
        p->free = *(void **)((char *)r + p->link_offset);
        if (p->free) /* the next pop's miss, started now */
            __builtin_prefetch((char *)p->free + p->link_offset);
    } else {
        if (!p->cur || p->cur + p->size > p->end) {
            size_t bsize = pool_block_size(p);
            lg__unlock(l);
            /* (never given back; populated at once: a pool block is used
             * whole, and one mmap that fills 16 pages costs far less than
             * 16 page faults, paid on a lock's first sight otherwise) */
            char *b = map_pages(bsize, true, MAP_POPULATE);
            if (!b)
                return NULL;
            lg__lock(l);
            /* Another thread may have refilled meanwhile: the rest of its
             * block is lost, a few records at most. */
            p->cur = b;
            p->end = b + bsize;
            p->blocks++;
        }
        r = p->cur;
        p->cur += p->size;
    }
    p->in_use++;
    lg__unlock(l);
    return r;
}

int lg__pool_get_many(struct lg_pool *p, void **out, int max)
{
    int k = 0;
    lg__lock(&alloc_lock);
    unbatch(p);
    while (k < max && p->free) {
        out[k] = p->free;
        p->free = *(void **)((char *)out[k] + p->link_offset);
        if (p->free)
            __builtin_prefetch((char *)p->free + p->link_offset);
        k++;
    }
    while (k < max && p->cur && p->cur + p->size <= p->end) {
        out[k++] = p->cur;
        p->cur += p->size;
    }
    p->in_use += (size_t)k;
    lg__unlock(&alloc_lock);
    while (k < max) { /* the rest one by one (a new block) */
        void *r = lg__pool_get(p);
        if (!r)
            break;
        out[k++] = r;
    }
    return k;
}

void lg__pool_put(struct lg_pool *p, void *rec)
{
    if (!rec)
        return;
    lg__lock_t *l = &alloc_lock;
    lg__lock(l);
    *(void **)((char *)rec + p->link_offset) = p->free;
    p->free = rec;
    p->in_use--;
    lg__unlock(l);
}

void lg__pool_chain_add(const struct lg_pool *p, struct lg_pool_chain *ch, void *rec)
{
    /* Linked as the free list is: by the record's start, at link_offset. */
    *(void **)((char *)rec + p->link_offset) = ch->first;
    ch->first = rec;
    if (!ch->last)
        ch->last = rec;
    ch->n++;
}

void lg__pool_put_chain(struct lg_pool *p, struct lg_pool_chain *ch)
{
    if (!ch->first)
        return;
    lg__lock(&alloc_lock);
    if (p->nbatch < LG_POOL_BATCHES) {
        p->batch[p->nbatch++] = *ch; /* (chain_add ended it in NULL) */
    } else {
        *(void **)((char *)ch->last + p->link_offset) = p->free;
        p->free = ch->first;
    }
    p->in_use -= ch->n;
    lg__unlock(&alloc_lock);
}

struct lg_pool_chain lg__pool_get_chain(struct lg_pool *p)
{
    struct lg_pool_chain ch = {0};
    lg__lock(&alloc_lock);
    if (p->nbatch) {
        ch = p->batch[--p->nbatch];
        p->in_use += ch.n;
    }
    lg__unlock(&alloc_lock);
    return ch;
}

void lg__alloc_set_limit(size_t bytes)
{
    limit = bytes;
}

size_t lg__alloc_mapped(void)
{
    return atomic_load(&mapped);
}

bool lg__alloc_failed(void)
{
    return atomic_load(&failed);
}

void lg__alloc_lock_all(void)
{
    lg__lock(&alloc_lock);
}

void lg__alloc_unlock_all(void)
{
    lg__unlock(&alloc_lock);
}

void lg__alloc_reset_child(void)
{
    lg__lock_reset(&alloc_lock);
}
