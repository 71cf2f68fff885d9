/*
 * symbolize.h - turn a raw return address from a findings file into
 * function, source file:line, or at least module+offset.
 *
 * The model: a finding records, next to its stacks, the modules they point
 * into (path, load bias, build-id). A symbolizer reads those files offline with
 * elfutils' libdwfl, once per distinct module, and answers lookups from that
 * cache. When a module's file is gone or is not the one that ran (build-id
 * differs), lookups still answer with module+offset, and the reason is written
 * once to the diagnostics stream.
 * Inlined calls can be expanded into frames of their own from DWARF scopes.
 * Cost: opening a module reads its ELF and DWARF lazily; keep one symbolizer
 * for a whole report.
 */
#ifndef LG_TOOL_SYMBOLIZE_H
#define LG_TOOL_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "findings.h"

struct lg_symbolizer;

/* One resolved frame. Strings belong to the symbolizer: valid until it is
 * freed. */
struct lg_frame {
    uint64_t pc;              /* as recorded */
    const char *function;     /* NULL when no symbol covers the address */
    uint64_t function_offset; /* from the function's start to pc */
    const char *file;         /* source file; NULL when no line info */
    int line;
    bool inlined;           /* an inlined call, shown inside the next frame's function */
    const char *module;     /* module path; NULL when pc is in no recorded module */
    uint64_t module_offset; /* pc - module base: what addr2line -e module wants */
};

/* `diag` receives the one-time notes about unusable modules (may be NULL). */
struct lg_symbolizer *lg_symbolizer_new(FILE *diag);
void lg_symbolizer_free(struct lg_symbolizer *s);

/* Open the files of `mods` now (each once), so the notes about unusable
 * ones come before a finding is printed, not inside its stacks. */
void lg_symbolizer_prepare(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods);

/*
 * Resolve `pc`, a return address recorded in a finding whose module list is
 * `mods[0..n_mods)`. Return addresses point after the call, so the lookup uses
 * pc - 1 to land on the call instruction's line. Never fails: what cannot be
 * resolved is left NULL in *out.
 */
void lg_symbolize(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods, uint64_t pc,
                  struct lg_frame *out);

/*
 * The same address with inlined calls expanded, innermost first: out[0] is
 * the function whose code pc is in (perhaps inlined, with the source line of
 * pc), each next one the function it was inlined into, at the line of that
 * inlined call, and the last the real function that has a symbol. Fills at
 * most `max` (>= 1) frames and returns how many; 1 when nothing was inlined
 * or there is no debug info, out[0] then being what lg_symbolize gives.
 */
size_t lg_symbolize_inline(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods,
                           uint64_t pc, struct lg_frame *out, size_t max);

#endif
