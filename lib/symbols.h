/*
 * symbols.h - which module an address is in, and which data symbol holds it.
 *
 * Stable keys (keys.h) need, for a lock's address or a call site, the module
 * it belongs to (by file name) and, for a lock in a module's static storage,
 * the symbol whose storage holds it. This is the runtime's only symbol
 * lookup; turning code addresses into source lines stays the tool's job (the
 * function of an init site is looked up to tell lock wrappers, class.h).
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

/* Set in the child of _Fork: the loader's lock may be held by a thread that
 * does not exist there, so nothing of lockgraph's may call dl_iterate_phdr
 * (module lookups fail; findings are written without a module map). */
extern bool lg__loader_unsafe;

/* dl_iterate_phdr for lockgraph: every call of lockgraph's goes through here,
 * holding loader_lock, which fork takes first (sync.h): glibc's fork resets
 * the loader's own lock but not the one dl_iterate_phdr takes, so a child
 * forked while a thread was inside it hangs at its first module lookup.
 * Holding this while forking means no thread of lockgraph's is inside.
 * Returns what dl_iterate_phdr returns; 0, calling nothing, when
 * lg__loader_unsafe. Never called with another lockgraph lock held except
 * dump's. */
struct dl_phdr_info;
int lg__iterate_modules(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);

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

/* The name of the function of module m whose code covers pc (as in the
 * symbol table: mangled for C++). False when none is known (a stripped
 * module keeps only its exported functions). */
bool lg__function_of(const struct lg_modinfo *m, uintptr_t pc, char *name, size_t namelen);

/* The run-time address of data symbol SYM ("NAME" or "FILE:NAME", as
 * lg__symbol_of writes it) of the loaded module whose file name is MODULE;
 * neither is NUL-terminated. False when either is not found. */
bool lg__symbol_addr(const char *module, size_t mlen, const char *sym, size_t slen,
                     uintptr_t *addr);

/* A module was unloaded (dlclose): its range may be reused, forget the map. */
void lg__symbols_modules_changed(void);

/* fork support: see sync.h for the order. */
void lg__loader_lock_all(void);
void lg__loader_unlock_all(void);
void lg__loader_reset_child(void);

void lg__symbols_lock_all(void);
void lg__symbols_unlock_all(void);
void lg__symbols_reset_child(void);

/* Before a fork, before lockgraph's locks are taken: the module table made
 * if there is none, for the child to inherit (symbols.c). */
void lg__symbols_fork_prepare(void);

#endif
