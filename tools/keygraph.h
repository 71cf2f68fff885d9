/*
 * keygraph.h - the union of graph files by stable key, its cycle check, and
 * the rank file proposed from it (`lockgraph ranks`).
 *
 * The model: nodes are keys, edges are ordered key pairs (some thread went to
 * take `to` while holding `from`), gathered over every file added. Keys are
 * opaque text except the `addr:` prefix: an address names a lock only within
 * the run that wrote the file, so each file's addr: keys are nodes of their
 * own. They still take part in the order (a lock taken between two ranked
 * locks orders them) but cannot be written to a rank file. A self-edge (two
 * locks of one key nested) orders nothing; it decides the key's same=
 * policy.
 *
 * A key's rank is 10 x (1 + the longest chain of edges leading to it): keys
 * never nested share a rank, and a rank can be inserted between any two.
 * Keys folded into one node (lg_keygraph_fold_sites) are written as one
 * class of the rank file.
 *
 * Cost: linear in keys + edges (hash lookups by key). A file added is
 * referenced, and must outlive the keygraph; a file taken is folded in and
 * its lines dropped at once, but for the few the keygraph keeps (a key's
 * first lock line, an edge's first instance): memory follows the keys and
 * edges, and a few words per file an edge is in, not the files' lines.
 */
#ifndef LG_TOOL_KEYGRAPH_H
#define LG_TOOL_KEYGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graphfile.h"
#include "symbolize.h"

struct lg_keygraph;

struct lg_keygraph *lg_keygraph_new(void);
void lg_keygraph_free(struct lg_keygraph *kg);

/* Fold, from the next file added on, site: keys whose sites symbolize
 * with `sym` to the same source frames (classkey.h: one class the library
 * saw as two, an init helper inlined in two places) into one node, named
 * by the first such key; the others are its `also` keys. Off unless
 * called. */
void lg_keygraph_fold_sites(struct lg_keygraph *kg, struct lg_symbolizer *sym);

/* Fold in the locks and edges of `g`. Returns 0, or -1 when out of memory
 * (the keygraph is then unusable). */
int lg_keygraph_add(struct lg_keygraph *kg, const struct lg_graph_file *g);
/* The same, taking `g` (left empty): its lines are freed but those kept,
 * its header (path, pid, modules, counts) stays, as lg_keygraph_file(). */
int lg_keygraph_take(struct lg_keygraph *kg, struct lg_graph_file *g);

enum lg_keygraph_result {
    LG_KEYGRAPH_ORDERED, /* every key has a level: write the rank file */
    LG_KEYGRAPH_CYCLE,   /* the union has a cycle (self-edges aside): print it */
    LG_KEYGRAPH_NOMEM,
};

/* Order the keys topologically, ignoring self-edges. On a cycle, one short
 * cycle is kept for lg_keygraph_print_cycle. Call once, after every add. */
enum lg_keygraph_result lg_keygraph_order(struct lg_keygraph *kg);

/* After LG_KEYGRAPH_CYCLE: the cycle's keys and, per edge, the files it is
 * in and the symbolized stacks of one instance. */
void lg_keygraph_print_cycle(const struct lg_keygraph *kg, FILE *out, struct lg_symbolizer *sym);

/* After LG_KEYGRAPH_ORDERED: the rank file (FINDINGS.md "The rank file"),
 * a commented `rank N KEY` line per stable key, lowest rank first. `warn`
 * receives a line per key left out for a reason the user should hear of
 * (may be NULL). */
void lg_keygraph_write_ranks(const struct lg_keygraph *kg, FILE *out, struct lg_symbolizer *sym,
                             FILE *warn);

/* After LG_KEYGRAPH_ORDERED: the rank proposed for `key` (a stable key),
 * or -1 when there is no such key. For tests. */
long lg_keygraph_rank_of(const struct lg_keygraph *kg, const char *key);

/* ---- the union's cycles (`lockgraph merge`, `lockgraph dot`) ---- */

struct lg_keycycle {
    size_t *edges;      /* edge indices (lg_keygraph_edge_view), in cycle order */
    size_t n;
    size_t single_file; /* a file that shows the whole cycle by itself, with
                           its own attributes; SIZE_MAX when only the union does */
};

/*
 * The cycles of the union that can deadlock, each once (as a set of keys),
 * such that every edge on some such cycle is in one of them: for an edge
 * not yet covered, the shortest cycle through it that the reader rule (a
 * reader-preferring rwlock held shared, then waited for shared, does not
 * block) and the gate rule (edges all made under one gate lock cannot
 * deadlock) allow; self-edges are no cycle. Edges merge over files as the
 * runtime merges instance edges: exclusive when any file says so, gated
 * only when every file names the same gate. At most `max` cycles (*capped
 * is set when there were more). Returns 0, or -1 when out of memory.
 */
int lg_keygraph_cycles(const struct lg_keygraph *kg, size_t max, struct lg_keycycle **out,
                       size_t *n, bool *capped);
void lg_keycycles_free(struct lg_keycycle *cycles, size_t n);

struct lg_keynode_view {
    const char *key;
    const char *const *also; /* keys folded into it (lg_keygraph_fold_sites) */
    size_t n_also;
    size_t file; /* an addr: key's file (it names a lock only there); SIZE_MAX otherwise */
    const struct lg_graph_lock *lock; /* its first graph-lock line; NULL if only edges name it */
    size_t lock_file;
    size_t n_self; /* self-edges (instances of the key nested) */
};

struct lg_keyedge_view {
    size_t from, to; /* nodes */
    long instances;  /* summed over the files */
    const size_t *files;             /* the files it is in, in the order added */
    const struct lg_graph_edge *inst; /* its line in the first of them (files[0]) */
    size_t n_files;
    bool held_exclusive, waited_exclusive; /* merged over the files */
    const char *gate;                      /* merged: NULL for none */
};

size_t lg_keygraph_n_files(const struct lg_keygraph *kg);
/* Are the union's nodes lock classes (some file's are: graphfile.h
 * `classes`), or locks, one key each (files written with classes=0, or
 * by an earlier version)? What the reports call them. */
bool lg_keygraph_classes(const struct lg_keygraph *kg);
const struct lg_graph_file *lg_keygraph_file(const struct lg_keygraph *kg, size_t i);
size_t lg_keygraph_n_nodes(const struct lg_keygraph *kg);
size_t lg_keygraph_n_edges(const struct lg_keygraph *kg);
void lg_keygraph_node_view(const struct lg_keygraph *kg, size_t v, struct lg_keynode_view *out);
void lg_keygraph_edge_view(const struct lg_keygraph *kg, size_t k, struct lg_keyedge_view *out);
/* "mutex "table", 1 instance in each of 2 files, created at f (x.c:4)" */
void lg_keygraph_describe_node(const struct lg_keygraph *kg, size_t v, FILE *out,
                               struct lg_symbolizer *sym);

#endif
