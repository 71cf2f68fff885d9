/*
 * graph.c - lock graph, dynamic topological order, cycle search, removal.
 *
 * What it does: keeps the edges between vertices (lock classes, and lock
 * instances of one class), answers "is this edge known?" without a lock,
 * and when a new edge closes a cycle, finds the shortest such cycle and
 * decides whether it is new; takes a vertex out with all its edges. What it
 * does not do: decide what a vertex stands for (class.c, runtime.c), capture
 * stacks, write findings, or know about threads.
 *
 * Pearce-Kelly in three lines: every vertex has a rank and every edge goes
 * from a lower to a higher rank. A new edge x->y with rank(x) < rank(y)
 * needs nothing. Otherwise search forward from y over ranks below rank(x)
 * (reaching x means a cycle) and backward from x over ranks above rank(y),
 * then hand the ranks of both visited sets back out so the backward set
 * comes first. Removing vertices and edges never breaks the order.
 *
 * Locking: graph_lock guards everything except the lock-free reads of
 * lg__graph_find(); inside it only alloc's and reclaim's locks are taken.
 */
#include "graph.h"
#include "alloc.h"
#include "stack.h"
#include "sync.h"

#include <string.h>

#define graph_lock (lg__locks.graph)
static atomic_uint_fast64_t next_id = 1;
static int64_t rank_lo, rank_hi; /* ranks handed out below and above all others */
static atomic_uint_fast64_t nedges, nvertices;
static atomic_uint_fast64_t nsuppressed;

/* A removed edge's slot in a set: readers go on probing past it. */
static struct lg_edge hole_edge;
#define HOLE (&hole_edge)

/* ---------------------------------------------------------------------- */
/* Scratch memory, reused across searches (graph lock held).              */

struct vec {
    void **p;
    size_t n, cap;
};

static struct vec deltaf, deltab, work, ranks_tmp;

static bool vec_push(struct vec *v, void *x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        void **p = lg__alloc(cap * sizeof(void *));
        if (!p)
            return false;
        if (v->p) {
            memcpy(p, v->p, v->n * sizeof(void *));
            lg__free(v->p, v->cap * sizeof(void *));
        }
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = x;
    return true;
}

/* What a search knows of a visited vertex (or vertex and state): a hash map
 * keyed by address (plus two state bits), emptied in O(1) by a new stamp. The
 * vertices carry no search fields, so a lock's vertex stays small. */
struct visit {
    uintptr_t key;
    uint32_t stamp;
    uint8_t prev, combo;
    struct lg_edge *via;
};

static struct {
    struct visit *v;
    uint32_t mask, n, stamp;
} vis;

static inline uint32_t key_hash(uintptr_t k)
{
    return (uint32_t)(((uint64_t)k * 0x9E3779B97F4A7C15ull) >> 32);
}

static void vis_clear(void)
{
    vis.n = 0;
    if (++vis.stamp == 0) { /* wrapped: forget every old entry for real */
        for (uint32_t i = 0; vis.v && i <= vis.mask; i++)
            vis.v[i].stamp = 0;
        vis.stamp = 1;
    }
}

static struct visit *vis_get(uintptr_t key)
{
    if (!vis.v)
        return NULL;
    for (uint32_t i = key_hash(key) & vis.mask;; i = (i + 1) & vis.mask) {
        if (vis.v[i].stamp != vis.stamp)
            return NULL;
        if (vis.v[i].key == key)
            return &vis.v[i];
    }
}

static bool vis_grow(void)
{
    uint32_t cap = vis.v ? (vis.mask + 1) * 2 : 1024;
    struct visit *nv = lg__alloc(cap * sizeof(*nv));
    if (!nv)
        return false;
    for (uint32_t i = 0; vis.v && i <= vis.mask; i++) {
        if (vis.v[i].stamp != vis.stamp)
            continue;
        uint32_t j = key_hash(vis.v[i].key) & (cap - 1);
        while (nv[j].stamp == vis.stamp)
            j = (j + 1) & (cap - 1);
        nv[j] = vis.v[i];
    }
    if (vis.v)
        lg__free(vis.v, (vis.mask + 1) * sizeof(*vis.v));
    vis.v = nv;
    vis.mask = cap - 1;
    return true;
}

/* A new entry for key (not present); NULL when out of memory. */
static struct visit *vis_add(uintptr_t key)
{
    if ((!vis.v || 2 * (vis.n + 1) > vis.mask + 1) && !vis_grow())
        return NULL;
    uint32_t i = key_hash(key) & vis.mask;
    while (vis.v[i].stamp == vis.stamp)
        i = (i + 1) & vis.mask;
    vis.v[i] = (struct visit){.key = key, .stamp = vis.stamp};
    vis.n++;
    return &vis.v[i];
}

/* ---------------------------------------------------------------------- */
/* Vertices and the lock-free out-edge sets.                              */

static struct lg_pool vertex_pool = LG_POOL_INIT(struct lg_vertex, r);

struct lg_vertex *lg__graph_vertex_new(enum lg_vertex_kind kind, void *owner,
                                       struct lg_comp *comp)
{
    struct lg_vertex *v = lg__pool_get(&vertex_pool);
    if (!v)
        return NULL;
    v->id = atomic_fetch_add(&next_id, 1);
    v->kind = (uint8_t)kind;
    v->owner = owner;
    v->comp = comp;
    v->rank = 0;
    v->in = NULL;
    v->nin = v->capin = 0;
    v->cyc_out = v->cyc_in = 0;
    v->adj0_used = false;
    atomic_store_explicit(&v->out, NULL, memory_order_relaxed);
    atomic_store_explicit(&v->dead, false, memory_order_release);
    atomic_fetch_add(&nvertices, 1);
    return v;
}

static inline uint32_t vertex_hash(const struct lg_vertex *v)
{
    return key_hash((uintptr_t)v);
}

struct lg_edge *lg__graph_find(const struct lg_vertex *from, const struct lg_vertex *to)
{
    struct lg_adj *a = atomic_load_explicit(&((struct lg_vertex *)from)->out, memory_order_acquire);
    if (!a)
        return NULL;
    uint32_t i = vertex_hash(to) & a->mask;
    for (;;) {
        struct lg_edge *e = atomic_load_explicit(&a->slot[i], memory_order_acquire);
        if (!e)
            return NULL;
        if (e != HOLE && e->to == to)
            return e;
        i = (i + 1) & a->mask;
    }
}

bool lg__graph_knows(const struct lg_vertex *from, const struct lg_vertex *to, unsigned combo)
{
    struct lg_edge *e = lg__graph_find(from, to);
    return e && (atomic_load_explicit(&e->combos, memory_order_acquire) & (1u << combo));
}

static size_t adj_size(uint32_t cap)
{
    return sizeof(struct lg_adj) + cap * sizeof(((struct lg_adj *)0)->slot[0]);
}

static void adj_put(struct lg_adj *a, struct lg_edge *e)
{
    uint32_t i = vertex_hash(e->to) & a->mask;
    for (;;) {
        struct lg_edge *s = atomic_load_explicit(&a->slot[i], memory_order_relaxed);
        if (!s || s == HOLE)
            break;
        i = (i + 1) & a->mask;
    }
    if (atomic_load_explicit(&a->slot[i], memory_order_relaxed) == HOLE)
        a->holes--;
    else
        a->count++;
    atomic_store_explicit(&a->slot[i], e, memory_order_release);
}

#define ADJ0_CAP 4 /* the vertex's own (graph.h) */

static inline struct lg_adj *adj0_of(struct lg_vertex *v)
{
    return (struct lg_adj *)(void *)v->adj0;
}

static void adj_done(struct lg_retired *r)
{
    struct lg_adj *a = (struct lg_adj *)((char *)r - offsetof(struct lg_adj, r));
    lg__free(a, adj_size(a->mask + 1));
}

/* v's out-set a is no longer v's: freed once no reader can be in it (the
 * vertex's own goes with the vertex). */
static void adj_retire(struct lg_vertex *v, struct lg_adj *a)
{
    if (a && a != adj0_of(v))
        lg__retire(&a->r, adj_done);
}

/* Copy v's out-set into one with room for `want` more edges and no holes;
 * the old one is retired. False when out of memory. */
static bool adj_rebuild(struct lg_vertex *v, uint32_t want)
{
    struct lg_adj *a = atomic_load_explicit(&v->out, memory_order_relaxed);
    uint32_t live = a ? a->count - a->holes : 0;
    uint32_t cap = 4;
    while (cap < 2 * (live + want))
        cap *= 2;
    struct lg_adj *b;
    if (!a && cap == ADJ0_CAP && !v->adj0_used) {
        b = adj0_of(v);
        memset(b, 0, adj_size(ADJ0_CAP));
        v->adj0_used = true;
    } else if (!(b = lg__alloc(adj_size(cap)))) {
        return false;
    }
    b->mask = cap - 1;
    for (uint32_t i = 0; a && i <= a->mask; i++) {
        struct lg_edge *e = atomic_load_explicit(&a->slot[i], memory_order_relaxed);
        if (e && e != HOLE)
            adj_put(b, e);
    }
    atomic_store_explicit(&v->out, b, memory_order_release);
    adj_retire(v, a); /* a reader may be probing it right now */
    return true;
}

/* Make room for one more out-edge of v. */
static bool adj_reserve(struct lg_vertex *v)
{
    struct lg_adj *a = atomic_load_explicit(&v->out, memory_order_relaxed);
    if (a && (a->count + 1) * 2 <= a->mask + 1)
        return true;
    return adj_rebuild(v, a ? a->mask + 1 : 1);
}

static void adj_remove(struct lg_vertex *v, struct lg_edge *e)
{
    struct lg_adj *a = atomic_load_explicit(&v->out, memory_order_relaxed);
    if (!a)
        return;
    uint32_t i = vertex_hash(e->to) & a->mask;
    for (;;) {
        struct lg_edge *s = atomic_load_explicit(&a->slot[i], memory_order_relaxed);
        if (!s)
            return;
        if (s == e)
            break;
        i = (i + 1) & a->mask;
    }
    atomic_store_explicit(&a->slot[i], HOLE, memory_order_release);
    a->holes++;
    /* Mostly holes: a smaller set keeps probes short. (Out of memory: the
     * holes stay, which is only slower.) */
    if (a->holes * 2 > a->count && a->count > 8)
        (void)adj_rebuild(v, 0);
}

static bool in_push(struct lg_vertex *v, struct lg_edge *e)
{
    if (!v->capin) {
        v->in = v->in0;
        v->capin = 2;
    } else if (v->nin == v->capin) {
        uint32_t cap = v->capin * 2;
        struct lg_edge **p = lg__alloc(cap * sizeof(*p));
        if (!p)
            return false;
        memcpy(p, v->in, v->nin * sizeof(*p));
        if (v->in != v->in0)
            lg__free(v->in, v->capin * sizeof(*p));
        v->in = p;
        v->capin = cap;
    }
    e->in_idx = v->nin;
    v->in[v->nin++] = e;
    return true;
}

/* O(1): each edge knows its place in the list. */
static void in_remove(struct lg_vertex *v, struct lg_edge *e)
{
    uint32_t i = e->in_idx;
    if (i >= v->nin || v->in[i] != e)
        return;
    struct lg_edge *last = v->in[--v->nin];
    v->in[i] = last;
    last->in_idx = i;
}

#define FOR_EACH_OUT(n, e, body)                                                                   \
    do {                                                                                           \
        struct lg_adj *a_ = atomic_load_explicit(&(n)->out, memory_order_relaxed);                 \
        for (uint32_t i_ = 0; a_ && i_ <= a_->mask; i_++) {                                        \
            struct lg_edge *e = atomic_load_explicit(&a_->slot[i_], memory_order_relaxed);         \
            if (!e || e == HOLE)                                                                   \
                continue;                                                                          \
            body                                                                                   \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------- */
/* Cyclic edges and their bounds, per component.                           */

static void note_cyclic_ranks(const struct lg_vertex *v)
{
    struct lg_comp *c = v->comp;
    if (v->cyc_out && v->rank > c->max_cyc_src)
        c->max_cyc_src = v->rank;
    if (v->cyc_in && v->rank < c->min_cyc_dst)
        c->min_cyc_dst = v->rank;
}

static void comp_no_cycles(struct lg_comp *c)
{
    c->max_cyc_src = INT64_MIN;
    c->min_cyc_dst = INT64_MAX;
}

/* ---------------------------------------------------------------------- */
/* Pearce-Kelly.                                                          */

/* A vertex's first edge gives it its place: below all when the edge leaves
 * it, above all when the edge enters it; either keeps the order. */
static void place(struct lg_vertex *v, bool source)
{
    if (v->rank == 0)
        v->rank = source ? --rank_lo : ++rank_hi;
}

static bool visited(const struct lg_vertex *v)
{
    return vis_get((uintptr_t)v) != NULL;
}

/* Forward from y over non-cyclic edges, ranks below x's. Returns 1 if x is
 * reached, 0 if not, -1 when out of memory. Visited vertices go to deltaf. */
static int forward(struct lg_vertex *y, struct lg_vertex *x)
{
    work.n = 0;
    deltaf.n = 0;
    if (!vis_add((uintptr_t)y) || !vec_push(&work, y) || !vec_push(&deltaf, y))
        return -1;
    while (work.n) {
        struct lg_vertex *n = work.p[--work.n];
        int r = 0;
        FOR_EACH_OUT(n, e, {
            if (e->cyclic)
                continue;
            struct lg_vertex *w = e->to;
            if (w == x) {
                r = 1;
                break;
            }
            if (w->rank < x->rank && !visited(w)) {
                if (!vis_add((uintptr_t)w) || !vec_push(&work, w) || !vec_push(&deltaf, w)) {
                    r = -1;
                    break;
                }
            }
        });
        if (r)
            return r;
    }
    return 0;
}

static int backward(struct lg_vertex *x, struct lg_vertex *y)
{
    work.n = 0;
    deltab.n = 0;
    if (!vis_add((uintptr_t)x | 1) || !vec_push(&work, x) || !vec_push(&deltab, x))
        return -1;
    while (work.n) {
        struct lg_vertex *n = work.p[--work.n];
        for (uint32_t i = 0; i < n->nin; i++) {
            struct lg_edge *e = n->in[i];
            if (e->cyclic)
                continue;
            struct lg_vertex *w = e->from;
            if (w->rank > y->rank && !vis_get((uintptr_t)w | 1)) {
                if (!vis_add((uintptr_t)w | 1) || !vec_push(&work, w) || !vec_push(&deltab, w))
                    return -1;
            }
        }
    }
    return 0;
}

/* Heapsort by rank: no allocation (libc's qsort may call malloc). */
static void sift(struct lg_vertex **a, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1]->rank > a[c]->rank)
            c++;
        if (a[root]->rank >= a[c]->rank)
            return;
        struct lg_vertex *t = a[root];
        a[root] = a[c];
        a[c] = t;
        root = c;
    }
}

static void sort_by_rank(struct lg_vertex **a, size_t n)
{
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift(a, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        struct lg_vertex *t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift(a, 0, end);
    }
}

/* Give the ranks of deltab ++ deltaf back out in that order. */
static bool reorder(void)
{
    sort_by_rank((struct lg_vertex **)deltab.p, deltab.n);
    sort_by_rank((struct lg_vertex **)deltaf.p, deltaf.n);
    size_t total = deltab.n + deltaf.n;
    ranks_tmp.n = 0;
    for (size_t i = 0; i < total; i++)
        if (!vec_push(&ranks_tmp, NULL))
            return false;
    int64_t *r = (int64_t *)ranks_tmp.p;
    size_t i = 0, j = 0, k = 0;
    while (i < deltab.n || j < deltaf.n) {
        const struct lg_vertex *b = i < deltab.n ? deltab.p[i] : NULL;
        const struct lg_vertex *f = j < deltaf.n ? deltaf.p[j] : NULL;
        if (b && (!f || b->rank < f->rank)) {
            r[k++] = b->rank;
            i++;
        } else {
            r[k++] = f->rank;
            j++;
        }
    }
    k = 0;
    for (i = 0; i < deltab.n; i++) {
        ((struct lg_vertex *)deltab.p[i])->rank = r[k++];
        note_cyclic_ranks(deltab.p[i]);
    }
    for (j = 0; j < deltaf.n; j++) {
        ((struct lg_vertex *)deltaf.p[j])->rank = r[k++];
        note_cyclic_ranks(deltaf.p[j]);
    }
    return true;
}

/* ---------------------------------------------------------------------- */
/* Breadth-first search over every edge, for cycles through cyclic edges.  */

/* Is there a path y ~> x? Returns 1 found, 0 not, -1 out of memory.
 *
 * Pruning: on any path w ~> x, either no cyclic edge follows w, and then
 * every step raises the rank, so rank(w) < rank(x); or the first one that
 * follows starts at some u with rank(w) <= rank(u) <= max_cyc_src of the
 * component. Vertices ranked above both bounds cannot be on a path to x. */
static int bfs(struct lg_vertex *y, struct lg_vertex *x)
{
    int64_t bound = x->rank > x->comp->max_cyc_src ? x->rank : x->comp->max_cyc_src;
    vis_clear();
    work.n = 0;
    if (!vis_add((uintptr_t)y) || !vec_push(&work, y))
        return -1;
    for (size_t head = 0; head < work.n; head++) {
        struct lg_vertex *n = work.p[head];
        int r = 0;
        FOR_EACH_OUT(n, e, {
            struct lg_vertex *w = e->to;
            if (w == x) {
                r = 1;
                break;
            }
            if (w->rank > bound || visited(w))
                continue;
            if (!vis_add((uintptr_t)w) || !vec_push(&work, w)) {
                r = -1;
                break;
            }
        });
        if (r)
            return r;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Reported-cycle signatures.                                              */

struct sigset {
    uint64_t *slot;
    size_t mask, count;
};

static struct sigset sig_sites;

static bool sigset_add(struct sigset *s, uint64_t sig)
{
    sig |= 1; /* 0 marks an empty slot */
    if (!s->slot || (s->count + 1) * 2 > s->mask + 1) {
        size_t cap = s->slot ? (s->mask + 1) * 2 : 1024;
        uint64_t *p = lg__alloc(cap * sizeof(uint64_t));
        if (!p)
            return true; /* cannot remember: report rather than drop */
        for (size_t i = 0; s->slot && i <= s->mask; i++) {
            uint64_t v = s->slot[i];
            if (!v)
                continue;
            size_t j = (size_t)(v * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (p[j])
                j = (j + 1) & (cap - 1);
            p[j] = v;
        }
        if (s->slot)
            lg__free(s->slot, (s->mask + 1) * sizeof(uint64_t));
        s->slot = p;
        s->mask = cap - 1;
    }
    size_t j = (size_t)(sig * 0x9E3779B97F4A7C15ull) & s->mask;
    while (s->slot[j]) {
        if (s->slot[j] == sig)
            return false;
        j = (j + 1) & s->mask;
    }
    s->slot[j] = sig;
    s->count++;
    return true;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Where the edge was made: the site of the first lock and the whole stack
 * of the second. Falls back to vertex ids when stacks are missing. */
static uint64_t edge_site(const struct lg_edge *e)
{
    uint64_t a = e->info.first && e->info.first->n ? e->info.first->pc[0] : e->from->id;
    uint64_t b = e->info.second ? e->info.second->hash : e->to->id * 31;
    return mix(a * 0x9E3779B97F4A7C15ull + b);
}

/* Order-independent: the same sites in any rotation give one signature. */
static uint64_t cycle_signature(struct lg_edge **edges, uint32_t n)
{
    uint64_t sum = 0, x = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t s = edge_site(edges[i]);
        sum += s;
        x ^= mix(s + 0x1234567);
    }
    return mix(sum ^ (x << 1) ^ n);
}

/* ---------------------------------------------------------------------- */
/* The reader rule. A cycle can deadlock only if every lock on it really   */
/* blocks its waiter: a reader-preferring rwlock held shared by one edge   */
/* and waited for shared by the next never does. The search runs over     */
/* states (lock, waited-for exclusively?) and only steps through a lock    */
/* when that lock's wait or its hold is exclusive.                         */

static bool blocks(unsigned wait_excl, unsigned held_excl)
{
    return wait_excl || held_excl; /* shared only exists on reader-preferring rwlocks */
}

/* A state is a vertex and two bits: bit 0, it was waited for exclusively;
 * bit 1, the path so far has left the gate (see cycle_by_states). Vertices
 * are at least 8-aligned, so the bits ride in the pointer. */
#define STATE(n, st) ((void *)((uintptr_t)(n) | (st)))
#define STATE_NODE(p) ((struct lg_vertex *)((uintptr_t)(p) & ~(uintptr_t)3))
#define STATE_BITS(p) ((unsigned)((uintptr_t)(p)&3))

/* Shortest path from y, entered in state sy, to x, arriving in a state
 * whose wait, with x held as hx, blocks and which has left `gate` (an edge
 * whose gate is not `gate`; with gate 0, from the start). Returns 1 and the
 * arrival state in *xs, 0, or -1 when out of memory. Visits stay in `vis`
 * for the path to be read back. */
static int state_search(struct lg_vertex *y, unsigned sy, struct lg_vertex *x, unsigned hx,
                        uint64_t gate, unsigned *xs)
{
    int64_t bound = x->rank > x->comp->max_cyc_src ? x->rank : x->comp->max_cyc_src;
    vis_clear();
    work.n = 0;
    struct visit *s0 = vis_add((uintptr_t)STATE(y, sy));
    if (!s0 || !vec_push(&work, STATE(y, sy)))
        return -1;
    s0->via = NULL;
    for (size_t head = 0; head < work.n; head++) {
        struct lg_vertex *n = STATE_NODE(work.p[head]);
        unsigned st = STATE_BITS(work.p[head]);
        if (n == x) {
            if (blocks(st & 1, hx) && (st & 2)) {
                *xs = st;
                return 1;
            }
            continue;
        }
        int r = 0;
        FOR_EACH_OUT(n, f, {
            unsigned combos = atomic_load_explicit(&f->combos, memory_order_relaxed);
            unsigned left =
                (st & 2) || atomic_load_explicit(&f->gate, memory_order_relaxed) != gate;
            for (unsigned c = 0; c < 4; c++) {
                if (!(combos & (1u << c)) || !blocks(st & 1, c >> 1))
                    continue;
                struct lg_vertex *m = f->to;
                unsigned s2 = (c & 1) | (left ? 2 : 0);
                if ((m->rank > bound && m != x) || vis_get((uintptr_t)STATE(m, s2)))
                    continue;
                struct visit *v = vis_add((uintptr_t)STATE(m, s2));
                if (!v || !vec_push(&work, STATE(m, s2))) {
                    r = -1;
                    break;
                }
                v->via = f;
                v->prev = (uint8_t)st;
                v->combo = (uint8_t)c;
            }
            if (r)
                break;
        });
        if (r)
            return r;
    }
    return 0;
}

static size_t cycle_size(uint32_t len)
{
    return sizeof(struct lg_cycle) +
           len * (sizeof(struct lg_edge) + sizeof(struct lg_vertex *) + 1);
}

static struct lg_cycle *cycle_alloc(uint32_t len)
{
    struct lg_cycle *c = lg__alloc(cycle_size(len));
    if (!c)
        return NULL;
    c->n = len;
    c->vertex = (struct lg_vertex **)&c->edge[len];
    c->combo = (uint8_t *)&c->vertex[len];
    return c;
}

/* Can any cycle pass through e? Only if it closed one when it was added, or
 * a path back from its end runs through some edge that did (the rank
 * argument of bfs()). Cheap; graph lock held. */
static bool may_close(const struct lg_edge *e)
{
    const struct lg_comp *c = e->from->comp;
    return e->cyclic || (c->ncyclic > 0 && e->to->rank <= c->max_cyc_src &&
                         c->min_cyc_dst <= e->from->rank);
}

/* The shortest cycle through e taken as combo that can deadlock: every lock
 * on it blocks its waiter (the reader rule), and not all of its edges are
 * under e's gate. NULL when there is none. The edges are copied. */
static struct lg_cycle *cycle_by_states(struct lg_edge *e, unsigned combo)
{
    if (!may_close(e))
        return NULL;
    unsigned xw;
    uint64_t gate = atomic_load_explicit(&e->gate, memory_order_relaxed);
    if (state_search(e->to, (combo & 1) | (gate ? 0 : 2), e->from, combo >> 1, gate, &xw) != 1)
        return NULL;
    uint32_t len = 1;
    struct lg_vertex *n = e->from;
    unsigned w = xw;
    for (struct visit *v; (v = vis_get((uintptr_t)STATE(n, w))) && v->via;) {
        n = v->via->from;
        w = v->prev;
        len++;
    }
    struct lg_cycle *c = cycle_alloc(len);
    if (!c)
        return NULL;
    struct lg_edge **tmp = lg__alloc(len * sizeof(*tmp));
    if (!tmp) {
        lg__free(c, cycle_size(len));
        return NULL;
    }
    tmp[0] = e;
    c->combo[0] = (uint8_t)combo;
    uint32_t k = len - 1;
    n = e->from;
    w = xw;
    for (struct visit *v; (v = vis_get((uintptr_t)STATE(n, w))) && v->via;) {
        tmp[k] = v->via;
        c->combo[k] = v->combo;
        k--;
        n = v->via->from;
        w = v->prev;
    }
    for (uint32_t i = 0; i < len; i++) {
        c->edge[i] = *tmp[i];
        c->vertex[i] = tmp[i]->from;
    }
    c->edge[0].gate = gate;
    lg__free(tmp, len * sizeof(*tmp));
    return c;
}

/* Fill in the summary flags and decide whether it is new and can deadlock.
 * The signature is taken over the live edges. Graph lock held; released
 * here. */
static enum lg_add_result report_cycle(struct lg_cycle *c, struct lg_cycle **out)
{
    /* Guarded by one gate on every edge: no two threads can be inside the
     * cycle at once. Not reported; if an edge is later seen without the
     * gate, lg__graph_ungate finds the cycle again. */
    uint64_t gate = atomic_load_explicit(&c->edge[0].gate, memory_order_relaxed);
    for (uint32_t i = 1; gate && i < c->n; i++)
        if (atomic_load_explicit(&c->edge[i].gate, memory_order_relaxed) != gate)
            gate = 0;
    if (gate) {
        lg__unlock(&graph_lock);
        lg__graph_cycle_free(c);
        return LG_EDGE_ADDED;
    }
    c->single_thread = true;
    c->timed = false;
    struct lg_edge *ptrs[64], **pp = c->n <= 64 ? ptrs : lg__alloc(c->n * sizeof(*pp));
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->edge[i].info.tid != c->edge[0].info.tid)
            c->single_thread = false;
        if (c->edge[i].info.timed)
            c->timed = true;
        if (pp)
            pp[i] = &c->edge[i];
    }
    bool fresh = pp ? sigset_add(&sig_sites, cycle_signature(pp, c->n)) : true;
    if (pp && pp != ptrs)
        lg__free(pp, c->n * sizeof(*pp));
    lg__unlock(&graph_lock);
    if (!fresh) {
        atomic_fetch_add(&nsuppressed, 1);
        lg__graph_cycle_free(c);
        return LG_EDGE_ADDED;
    }
    *out = c;
    return LG_EDGE_CYCLE;
}

static bool alive(const struct lg_vertex *v)
{
    return !atomic_load_explicit(&v->dead, memory_order_relaxed);
}

enum lg_add_result lg__graph_add_edge(struct lg_vertex *from, struct lg_vertex *to,
                                      const struct lg_edge_info *info, struct lg_cycle **cycle)
{
    return lg__graph_add_edge_as(from, to, info, LG_COMBO_EXCL, cycle);
}

enum lg_add_result lg__graph_add_edge_as(struct lg_vertex *from, struct lg_vertex *to,
                                         const struct lg_edge_info *info, unsigned combo,
                                         struct lg_cycle **cycle)
{
    *cycle = NULL;
    lg__lock(&graph_lock);
    if (!alive(from) || !alive(to) || from == to) {
        lg__unlock(&graph_lock);
        return LG_EDGE_EXISTS;
    }
    struct lg_edge *e = lg__graph_find(from, to);
    if (e) {
        /* A known edge taken in a new way (say, written now, read before):
         * the graph's shape is the same, but a cycle through it may now be
         * able to deadlock. */
        if (atomic_load_explicit(&e->combos, memory_order_relaxed) & (1u << combo)) {
            lg__unlock(&graph_lock);
            return LG_EDGE_EXISTS;
        }
        atomic_fetch_or_explicit(&e->combos, (uint8_t)(1u << combo), memory_order_release);
        struct lg_cycle *c = cycle_by_states(e, combo);
        if (!c) {
            lg__unlock(&graph_lock);
            return LG_EDGE_ADDED;
        }
        return report_cycle(c, cycle);
    }
    e = lg__alloc(sizeof(*e));
    if (!e || !adj_reserve(from) || !in_push(to, e)) {
        if (e)
            lg__free(e, sizeof(*e));
        lg__unlock(&graph_lock);
        return LG_EDGE_NOMEM;
    }
    e->from = from;
    e->to = to;
    e->info = *info;
    atomic_store_explicit(&e->combos, (uint8_t)(1u << combo), memory_order_relaxed);
    atomic_store_explicit(&e->gate, info->gate_id, memory_order_relaxed);
    e->gate_addr = info->gate_addr;

    place(from, true);
    place(to, false);
    struct lg_comp *comp = from->comp;
    bool closes = false;
    if (from->rank > to->rank) {
        vis_clear();
        int r = forward(to, from);
        if (r == 1)
            closes = true;
        else if (r == 0 && backward(from, to) == 0)
            (void)reorder();
        /* Out of memory mid-search: the order may now be wrong for this one
         * edge; later searches can miss a cycle through it, never invent
         * one. lg__alloc_failed() has recorded it for the report. */
    }
    /* A path to ~> from through a cyclic edge u->v needs rank(to) <= rank(u)
     * and rank(v) <= rank(from): skip the search when no cyclic edge can. */
    if (!closes && comp->ncyclic > 0 && to->rank <= comp->max_cyc_src &&
        comp->min_cyc_dst <= from->rank)
        closes = bfs(to, from) == 1;
    e->cyclic = closes;
    adj_put(atomic_load_explicit(&from->out, memory_order_relaxed), e);
    atomic_fetch_add(&nedges, 1);
    if (!closes) {
        lg__unlock(&graph_lock);
        return LG_EDGE_ADDED;
    }
    comp->ncyclic++;
    from->cyc_out++;
    to->cyc_in++;
    note_cyclic_ranks(from);
    note_cyclic_ranks(to);

    /* A cycle in the graph's shape; with shared holds or a gate about, it
     * may still be one that cannot deadlock. */
    struct lg_cycle *c = cycle_by_states(e, combo);
    if (!c) {
        lg__unlock(&graph_lock);
        return lg__alloc_failed() ? LG_EDGE_NOMEM : LG_EDGE_ADDED;
    }
    return report_cycle(c, cycle);
}

enum lg_add_result lg__graph_ungate(struct lg_vertex *from, struct lg_vertex *to,
                                    struct lg_cycle **cycle)
{
    *cycle = NULL;
    lg__lock(&graph_lock);
    struct lg_edge *e = alive(from) && alive(to) ? lg__graph_find(from, to) : NULL;
    if (!e || !atomic_load_explicit(&e->gate, memory_order_relaxed)) {
        lg__unlock(&graph_lock);
        return LG_EDGE_EXISTS;
    }
    atomic_store_explicit(&e->gate, 0, memory_order_release);
    unsigned combos = atomic_load_explicit(&e->combos, memory_order_relaxed);
    for (unsigned combo = 0; combo < 4; combo++) {
        if (!(combos & (1u << combo)))
            continue;
        struct lg_cycle *c = cycle_by_states(e, combo);
        if (c)
            return report_cycle(c, cycle);
    }
    lg__unlock(&graph_lock);
    return LG_EDGE_ADDED;
}

void lg__graph_cycle_free(struct lg_cycle *c)
{
    if (c)
        lg__free(c, cycle_size(c->n));
}

/* ---------------------------------------------------------------------- */
/* Removal.                                                                */

static void edge_done(struct lg_retired *r)
{
    struct lg_edge *e = (struct lg_edge *)((char *)r - offsetof(struct lg_edge, r));
    lg__free(e, sizeof(*e));
}

/* Take e out of both ends; graph lock held. */
static void edge_remove(struct lg_edge *e, bool from_out, bool to_in)
{
    if (from_out)
        adj_remove(e->from, e);
    if (to_in)
        in_remove(e->to, e);
    if (e->cyclic) {
        struct lg_comp *c = e->from->comp;
        e->from->cyc_out--;
        e->to->cyc_in--;
        if (--c->ncyclic == 0)
            comp_no_cycles(c);
    }
    atomic_fetch_sub(&nedges, 1);
    lg__retire(&e->r, edge_done);
}

static void vertex_done(struct lg_retired *r)
{
    struct lg_vertex *v = (struct lg_vertex *)((char *)r - offsetof(struct lg_vertex, r));
    lg__pool_put(&vertex_pool, v);
}

void lg__graph_vertex_remove(struct lg_vertex *v)
{
    if (!v)
        return;
    lg__lock(&graph_lock);
    if (!alive(v)) {
        lg__unlock(&graph_lock);
        return;
    }
    atomic_store_explicit(&v->dead, true, memory_order_release);
    atomic_fetch_add_explicit(&v->gen, 1, memory_order_release);
    /* Out-edges: each leaves the other end's in-list; the set goes whole. */
    struct lg_adj *a = atomic_load_explicit(&v->out, memory_order_relaxed);
    for (uint32_t i = 0; a && i <= a->mask; i++) {
        struct lg_edge *e = atomic_load_explicit(&a->slot[i], memory_order_relaxed);
        if (e && e != HOLE)
            edge_remove(e, false, true);
    }
    atomic_store_explicit(&v->out, NULL, memory_order_release);
    adj_retire(v, a);
    /* In-edges: each leaves the other end's out-set. */
    for (uint32_t i = 0; i < v->nin; i++)
        edge_remove(v->in[i], true, false);
    if (v->in && v->in != v->in0)
        lg__free(v->in, v->capin * sizeof(*v->in));
    v->in = NULL;
    v->nin = v->capin = 0;
    atomic_fetch_sub(&nvertices, 1);
    lg__unlock(&graph_lock);
    lg__retire(&v->r, vertex_done);
}

uint64_t lg__graph_edge_count(void)
{
    return atomic_load(&nedges);
}

uint64_t lg__graph_vertex_count(void)
{
    return atomic_load(&nvertices);
}

uint64_t lg__graph_cycles_suppressed(void)
{
    return atomic_load(&nsuppressed);
}

void lg__graph_lock_all(void)
{
    lg__lock(&graph_lock);
}

void lg__graph_unlock_all(void)
{
    lg__unlock(&graph_lock);
}

void lg__graph_reset_child(void)
{
    lg__lock_reset(&graph_lock);
}
