/*
 * classkey.h - lock classes read offline: what a class key's sites are,
 * and when two classes are one source-level class.
 *
 * The model (FINDINGS.md "Lock classes"): a lock's class is where it was
 * made - the return address of its init call ("site"), that and the
 * callers up to the one that is no lock wrapper ("chain") - or its own
 * address, or a name. The library tells classes apart by return address,
 * so an init helper inlined into two functions makes two classes out of
 * what the source calls one. Offline, with debug info, each site is
 * symbolized to its innermost source frame (the inlined helper's function,
 * file and line): two site or chain classes whose sites give the same
 * frames, one by one, fold into one. Without debug info for a site nothing
 * folds: the key stays the class.
 *
 * Cost: a symbolizer lookup per site (cached by the symbolizer), a string
 * per class compared.
 */
#ifndef LG_TOOL_CLASSKEY_H
#define LG_TOOL_CLASSKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "findings.h"
#include "symbolize.h"

/* Sites a class key holds at most (an init site and its callers). */
#define LG_CLASS_MAX_SITES 16

/*
 * The sites of a site: key ("site:prog+0x1a2b", a chain
 * "site:prog+0x1a2b<prog+0x1c40<..."), as run-time return addresses of
 * the process whose module map is `mods` (a graph file's), innermost
 * first, in pcs[0..max). Returns how many; 0 when the key is not a site:
 * key or names a module the map does not hold.
 */
size_t lg_class_key_sites(const char *key, const struct lg_module *mods, size_t n_mods,
                          uint64_t *pcs, size_t max);

/*
 * What a class folds by: each site's innermost source frame, as
 * "function\tfile\tline" joined by '\n', in buf. False when some site has
 * no function, file or line (no debug info): such a class folds with none.
 */
bool lg_class_fold_text(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                        const uint64_t *pcs, size_t n, char *buf, size_t len);

/*
 * The identity of a lock's class folded by source line, for the grouping
 * of findings (dedupe.h's lg_class_identity_fn; `sym` is the symbolizer):
 * 0 for a lock whose class is not a site or chain class, or has no debug
 * info, which the grouper then tells apart by its key.
 */
uint64_t lg_class_fold_identity(void *sym, const struct lg_finding *f, const struct lg_lock *l);

#endif
