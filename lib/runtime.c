/*
 * runtime.c - what happens on each lock event.
 *
 * The fast path is lg__lock_before() for a lock whose order is known: a
 * registry lookup, a scan of the top of the held stack, and one lock-free
 * edge probe per held lock down to the first that was taken by blocking
 * (lockdep's rule: edges to that one already imply the edges below it).
 * No lockgraph lock, no allocation, no graph walk.
 *
 * The slow paths (a lock seen for the first time, a new edge, a finding)
 * capture stacks first, with no lockgraph lock held, since the unwinder may
 * take host locks, and only then go to the graph and the report writer.
 */

#include "runtime.h"
#include "alloc.h"
#include "options.h"
#include "ranks.h"
#include "registry.h"
#include "report.h"
#include "stack.h"
#include "util.h"
#include "wait.h"

#include <stdlib.h>

atomic_uint_fast64_t lg__early_passthrough;
bool lg__opt_after_rare;

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

/* How held entry h and acquisition a take part in the edge h -> a. */
static inline unsigned combo_of(const struct lg_held *h, const struct lg_acq *a)
{
    return LG_COMBO(!(h->flags & LG_ACQ_SHARED), !(a->flags & LG_ACQ_SHARED));
}

/* Does the thread hold node n exclusively? The gate is usually at the bottom. */
static bool holds_exclusive(const struct lg_thread *t, const struct lg_node *n)
{
    for (uint32_t i = 0; i < t->held.n; i++)
        if (t->held.e[i].node == n && !(t->held.e[i].flags & LG_ACQ_SHARED))
            return true;
    return false;
}

/* Is there news in the edge h -> a: not known in this combination, or
 * known under a gate this thread does not hold now? */
static bool wants_edge(const struct lg_thread *t, const struct lg_held *h, const struct lg_acq *a)
{
    if (!h->node || h->node == a->node ||
        atomic_load_explicit(&h->node->dead, memory_order_relaxed))
        return false;
    struct lg_edge *e = lg__graph_find(h->node, a->node);
    if (!e || !(atomic_load_explicit(&e->combos, memory_order_acquire) & (1u << combo_of(h, a))))
        return true;
    struct lg_node *gate = atomic_load_explicit(&e->gate, memory_order_relaxed);
    return gate && !holds_exclusive(t, gate);
}

/* The gate candidate for an edge from `from` to `to` made now: the
 * outermost lock held exclusively other than those two. */
static struct lg_node *gate_candidate(const struct lg_thread *t, const struct lg_node *from,
                                      const struct lg_node *to)
{
    for (uint32_t i = 0; i < t->held.n; i++) {
        const struct lg_held *h = &t->held.e[i];
        if (h->node && h->node != from && h->node != to && !(h->flags & LG_ACQ_SHARED) &&
            !atomic_load_explicit(&h->node->dead, memory_order_relaxed))
            return h->node;
    }
    return NULL;
}

/* Edges go from each held lock down to, and including, the first one that
 * was taken by blocking and is held exclusively: the edges into that one
 * already imply the ones below it. A trylock never blocked; a shared hold
 * of a reader-preferring rwlock cannot carry a deadlock through it. */
static inline bool stops_walk(const struct lg_held *h)
{
    return !(h->flags & (LG_ACQ_TRY | LG_ACQ_SHARED));
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
    lg__thread_name(info.thread_name);

    bool found = false;
    for (int j = (int)t->held.n - 1; j >= 0; j--) {
        struct lg_held *h = &t->held.e[j];
        if (wants_edge(t, h, a)) {
            struct lg_cycle *c = NULL;
            struct lg_edge *e = lg__graph_find(h->node, a->node);
            struct lg_node *gate = e ? atomic_load(&e->gate) : NULL;
            /* Seen without its gate: whatever the gate was hiding is out. */
            if (gate && !holds_exclusive(t, gate) &&
                lg__graph_ungate(e, &c) == LG_EDGE_CYCLE) {
                lg__report_cycle(c);
                lg__graph_cycle_free(c);
                found = true;
            }
            if (!e || !lg__graph_knows(h->node, a->node, combo_of(h, a))) {
                info.first = first_stack(h, pcs, cfas, n, &info.first_exact);
                info.gate = gate_candidate(t, h->node, a->node);
                enum lg_add_result r =
                    lg__graph_add_edge_as(h->node, a->node, &info, combo_of(h, a), &c);
                if (r == LG_EDGE_CYCLE) {
                    lg__report_cycle(c);
                    lg__graph_cycle_free(c);
                    found = true;
                }
            }
        }
        if (stops_walk(h))
            break;
    }
    check_oom();
    if (found)
        act_on_deadlock_finding();
}

/* The thread is about to block for a lock in a ranked class: is any lock
 * it holds declared to come after it? Reported once per pair of sites. */
#define RANK_HELD_MAX 16
static void check_ranks(struct lg_thread *t, struct lg_acq *a, const struct lg_class *c)
{
    struct lg_ranks *r = atomic_load_explicit(&lg__ranks, memory_order_acquire);
    struct lg_rank_held bad[RANK_HELD_MAX];
    uint32_t idx[RANK_HELD_MAX];
    int nbad = 0;
    for (uint32_t j = 0; j < t->held.n && nbad < RANK_HELD_MAX; j++) {
        const struct lg_held *h = &t->held.e[j];
        const struct lg_class *hc =
            h->node ? atomic_load_explicit(&h->node->cls, memory_order_relaxed) : NULL;
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

void lg__lock_before(struct lg_thread *t, struct lg_acq *a)
{
    a->held = -1;
    a->node = lg__registry_lookup(a->addr);
    if (__builtin_expect(!a->node, 0)) {
        a->node = lg__registry_get(a->addr, a->type, a->mode, capture_here());
        if (!a->node) {
            check_oom();
            return;
        }
        if (atomic_load_explicit(&lg__ranks, memory_order_relaxed))
            lg__ranks_classify(a->node);
    }
    if (__builtin_expect(!atomic_load_explicit(&a->node->stack, memory_order_relaxed), 0)) {
        /* First acquisition of a lock named before use: now we know what
         * it is and where it was first taken. */
        if (atomic_load(&a->node->provisional)) {
            a->node->type = (uint8_t)a->type;
            a->node->mode = (uint8_t)a->mode;
            atomic_store(&a->node->provisional, false);
        }
        const struct lg_stack *s = capture_here(), *none = NULL;
        atomic_compare_exchange_strong(&a->node->stack, &none, s);
    }
    a->held = lg__held_find(&t->held, a->addr);
    if (a->held >= 0) {
        /* Taking a lock it already holds: fine for a recursive mutex, a
         * trylock fails, an error-checking mutex returns EDEADLK. A normal
         * mutex hangs forever (or a timed one stalls): say so first. The
         * mode is the one read from the lock now, not the node's. An rwlock
         * held for writing returns EDEADLK; held for reading, a write waits
         * for the thread itself, and so does a second read of a
         * writer-preferring one once a writer queues up. */
        if (a->mode == LG_MODE_RECURSIVE || (a->flags & LG_ACQ_TRY) ||
            a->mode == LG_MODE_ERRORCHECK)
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
        return;
    }
    if (a->flags & LG_ACQ_TRY)
        return; /* cannot block: no edge, no rank check for itself */
    const struct lg_class *cls = atomic_load_explicit(&a->node->cls, memory_order_relaxed);
    if (__builtin_expect(cls != NULL, 0))
        check_ranks(t, a, cls);
    for (int j = (int)t->held.n - 1; j >= 0; j--) {
        const struct lg_held *h = &t->held.e[j];
        if (wants_edge(t, h, a)) {
            add_edges(t, a);
            return;
        }
        if (stops_walk(h))
            return;
    }
}

/* Out of the fast path: the full stack (held_stacks) and when the hold
 * started (hold_warn_ms; since_ns is only ever read with it set). */
__attribute__((noinline, cold)) static void after_rare(struct lg_held *h)
{
    h->stack = lg__opt.held_stacks ? capture_here() : NULL;
    if (lg__opt.hold_warn_ms)
        h->since_ns = lg__now_ns();
}

void lg__lock_after(struct lg_thread *t, struct lg_acq *a, bool acquired)
{
    if (!acquired)
        return;
    if (a->held >= 0 && (uint32_t)a->held < t->held.n && t->held.e[a->held].addr == a->addr) {
        t->held.e[a->held].count++;
        return;
    }
    struct lg_held *h = lg__held_slot(&t->held);
    if (__builtin_expect(!h, 0)) {
        t->lossy = true;
        check_oom();
        return;
    }
    h->addr = a->addr;
    h->node = a->node;
    h->count = 1;
    h->flags = a->flags;
    h->pc = a->pc;
    h->cfa = a->cfa;
    h->stack = NULL;
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
    int i = t->held.n && t->held.e[t->held.n - 1].addr == addr ? (int)t->held.n - 1
                                                                 : lg__held_find(&t->held, addr);
    if (i >= 0 && t->held.e[i].count == 1)
        lg__hold_check(t, &t->held.e[i]);
}

void lg__unlock_before(struct lg_thread *t, uintptr_t addr)
{
    if (__builtin_expect(lg__opt.hold_warn_ms != 0, 0))
        check_hold(t, addr);
    if (__builtin_expect(lg__held_release_top(&t->held, addr), 1))
        return;
    int i = lg__held_find(&t->held, addr);
    if (i >= 0) {
        if (--t->held.e[i].count == 0)
            lg__held_remove(&t->held, i);
        return;
    }
    if (t->lossy)
        return;
    struct lg_node *n = lg__registry_lookup(addr);
    /* A lock never seen locked may have been taken while lockgraph was
     * starting; only blame the program when that cannot be. */
    if (!n && atomic_load(&lg__early_passthrough))
        return;
    lg__report_unlock_not_held(t, addr, n, capture_here());
    check_oom();
}

void lg__spin_unlocking(struct lg_thread *t, uintptr_t addr)
{
    int i = lg__held_find(&t->held, addr);
    if (i >= 0 && t->held.e[i].count == 1 && t->held.e[i].node)
        atomic_store_explicit(&t->held.e[i].node->owner, 0, memory_order_relaxed);
}

void lg__lock_created(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type,
                      enum lg_lock_mode mode)
{
    /* Initializing a lock this thread holds: jemalloc does it to its own
     * mutexes in a fork child. The old lock is gone; so is the hold. */
    int i = lg__held_find(&t->held, addr);
    if (i >= 0)
        lg__held_remove(&t->held, i);
    struct lg_node *n = lg__registry_create(addr, type, mode, capture_here());
    if (!n)
        check_oom();
    else if (atomic_load_explicit(&lg__ranks, memory_order_relaxed))
        lg__ranks_classify(n);
}

void lg__lock_destroyed(struct lg_thread *t, uintptr_t addr)
{
    int i = lg__held_find(&t->held, addr);
    if (i >= 0)
        lg__held_remove(&t->held, i);
    lg__registry_retire(addr);
}

void lg__thread_ended(struct lg_thread *t)
{
    if (t->held.n > 0 && !t->lossy)
        lg__report_held_at_exit(t);
    lg__thread_exit(t);
}

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
    h->pc = w->acq.pc;
    h->cfa = w->acq.cfa;
    h->flags = 0;
    h->stack = __builtin_expect(lg__opt.held_stacks, 0) ? capture_here() : NULL;
    h->since_ns = __builtin_expect(lg__opt.hold_warn_ms != 0, 0) ? lg__now_ns() : 0;
}
