/*
 * graph.h - the lock graph.
 *
 * Model: a vertex is a lock class (class.h), or, for locks of one class held
 * together (buckets, tree nodes, transfer(a, b)), a lock instance; an edge
 * A->B says some thread went to block for B while holding A. Class vertices
 * only ever connect to class vertices, and an instance vertex only to
 * instance vertices of its own class, so the graph falls into components:
 * the class graph, and one small graph per class of its live instances. A
 * cycle is a potential deadlock.
 *
 * Concurrency: lg__graph_find() takes no lock and allocates nothing; it is
 * the fast path's question "is this order already known?". Each vertex's
 * out-edges are an open-addressed set of edge pointers published with
 * release stores. A set that fills up, or fills with holes of removed edges,
 * is copied and the old one retired (reclaim.h): a reader never touches
 * freed memory as long as it keeps no edge or set across lg__leave.
 * Everything else - adding and removing, cycle search, the topological
 * order - runs under the graph lock.
 *
 * Cost: an edge consistent with the current topological order is added in
 * O(1); one against it costs a search bounded by the vertices whose order
 * lies between its ends (Pearce & Kelly, "A dynamic topological sort
 * algorithm for directed acyclic graphs", JEA 2007). A vertex gets its place
 * in the order at its first edge: below everything when that edge leaves it,
 * above everything when it enters it, so a new lock nested under or over an
 * old one costs O(1) however big the graph is. An edge that closes a cycle
 * stays out of the order; while a component has such edges, a new edge in
 * it whose ends could lie on a path through one is also checked with a
 * breadth-first search, pruned by order, over that component only.
 *
 * Removal: a vertex that goes (a lock instance destroyed or freed, a class
 * whose code was unloaded) takes its edges with it, so the graph follows
 * the locks alive now, not every lock that ever existed. Vertices are
 * type-stable (recycled only as vertices, with a new generation), so a
 * reader holding a stale vertex pointer reads a vertex, and compares `gen`.
 */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include "reclaim.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lg_stack;
struct lg_edge;

enum lg_lock_type {
    LG_TYPE_MUTEX = 0,
    LG_TYPE_SPIN = 1,
    LG_TYPE_RWLOCK = 2,
    LG_TYPE_SEM = 3, /* [waits] a POSIX semaphore used as a lock (sem.c) */
};
enum lg_lock_mode {
    LG_MODE_NORMAL,
    LG_MODE_RECURSIVE,
    LG_MODE_ERRORCHECK,
    LG_MODE_ADAPTIVE,
    LG_MODE_PREFER_READER, /* rwlock: a reader never waits for readers */
    LG_MODE_PREFER_WRITER, /* rwlock: a reader waits behind a waiting writer */
};

/* How an edge's locks were involved: `from` held exclusively or shared, `to`
 * waited for exclusively or shared. Shared only ever means a read hold or
 * wait on a reader-preferring rwlock; everything else is exclusive. An edge
 * remembers every combination seen, one bit each. */
#define LG_COMBO(held_excl, wait_excl) ((unsigned)(((held_excl) ? 2 : 0) | ((wait_excl) ? 1 : 0)))
#define LG_COMBO_EXCL LG_COMBO(1, 1)

struct lg_adj {
    struct lg_retired r; /* when replaced */
    uint32_t mask;       /* capacity - 1, capacity a power of two */
    uint32_t count;      /* edges, holes included */
    uint32_t holes;
    _Atomic(struct lg_edge *) slot[];
};

/* Where cyclic edges are: per component, so a harmless cycle in one class's
 * instances costs nothing to edges elsewhere. Bounds only ever loosen while
 * cyclic edges exist and reset when the last one goes. */
struct lg_comp {
    uint64_t ncyclic;
    int64_t max_cyc_src, min_cyc_dst;
};

enum lg_vertex_kind { LG_VERTEX_CLASS = 1, LG_VERTEX_INSTANCE = 2 };

struct lg_vertex {
    /* Set when taken from the pool; `gen` changes when it goes back. */
    uint64_t id;
    _Atomic uint32_t gen;
    uint8_t kind;    /* enum lg_vertex_kind */
    atomic_bool dead; /* removed from the graph; edges gone */
    void *owner;     /* its struct lg_class or struct lg_node */
    struct lg_comp *comp;
    _Atomic(struct lg_adj *) out;

    /* Under the graph lock only. */
    int64_t rank;   /* place in the topological order; 0 until the first edge */
    struct lg_edge **in;
    uint32_t nin, capin;
    uint32_t cyc_out, cyc_in; /* cyclic edges leaving / entering */
    struct lg_retired r;      /* on its way back to the pool */
    /* Its first out-set and in-list, in place: most vertices have an edge
     * or two, and then cost no allocation and no retirement. The out-set
     * is used once (a reader may still probe it after it is replaced),
     * until the vertex itself has been through a grace period. */
    bool adj0_used;
    struct lg_edge *in0[2];
    _Alignas(struct lg_adj) unsigned char adj0[sizeof(struct lg_adj) +
                                               4 * sizeof(struct lg_edge *)];
};

struct lg_edge_info {
    int32_t tid;
    uint32_t thread_seq;
    char thread_name[16];
    const struct lg_stack *first;  /* where `from` was taken */
    const struct lg_stack *second; /* where `to` was being taken */
    bool first_exact;
    bool timed;
    /* The instances the edge was first seen between (for a class edge, the
     * locks behind it). */
    uint64_t from_id, to_id;
    uintptr_t from_addr, to_addr;
    /* The outermost lock the thread held exclusively besides the edge's
     * two: a candidate gate (see lg_edge.gate). id 0: none. */
    uint64_t gate_id;
    uintptr_t gate_addr;
};

struct lg_edge {
    struct lg_vertex *from, *to;
    struct lg_edge_info info;
    struct lg_retired r;
    uint32_t in_idx;        /* its place in to->in (graph lock) */
    bool cyclic;            /* closed a cycle when added: kept out of the order */
    _Atomic uint8_t combos; /* LG_COMBO bits seen */
    /* A lock (instance id) held exclusively every time this edge has been
     * seen, or 0. A cycle whose edges all share one gate cannot deadlock:
     * only one thread at a time can be inside it. Dropped (never restored)
     * the first time the edge is seen without it. */
    _Atomic uint64_t gate;
    uintptr_t gate_addr;
};

/* A cycle, edge[i]->to == edge[i+1]->from, last->to == edge[0]->from;
 * combo[i] is how edge i takes part (see LG_COMBO). The edges are copies:
 * valid after the graph lock is gone. */
struct lg_cycle {
    uint32_t n;
    bool single_thread, timed;
    uint8_t *combo;
    struct lg_vertex **vertex; /* vertex[i] == edge[i].from */
    struct lg_edge edge[];
};

/* A fresh vertex, not yet in the graph (no edges); NULL when out of memory.
 * owner: what it stands for; comp: its component. Vertices come from a
 * type-stable pool. */
struct lg_vertex *lg__graph_vertex_new(enum lg_vertex_kind kind, void *owner,
                                       struct lg_comp *comp);

/* Take v and all its edges out of the graph; v goes back to the pool after
 * a grace period. Takes the graph lock. */
void lg__graph_vertex_remove(struct lg_vertex *v);

/* The fast path: the edge from->to, or NULL. No lock, no allocation. */
struct lg_edge *lg__graph_find(const struct lg_vertex *from, const struct lg_vertex *to);
/* Is from->to known with this combination (LG_COMBO)? Same cost. */
bool lg__graph_knows(const struct lg_vertex *from, const struct lg_vertex *to, unsigned combo);

enum lg_add_result {
    LG_EDGE_EXISTS, /* someone else added it first */
    LG_EDGE_ADDED,
    LG_EDGE_CYCLE, /* added, and it closed a new cycle: *cycle is set */
    LG_EDGE_NOMEM
};

/* Add from->to (from != to, both alive and in one component), taken as
 * combo (LG_COMBO). When that closes a cycle that can deadlock (one that
 * passes no reader-preferring rwlock only as held shared and waited for
 * shared, and not all under one gate) and has not been reported before
 * (same acquisition sites on every edge), *cycle receives a copy the caller
 * must release with lg__graph_cycle_free. Takes the graph lock. A dead end
 * (a vertex removed meanwhile) adds nothing and says LG_EDGE_EXISTS. */
enum lg_add_result lg__graph_add_edge_as(struct lg_vertex *from, struct lg_vertex *to,
                                         const struct lg_edge_info *info, unsigned combo,
                                         struct lg_cycle **cycle);
/* The same, both locks exclusive (mutexes). */
enum lg_add_result lg__graph_add_edge(struct lg_vertex *from, struct lg_vertex *to,
                                      const struct lg_edge_info *info, struct lg_cycle **cycle);

/* from->to was seen without its gate held: drop the gate, and report a
 * cycle through it that the gate was hiding (as lg__graph_add_edge_as). */
enum lg_add_result lg__graph_ungate(struct lg_vertex *from, struct lg_vertex *to,
                                    struct lg_cycle **cycle);

void lg__graph_cycle_free(struct lg_cycle *c);

/* Counts, for tests and the exit summary. */
uint64_t lg__graph_edge_count(void);
uint64_t lg__graph_vertex_count(void);
uint64_t lg__graph_cycles_suppressed(void);

void lg__graph_lock_all(void);
void lg__graph_unlock_all(void);
void lg__graph_reset_child(void);

#endif
