/*
 * symbols.h - which module an address is in, and which data symbol holds it.
 *
 * Stable keys (keys.h) need, for a lock's address or a call site, the module
 * it belongs to (by file name) and, for a lock in a module's static storage,
 * the symbol whose storage holds it. This is the runtime's only symbol
 * lookup; turning code addresses into function names stays the tool's job.
 *
 * The module table is a snapshot of dl_iterate_phdr, rebuilt when the
 * loader's add/remove counters move. Symbol tables are read from each
 * module's file (.symtab, else .dynsym) the first time a lock in it needs a
 * key, and kept: the file is mapped read-only and its object symbols sorted.
 *
 * Never called with a lockgraph lock held (it calls dl_iterate_phdr, which
 * takes the loader's lock); takes only sym_lock, a leaf, and never across a
 * call into the loader.
 */
#ifndef LG_SYMBOLS_H
#define LG_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_modinfo {
    uintptr_t lo, hi; /* mapped range of its PT_LOAD segments */
    uintptr_t bias;   /* load bias: run-time address - ELF address */
    const char *path; /* file; the main program's resolved through /proc/self/exe */
    const char *base; /* file name without directory */
    void *priv;       /* the table's record, for lg__symbol_of */
};

/* The module whose image covers addr. False when none does (heap, stack,
 * anonymous mappings). */
bool lg__module_of(uintptr_t addr, struct lg_modinfo *out);

/* The data symbol of module m whose storage covers addr. Writes its name to
 * name (with the source file's name and a ':' before it when the name is not
 * unique in the module and the file is known) and the byte offset of addr in
 * it to *off. False when the module has no symbol table or no symbol covers
 * addr. */
bool lg__symbol_of(const struct lg_modinfo *m, uintptr_t addr, char *name, size_t namelen,
                   uintptr_t *off);

/* The run-time address of data symbol SYM ("NAME" or "FILE:NAME", as
 * lg__symbol_of writes it) of the loaded module whose file name is MODULE;
 * neither is NUL-terminated. False when either is not found. */
bool lg__symbol_addr(const char *module, size_t mlen, const char *sym, size_t slen,
                     uintptr_t *addr);

/* A module was unloaded (dlclose): its range may be reused, forget the map. */
void lg__symbols_modules_changed(void);

/* fork support: see sync.h for the order. */
void lg__symbols_lock_all(void);
void lg__symbols_unlock_all(void);
void lg__symbols_reset_child(void);

#endif
