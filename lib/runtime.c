/*
 * runtime.c - what happens on each lock event.
 *
 * The fast path is lg__lock_before() for a lock whose order is known: a
 * registry lookup, a look at the held stack for the lock itself, and one
 * lock-free edge probe per held lock down to the first that was taken by
 * blocking (lockdep's rule: edges to that one already imply the edges below
 * it). The probe is between the two locks' classes, or, for two locks of one
 * class, between the two instances. No lockgraph lock, no allocation, no
 * graph walk, no stack capture: a new lock of a known class nested in a
 * known order costs the same as an old one.
 *
 * The slow paths (a lock seen for the first time, a new edge, a finding)
 * capture stacks first, with no lockgraph lock held, since the unwinder may
 * take host locks, and only then go to the graph and the report writer.
 *
 * Which cycles are reported: a cycle between classes is a potential
 * deadlock by kind (conn1 -> table -> conn2 means the day both meet on one
 * connection it hangs), reported with "scope": "class" unless the locks
 * behind its edges close it themselves ("scope": "instance"). Locks of one
 * class held together are judged by instance while they live: in a
 * consistent order (by address, or any order never inverted) they stay
 * quiet.
 */

#include "runtime.h"
#include "alloc.h"
#include "class.h"
#include "options.h"
#include "ranks.h"
#include "reclaim.h"
#include "registry.h"
#include "report.h"
#include "stack.h"
#include "sync.h"
#include "util.h"
#include "wait.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

atomic_uint_fast64_t lg__early_passthrough;

static int depth(void)
{
    return (int)lg__opt.stack_depth;
}

static void check_oom(void)
{
    if (lg__alloc_failed())
        lg__report_oom();
}

static const struct lg_stack *capture_here(void)
{
    uintptr_t pcs[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, NULL, depth());
    return lg__stack_intern(pcs, n);
}

static void act_on_deadlock_finding(void)
{
    if (lg__opt.on_cycle == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_cycle=abort: aborting\n");
        abort();
    }
}

/* First stack of held entry h, given the stack captured now. */
static const struct lg_stack *first_stack(const struct lg_held *h, const uintptr_t *pcs,
                                          const uintptr_t *cfas, int n, bool *exact)
{
    if (h->stack) {
        *exact = true;
        return h->stack;
    }
    uintptr_t f[LG_STACK_MAX];
    int k = lg__stack_splice(h->pc, h->cfa, pcs, cfas, n, f, depth());
    *exact = false;
    return lg__stack_intern(f, k);
}

/* The instance of held entry h, if it is still the lock that was taken. */
static inline struct lg_node *held_node(const struct lg_held *h)
{
    struct lg_node *n = h->node;
    return n && atomic_load_explicit(&n->gen, memory_order_relaxed) == h->gen ? n : NULL;
}

/* ---------------------------------------------------------------------- */
/* Holds that other threads ended.                                         */

static void drops_lock(struct lg_thread *t)
{
    lg__lock(&t->drops.lock);
}

static void drops_unlock(struct lg_thread *t)
{
    lg__unlock(&t->drops.lock);
}

void lg__apply_drops(struct lg_thread *t)
{
    drops_lock(t);
    for (uint32_t k = 0; k < t->drops.n; k++) {
        int i = lg__held_find(&t->held, t->drops.e[k].addr);
        if (i >= 0 && t->held.e[i].node == t->drops.e[k].node)
            lg__held_remove(&t->held, i);
    }
    if (t->drops.overflow)
        t->lossy = true;
    t->drops.n = 0;
    t->drops.overflow = false;
    atomic_store_explicit(&t->drops_pending, false, memory_order_relaxed);
    drops_unlock(t);
}

/* Tell thread o that its hold of addr (n) is over. */
static void post_drop(struct lg_thread *o, uintptr_t addr, struct lg_node *n)
{
    drops_lock(o);
    if (o->drops.n < LG_DROPS_MAX) {
        o->drops.e[o->drops.n].addr = addr;
        o->drops.e[o->drops.n].node = n;
        o->drops.n++;
    } else {
        o->drops.overflow = true;
    }
    atomic_store_explicit(&o->drops_pending, true, memory_order_release);
    drops_unlock(o);
}

/* The live threads other than t whose held stacks have addr (n), each with
 * its entry (a copy: it is read racily); at most max of them. */
struct holder {
    struct lg_thread *t;
    struct lg_held e;
};

static int holders_of(const struct lg_thread *t, uintptr_t addr, const struct lg_node *n,
                      struct holder *out, int max)
{
    int k = 0;
    for (struct lg_thread *o = lg__thread_all(); o && k < max; o = o->all_next) {
        if (o == t || !lg__thread_live(o))
            continue;
        uint32_t cnt = o->held.n;
        const struct lg_held *e = o->held.e;
        for (uint32_t i = 0; i < cnt; i++)
            if (e[i].addr == addr && (!n || e[i].node == n)) {
                out[k].t = o;
                out[k].e = e[i];
                k++;
                break;
            }
    }
    return k;
}

#define HOLDERS_MAX 16

/* ---------------------------------------------------------------------- */
/* Edges.                                                                  */

/* How held entry h and acquisition a take part in the edge h -> a. */
static inline unsigned combo_of(const struct lg_held *h, const struct lg_acq *a)
{
    return LG_COMBO(!(h->flags & LG_ACQ_SHARED), !(a->flags & LG_ACQ_SHARED));
}

/* Does the thread hold the gate of edge e exclusively? */
static bool holds_gate(const struct lg_thread *t, const struct lg_edge *e, uint64_t gate)
{
    int i = lg__held_find(&t->held, e->gate_addr);
    if (i < 0)
        return false;
    const struct lg_held *h = &t->held.e[i];
    const struct lg_node *n = held_node(h);
    return n && n->id == gate && !(h->flags & LG_ACQ_SHARED);
}

/* The two vertices an edge from held lock hn to lock an goes between: their
 * classes', or for two locks of one class their own (made when asked). */
static bool vertices(struct lg_node *hn, struct lg_node *an, bool make, struct lg_vertex **from,
                     struct lg_vertex **to)
{
    struct lg_class *hc = atomic_load_explicit(&hn->klass, memory_order_acquire);
    struct lg_class *c = atomic_load_explicit(&an->klass, memory_order_acquire);
    if (!hc || !c || !lg__class_in_graph(hc) || !lg__class_in_graph(c))
        return false;
    if (hc != c) {
        *from = make ? lg__class_vertex(hc) : atomic_load_explicit(&hc->v, memory_order_acquire);
        *to = make ? lg__class_vertex(c) : atomic_load_explicit(&c->v, memory_order_acquire);
        return *from && *to;
    }
    *from = atomic_load_explicit(&hn->vtx, memory_order_acquire);
    *to = atomic_load_explicit(&an->vtx, memory_order_acquire);
    if (make) {
        if (!*from)
            *from = lg__registry_vertex(hn);
        if (!*to)
            *to = lg__registry_vertex(an);
    }
    return *from && *to;
}

/* Is there news in the edge h -> a: not known in this combination, or
 * known under a gate this thread does not hold now? */
static bool wants_edge(const struct lg_thread *t, const struct lg_held *h, const struct lg_acq *a,
                       bool *gated)
{
    struct lg_node *hn = held_node(h);
    if (!hn || hn == a->node)
        return false;
    struct lg_vertex *from, *to;
    if (!vertices(hn, a->node, false, &from, &to)) {
        /* A class with no vertex yet, or two locks of one class not yet
         * nested by instance: new, unless a class has left the graph. */
        const struct lg_class *hc = atomic_load_explicit(&hn->klass, memory_order_relaxed);
        const struct lg_class *c = atomic_load_explicit(&a->node->klass, memory_order_relaxed);
        return hc && c && lg__class_in_graph(hc) && lg__class_in_graph(c);
    }
    struct lg_edge *e = lg__graph_find(from, to);
    if (!e || !(atomic_load_explicit(&e->combos, memory_order_acquire) & (1u << combo_of(h, a))))
        return true;
    uint64_t gate = atomic_load_explicit(&e->gate, memory_order_relaxed);
    if (gate)
        *gated = true;
    return gate && !holds_gate(t, e, gate);
}

/* The gate candidate for an edge from `from` to `to` made now: the
 * outermost lock held exclusively other than those two. */
static void gate_candidate(const struct lg_thread *t, const struct lg_node *from,
                           const struct lg_node *to, struct lg_edge_info *info)
{
    info->gate_id = 0;
    info->gate_addr = 0;
    for (uint32_t i = 0; i < t->held.n; i++) {
        const struct lg_held *h = &t->held.e[i];
        const struct lg_node *n = held_node(h);
        if (n && n != from && n != to && !(h->flags & LG_ACQ_SHARED)) {
            info->gate_id = n->id;
            info->gate_addr = h->addr;
            return;
        }
    }
}

/* Edges go from each held lock down to, and including, the first one that
 * was taken by blocking and is held exclusively: the edges into that one
 * already imply the ones below it. A trylock never blocked; a shared hold
 * of a reader-preferring rwlock cannot carry a deadlock through it. */
static inline bool stops_walk(const struct lg_held *h)
{
    return !lg__held_is_hole(h) && !(h->flags & (LG_ACQ_TRY | LG_ACQ_SHARED));
}

/* Locks of the new lock's class are related to it one by one (an instance
 * edge each): at most this many, the nearest, through a run of shared or
 * try holds. A thread that read-locks every one of 1,024 slots of one class
 * (Kyoto Cabinet's SlottedRWLock::lock_reader_all) would otherwise make
 * half a million edges each time; an inversion further down such a run is
 * the one thing this can miss. */
#define SAME_CLASS_WALK 4

/* The walk over the held locks an acquisition relates to (see above).
 * Locks of other classes are related by class, so a run of held locks of
 * one class and one mode (held.h: `run`) is one edge, looked at once and
 * jumped over. */
struct walk {
    int j;
    int same;
    const struct lg_class *k;
};

static void walk_start(struct walk *w, const struct lg_thread *t, const struct lg_acq *a)
{
    w->j = (int)t->held.n - 1;
    w->same = 0;
    w->k = atomic_load_explicit(&a->node->klass, memory_order_relaxed);
}

/* The next held entry to relate to, or NULL at the end. */
static struct lg_held *walk_next(struct walk *w, struct lg_thread *t)
{
    while (w->j >= 0) {
        struct lg_held *h = &t->held.e[w->j];
        if (lg__held_is_hole(h)) {
            w->j--;
            continue;
        }
        const struct lg_node *hn = held_node(h);
        const struct lg_class *hk =
            hn ? atomic_load_explicit(&((struct lg_node *)hn)->klass, memory_order_relaxed)
               : NULL;
        bool mine = hk && hk == w->k;
        if (stops_walk(h))
            w->j = -1; /* this one is the last */
        else if (!mine || w->same + 1 >= SAME_CLASS_WALK)
            w->j = (h->run <= (uint32_t)w->j ? (int)h->run : w->j) - 1;
        else
            w->j--;
        if (mine && w->same++ >= SAME_CLASS_WALK)
            continue;
        return h;
    }
    return NULL;
}

static void found_cycle(struct lg_cycle *c, bool *found)
{
    lg__report_cycle(c);
    lg__graph_cycle_free(c);
    *found = true;
}

/* The slow path: some held lock has no edge to a->node yet. */
static void add_edges(struct lg_thread *t, struct lg_acq *a)
{
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, cfas, depth());
    struct lg_edge_info info = {0};
    info.tid = t->tid;
    info.thread_seq = t->seq;
    info.timed = (a->flags & LG_ACQ_TIMED) != 0;
    info.second = lg__stack_intern(pcs, n);
    info.to_id = a->node->id;
    info.to_addr = a->addr;
    lg__thread_name_recent(t, info.thread_name);

    bool found = false;
    struct walk w;
    walk_start(&w, t, a);
    for (struct lg_held *h; (h = walk_next(&w, t)) != NULL;) {
        struct lg_vertex *from, *to;
        struct lg_node *hn;
        bool gated;
        if (wants_edge(t, h, a, &gated) && (hn = held_node(h)) != NULL &&
            vertices(hn, a->node, true, &from, &to)) {
            struct lg_cycle *c = NULL;
            struct lg_edge *e = lg__graph_find(from, to);
            uint64_t gate = e ? atomic_load(&e->gate) : 0;
            /* Seen without its gate: whatever the gate was hiding is out. */
            if (gate && !holds_gate(t, e, gate) &&
                lg__graph_ungate(from, to, &c) == LG_EDGE_CYCLE)
                found_cycle(c, &found);
            if (!e || !lg__graph_knows(from, to, combo_of(h, a))) {
                info.first = first_stack(h, pcs, cfas, n, &info.first_exact);
                info.from_id = hn->id;
                info.from_addr = h->addr;
                gate_candidate(t, hn, a->node, &info);
                enum lg_add_result r = lg__graph_add_edge_as(from, to, &info, combo_of(h, a), &c);
                struct lg_class *hk = atomic_load(&hn->klass);
                if ((r == LG_EDGE_ADDED || r == LG_EDGE_CYCLE) &&
                    from->kind == LG_VERTEX_INSTANCE && hk)
                    lg__class_note_self(hk, h->addr, a->addr, combo_of(h, a), &info);
                if (r == LG_EDGE_CYCLE)
                    found_cycle(c, &found);
            }
        }
    }
    check_oom();
    lg__reclaim_poll();
    if (found)
        act_on_deadlock_finding();
}

/* ---------------------------------------------------------------------- */
/* Ranks.                                                                  */

/* The thread is about to block for a lock in a ranked class: is any lock
 * it holds declared to come after it? Reported once per pair of sites. */
#define RANK_HELD_MAX 16
static void check_ranks(struct lg_thread *t, struct lg_acq *a, const struct lg_rank_class *c)
{
    struct lg_ranks *r = atomic_load_explicit(&lg__ranks, memory_order_acquire);
    struct lg_rank_held bad[RANK_HELD_MAX];
    uint32_t idx[RANK_HELD_MAX];
    int nbad = 0;
    for (uint32_t j = 0; j < t->held.n && nbad < RANK_HELD_MAX; j++) {
        const struct lg_held *h = &t->held.e[j];
        const struct lg_node *hn = held_node(h);
        const struct lg_rank_class *hc =
            hn ? atomic_load_explicit(&hn->cls, memory_order_relaxed) : NULL;
        if (!hc)
            continue;
        enum lg_why why = lg__ranks_check(r, hc, h->addr, c, a->addr);
        if (why != LG_WHY_NONE && lg__ranks_first_time(h->pc, a->pc)) {
            bad[nbad].why = why;
            idx[nbad++] = j;
        }
    }
    if (__builtin_expect(nbad == 0, 1))
        return;
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, cfas, depth());
    for (int i = 0; i < nbad; i++) {
        const struct lg_held *h = &t->held.e[idx[i]];
        bad[i].node = h->node;
        bad[i].addr = h->addr;
        bad[i].stack = first_stack(h, pcs, cfas, n, &bad[i].exact);
    }
    lg__report_rank_violation(t, a->node, lg__stack_intern(pcs, n), bad, nbad);
    check_oom();
    if (lg__opt.on_rank == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_rank=abort: aborting\n");
        abort();
    }
}

/* ---------------------------------------------------------------------- */
/* Acquisition.                                                            */

/* A lock never seen: one that never called init (static, zeroed memory),
 * of a class of its own, first taken here. */
__attribute__((noinline, cold)) static struct lg_node *first_sight(struct lg_acq *a)
{
    struct lg_node *n = lg__registry_get(a->addr, a->type, a->mode, capture_here());
    if (!n) {
        check_oom();
        return NULL;
    }
    if (atomic_load_explicit(&lg__ranks, memory_order_relaxed))
        lg__ranks_classify(n);
    /* Instances come from retired ones once a grace period is over: look
     * here, where they are used up, or a program that frees many locks and
     * takes as many new ones grows the pool until its next free. */
    lg__reclaim_poll();
    return n;
}

/* First acquisition of a lock named before use: now we know what it is and
 * where it was first taken. */
__attribute__((noinline, cold)) static void first_use_of_named(struct lg_acq *a)
{
    struct lg_node *n = a->node;
    n->type = (uint8_t)a->type;
    n->mode = (uint8_t)a->mode;
    atomic_store(&n->provisional, false);
    struct lg_class *k = atomic_load(&n->klass);
    if (k && !atomic_load_explicit(&k->stack, memory_order_acquire))
        lg__class_set_stack(k, capture_here());
}

/* Taking a lock it already holds: fine for a recursive mutex, a trylock
 * fails, an error-checking mutex returns EDEADLK. A normal mutex hangs
 * forever (or a timed one stalls): say so first. The mode is the one read
 * from the lock now, not the instance's. An rwlock held for writing returns
 * EDEADLK; held for reading, a write waits for the thread itself, and so
 * does a second read of a writer-preferring one once a writer queues up. */
static void relock(struct lg_thread *t, struct lg_acq *a)
{
    if (a->mode == LG_MODE_RECURSIVE || (a->flags & LG_ACQ_TRY) || a->mode == LG_MODE_ERRORCHECK)
        return;
    if (a->type == LG_TYPE_RWLOCK &&
        (!(t->held.e[a->held].flags & LG_ACQ_READ) ||
         ((a->flags & LG_ACQ_READ) && a->mode == LG_MODE_PREFER_READER)))
        return;
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, cfas, depth());
    bool exact;
    const struct lg_stack *first = first_stack(&t->held.e[a->held], pcs, cfas, n, &exact);
    lg__report_self_deadlock(t, a->node, first, exact, lg__stack_intern(pcs, n),
                             (a->flags & LG_ACQ_TIMED) != 0);
    check_oom();
    act_on_deadlock_finding();
}

/* ---- the chain cache (thread.h). A hit says: this lock, on top of exactly
 * these held locks (instances, which are never reused, and modes), was
 * checked before and nothing was new. Keys are 64-bit hashes of the chain;
 * a false hit needs two different chains of one thread to collide in 64
 * bits while both sit in its 256-entry cache (about 2^-56 per acquisition),
 * and would only skip a check, never invent a finding. Whatever changes a
 * live lock's class or rank bumps lg__chain_epoch, which empties every
 * cache; a lock that is destroyed and made again is a new instance, so
 * chains through the old one never match again. */

static inline uint32_t chain_slot(uint64_t k)
{
    return (uint32_t)(k ^ (k >> 32)) & (LG_CHAIN_CACHE - 1);
}

static void chain_put(struct lg_thread *t, uint64_t k, uint64_t ck)
{
    uint32_t ep = atomic_load_explicit(&lg__chain_epoch, memory_order_acquire);
    if (t->chains_epoch != ep) {
        memset(t->chains, 0, sizeof(t->chains));
        memset(t->hits, 0, sizeof(t->hits));
        t->chains_epoch = ep;
    }
    struct lg_chain_entry *e = &t->chains[chain_slot(k)];
    e->key = k;
    e->ckey = ck;
}

/* The deepest stack whose chain of classes is remembered (the check that
 * its classes are all different walks it). */
#define LG_CLASS_CHAIN_MAX 8

/* Nothing was new for a->node on top of the held stack: remember the chain
 * of instances, and, when it may stand for every chain of the same classes,
 * the chain of classes too. That needs every class on the stack to be
 * different (two locks of one class are judged by instance), no edge looked
 * at to have a gate (a gate is an instance), and no ranks (a rank belongs
 * to an instance). */
__attribute__((noinline)) static void chain_remember(struct lg_thread *t, struct lg_acq *a,
                                                     bool gated)
{
    if (!a->chain || lg__alloc_failed())
        return; /* out of memory, an edge may be missing: look again next time */
    uint64_t ck = 0, ctop = lg__held_top_ckey(&t->held);
    uint64_t part = ctop ? lg__class_part(a->node) : 0;
    if (part && !gated && !atomic_load_explicit(&lg__ranks, memory_order_relaxed) &&
        t->held.n <= LG_CLASS_CHAIN_MAX) {
        bool twice = false;
        for (uint32_t i = 0; i < t->held.n && !twice; i++)
            twice = t->held.e[i].node && lg__class_part(t->held.e[i].node) == part;
        if (!twice)
            ck = lg__chain_next(ctop, part, a->flags);
    }
    chain_put(t, a->chain, ck);
    if (ck)
        chain_put(t, ck, ck);
    a->cchain = ck;
}

/* A blocking acquisition relates its lock to the locks held: from now on
 * they all need their classes (a lock first seen at a lock call has none
 * until then: registry.h). Only the entries above the thread's watermark
 * are looked at: a class, once made, stays with its instance, and a
 * thread taking one new lock after another while holding all of them
 * (stress/classes.sh held: 40,000 at once) must not walk them all each
 * time. The watermark holds while the entry below it has the chain key it
 * had (a chain key is a hash of every lock below it, in order) and no key
 * up to it is stale; else the walk starts from the bottom. */
static void classes_needed(struct lg_thread *t, struct lg_acq *a)
{
    struct lg_held_stack *s = &t->held;
    if (!s->n)
        return;
    lg__registry_class(a->node);
    uint32_t from = t->classed;
    if (from > s->n || (from && (s->stale_from < from || s->e[from - 1].key != t->classed_key)))
        from = 0;
    for (uint32_t i = from; i < s->n; i++) {
        struct lg_node *hn = held_node(&s->e[i]);
        if (hn)
            lg__registry_class(hn);
    }
    t->classed = s->stale_from < s->n ? 0 : s->n;
    t->classed_key = s->e[s->n - 1].key;
}

void lg__lock_before_slow(struct lg_thread *t, struct lg_acq *a)
{
    a->held = -1;
    a->cchain = 0;
    if (!a->node) /* (the fast path may have looked it up) */
        a->node = lg__registry_lookup(a->addr);
    if (__builtin_expect(!a->node, 0) && !(a->node = first_sight(a))) {
        a->chain = 0;
        return;
    }
    a->gen = atomic_load_explicit(&a->node->gen, memory_order_relaxed);
    if (__builtin_expect(atomic_load_explicit(&a->node->provisional, memory_order_relaxed), 0))
        first_use_of_named(a);
    uint64_t top = lg__held_top_key(&t->held);
    a->chain = top ? lg__chain_next(top, a->node->id, a->flags) : 0;
    const struct lg_chain_entry *known = a->chain ? lg__chain_known(t, a->chain) : NULL;
    if (known) {
        a->cchain = known->ckey;
        return;
    }
    a->cchain = 0;
    a->held = lg__held_find(&t->held, a->addr);
    if (a->held >= 0) {
        relock(t, a);
        return;
    }
    if (a->flags & LG_ACQ_TRY) {
        chain_remember(t, a, false); /* cannot block: no edge, no rank check */
        return;
    }
    const struct lg_rank_class *cls = atomic_load_explicit(&a->node->cls, memory_order_relaxed);
    if (__builtin_expect(cls != NULL, 0))
        check_ranks(t, a, cls);
    classes_needed(t, a);
    struct walk w;
    bool gated = false;
    walk_start(&w, t, a);
    for (struct lg_held *h; (h = walk_next(&w, t)) != NULL;) {
        if (wants_edge(t, h, a, &gated)) {
            add_edges(t, a);
            gated = true; /* (whatever the edges now are: not as a class chain) */
            break;
        }
    }
    chain_remember(t, a, gated);
}

/* Out of the fast path: the full stack (held_stacks) and when the hold
 * started (hold_warn_ms; since_ns is only ever read with it set). */
__attribute__((noinline, cold)) static void after_rare(struct lg_held *h)
{
    h->stack = lg__opt.held_stacks ? capture_here() : NULL;
    if (lg__opt.hold_warn_ms)
        h->since_ns = lg__now_ns();
}

void lg__lock_after_slow(struct lg_thread *t, struct lg_acq *a)
{
    if (a->held >= 0 && (uint32_t)a->held < t->held.n && t->held.e[a->held].addr == a->addr) {
        t->held.e[a->held].count++;
        return;
    }
    struct lg_node *n = a->node;
    /* Retired while this thread waited for it (destroyed, or its memory
     * reused: the program's race): the lock it got is whatever lives there. */
    if (n && __builtin_expect(atomic_load_explicit(&n->gen, memory_order_relaxed) != a->gen, 0))
        n = lg__registry_lookup(a->addr);
    struct lg_held *h = lg__held_slot(&t->held);
    if (__builtin_expect(!h, 0)) {
        t->lossy = true;
        check_oom();
        return;
    }
    h->addr = a->addr;
    h->node = n;
    h->gen = n ? atomic_load_explicit(&n->gen, memory_order_relaxed) : 0;
    h->count = 1;
    h->flags = (uint16_t)a->flags;
    h->key = __builtin_expect(n == a->node && a->chain, 1)
                 ? a->chain
                 : lg__chain_next(t->held.n > 1 ? t->held.e[t->held.n - 2].key : LG_CHAIN_EMPTY,
                                  n ? n->id : a->addr, a->flags);
    h->ckey = n == a->node ? a->cchain : 0;
    h->klass = n ? atomic_load(&n->klass) : NULL;
    h->run = lg__held_run_of(&t->held, h->klass, a->flags);
    h->pc = a->pc;
    h->cfa = a->cfa;
    h->stack = NULL;
    lg__held_pushed(&t->held);
    if (__builtin_expect(lg__opt_after_rare, 0))
        after_rare(h);
}

void lg__spin_locked(struct lg_thread *t, struct lg_acq *a)
{
    if (a->node)
        atomic_store_explicit(&a->node->owner, t->tid, memory_order_relaxed);
}

/* hold_warn_ms: the last release of a lock held since h->since_ns. */
__attribute__((noinline, cold)) static void check_hold(struct lg_thread *t, uintptr_t addr)
{
    int i = lg__held_find(&t->held, addr);
    if (i >= 0 && t->held.e[i].count == 1)
        lg__hold_check(t, &t->held.e[i]);
}

/* An unlock of a lock this thread does not hold. It is reported, and if
 * another thread holds it, that thread's hold is over: glibc lets any
 * thread unlock a default mutex, and the lock is free now. */
__attribute__((noinline, cold)) static void unlock_not_held(struct lg_thread *t, uintptr_t addr)
{
    struct lg_node *n = lg__registry_lookup(addr);
    struct holder h[HOLDERS_MAX];
    int k = holders_of(t, addr, n, h, HOLDERS_MAX);
    for (int i = 0; i < k; i++)
        post_drop(h[i].t, addr, h[i].e.node);
    if (t->lossy)
        return;
    /* A lock never seen locked may have been taken while lockgraph was
     * starting; only blame the program when that cannot be. */
    if (!n && !k && atomic_load(&lg__early_passthrough))
        return;
    lg__report_unlock_not_held(t, addr, n, capture_here());
    check_oom();
}

void lg__unlock_slow(struct lg_thread *t, uintptr_t addr)
{
    if (lg__opt.hold_warn_ms != 0)
        check_hold(t, addr);
    if (__builtin_expect(lg__held_release_top(&t->held, addr), 1))
        return;
    int i = lg__held_find(&t->held, addr);
    if (i >= 0) {
        if (--t->held.e[i].count == 0)
            lg__held_remove(&t->held, i);
        return;
    }
    unlock_not_held(t, addr);
}

void lg__spin_unlocking(struct lg_thread *t, uintptr_t addr)
{
    int i = lg__held_find(&t->held, addr);
    if (i >= 0 && t->held.e[i].count == 1 && t->held.e[i].node)
        atomic_store_explicit(&t->held.e[i].node->owner, 0, memory_order_relaxed);
}

/* ---------------------------------------------------------------------- */
/* Creation and destruction.                                               */

void lg__lock_created(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type,
                      enum lg_lock_mode mode, uintptr_t pc)
{
    /* Initializing a lock this thread holds: jemalloc does it to its own
     * mutexes in a fork child. The old lock is gone; so is the hold. */
    if (t->held.n) {
        int i = lg__held_find(&t->held, addr);
        if (i >= 0)
            lg__held_remove(&t->held, i);
    }
    struct lg_class *k = lg__opt.classes
                             ? lg__class_for_init(pc, type, mode)
                             : lg__class_for_addr(addr, type, mode, true, capture_here());
    struct lg_node *n = k ? lg__registry_create(addr, type, mode, k) : NULL;
    if (!n)
        check_oom();
    else if (atomic_load_explicit(&lg__ranks, memory_order_relaxed))
        lg__ranks_classify(n);
    lg__reclaim_poll();
}

/* Does the lock's own memory say it is taken? (glibc's layouts: a mutex's
 * lock word, an rwlock's writer bit and reader count, a spinlock's word.)
 * Read before a destroy or free, while the memory is still the lock's. */
static bool looks_taken(const struct lg_node *n)
{
    switch (n->type) {
    case LG_TYPE_MUTEX:
        return ((const pthread_mutex_t *)n->addr)->__data.__lock != 0;
    case LG_TYPE_RWLOCK: {
        unsigned r = ((const pthread_rwlock_t *)n->addr)->__data.__readers;
        return (r >> 3) != 0 || (r & 2) != 0; /* readers, or WRLOCKED */
    }
    case LG_TYPE_SPIN:
        return *(const volatile int *)n->addr != 0;
    default:
        return false;
    }
}

/* The lock n at addr is going (call: "free", "munmap", "dlclose",
 * "pthread_mutex_destroy"...) while some thread may hold it: report each
 * holder, and when the lock really goes (gone), end their holds. */
static void check_held_going(struct lg_thread *t, struct lg_node *n, uintptr_t addr,
                             const char *call, bool gone, bool readable)
{
    /* (Unreadable: the library is unmapped already; dlclose is rare enough
     * to look at every held stack.) */
    if (!n || (readable && !looks_taken(n)))
        return;
    const struct lg_stack *here = NULL;
    int mine = lg__held_find(&t->held, addr);
    if (mine >= 0 && t->held.e[mine].node == n) {
        here = capture_here();
        char name[16];
        lg__thread_name(name);
        lg__report_held_lock_freed(t, call, n, addr, t, name, &t->held.e[mine], here);
        if (gone)
            lg__held_remove(&t->held, mine);
    }
    struct holder h[HOLDERS_MAX];
    int k = holders_of(t, addr, n, h, HOLDERS_MAX);
    for (int i = 0; i < k; i++) {
        if (!here)
            here = capture_here();
        char name[16];
        if (!lg__thread_name_of(h[i].t->tid, name)) {
            memcpy(name, h[i].t->name, sizeof(name));
            name[15] = 0;
        }
        lg__report_held_lock_freed(t, call, n, addr, h[i].t, name, &h[i].e, here);
        if (gone)
            post_drop(h[i].t, addr, h[i].e.node);
    }
    check_oom();
}

static const char *destroy_call(const struct lg_node *n)
{
    return n->type == LG_TYPE_RWLOCK ? "pthread_rwlock_destroy"
           : n->type == LG_TYPE_SPIN ? "pthread_spin_destroy"
                                     : "pthread_mutex_destroy";
}

struct lg_node *lg__lock_destroying(struct lg_thread *t, uintptr_t addr)
{
    struct lg_node *n = lg__registry_lookup(addr);
    if (n)
        check_held_going(t, n, addr, destroy_call(n), false, true);
    return n;
}

void lg__lock_destroyed(struct lg_thread *t, uintptr_t addr)
{
    lg__lock_destroyed_node(t, addr, lg__registry_lookup(addr));
}

void lg__lock_destroyed_node(struct lg_thread *t, uintptr_t addr, struct lg_node *n)
{
    if (t->held.n) {
        int i = lg__held_find(&t->held, addr);
        if (i >= 0)
            lg__held_remove(&t->held, i);
    }
    if (!n || n->addr != addr || atomic_load_explicit(&n->dead, memory_order_relaxed))
        return;
    /* Destroyed while others held it (reported before the destroy): the
     * lock is gone, and so are their holds. */
    if (looks_taken(n)) {
        struct holder h[HOLDERS_MAX];
        int k = holders_of(t, addr, n, h, HOLDERS_MAX);
        for (int j = 0; j < k; j++)
            post_drop(h[j].t, addr, h[j].e.node);
    }
    lg__registry_retire(n);
    lg__reclaim_poll();
}

struct going {
    struct lg_thread *t;
    const char *call;
    bool readable;
};

static void each_going(struct lg_node *n, void *arg)
{
    struct going *g = arg;
    check_held_going(g->t, n, n->addr, g->call, true, g->readable);
}

void lg__memory_gone(struct lg_thread *t, uintptr_t lo, uintptr_t hi, const char *call,
                     bool readable)
{
    struct going g = {t, call, readable};
    if (lg__registry_retire_range(lo, hi, each_going, &g))
        lg__reclaim_poll();
}

void lg__thread_ended(struct lg_thread *t)
{
    if (atomic_load_explicit(&t->drops_pending, memory_order_acquire))
        lg__apply_drops(t);
    if (lg__held_count(&t->held) > 0 && !t->lossy)
        lg__report_held_at_exit(t);
    lg__registry_thread_done(t);
    lg__class_flush_retired();
    lg__thread_exit(t);
}

/* ---------------------------------------------------------------------- */
/* Condition waits.                                                        */

void lg__cond_wait_before(struct lg_thread *t, struct lg_cond_wait *w)
{
    int i = lg__held_find(&t->held, w->acq.addr);
    w->was_held = i >= 0;
    if (!w->was_held)
        return; /* waiting on a mutex it does not hold: undefined; left alone */
    w->saved = t->held.e[i];
    if (__builtin_expect(lg__opt.hold_warn_ms != 0, 0) && w->saved.count == 1)
        lg__hold_check(t, &w->saved); /* the wait releases it */
    lg__held_remove(&t->held, i);
    /* The wake-up takes the mutex again while the rest is still held: the
     * same order check as a lock call, made now, before the thread waits. */
    lg__lock_before(t, &w->acq);
}

void lg__cond_wait_after(struct lg_thread *t, struct lg_cond_wait *w)
{
    if (!w->was_held)
        return;
    w->was_held = false; /* a cleanup handler and the normal path: once */
    struct lg_held *h = lg__held_slot(&t->held);
    if (!h) {
        t->lossy = true;
        check_oom();
        return;
    }
    /* Held again, taken back where the wait was called, by blocking. */
    *h = w->saved;
    if (h->node && atomic_load_explicit(&h->node->gen, memory_order_relaxed) != h->gen) {
        h->node = lg__registry_lookup(h->addr);
        h->gen = h->node ? atomic_load_explicit(&h->node->gen, memory_order_relaxed) : 0;
    }
    h->key = lg__chain_next(t->held.n > 1 ? t->held.e[t->held.n - 2].key : LG_CHAIN_EMPTY,
                            h->node ? h->node->id : h->addr, 0);
    h->ckey = 0;
    h->klass = h->node ? atomic_load(&h->node->klass) : NULL;
    h->run = lg__held_run_of(&t->held, h->klass, 0);
    h->pc = w->acq.pc;
    h->cfa = w->acq.cfa;
    h->flags = 0;
    h->stack = __builtin_expect(lg__opt.held_stacks, 0) ? capture_here() : NULL;
    h->since_ns = __builtin_expect(lg__opt.hold_warn_ms != 0, 0) ? lg__now_ns() : 0;
    lg__held_pushed(&t->held);
}
