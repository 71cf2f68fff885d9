/*
 * graph.h - the lock graph.
 *
 * Model: a node is one lock instance (an address between its init, or first
 * use, and its destroy); an edge A->B says some thread went to block for B
 * while holding A. A cycle is a potential deadlock.
 *
 * Concurrency: lg__graph_has_edge() takes no lock and allocates nothing; it
 * is the fast path's question "is this order already known?". Each node's
 * out-edges are an open-addressed set of edge pointers published with
 * release stores; a set that fills up is copied into one twice the size and
 * the old one is kept (never freed), so a reader never touches freed memory.
 * Everything else - adding edges, cycle search, the topological order - runs
 * under the graph lock.
 *
 * Cost: an edge consistent with the current topological order is added in
 * O(1); one against it costs a search bounded by the nodes whose order lies
 * between its ends (Pearce & Kelly, "A dynamic topological sort algorithm
 * for directed acyclic graphs", JEA 2007). An edge that closes a cycle stays
 * out of the order; once there are such edges, a new edge whose ends could
 * lie on a path through one is also checked with a breadth-first search,
 * pruned by rank (see graph.c). A graph where most locks are in one big
 * strongly connected tangle (every pair inverted somewhere) makes that
 * search run often: correct, but a new edge then costs O(edges).
 *
 * Nodes and edges are never freed: a destroyed lock's node is marked dead and
 * keeps its edges, which cannot take part in a new cycle since nothing can
 * take a dead lock again. Identity stays right because a new lock at the same
 * address gets a new node.
 */
#ifndef LG_GRAPH_H
#define LG_GRAPH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct lg_stack;
struct lg_edge;
struct lg_class;

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
    uint32_t mask; /* capacity - 1, capacity a power of two */
    uint32_t count;
    _Atomic(struct lg_edge *) slot[];
};

struct lg_node {
    /* Set once at creation, then read-only. */
    uint64_t id;
    uintptr_t addr;
    uint8_t type, mode;           /* set once; see provisional */
    bool created;                 /* stack is the init site, not the first lock */
    /* Made by lg_name_lock before any lock call: type and mode are filled
     * in by the first acquisition (the name call cannot know them). */
    atomic_bool provisional;

    /* Where created or first seen; set once (a lock named before its first
     * use gets it at that use), NULL when unknown. */
    _Atomic(const struct lg_stack *) stack;

    _Atomic(const char *) name; /* lg_name_lock; points into lockgraph memory */
    /* Its rank class (ranks.h), or NULL: an unranked lock, checked for
     * nothing more. Set when the lock is created, named or ranked. */
    _Atomic(struct lg_class *) cls;
    struct lg_node *all_next;   /* every published node, newest first */
    _Atomic int32_t owner;      /* spinlocks only: tid of the holder, 0 free */
    _Atomic(struct lg_adj *) out;
    atomic_bool dead;

    /* Under the graph lock only. */
    int64_t rank;
    struct lg_edge **in;
    uint32_t nin, capin;
    uint32_t cyc_out, cyc_in;  /* cyclic edges leaving / entering */
    uint64_t mark;             /* search epoch */
    struct lg_edge *via;       /* breadth-first search: edge we came by */
    /* The cycle search has four states per node: reached by a shared or an
     * exclusive wait (bit 0), through an edge not under the gate (bit 1). */
    uint64_t smark[4];
    struct lg_edge *svia[4];
    uint8_t sprev[4], scombo[4];
};

struct lg_edge_info {
    int32_t tid;
    uint32_t thread_seq;
    char thread_name[16];
    const struct lg_stack *first;  /* where `from` was taken */
    const struct lg_stack *second; /* where `to` was being taken */
    bool first_exact;
    bool timed;
    /* The outermost lock the thread held exclusively besides the edge's
     * two, or NULL: a candidate gate (see lg_edge.gate). */
    struct lg_node *gate;
};

struct lg_edge {
    struct lg_node *from, *to;
    struct lg_edge_info info;
    bool cyclic;           /* closed a cycle when added: kept out of the order */
    _Atomic uint8_t combos; /* LG_COMBO bits seen */
    /* A lock held exclusively every time this edge has been seen, or NULL.
     * A cycle whose edges all share one gate cannot deadlock: only one
     * thread at a time can be inside it. Dropped (never restored) the first
     * time the edge is seen without it. */
    _Atomic(struct lg_node *) gate;
};

/* A cycle, edge[i]->to == edge[i+1]->from, last->to == edge[0]->from;
 * combo[i] is how edge i takes part (see LG_COMBO). */
struct lg_cycle {
    uint32_t n;
    bool single_thread, timed;
    uint8_t *combo;
    struct lg_edge *edge[];
};

/* A new node for a lock at addr; NULL when out of memory. No lock taken
 * except alloc's. */
struct lg_node *lg__graph_node_new(uintptr_t addr, enum lg_lock_type type, enum lg_lock_mode mode,
                                   bool created, const struct lg_stack *stack);

/* Give back a node that never got into the graph (lost a registry race). */
void lg__graph_node_discard(struct lg_node *n);

/* The node is in the registry now: add it to the list of all nodes, which
 * the graph dump walks without a lock (nodes are never freed). */
void lg__graph_node_publish(struct lg_node *n);
/* The newest published node; follow all_next for the rest. */
struct lg_node *lg__graph_nodes(void);

/* The fast path: is from->to known (in any way)? No lock, no allocation. */
bool lg__graph_has_edge(const struct lg_node *from, const struct lg_node *to);
/* Is from->to known with this combination (LG_COMBO)? Same cost. */
bool lg__graph_knows(const struct lg_node *from, const struct lg_node *to, unsigned combo);
/* The edge from->to, or NULL. Same cost. */
struct lg_edge *lg__graph_find(const struct lg_node *from, const struct lg_node *to);

/* The edge was seen without its gate held: drop the gate, and report a
 * cycle through it that the gate was hiding (as lg__graph_add_edge_as). */
enum lg_add_result lg__graph_ungate(struct lg_edge *e, struct lg_cycle **cycle);

enum lg_add_result {
    LG_EDGE_EXISTS, /* someone else added it first */
    LG_EDGE_ADDED,
    LG_EDGE_CYCLE, /* added, and it closed a new cycle: *cycle is set */
    LG_EDGE_NOMEM
};

/* Add from->to (from != to), taken as combo (LG_COMBO). When that closes a
 * cycle that can deadlock (one that passes no reader-preferring rwlock only
 * as held shared and waited for shared) and has not been reported before
 * (same acquisition sites on every edge), *cycle receives a copy the caller
 * must release with lg__graph_cycle_free. Takes the graph lock. */
enum lg_add_result lg__graph_add_edge_as(struct lg_node *from, struct lg_node *to,
                                         const struct lg_edge_info *info, unsigned combo,
                                         struct lg_cycle **cycle);
/* The same, both locks exclusive (mutexes). */
enum lg_add_result lg__graph_add_edge(struct lg_node *from, struct lg_node *to,
                                      const struct lg_edge_info *info, struct lg_cycle **cycle);

void lg__graph_cycle_free(struct lg_cycle *c);

/* Counts, for tests and the exit summary. */
uint64_t lg__graph_edge_count(void);
uint64_t lg__graph_cycles_suppressed(void);

void lg__graph_lock_all(void);
void lg__graph_unlock_all(void);
void lg__graph_reset_child(void);

#endif
