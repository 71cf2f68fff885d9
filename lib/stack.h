/*
 * stack.h - stack capture and the stack depot.
 *
 * A stack is raw return addresses, innermost first, with lockgraph's own
 * frames removed; symbolizing is the report tool's job. Stacks are interned
 * in a depot so that a million locks created at one site share one copy, and
 * an interned stack is immutable and never freed: a pointer to one stays
 * valid for the life of the process.
 */
#ifndef LG_STACK_H
#define LG_STACK_H

#include <stdint.h>

#define LG_STACK_MAX 128

struct lg_stack {
    struct lg_stack *next; /* depot chain */
    uint64_t hash;
    uint32_t n;
    uintptr_t pc[];
};

/* Find lockgraph's own code range so its frames can be dropped, and warm the
 * unwinder up. Called once from init, before any lock is tracked. */
void lg__stack_init(void);

/* Capture up to max frames of the caller's stack, lockgraph's frames skipped.
 * cfas (may be NULL) receives each frame's stack pointer at its pc, which is
 * the canonical frame address of the frame it called (what _Unwind_GetCFA
 * gives): outer frames have higher ones. Returns the number of frames.
 * Takes no lockgraph lock and never calls the host's malloc; the first
 * sight of a return address calls dl_iterate_phdr, which takes glibc's
 * loader lock, so it must never be called while holding a lockgraph lock.
 * See unwinder.h for how, and what it costs. */
int lg__stack_capture(uintptr_t *pcs, uintptr_t *cfas, int max);

/* The depot copy of pcs[0..n), or NULL when out of memory. */
const struct lg_stack *lg__stack_intern(const uintptr_t *pcs, int n);

/* The stack of an earlier acquisition, rebuilt from its return address pc
 * and frame address cfa and a stack captured now (pcs, cfas, n): frame 0 is
 * pc, then the frames of the current stack whose frames were live at that
 * earlier time (cfa at or above the earlier one: a frameless caller has
 * exactly the same). Returns the frame count
 * written to out. */
int lg__stack_splice(uintptr_t pc, uintptr_t cfa, const uintptr_t *pcs, const uintptr_t *cfas,
                     int n, uintptr_t *out, int max);

struct dl_phdr_info;
/* The address range [lo, hi) a loaded module's PT_LOAD segments cover. */
void lg__module_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi);

void lg__stack_lock_all(void);
void lg__stack_unlock_all(void);
void lg__stack_reset_child(void);

#endif
