/*
 * unwinder.h - the stack walker behind lg__stack_capture (stack.h).
 *
 * A DWARF CFI walker with a per-PC cache of unwind rules: the first time a
 * return address is seen its rule is looked up in the module's .eh_frame
 * (through .eh_frame_hdr's binary search table) and reduced to "CFA = rsp
 * or rbp + N (or *(rbp + N)), return address at CFA - 8, rbp saved at
 * CFA - 8k or unchanged"; from then on a frame costs a table probe and two
 * loads. Every stack read is checked against the bounds of the stack being
 * walked, so a garbage frame ends the walk instead of faulting. What the
 * cache cannot express (a CFA computed from another register or a general
 * DWARF expression, a code address in no loaded module such as JIT code)
 * is handed to libgcc's _Unwind_Backtrace for that capture, which then
 * gives exactly what it gave before. Each thread also keeps its last walk
 * with the stack words it read: a walk from the same registers over the
 * same words (new locks taken at one call site in a loop) is answered from
 * it, checked word by word, without a rule probe.
 *
 * x86-64 only; elsewhere every capture is libgcc's.
 */
#ifndef LG_UNWINDER_H
#define LG_UNWINDER_H

#include <stdint.h>

/* Frames whose pc lies in [own_lo, own_hi) are dropped from the start of
 * each stack (lockgraph's own). Called once at init; tests may call it
 * again, e.g. with (0, 0) to keep every frame. */
void lg__unwind_init(uintptr_t own_lo, uintptr_t own_hi);

/* The walk from a given register state: pc is a return address (or, for
 * the first frame only, any address in the function), sp the stack pointer
 * and rbp the frame pointer of that frame. Writes up to max frames, each
 * frame's pc and its stack pointer at that pc (what _Unwind_GetCFA gives
 * for it), and returns the count. Never reads outside the stack that sp is
 * on. lg__stack_capture is this, started at its caller. */
int lg__unwind_walk(uintptr_t *pcs, uintptr_t *cfas, int max, uintptr_t pc, uintptr_t sp,
                    uintptr_t rbp);

/* The same capture through libgcc's _Unwind_Backtrace, starting at the
 * caller: the fallback, and the reference the tests compare with. */
int lg__unwind_capture_libgcc(uintptr_t *pcs, uintptr_t *cfas, int max);

/* Forget every cached rule: a module was unloaded, and another may come to
 * the same addresses. Cheap enough for dlclose (a few microseconds). */
void lg__unwind_modules_changed(void);

/* Counters of the slow events, for tests and benchmarks. */
struct lg_unwind_stats {
    uint64_t misses;    /* rules looked up in the CFI */
    uint64_t fallbacks; /* captures handed to libgcc */
    uint64_t bounds;    /* stack bounds established (a syscall or two each) */
    uint64_t flushes;   /* lg__unwind_modules_changed and load/unload counts */
    uint64_t memo_hits; /* the calling thread's walks answered by its memo */
};
void lg__unwind_stats(struct lg_unwind_stats *s);

#endif
