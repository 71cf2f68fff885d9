/*
 * init.c - starting lockgraph, fork, thread exit, process exit.
 *
 * lockgraph starts from its constructor or from the first interposed call,
 * whichever comes first (an allocator preloaded beside it may take mutexes
 * before any constructor runs). Starting allocates nothing from the host and
 * takes no pthread lock; calls made on this thread meanwhile pass through,
 * calls from other threads pass through and are counted.
 *
 * fork: the forking thread takes every lockgraph lock in the global order
 * (sync.h) before the fork and keeps its re-entry guard set until after it,
 * so the host's own fork handlers that run meanwhile (jemalloc locks all its
 * mutexes) pass straight through. The child then finds every lockgraph
 * structure whole and its locks free, and opens its own findings file.
 * This is done by pthread_atfork handlers, registered at start, because
 * glibc forks inside forkpty(), daemon() and others without calling the
 * fork symbol: an interposed fork() alone missed those, and their children
 * hung on a lockgraph lock another thread held at the fork. _Fork(), which
 * runs no handlers, has a shim of its own (interpose.c).
 *
 * In the child, a process-shared lock the forking thread held is not the
 * child's: it is the parent's, which still holds it (glibc keeps the owner's
 * tid in it, and the parent will unlock it). It leaves the child's held
 * stack, so the child taking it is a wait for the parent, not a
 * self-deadlock. Private locks held at the fork stay held by the child,
 * whose copy of them is locked.
 *
 * Process exit: the destructor writes the graph file and the closing
 * counts; exit() and _exit (interpose_proc.c) both remove a findings file
 * made early and still empty, and tell `lockgraph run` (runstatus.h) the
 * program was watched to its end.
 */

#include "alloc.h"
#include "class.h"
#include "reclaim.h"
#include "registry.h"
#include "graph.h"
#include "interpose.h"
#include "interpose_proc.h"
#include "dump.h"
#include "gone.h"
#include "io.h"
#include "options.h"
#include "live.h"
#include "ranks.h"
#include "report.h"
#include "runstatus.h"
#include "runtime.h"
#include "sem.h"
#include "stack.h"
#include "symbols.h"
#include "util.h"
#include "wait.h"
#include "watchdog.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

atomic_int lg__state;

static void on_thread_exit(void *p)
{
    struct lg_thread *t = p;
    if (!t || t != lg__self)
        return;
    int saved = lg__busy;
    lg__busy = 1;
    /* [waits] Holds of semaphores that turned out to be counters mean
     * nothing; the locks it does hold are remembered for whoever waits
     * for them now (gone.h). */
    lg__sem_thread_ending(t);
    if (t->held.n)
        lg__gone_thread_ending(t);
    lg__thread_ended(t);
    lg__self = LG_THREAD_GONE;
    lg__busy = saved;
}

/* ---- fork, through pthread_atfork. prepare runs before the fork in the
 * forking thread; parent or child after it in that thread. Handlers run in
 * reverse order of registration before a fork and in order after it, so
 * another library's handlers may run between ours: with the guard set they
 * pass straight through, untracked, on both sides of the fork alike. */

static __thread bool fork_held LG_TLS; /* this thread took every lock for a fork */

static void atfork_prepare(void)
{
    if (lg__busy || atomic_load_explicit(&lg__state, memory_order_acquire) != LG_STATE_ACTIVE)
        return;
    lg__busy = 1;
    fork_held = true;
    lg__fork_prepare();
}

static void atfork_parent(void)
{
    if (!fork_held)
        return;
    fork_held = false;
    lg__fork_parent();
    lg__busy = 0;
}

static void atfork_child(void)
{
    if (!fork_held)
        return;
    fork_held = false;
    lg__fork_child(true);
    lg__busy = 0;
}

static bool start_now(void)
{
    char err[512];
    /* First: every message from here on goes to the stderr the program
     * started with, never to a file the program later puts on fd 2. */
    lg__stderr_keep();
    lg__options_defaults_on_zero(&lg__opt); /* static: zero until now */
    const char *report = getenv("LOCKGRAPH_REPORT");
    if (report && lg__options_set_report(&lg__opt, report, err, sizeof(err)) != 0) {
        /* Cut short or empty, it would name a file the user never asked for. */
        lg__write_str(2, "lockgraph: ");
        lg__write_str(2, err);
        lg__write_str(2, "\n");
        _exit(2);
    }
    if (lg__options_parse(getenv("LOCKGRAPH_OPTIONS"), &lg__opt, err, sizeof(err)) != 0) {
        /* The user asked for something specific and did not get it: running
         * anyway would look like a clean result. Stop before main. */
        lg__write_str(2, "lockgraph: LOCKGRAPH_OPTIONS: ");
        lg__write_str(2, err);
        lg__write_str(2, "\n");
        _exit(2);
    }
    if (lg__opt.help)
        lg__options_help(2);
    /* The graph file is written at exit, after any chdir: resolve it now,
     * as report.c does the findings file. */
    char graph[LG_REPORT_PATH_MAX];
    if (lg__opt.graph[0] && lg__path_absolute(lg__opt.graph, graph, sizeof(graph)) == 0)
        lg__strlcpy(lg__opt.graph, graph, sizeof(lg__opt.graph));
    lg__opt_after_rare = lg__opt.held_stacks || lg__opt.hold_warn_ms;
    lg__opt_unlock_rare = lg__opt.hold_warn_ms != 0;
    if (lg__opt.max_memory)
        lg__alloc_set_limit((size_t)lg__opt.max_memory << 20);
    if (lg__opt.ranks[0]) {
        /* A rank file that cannot be used is the same kind of error as a
         * bad option: never run as if nothing were declared. */
        struct lg_ranks *r = lg__ranks_new();
        if (!r || lg__ranks_load(r, lg__opt.ranks, err, sizeof(err)) != 0) {
            lg__write_str(2, "lockgraph: ranks: ");
            lg__write_str(2, r ? err : "out of memory");
            lg__write_str(2, "\n");
            _exit(2);
        }
        atomic_store(&lg__ranks, r);
    }
    /* As early as possible: prepare handlers run in reverse order of
     * registration, so lockgraph's, registered before the host's (jemalloc
     * registers at the end of its first malloc, after making its mutexes,
     * which started lockgraph), runs last and takes lockgraph's locks after
     * every host lock the other handlers take. That is the order the
     * runtime uses (a host lock held, then lockgraph's); the reverse, with
     * another thread inside lockgraph while holding an allocator lock,
     * deadlocks the fork. glibc keeps the first 48 handlers without
     * allocating, so this is safe inside the host's allocator. */
    if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
        lg__write_str(2, "lockgraph: pthread_atfork failed: a fork while other threads "
                         "take locks may hang the child\n");
    lg__reclaim_init();
    lg__interpose_resolve();
    lg__interpose_io_resolve();
    lg__interpose_proc_resolve();
    lg__interpose_wait_resolve();
    lg__io_init();
    lg__stack_init();
    if (lg__thread_key_init(on_thread_exit) != 0)
        lg__write_str(2, "lockgraph: no pthread key left: held-at-exit will not be reported\n");
    lg__report_open();
    lg__run_status_attach(lg__report_exe_path());
    return true;
}

bool lg__start(void)
{
    int s = atomic_load_explicit(&lg__state, memory_order_acquire);
    if (s == LG_STATE_ACTIVE)
        return true;
    if (s == LG_STATE_OFF &&
        atomic_compare_exchange_strong(&lg__state, &s, LG_STATE_STARTING)) {
        int saved = lg__busy;
        lg__busy = 1;
        bool ok = start_now();
        lg__busy = saved;
        atomic_store_explicit(&lg__state, ok ? LG_STATE_ACTIVE : LG_STATE_DISABLED,
                              memory_order_release);
        return ok;
    }
    if (s == LG_STATE_STARTING)
        atomic_fetch_add(&lg__early_passthrough, 1);
    return false;
}

__attribute__((constructor(101))) static void lg_constructor(void)
{
    /* The watchdog thread starts here, not in lg__start, which may run
     * from inside the host's allocator before it can make threads. */
    if (lg__start())
        lg__watchdog_start();
}

__attribute__((destructor)) static void lg_destructor(void)
{
    if (atomic_load(&lg__state) != LG_STATE_ACTIVE)
        return;
    int saved = lg__busy;
    /* Inside a read section: the dump walks the graph without its lock. */
    struct lg_thread *t = lg__enter();
    if (t) {
        if (lg__opt.graph[0])
            (void)lg__dump_graph(lg__opt.graph, true);
        if (lg__opt.hold_warn_ms)
            lg__hold_flush();
        lg__report_exit_summary();
        lg__io_exit(); /* the final counts of held-across-io pairs */
        lg__leave();
    }
    lg__busy = 1;
    lg__report_leaving();
    lg__run_status_ended();
    lg__busy = saved;
}

void lg__fork_prepare(void)
{
    lg__gone_fork_prepare(); /* may capture a stack: before any lock */
    lg__symbols_fork_prepare(); /* takes the loader's: the same */
    lg__dump_lock_all();
    lg__loader_lock_all();
    lg__ranks_lock_all();
    lg__class_lock_all();
    lg__registry_lock_all();
    lg__graph_lock_all();
    lg__stack_lock_all();
    lg__report_lock_all();
    lg__thread_lock_all();
    lg__symbols_lock_all();
    lg__io_lock_all();
    lg__sem_lock_all();
    lg__reclaim_lock_all();
    lg__alloc_lock_all();
}

void lg__fork_parent(void)
{
    lg__alloc_unlock_all();
    lg__reclaim_unlock_all();
    lg__sem_unlock_all();
    lg__symbols_unlock_all();
    lg__io_unlock_all();
    lg__thread_unlock_all();
    lg__report_unlock_all();
    lg__stack_unlock_all();
    lg__graph_unlock_all();
    lg__registry_unlock_all();
    lg__class_unlock_all();
    lg__ranks_unlock_all();
    lg__loader_unlock_all();
    lg__dump_unlock_all();
    lg__gone_fork_parent();
}

void lg__fork_child(bool threads)
{
    lg__run_status_fork_child();
    /* (not when it holds nothing: its rekey and index drop would only
     * touch more pages in a child) */
    if (lg__self && lg__self != LG_THREAD_GONE && lg__self->held.n)
        lg__held_remove_if(&lg__self->held, lg__held_process_shared);
    lg__alloc_reset_child();
    lg__reclaim_reset_child();
    lg__symbols_reset_child();
    lg__thread_reset_child(lg__self);
    lg__io_reset_child();
    lg__report_reset_child();
    lg__stack_reset_child();
    lg__graph_reset_child();
    lg__registry_reset_child();
    lg__class_reset_child();
    lg__ranks_reset_child();
    lg__loader_reset_child();
    lg__dump_reset_child();
    lg__sem_reset_child();
    lg__gone_fork_child(threads);
    if (threads) {
        lg__watchdog_reset_child();
    }
    lg__live_reset_child();
}
