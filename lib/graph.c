/*
 * graph.c - lock graph, dynamic topological order, cycle search.
 *
 * What it does: keeps the edges between lock instances, answers "is this edge
 * known?" without a lock, and when a new edge closes a cycle, finds the
 * shortest such cycle and decides whether it is new. What it does not do:
 * capture stacks, write findings, or know about threads (runtime.c does).
 *
 * Pearce-Kelly in three lines: every node has a rank and every edge goes
 * from a lower to a higher rank. A new edge x->y with rank(x) < rank(y) needs
 * nothing. Otherwise search forward from y over ranks below rank(x) (reaching
 * x means a cycle) and backward from x over ranks above rank(y), then hand
 * the ranks of both visited sets back out so the backward set comes first.
 *
 * Locking: graph_lock guards everything except the lock-free reads of
 * lg__graph_has_edge(); inside it only alloc's lock is taken.
 */
#include "graph.h"
#include "alloc.h"
#include "stack.h"
#include "sync.h"

#include <string.h>

static lg__lock_t graph_lock = LG__LOCK_INIT;
static atomic_uint_fast64_t next_id = 1;
static atomic_int_fast64_t next_rank = 1;
static atomic_uint_fast64_t nedges;
static atomic_uint_fast64_t nsuppressed;
static uint64_t ncyclic; /* edges that closed a cycle */
static uint64_t epoch;
/* Bounds over the cyclic edges u->v: no u ranks above max_cyc_src, no v
 * below min_cyc_dst. Only ever loosened, so always valid. */
static int64_t max_cyc_src = INT64_MIN, min_cyc_dst = INT64_MAX;

static void note_cyclic_ranks(const struct lg_node *n)
{
    if (n->cyc_out && n->rank > max_cyc_src)
        max_cyc_src = n->rank;
    if (n->cyc_in && n->rank < min_cyc_dst)
        min_cyc_dst = n->rank;
}

/* ---------------------------------------------------------------------- */
/* Scratch vectors, reused across searches (graph lock held).             */

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

/* ---------------------------------------------------------------------- */
/* Nodes and the lock-free out-edge sets.                                 */

static inline uint32_t id_hash(uint64_t id)
{
    return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32);
}

struct lg_node *lg__graph_node_new(uintptr_t addr, enum lg_lock_type type, enum lg_lock_mode mode,
                                   bool created, const struct lg_stack *stack)
{
    struct lg_node *n = lg__alloc(sizeof(*n));
    if (!n)
        return NULL;
    n->id = atomic_fetch_add(&next_id, 1);
    n->addr = addr;
    n->type = (uint8_t)type;
    n->mode = (uint8_t)mode;
    n->created = created;
    n->stack = stack;
    /* A new node has no edges, so any rank above all others is right; ranks
     * are only compared under the graph lock, after this store is visible
     * through the lock's acquire. */
    n->rank = atomic_fetch_add(&next_rank, 1);
    return n;
}

void lg__graph_node_discard(struct lg_node *n)
{
    lg__free(n, sizeof(*n));
}

static _Atomic(struct lg_node *) all_nodes;

void lg__graph_node_publish(struct lg_node *n)
{
    struct lg_node *old = atomic_load_explicit(&all_nodes, memory_order_relaxed);
    do
        n->all_next = old;
    while (!atomic_compare_exchange_weak_explicit(&all_nodes, &old, n, memory_order_release,
                                                  memory_order_relaxed));
}

struct lg_node *lg__graph_nodes(void)
{
    return atomic_load_explicit(&all_nodes, memory_order_acquire);
}

static struct lg_edge *find_edge(const struct lg_node *from, const struct lg_node *to)
{
    struct lg_adj *a = atomic_load_explicit(&((struct lg_node *)from)->out, memory_order_acquire);
    if (!a)
        return NULL;
    uint32_t i = id_hash(to->id) & a->mask;
    for (;;) {
        struct lg_edge *e = atomic_load_explicit(&a->slot[i], memory_order_acquire);
        if (!e || e->to == to)
            return e;
        i = (i + 1) & a->mask;
    }
}

struct lg_edge *lg__graph_find(const struct lg_node *from, const struct lg_node *to)
{
    return find_edge(from, to);
}

bool lg__graph_has_edge(const struct lg_node *from, const struct lg_node *to)
{
    return find_edge(from, to) != NULL;
}

bool lg__graph_knows(const struct lg_node *from, const struct lg_node *to, unsigned combo)
{
    struct lg_edge *e = find_edge(from, to);
    return e && (atomic_load_explicit(&e->combos, memory_order_acquire) & (1u << combo));
}

static void adj_put(struct lg_adj *a, struct lg_edge *e)
{
    uint32_t i = id_hash(e->to->id) & a->mask;
    while (atomic_load_explicit(&a->slot[i], memory_order_relaxed))
        i = (i + 1) & a->mask;
    atomic_store_explicit(&a->slot[i], e, memory_order_release);
    a->count++;
}

/* Make room for one more out-edge of n; false when out of memory. */
static bool adj_reserve(struct lg_node *n)
{
    struct lg_adj *a = atomic_load_explicit(&n->out, memory_order_relaxed);
    uint32_t cap = a ? a->mask + 1 : 0;
    if (a && (a->count + 1) * 2 <= cap)
        return true;
    uint32_t ncap = cap ? cap * 2 : 4;
    struct lg_adj *b = lg__alloc(sizeof(*b) + ncap * sizeof(b->slot[0]));
    if (!b)
        return false;
    b->mask = ncap - 1;
    for (uint32_t i = 0; a && i < cap; i++) {
        struct lg_edge *e = atomic_load_explicit(&a->slot[i], memory_order_relaxed);
        if (e)
            adj_put(b, e);
    }
    /* The old set stays allocated: a reader may be probing it right now. */
    atomic_store_explicit(&n->out, b, memory_order_release);
    return true;
}

static bool in_push(struct lg_node *n, struct lg_edge *e)
{
    if (n->nin == n->capin) {
        uint32_t cap = n->capin ? n->capin * 2 : 2;
        struct lg_edge **p = lg__alloc(cap * sizeof(*p));
        if (!p)
            return false;
        if (n->in) {
            memcpy(p, n->in, n->nin * sizeof(*p));
            lg__free(n->in, n->capin * sizeof(*p));
        }
        n->in = p;
        n->capin = cap;
    }
    n->in[n->nin++] = e;
    return true;
}

#define FOR_EACH_OUT(n, e, body)                                                                   \
    do {                                                                                           \
        struct lg_adj *a_ = atomic_load_explicit(&(n)->out, memory_order_relaxed);                 \
        for (uint32_t i_ = 0; a_ && i_ <= a_->mask; i_++) {                                        \
            struct lg_edge *e = atomic_load_explicit(&a_->slot[i_], memory_order_relaxed);         \
            if (!e)                                                                                \
                continue;                                                                          \
            body                                                                                   \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------- */
/* Pearce-Kelly.                                                          */

/* Forward from y over non-cyclic edges, ranks below x's. Returns 1 if x is
 * reached, 0 if not, -1 when out of memory. Visited nodes go to deltaf. */
static int forward(struct lg_node *y, struct lg_node *x, uint64_t mark)
{
    work.n = 0;
    deltaf.n = 0;
    y->mark = mark;
    if (!vec_push(&work, y) || !vec_push(&deltaf, y))
        return -1;
    while (work.n) {
        struct lg_node *n = work.p[--work.n];
        int r = 0;
        FOR_EACH_OUT(n, e, {
            if (e->cyclic)
                continue;
            struct lg_node *w = e->to;
            if (w == x) {
                r = 1;
                break;
            }
            if (w->mark != mark && w->rank < x->rank) {
                w->mark = mark;
                if (!vec_push(&work, w) || !vec_push(&deltaf, w)) {
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

static int backward(struct lg_node *x, struct lg_node *y, uint64_t mark)
{
    work.n = 0;
    deltab.n = 0;
    x->mark = mark;
    if (!vec_push(&work, x) || !vec_push(&deltab, x))
        return -1;
    while (work.n) {
        struct lg_node *n = work.p[--work.n];
        for (uint32_t i = 0; i < n->nin; i++) {
            struct lg_edge *e = n->in[i];
            if (e->cyclic)
                continue;
            struct lg_node *w = e->from;
            if (w->mark != mark && w->rank > y->rank) {
                w->mark = mark;
                if (!vec_push(&work, w) || !vec_push(&deltab, w))
                    return -1;
            }
        }
    }
    return 0;
}

/* Heapsort by rank: no allocation (libc's qsort may call malloc). */
static void sift(struct lg_node **a, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1]->rank > a[c]->rank)
            c++;
        if (a[root]->rank >= a[c]->rank)
            return;
        struct lg_node *t = a[root];
        a[root] = a[c];
        a[c] = t;
        root = c;
    }
}

static void sort_by_rank(struct lg_node **a, size_t n)
{
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift(a, i, n);
    for (size_t end = n - 1; end > 0; end--) {
        struct lg_node *t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift(a, 0, end);
    }
}

/* Give the ranks of deltab ++ deltaf back out in that order. */
static bool reorder(void)
{
    sort_by_rank((struct lg_node **)deltab.p, deltab.n);
    sort_by_rank((struct lg_node **)deltaf.p, deltaf.n);
    /* Both sets are now in rank order, so their ranks are two sorted runs:
     * merge them into r. */
    size_t total = deltab.n + deltaf.n;
    ranks_tmp.n = 0;
    for (size_t i = 0; i < total; i++)
        if (!vec_push(&ranks_tmp, NULL))
            return false;
    int64_t *r = (int64_t *)ranks_tmp.p;
    size_t i = 0, j = 0, k = 0;
    while (i < deltab.n || j < deltaf.n) {
        const struct lg_node *b = i < deltab.n ? deltab.p[i] : NULL;
        const struct lg_node *f = j < deltaf.n ? deltaf.p[j] : NULL;
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
        ((struct lg_node *)deltab.p[i])->rank = r[k++];
        note_cyclic_ranks(deltab.p[i]);
    }
    for (j = 0; j < deltaf.n; j++) {
        ((struct lg_node *)deltaf.p[j])->rank = r[k++];
        note_cyclic_ranks(deltaf.p[j]);
    }
    return true;
}

/* ---------------------------------------------------------------------- */
/* Breadth-first search over every edge, for cycles through cyclic edges  */
/* and for the shortest cycle to report.                                  */

/* Shortest path y ~> x; on success each node on it has `via` set. Returns
 * 1 found, 0 not, -1 out of memory.
 *
 * Pruning: on any path w ~> x, either no cyclic edge follows w, and then
 * every step raises the rank, so rank(w) < rank(x); or the first one that
 * follows starts at some u with rank(w) <= rank(u) <= max_cyc_src. Nodes
 * ranked above both bounds cannot be on a path to x. */
static int bfs(struct lg_node *y, struct lg_node *x, uint64_t mark)
{
    int64_t bound = x->rank > max_cyc_src ? x->rank : max_cyc_src;
    work.n = 0;
    y->mark = mark;
    y->via = NULL;
    if (!vec_push(&work, y))
        return -1;
    for (size_t head = 0; head < work.n; head++) {
        struct lg_node *n = work.p[head];
        int r = 0;
        FOR_EACH_OUT(n, e, {
            struct lg_node *w = e->to;
            if (w->mark == mark || (w->rank > bound && w != x))
                continue;
            w->mark = mark;
            w->via = e;
            if (w == x) {
                r = 1;
                break;
            }
            if (!vec_push(&work, w)) {
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
 * of the second. Falls back to lock ids when stacks are missing. */
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

/* A state is a node and two bits: bit 0, it was waited for exclusively;
 * bit 1, the path so far has left the gate (see cycle_by_states). Nodes are
 * at least 8-aligned, so the bits ride in the pointer. */
#define STATE(n, st) ((void *)((uintptr_t)(n) | (st)))
#define STATE_NODE(p) ((struct lg_node *)((uintptr_t)(p) & ~(uintptr_t)3))
#define STATE_BITS(p) ((unsigned)((uintptr_t)(p)&3))

/* Shortest path from y, entered in state sy, to x, arriving in a state
 * whose wait, with x held as hx, blocks and which has left `gate` (an edge
 * whose gate is not `gate`; with gate NULL, from the start). Returns 1 and
 * the arrival state in *xs, 0, or -1 when out of memory. */
static int state_search(struct lg_node *y, unsigned sy, struct lg_node *x, unsigned hx,
                        const struct lg_node *gate, uint64_t mark, unsigned *xs)
{
    /* The same rank pruning as bfs(): nothing ranked above both bounds
     * can be on a path to x. */
    int64_t bound = x->rank > max_cyc_src ? x->rank : max_cyc_src;
    work.n = 0;
    y->smark[sy] = mark;
    y->svia[sy] = NULL;
    if (!vec_push(&work, STATE(y, sy)))
        return -1;
    for (size_t head = 0; head < work.n; head++) {
        struct lg_node *n = STATE_NODE(work.p[head]);
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
            unsigned left = (st & 2) ||
                            atomic_load_explicit(&f->gate, memory_order_relaxed) != gate;
            for (unsigned c = 0; c < 4; c++) {
                if (!(combos & (1u << c)) || !blocks(st & 1, c >> 1))
                    continue;
                struct lg_node *m = f->to;
                unsigned s2 = (c & 1) | (left ? 2 : 0);
                if (m->smark[s2] == mark || (m->rank > bound && m != x))
                    continue;
                m->smark[s2] = mark;
                m->svia[s2] = f;
                m->sprev[s2] = (uint8_t)st;
                m->scombo[s2] = (uint8_t)c;
                if (!vec_push(&work, STATE(m, s2))) {
                    r = -1;
                    break;
                }
            }
            if (r)
                break;
        });
        if (r)
            return r;
    }
    return 0;
}

static struct lg_cycle *cycle_alloc(uint32_t len)
{
    struct lg_cycle *c = lg__alloc(sizeof(*c) + len * (sizeof(c->edge[0]) + 1));
    if (!c)
        return NULL;
    c->n = len;
    c->combo = (uint8_t *)&c->edge[len];
    return c;
}

/* Can any cycle pass through e? Only if it closed one when it was added, or
 * a path back from its end runs through some edge that did (the rank
 * argument of bfs()). Cheap; graph lock held. */
static bool may_close(const struct lg_edge *e)
{
    return e->cyclic ||
           (ncyclic > 0 && e->to->rank <= max_cyc_src && min_cyc_dst <= e->from->rank);
}

/* The shortest cycle through e taken as combo that can deadlock: every lock
 * on it blocks its waiter (the reader rule), and not all of its edges are
 * under e's gate. NULL when there is none. */
static struct lg_cycle *cycle_by_states(struct lg_edge *e, unsigned combo)
{
    if (!may_close(e))
        return NULL;
    unsigned xw;
    const struct lg_node *gate = atomic_load_explicit(&e->gate, memory_order_relaxed);
    epoch += 2;
    if (state_search(e->to, (combo & 1) | (gate ? 0 : 2), e->from, combo >> 1, gate, epoch, &xw) !=
        1)
        return NULL;
    uint32_t len = 1;
    struct lg_node *n = e->from;
    unsigned w = xw;
    while (n->svia[w]) {
        unsigned pw = n->sprev[w];
        n = n->svia[w]->from;
        w = pw;
        len++;
    }
    struct lg_cycle *c = cycle_alloc(len);
    if (!c)
        return NULL;
    c->edge[0] = e;
    c->combo[0] = (uint8_t)combo;
    uint32_t k = len - 1;
    n = e->from;
    w = xw;
    while (n->svia[w]) {
        c->edge[k] = n->svia[w];
        c->combo[k] = n->scombo[w];
        k--;
        unsigned pw = n->sprev[w];
        n = n->svia[w]->from;
        w = pw;
    }
    return c;
}

/* Fill in the summary flags and decide whether it is new and can deadlock.
 * Graph lock held; it is released here. */
static enum lg_add_result report_cycle(struct lg_cycle *c, struct lg_cycle **out)
{
    /* Guarded by one gate on every edge: no two threads can be inside the
     * cycle at once. Not reported; if an edge is later seen without the
     * gate, lg__graph_ungate finds the cycle again. */
    struct lg_node *gate = atomic_load_explicit(&c->edge[0]->gate, memory_order_relaxed);
    for (uint32_t i = 1; gate && i < c->n; i++)
        if (atomic_load_explicit(&c->edge[i]->gate, memory_order_relaxed) != gate)
            gate = NULL;
    if (gate) {
        lg__unlock(&graph_lock);
        lg__graph_cycle_free(c);
        return LG_EDGE_ADDED;
    }
    c->single_thread = true;
    c->timed = false;
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->edge[i]->info.tid != c->edge[0]->info.tid)
            c->single_thread = false;
        if (c->edge[i]->info.timed)
            c->timed = true;
    }
    bool fresh = sigset_add(&sig_sites, cycle_signature(c->edge, c->n));
    lg__unlock(&graph_lock);
    if (!fresh) {
        atomic_fetch_add(&nsuppressed, 1);
        lg__graph_cycle_free(c);
        return LG_EDGE_ADDED;
    }
    *out = c;
    return LG_EDGE_CYCLE;
}

enum lg_add_result lg__graph_add_edge(struct lg_node *from, struct lg_node *to,
                                      const struct lg_edge_info *info, struct lg_cycle **cycle)
{
    return lg__graph_add_edge_as(from, to, info, LG_COMBO_EXCL, cycle);
}

enum lg_add_result lg__graph_add_edge_as(struct lg_node *from, struct lg_node *to,
                                         const struct lg_edge_info *info, unsigned combo,
                                         struct lg_cycle **cycle)
{
    *cycle = NULL;
    lg__lock(&graph_lock);
    struct lg_edge *e = find_edge(from, to);
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
    atomic_store_explicit(&e->gate, info->gate, memory_order_relaxed);

    bool closes = false;
    if (from->rank > to->rank) {
        epoch += 2;
        int r = forward(to, from, epoch);
        if (r == 1)
            closes = true;
        else if (r == 0 && backward(from, to, epoch + 1) == 0)
            (void)reorder();
        /* Out of memory mid-search: the order may now be wrong for this one
         * edge; later searches can miss a cycle through it, never invent
         * one. lg__alloc_failed() has recorded it for the report. */
    }
    /* A path to ~> from through a cyclic edge u->v needs rank(to) <= rank(u)
     * and rank(v) <= rank(from): skip the search when no cyclic edge can. */
    if (!closes && ncyclic > 0 && to->rank <= max_cyc_src && min_cyc_dst <= from->rank) {
        epoch += 2;
        closes = bfs(to, from, epoch) == 1;
    }
    e->cyclic = closes;
    adj_put(atomic_load_explicit(&from->out, memory_order_relaxed), e);
    atomic_fetch_add(&nedges, 1);
    if (!closes) {
        lg__unlock(&graph_lock);
        return LG_EDGE_ADDED;
    }
    ncyclic++;
    from->cyc_out++;
    to->cyc_in++;
    note_cyclic_ranks(from);
    note_cyclic_ranks(to);

    /* A cycle in the graph's shape; with shared holds about, it may still
     * be one that cannot deadlock. */
    /* A cycle in the graph's shape; with shared holds or a gate about, it
     * may still be one that cannot deadlock. */
    struct lg_cycle *c = cycle_by_states(e, combo);
    if (!c) {
        lg__unlock(&graph_lock);
        return lg__alloc_failed() ? LG_EDGE_NOMEM : LG_EDGE_ADDED;
    }
    return report_cycle(c, cycle);
}

enum lg_add_result lg__graph_ungate(struct lg_edge *e, struct lg_cycle **cycle)
{
    *cycle = NULL;
    lg__lock(&graph_lock);
    if (!atomic_load_explicit(&e->gate, memory_order_relaxed)) {
        lg__unlock(&graph_lock);
        return LG_EDGE_EXISTS;
    }
    atomic_store_explicit(&e->gate, NULL, memory_order_release);
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
        lg__free(c, sizeof(*c) + c->n * (sizeof(c->edge[0]) + 1));
}

uint64_t lg__graph_edge_count(void)
{
    return atomic_load(&nedges);
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
