/*
 * reclaim.h - freeing what lock-free readers may still be looking at.
 *
 * The fast path reads the registry's table, lock classes and their edge sets
 * without taking any lock. Something unlinked from those (a table replaced
 * by a bigger one, an edge set replaced, the edges of a lock that is gone)
 * is retired here and given back only after a grace period: once every
 * thread that could have been reading it has left lockgraph.
 *
 * Readers: a thread is "inside" between lg__enter and lg__leave (runtime.h
 * sets t->inside), and outside while it blocks in a real lock, condition or
 * join call (the shims say so with lg__quiescent_begin/end). Only pointers
 * to type-stable memory (lock instances and class nodes, which are recycled
 * only as their own kind and carry a generation) may be kept across an
 * outside period, and they are validated after it.
 *
 * Grace period: a batch of retired objects is closed with one
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), which makes every thread's
 * earlier stores (its "inside" flag) visible; a thread seen outside after
 * that, or seen to have left since, can no longer reach anything in the
 * batch. Nothing ever waits for a grace period: batches are checked on
 * later slow paths, so a thread blocked forever only delays reclamation
 * (memory), never the program. Without membarrier (old kernels, seccomp),
 * lg__enter makes a full fence instead and the same logic holds.
 *
 * Locking: reclaim_lock guards the batches; it is taken before alloc and
 * after everything else (sync.h). Callbacks run without it.
 */
#ifndef LG_RECLAIM_H
#define LG_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_retired {
    struct lg_retired *next;
    void (*done)(struct lg_retired *);
};

/* Set up (membarrier registration); from init. */
void lg__reclaim_init(void);

/* True when readers must fence themselves (no membarrier). */
extern bool lg__reclaim_reader_fence;

/* Hand r over: done(r) runs after a grace period, on some later slow path,
 * with no lockgraph lock held. Never blocks. */
void lg__retire(struct lg_retired *r, void (*done)(struct lg_retired *));

/* The same for an object that stands for `weight` retired things (a batch
 * of instances): it counts that much toward closing a grace period. */
void lg__retire_weighted(struct lg_retired *r, void (*done)(struct lg_retired *), uint32_t weight);

/* Retire a plain lg__alloc block of size bytes (freed with lg__free).
 * Needs a small header allocation; out of memory: the block is leaked. */
void lg__retire_block(void *p, size_t size);

/* Finish what can be finished now (slow paths call it). */
void lg__reclaim_poll(void);

/* For tests: run until everything retired so far is done, as long as no
 * other thread stays inside lockgraph. Returns false on timeout. */
bool lg__reclaim_drain(void);

/* Objects retired and not yet given back (tests, exit summary). */
uint64_t lg__reclaim_pending(void);

void lg__reclaim_lock_all(void);
void lg__reclaim_unlock_all(void);
void lg__reclaim_reset_child(void);

#endif
