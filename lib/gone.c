/*
 * gone.c - threads that are gone while their locks are not (see gone.h).
 *
 * What it does: remember, for each thread that ended holding locks and for
 * each thread of a parent that held locks when it forked, which locks and
 * where they were taken, and where the thread ended or the fork was made;
 * answer wait.c's "who was the gone owner of this lock".
 * What it does not: decide that an owner is gone (wait.c asks the kernel)
 * or format anything (report.c).
 *
 * Cost: nothing on any lock path. A thread that ends holding locks costs
 * one stack capture (it is reported as held-at-exit anyway); a fork costs a
 * walk of the thread records, and a stack capture when another thread
 * holds a lock.
 *
 * Locking: none; see gone.h.
 */

#include "gone.h"
#include "alloc.h"
#include "options.h"
#include "report.h"
#include "stack.h"
#include "util.h"
#include "wait.h"

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GONE_MAX 4096 /* records kept, for the life of the process */
#define GONE_HELD 64  /* locks kept per record */
#define FORK_SHOWN 32 /* threads a fork-with-locks-held names */

struct tomb {
    int32_t tid;
    uint32_t seq;
    char name[16];
    int why; /* enum lg_gone_why */
    const struct lg_stack *where;
    uint32_t nheld;
    struct lg_fork_held held[]; /* the lock, where it was taken */
};

static _Atomic(struct tomb *) tombs[GONE_MAX] LG_LARGE_BSS;
static atomic_uint ntombs;

static int depth(void)
{
    return (int)lg__opt.stack_depth;
}

static struct tomb *tomb_new(uint32_t nheld)
{
    return lg__alloc(sizeof(struct tomb) + nheld * sizeof(struct lg_fork_held));
}

static void tomb_add(struct tomb *t)
{
    unsigned i = atomic_fetch_add(&ntombs, 1);
    if (i >= GONE_MAX) {
        atomic_store(&ntombs, GONE_MAX);
        lg__free(t, sizeof(struct tomb) + t->nheld * sizeof(struct lg_fork_held));
        return;
    }
    atomic_store_explicit(&tombs[i], t, memory_order_release);
}

void lg__gone_thread_ending(struct lg_thread *t)
{
    if (!t->held.n)
        return;
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, cfas, depth());
    uint32_t k = t->held.n < GONE_HELD ? t->held.n : GONE_HELD;
    struct tomb *b = tomb_new(k);
    if (!b) {
        lg__report_oom();
        return;
    }
    b->tid = t->tid;
    b->seq = t->seq;
    lg__thread_name(b->name);
    b->why = LG_GONE_ENDED;
    b->where = lg__stack_intern(pcs, n);
    b->nheld = k;
    for (uint32_t i = 0; i < k; i++) {
        const struct lg_held *h = &t->held.e[i];
        b->held[i].addr = h->addr;
        b->held[i].node = h->node;
        if (h->stack) {
            b->held[i].took = h->stack;
        } else {
            uintptr_t f[LG_STACK_MAX];
            int m = lg__stack_splice(h->pc, h->cfa, pcs, cfas, n, f, depth());
            b->held[i].took = lg__stack_intern(f, m);
        }
    }
    tomb_add(b);
}

bool lg__gone_find(int32_t tid, uintptr_t addr, struct lg_gone_owner *g)
{
    unsigned n = atomic_load(&ntombs);
    if (n > GONE_MAX)
        n = GONE_MAX;
    const struct tomb *who = NULL, *latest = NULL;
    /* Newest first: thread ids are reused in a long-lived process. */
    for (unsigned i = n; i-- > 0 && !who;) {
        const struct tomb *t = atomic_load_explicit(&tombs[i], memory_order_acquire);
        if (!t || t->tid != tid)
            continue;
        if (!latest)
            latest = t;
        for (uint32_t j = 0; j < t->nheld && !who; j++) {
            if (t->held[j].addr == addr) {
                who = t;
                g->took = t->held[j].took;
            }
        }
    }
    if (!who)
        who = latest; /* the last thread of that id, though not seen holding the lock */
    if (!who)
        return false;
    g->tid = who->tid;
    g->seq = who->seq;
    memcpy(g->name, who->name, sizeof(g->name));
    g->why = who->why;
    g->where = who->where;
    return g->took != NULL;
}

/* ---------------------------------------------------------------------- */
/* fork.                                                                   */

static __thread uintptr_t *fork_pcs LG_TLS;
static __thread int fork_npcs LG_TLS;
static __thread int32_t fork_tid LG_TLS;

#define ALIAS_MAX 16
static struct {
    int32_t from, to;
} aliases[ALIAS_MAX];
static int naliases; /* written in a fork child only, before it has threads */

int32_t lg__gone_alias(int32_t tid)
{
    for (int i = 0; i < naliases; i++)
        if (aliases[i].from == tid)
            return aliases[i].to;
    return tid;
}

static bool valid(const struct lg_thread *t)
{
    return (uintptr_t)t > (uintptr_t)LG_THREAD_GONE;
}

void lg__gone_fork_prepare(void)
{
    struct lg_thread *self = lg__self;
    fork_tid = valid(self) ? self->tid : (int32_t)syscall(SYS_gettid);
    fork_pcs = NULL;
    fork_npcs = 0;
    bool others = false;
    for (struct lg_thread *r = lg__thread_all(); r && !others; r = r->all_next)
        others = r != self && lg__thread_live(r) && r->held.n > 0;
    if (!others)
        return;
    /* Where the fork is made: captured now, before lockgraph's locks are
     * taken (the unwinder may take the loader's lock). */
    fork_pcs = lg__map(LG_STACK_MAX * sizeof(uintptr_t));
    if (fork_pcs)
        fork_npcs = lg__stack_capture(fork_pcs, NULL, depth());
}

void lg__gone_fork_parent(void)
{
    /* (Only when there is something to undo: after a fork, a write to a
     * page the child shares is a page fault.) */
    if (fork_pcs) {
        lg__unmap(fork_pcs, LG_STACK_MAX * sizeof(uintptr_t));
        fork_pcs = NULL;
        fork_npcs = 0;
    }
}

void lg__gone_fork_child(bool report)
{
    struct lg_thread *self = lg__self;
    int32_t now = (int32_t)syscall(SYS_gettid);
    /* The locks the forking thread holds name its parent's thread id. */
    for (int i = 0; i < naliases; i++)
        if (aliases[i].to == fork_tid)
            aliases[i].to = now;
    if (fork_tid != now && naliases < ALIAS_MAX) {
        aliases[naliases].from = fork_tid;
        aliases[naliases++].to = now;
    }
    const struct lg_stack *where = fork_npcs ? lg__stack_intern(fork_pcs, fork_npcs) : NULL;
    lg__gone_fork_parent();

    struct lg_fork_thread shown[FORK_SHOWN];
    int nshown = 0;
    /* Every other record still holding locks belonged to a thread of the
     * parent, left behind (thread.c): records of ended threads are empty.
     * Its process-shared locks are the parent's, which still has that
     * thread to let them go: not locked for good here (init.c drops them
     * from the forking thread's stack the same way). */
    for (struct lg_thread *r = lg__thread_all(); r; r = r->all_next) {
        /* (Read, not written, when it holds nothing: a record's page this
         * child writes is copied, about 20 us a thread of the parent on a
         * VM, in every fork.) */
        if (r == self || r->held.n == 0)
            continue;
        lg__held_remove_if(&r->held, lg__held_process_shared);
        if (r->held.n == 0)
            continue;
        uint32_t k = r->held.n < GONE_HELD ? r->held.n : GONE_HELD;
        struct tomb *b = tomb_new(k);
        if (!b)
            break;
        b->tid = r->tid;
        b->seq = r->seq;
        /* Its name in the parent, which is still there (usually). */
        if (!lg__thread_name_in((int32_t)getppid(), r->tid, b->name))
            memcpy(b->name, r->name, sizeof(b->name));
        b->why = LG_GONE_FORK;
        b->where = where;
        b->nheld = k;
        for (uint32_t i = 0; i < k; i++) {
            const struct lg_held *h = &r->held.e[i];
            uintptr_t pc = h->pc;
            b->held[i].addr = h->addr;
            b->held[i].node = h->node;
            b->held[i].took = h->stack ? h->stack : lg__stack_intern(&pc, 1);
        }
        tomb_add(b);
        if (nshown < FORK_SHOWN) {
            struct lg_fork_thread *f = &shown[nshown++];
            f->tid = b->tid;
            f->seq = b->seq;
            memcpy(f->name, b->name, sizeof(f->name));
            f->nheld = b->nheld;
            f->held = b->held;
        }
        /* Nobody will ever use it here; a later fork of this child must not
         * count it again. */
        lg__held_release(&r->held);
    }
    if (!report || !nshown || lg__opt.on_fork == LG_ACTION_OFF)
        return;
    lg__report_fork_held(shown, nshown, where);
    if (lg__opt.on_fork == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_fork=abort: aborting\n");
        abort();
    }
}
