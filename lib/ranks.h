/*
 * ranks.h - declared lock order: ranks, classes and partial orders.
 *
 * A class is a set of locks that share a place in the declared order: the
 * locks of one stable key (keys.h), of several keys grouped by a `class`
 * line, or of one name given through the API. A class may have a rank (a
 * number: higher ranks are taken later) and may be ordered before other
 * classes by `order` lines. Taking a lock of class C while holding a lock of
 * class H is a violation when
 *
 *     H == C        and C's same-class policy forbids it (strict: always;
 *                   address: unless the new lock's address is higher);
 *     both ranked   and rank(C) <= rank(H);
 *     otherwise     C is declared, directly or through other classes and
 *                   ranks, to come before H.
 *
 * The last needs the transitive closure of the declared order (only when
 * there are `order` declarations at all). A rank file's is computed when it
 * is read; the API's declarations are checked for cycles at once and the
 * closure is rebuilt at the next check. It is published whole, so a check
 * takes no lock.
 *
 * The rank file format is in FINDINGS.md ("The rank file").
 */
#ifndef LG_RANKS_H
#define LG_RANKS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_node;

enum lg_same { LG_SAME_STRICT = 0, LG_SAME_ADDRESS = 1, LG_SAME_ANY = 2 };
enum lg_why { LG_WHY_NONE = 0, LG_WHY_RANK, LG_WHY_ORDER, LG_WHY_SAME };

#define LG_NO_RANK INT64_MIN

struct lg_rank_class {
    const char *label;     /* class name, or the key for a one-key class */
    uint32_t idx;          /* index in the closure */
    _Atomic int64_t rank;  /* LG_NO_RANK when it has none */
    _Atomic uint8_t same;  /* enum lg_same */
    int line;              /* where it got its rank (0: the API) */
    struct lg_rank_class *next; /* label hash chain */
};

struct lg_ranks;

/* The declarations in force, or NULL when none were made: every check is
 * then skipped. Set once (rank file at start, or the first API call). */
extern _Atomic(struct lg_ranks *) lg__ranks;

/* An empty set of declarations, or NULL when out of memory. */
struct lg_ranks *lg__ranks_new(void);

/* Parse rank-file text into r. On error returns -1 with
 * "FILE:LINE: reason" in err; r then holds what came before the bad line. */
int lg__ranks_parse(struct lg_ranks *r, const char *text, size_t len, const char *file,
                    char *err, size_t errlen);

/* Read and parse a rank file (raw system calls, no stdio). */
int lg__ranks_load(struct lg_ranks *r, const char *path, char *err, size_t errlen);

/* The class of a key or class label, or NULL. Lock-free. */
struct lg_rank_class *lg__ranks_find(const struct lg_ranks *r, const char *key_or_label);

/* Is taking a lock of class c at addr, while holding one of class h at
 * haddr, against the declarations? Lock-free and allocation-free, except
 * the first check after API declarations changed the order, which builds
 * the closure (r->lock, alloc). */
enum lg_why lg__ranks_check(struct lg_ranks *r, const struct lg_rank_class *h, uintptr_t haddr,
                            const struct lg_rank_class *c, uintptr_t addr);

/* A cycle in declared order, for the error it makes. */
#define LG_RANK_CYCLE_MAX 32
struct lg_rank_cycle {
    uint32_t n;
    const char *label[LG_RANK_CYCLE_MAX];
};

/* The API's declarations, by key, class label, or bare lock name (taken as
 * a `name:` key). same < 0 keeps the class's policy. Each returns 0, or 1
 * when it made a new class (locks already named may now belong to it), or
 * -1 when it would make the declared order cyclic (then nothing changes and
 * *cycle, if not NULL, gets the cycle) or when out of memory (cycle->n ==
 * 0). */
int lg__ranks_set_rank(struct lg_ranks *r, const char *key, int64_t rank, int same,
                       struct lg_rank_cycle *cycle);
int lg__ranks_add_order(struct lg_ranks *r, const char *before, const char *after,
                        struct lg_rank_cycle *cycle);

/* Give node n its class from its keys (name, then sym, then site), if the
 * declarations name any of them. Computes keys: no lockgraph lock held. */
void lg__ranks_classify(struct lg_node *n);

/* The first time this pair of sites (return addresses of the held lock's
 * and the new lock's lock calls) violates the order? Lock-free. */
bool lg__ranks_first_time(uintptr_t held_pc, uintptr_t pc);

/* fork support: see sync.h for the order. (A declaration racing with the
 * very first one, which makes lg__ranks, is not covered.) */
void lg__ranks_lock_all(void);
void lg__ranks_unlock_all(void);
void lg__ranks_reset_child(void);

/* For tests: how many classes, and whether any closure is in force. */
uint32_t lg__ranks_class_count(const struct lg_ranks *r);

#endif
