/*
 * api.c - the entry points behind include/lockgraph.h.
 *
 * Each is callable from any thread at any time, including before lockgraph
 * has started (they start it) and from inside a lock's critical section.
 * Assertion failures are said on stderr with the held locks; they are about
 * the caller's own expectations, not findings in the report contract.
 */

#include "alloc.h"
#include "class.h"
#include "dump.h"
#include "options.h"
#include "ranks.h"
#include "registry.h"
#include "report.h"
#include "runtime.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define LG_EXPORT __attribute__((visibility("default")))

LG_EXPORT void lockgraph_name_lock(const volatile void *lock, const char *name)
{
    if (!lock || !name)
        return;
    struct lg_thread *t = lg__enter();
    if (!t)
        return;
    size_t len = strnlen(name, 255);
    char *copy = lg__alloc(len + 1);
    struct lg_node *n = lg__registry_lookup((uintptr_t)lock);
    if (!n) {
        /* Named before its first use (a statically initialized lock). What
         * kind of lock it is, only its first lock call can tell: reading
         * it as a pthread_mutex_t here could read past a smaller object. */
        n = lg__registry_get((uintptr_t)lock, LG_TYPE_MUTEX, LG_MODE_NORMAL, NULL);
        if (n)
            atomic_store(&n->provisional, true);
    }
    if (copy && n) {
        memcpy(copy, name, len);
        copy[len] = 0;
        /* The name is its class: every lock of this name is one kind. */
        struct lg_class *k = lg__class_for_name(copy, n->type, n->mode);
        if (k && lg__opt.classes)
            lg__registry_reclass(n, k);
        atomic_store_explicit(&n->name, copy, memory_order_release);
        if (atomic_load_explicit(&lg__ranks, memory_order_acquire))
            lg__ranks_classify(n); /* its name may put it in a class */
    } else if (copy) {
        lg__free(copy, len + 1);
    }
    lg__leave();
}

/* ---------------------------------------------------------------------- */
/* Ranks.                                                                  */

static struct lg_ranks *api_ranks(void)
{
    struct lg_ranks *r = atomic_load_explicit(&lg__ranks, memory_order_acquire);
    if (r)
        return r;
    struct lg_ranks *fresh = lg__ranks_new();
    if (!fresh)
        return NULL;
    if (atomic_compare_exchange_strong(&lg__ranks, &r, fresh))
        return fresh;
    return r; /* another thread was first; ours is a small leak, once */
}

static bool named(const struct lg_node *n)
{
    return atomic_load_explicit(&((struct lg_node *)n)->name, memory_order_relaxed) != NULL;
}

/* A new class may take in locks named before it was declared. */
static void reclassify_all(void)
{
    uint64_t max = lg__registry_collect(named, NULL, 0) + 64;
    struct lg_node **v = lg__map(max * sizeof(*v));
    if (!v)
        return;
    uint64_t n = lg__registry_collect(named, v, max);
    for (uint64_t i = 0; i < n && i < max; i++)
        lg__ranks_classify(v[i]);
    lg__unmap(v, max * sizeof(*v));
}

static int declared(int rc, const struct lg_rank_cycle *cycle)
{
    if (rc >= 0)
        lg__chain_forget(); /* the declared order changed what chains imply */
    if (rc > 0)
        reclassify_all();
    if (rc >= 0)
        return 0;
    if (cycle->n) {
        lg__report_rank_order_cycle(cycle);
        if (lg__opt.on_rank == LG_ACTION_ABORT) {
            lg__write_str(2, "lockgraph: on_rank=abort: aborting\n");
            abort();
        }
    }
    return -1;
}

LG_EXPORT int lockgraph_rank_class(const char *name, int rank, int same)
{
    if (!name || !*name || rank < 0 || same < -1 || same > LG_SAME_ANY)
        return -1;
    struct lg_thread *t = lg__enter();
    if (!t)
        return 0;
    struct lg_ranks *r = api_ranks();
    struct lg_rank_cycle cycle = {0};
    int rc = r ? declared(lg__ranks_set_rank(r, name, rank, same, &cycle), &cycle) : -1;
    lg__leave();
    return rc;
}

LG_EXPORT int lockgraph_lock_order(const char *before, const char *after)
{
    if (!before || !after || !*before || !*after)
        return -1;
    struct lg_thread *t = lg__enter();
    if (!t)
        return 0;
    struct lg_ranks *r = api_ranks();
    struct lg_rank_cycle cycle = {0};
    int rc = r ? declared(lg__ranks_add_order(r, before, after, &cycle), &cycle) : -1;
    lg__leave();
    return rc;
}

LG_EXPORT int lockgraph_rank_lock(const volatile void *lock, int rank, const char *name)
{
    if (!lock || !name || !*name || strchr(name, ':'))
        return -1;
    int rc = lockgraph_rank_class(name, rank, -1);
    if (rc == 0)
        lockgraph_name_lock(lock, name);
    return rc;
}

LG_EXPORT int lockgraph_dump_graph(const char *path)
{
    if (!path || !*path)
        return -1;
    struct lg_thread *t = lg__enter();
    if (!t)
        return -1;
    int rc = lg__dump_graph(path, false);
    lg__leave();
    return rc;
}

static void say_where(const char *what, const char *file, int line)
{
    struct lg_buf b = {0};
    lg__buf_str(&b, "lockgraph: assertion failed: ");
    lg__buf_str(&b, what);
    lg__buf_str(&b, " at ");
    lg__buf_str(&b, file ? file : "?");
    lg__buf_char(&b, ':');
    lg__buf_i64(&b, line);
    lg__buf_char(&b, '\n');
    if (b.p)
        (void)lg__write_all(2, b.p, b.len);
    lg__buf_free(&b);
}

static void say_held(const struct lg_thread *t)
{
    struct lg_buf b = {0};
    for (uint32_t i = 0; i < t->held.n; i++) {
        const struct lg_held *h = &t->held.e[i];
        if (lg__held_is_hole(h))
            continue;
        const char *name = h->node ? atomic_load(&h->node->name) : NULL;
        lg__buf_str(&b, "  holds mutex ");
        lg__buf_hex(&b, h->addr);
        if (name) {
            lg__buf_char(&b, ' ');
            lg__buf_json_str(&b, name);
        }
        lg__buf_str(&b, ", locked from return address ");
        lg__buf_hex(&b, h->pc);
        lg__buf_char(&b, '\n');
    }
    if (b.p)
        (void)lg__write_all(2, b.p, b.len);
    lg__buf_free(&b);
}

static int assertion_failed(void)
{
    if (lg__opt.on_assert == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_assert=abort: aborting\n");
        abort();
    }
    return -1;
}

LG_EXPORT int lockgraph_assert_no_locks_held(const char *file, int line)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return 0;
    if (lg__held_count(&t->held) == 0) {
        lg__leave();
        return 0;
    }
    say_where("no locks held", file, line);
    say_held(t);
    lg__leave();
    return assertion_failed();
}

LG_EXPORT int lockgraph_assert_held(const volatile void *lock, const char *file, int line)
{
    struct lg_thread *t = lg__enter();
    if (!t)
        return 0;
    /* A thread that could not record some acquisition cannot tell. */
    if (lg__held_find(&t->held, (uintptr_t)lock) >= 0 || t->lossy) {
        lg__leave();
        return 0;
    }
    say_where("lock held", file, line);
    say_held(t);
    lg__leave();
    return assertion_failed();
}

LG_EXPORT int lockgraph_flush(void)
{
    if (!lg__start())
        return 0;
    return lg__report_sync();
}

LG_EXPORT unsigned long lockgraph_finding_count(void)
{
    if (!lg__start())
        return 0;
    return (unsigned long)lg__report_count();
}

LG_EXPORT int lockgraph_active(void)
{
    return lg__start() ? 1 : 0;
}
