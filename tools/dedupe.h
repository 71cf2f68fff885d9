/*
 * dedupe.h - findings that say the same thing, from many processes and
 * runs, grouped so a report shows each once.
 *
 * The model: the library reports a cycle once per process, but a test
 * suite of 200 processes running the same code reports it 200 times, each
 * with other addresses (ASLR) and pids. Two findings are the same when they
 * are the same cycle (the same locks, by stable identity: key, name, a
 * global's place in its module, or its creation site) or the same code
 * (the same acquisition sites, as module + offset, so a rebuild-free rerun
 * matches). Other kinds compare their sites and fields the same way. A
 * group is shown by its first finding, in file order, and lists the rest.
 *
 * Cost: O(1) expected per finding (hash tables of signatures); memory
 * follows the groups. Nothing is symbolized.
 */
#ifndef LG_TOOL_DEDUPE_H
#define LG_TOOL_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>

#include "findings.h"

/* One place a finding of a group was seen. */
struct lg_seen {
    const char *file; /* the findings file (valid while the grouper lives) */
    size_t line;
    long pid;
    size_t index; /* the finding's place in the input order */
};

struct lg_group {
    size_t first;                     /* index of the finding shown: the group's earliest */
    const struct lg_finding *finding; /* the finding shown */
    size_t n;                         /* findings of the group */
    size_t processes;                 /* distinct (file, pid) among them */
    size_t paths;                     /* distinct code paths (acquisition sites) among them */
    const struct lg_seen *seen;       /* where, in input order: the first `keep` */
    size_t n_seen;
    size_t *members; /* lg_group_findings only: indices of every finding, in order */
};

/*
 * Grouping as findings are read: memory follows the groups (their first
 * finding, the first `keep` places each was seen, and the distinct
 * processes and code paths), not the findings.
 */
struct lg_grouper;

/* A lock's class by another identity than its key, or 0 to keep the key:
 * `report` folds classes whose init sites are one source line (classkey.h). */
typedef uint64_t (*lg_class_identity_fn)(void *arg, const struct lg_finding *f,
                                         const struct lg_lock *l);

/* `merge` false: every finding is a group of its own. `owns`: the grouper
 * takes the findings added (and frees those it does not show, at once);
 * else they must outlive it. `keep`: places kept per group (SIZE_MAX:
 * all). NULL when out of memory. */
struct lg_grouper *lg_grouper_new(bool merge, bool owns, size_t keep);
void lg_grouper_free(struct lg_grouper *gr);

/* Tell the locks of cycles apart by `fn` (see lg_class_identity_fn), from
 * the next finding added on. */
void lg_grouper_fold_classes(struct lg_grouper *gr, lg_class_identity_fn fn, void *arg);

/* Add finding `f` (with `owns`, allocated with malloc), number `index` in
 * the input order (each index once; increasing is cheapest). Returns 0,
 * or -1 when out of memory (the finding is then dropped). */
int lg_grouper_add(struct lg_grouper *gr, size_t index, struct lg_finding *f);

/* The groups so far, in order of their first finding; valid until the
 * next add or the free. 0 groups with *out NULL when out of memory. */
size_t lg_grouper_groups(struct lg_grouper *gr, const struct lg_group **out);

struct lg_groups {
    struct lg_group *items;
    size_t n;
};

/*
 * Group the findings of `set` at once, leaving out those with skip[i] set
 * (skip may be NULL). With `merge` false every finding is a group of its
 * own. Each group lists its members (`seen` is not kept). Returns 0, or -1
 * when out of memory.
 */
int lg_group_findings(const struct lg_findings *set, const bool *skip, bool merge,
                      struct lg_groups *out);
void lg_groups_free(struct lg_groups *g);

/* Where `pc` (a return address of finding `f`) is, in a form that is the
 * same in every run of the same build: a hash of the module's build-id (or
 * file name) and the offset in it. An address in no recorded module gives
 * a hash of the process and the address. Exposed for tests. */
uint64_t lg_site_hash(const struct lg_finding *f, uint64_t pc);

/* Where finding `f` happened (its sites, as above), as one number: the
 * same finding in another run of the same build gets the same. */
uint64_t lg_finding_signature(const struct lg_finding *f);

/* A lock of finding `f` by what names it across runs (see the model
 * above): a ranked lock's key; the key of its class, for a class made at
 * a site, through a wrapper or by name; its name; a global's place in its
 * module; its creation site. *stable is false when only its address in
 * that process does. */
uint64_t lg_lock_identity(const struct lg_finding *f, const struct lg_lock *l, bool *stable);

#endif
