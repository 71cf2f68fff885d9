/*
 * registry.h - lock address -> current lock instance (graph node).
 *
 * A slot per address ever seen; the slot points at the node of the lock now
 * living there, or at nothing after a destroy. Lookups take no lock.
 *
 * Identity: pthread_mutex_init and pthread_mutex_destroy retire the current
 * node, so memory reused for a new lock gets a new node and the old lock's
 * edges can never join the new lock's cycles. A statically initialized
 * mutex gets its node at first use.
 */
#ifndef LG_REGISTRY_H
#define LG_REGISTRY_H

#include "graph.h"

#include <stdint.h>

/* The live node at addr, or NULL. Lock-free. */
struct lg_node *lg__registry_lookup(uintptr_t addr);

/* The live node at addr, created when there is none (created=false: first
 * seen at a lock call, with stack where). NULL only when out of memory. */
struct lg_node *lg__registry_get(uintptr_t addr, enum lg_lock_type type, enum lg_lock_mode mode,
                                 const struct lg_stack *stack);

/* A new lock is being initialized at addr (pthread_mutex_init): retire the
 * old node if any and install a fresh one created there. Returns the new
 * node, or NULL when out of memory (the address is then untracked until its
 * next use creates a node). */
struct lg_node *lg__registry_create(uintptr_t addr, enum lg_lock_type type,
                                    enum lg_lock_mode mode, const struct lg_stack *stack);

/* The lock at addr was destroyed: retire its node. */
void lg__registry_retire(uintptr_t addr);

/* Every lock in [lo, hi) is gone (its memory was freed, its library
 * unloaded): retire them all. Lock-free; returns how many were live. */
unsigned lg__registry_retire_range(uintptr_t lo, uintptr_t hi);

uint64_t lg__registry_slot_count(void);

#endif
