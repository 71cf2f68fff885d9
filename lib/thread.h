/*
 * thread.h - lockgraph's record of a thread, and the re-entry guard.
 *
 * Both live in initial-exec thread-locals: one load each, no call to
 * __tls_get_addr on the fast path. The record is made at the thread's first
 * lock and given back when the thread ends (a pthread key destructor, which
 * also runs on pthread_exit and cancellation).
 */
#ifndef LG_THREAD_H
#define LG_THREAD_H

#include "held.h"
#include "sync.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LG_TLS __attribute__((tls_model("initial-exec")))

struct lg_node;
struct lg_stack;

/* What a thread is blocked on, for other threads to read (wait.c): the
 * wait-for chain and the watchdog. Written only by its own thread. `seq` is
 * odd while the thread waits and changes at every start and end of a wait,
 * so a reader can tell that what it read (this record and the thread's held
 * stack) belongs to one wait. */
struct lg_wait {
    atomic_uint_fast64_t seq;
    /* The lock waited for (or the cond var, barrier, semaphore; a join: the
     * pthread_t; a process wait: 1), 0 when not waiting. */
    _Atomic uintptr_t addr;
    struct lg_node *node;
    uint8_t on;           /* enum lg_on (report.h): a lock, a join, a cond var... */
    bool has_aux;         /* PROCESS: aux is the pid argument */
    uintptr_t aux;        /* COND: its mutex; PROCESS: the pid argument */
    uint8_t type;         /* enum lg_lock_type */
    bool exclusive;       /* write or mutex; false: a read of an rwlock */
    bool timed;           /* the program's own call has a timeout */
    uint64_t since_ns;    /* CLOCK_MONOTONIC when it started waiting */
    uintptr_t pc;         /* return address of the lock call */
    _Atomic(const struct lg_stack *) stack; /* captured once it waits long */
    atomic_bool long_reported;
};

/* Holds of this thread that another thread ended: an unlock by a thread
 * that did not hold the lock (glibc allows it for a default mutex), or the
 * lock's memory freed while held. The owner drops them at its next entry
 * into lockgraph (lg__enter), so they never make false edges or a false
 * held-at-exit. */
#define LG_DROPS_MAX 16
struct lg_drops {
    lg__lock_t lock;
    uint32_t n;
    bool overflow;    /* more than fit: the thread's record became lossy */
    struct {
        uintptr_t addr;
        struct lg_node *node;
    } e[LG_DROPS_MAX];
};

/* Chains of held locks this thread has taken a lock under and found
 * nothing new (every edge known, not held already, ranks checked): the same
 * chain and lock again need no graph probe at all (lockdep's chain cache,
 * per thread, so it is never shared). Direct-mapped by chain key. An entry
 * is a chain of instances (key) or of classes (a class key, see runtime.c),
 * and says the class key of the stack with the lock on top (0: none). */
#define LG_CHAIN_CACHE 256
struct lg_chain_entry {
    uint64_t key, ckey;
};

/* Acquisitions this thread made in an order already seen, by address: the
 * lock at addr, taken (with LG_ACQ_* flags) on top of the held stack whose
 * chain key is top, is the instance node of generation gen, and the chain
 * it makes (key, and ckey over classes) is known; klass and run are what
 * its held entry gets (both follow from the stack below and the classes,
 * which do not change while the cache's epoch holds). A hit (runtime.h,
 * lg__hit_find) stands for the registry probe and the chain cache both, so
 * the known-order fast path reads only this thread's record and the node's
 * generation. addr 0: an empty slot. One cache line each. */
#define LG_HIT_CACHE 256
struct lg_hit {
    uint64_t top;
    uintptr_t addr;
    union {
        struct lg_known known; /* what the held entry gets (held.h) */
        struct {
            LG_KNOWN_FIELDS
        };
    };
    uint32_t flags;
};

struct lg_thread {
    struct lg_held_stack held;
    uint32_t chains_epoch; /* lg__chain_epoch when the cache was filled */
    /* Odd while the thread is inside lockgraph (reclaim.h); written only by
     * its thread, read by whoever closes a grace period. */
    _Atomic uint32_t rcu;
    atomic_bool drops_pending;
    int32_t tid;
    uint32_t seq;
    /* Some acquisition could not be recorded (out of memory, or lockgraph
     * was not yet running): unlock-not-held and held-at-exit would lie. */
    bool lossy;
    atomic_bool live;     /* a thread uses this record (lg__thread_live) */
    _Atomic uint32_t fork_gen; /* lg__fork_gen when it was made live */
    /* On the header's page: making a record touches only that page. */
    struct lg_thread *next_free;
    struct lg_thread *all_next; /* every record ever made; never freed */
    struct lg_wait wait;
    const struct lg_stack *wait_cfas; /* frame addresses beside wait.stack */
    char name[16];        /* refreshed when the thread starts to wait */
    uint64_t name_ns;     /* when lg__thread_name_recent last read it */
    uintptr_t pthread;    /* its pthread_t, to find the thread a join waits for */
    struct lg_drops drops;
    /* Instance records at hand (registry.c): taken without a lock. */
#define LG_NODE_MAG 32
    struct lg_node *mag[LG_NODE_MAG];
    uint32_t nmag;
    struct lg_node *mchain; /* and a chain of them, taken whole from the pool */
    /* Instance ids handed out by this thread: [id_next, id_end), taken from
     * the global counter LG_ID_BLOCK at a time (registry.c). */
    uint64_t id_next, id_end;
    /* The held entries below `classed` were given classes (runtime.c,
     * classes_needed), while the entry at classed - 1 had chain key
     * classed_key: the same key there means the same locks below it. */
    uint32_t classed;
    uint64_t classed_key;
    /* Retired instances waiting to start a grace period, a batch at a time
     * (registry.c). */
    struct lg_node *parked;
    uint32_t nparked;
    struct lg_chain_entry chains[LG_CHAIN_CACHE];
    /* Forgotten with chains (chains_epoch). Each entry on a line of its own
     * (records are page-aligned: alloc.c). */
    _Alignas(64) struct lg_hit hits[LG_HIT_CACHE];
};

/* The thread's two words, in one thread-local so that a shim finds both
 * with one look-up of its offset (a -fPIC library reads the offset of each
 * initial-exec thread-local from the GOT). */
struct lg_tls {
    /* The calling thread's record: NULL before its first lock,
     * LG_THREAD_GONE after its exit destructor ran. */
    struct lg_thread *self;
    /* Non-zero while lockgraph code runs on this thread: an interposed call
     * made from inside lockgraph (by the unwinder, dlsym, the host
     * allocator) passes straight through. */
    int busy;
};
extern __thread struct lg_tls lg__tls LG_TLS;
#define lg__self (lg__tls.self)
#define lg__busy (lg__tls.busy)

#define LG_THREAD_GONE ((struct lg_thread *)1)

/* Make the calling thread's record; NULL when out of memory or when the
 * thread is past its exit destructor. Call with lg__busy set. */
struct lg_thread *lg__thread_create(void);

/* Called from the key destructor and by fork in the child. */
void lg__thread_exit(struct lg_thread *t);

/* Forget every record but the caller's (after fork, in the child). */
void lg__thread_reset_child(struct lg_thread *self);

/* The live record of kernel thread tid, or NULL. Lock-free. */
struct lg_thread *lg__thread_by_tid(int32_t tid);
/* Every record ever made (live or free), newest first, via all_next. */
struct lg_thread *lg__thread_all(void);

/* One more in each fork child: a record made live before it is one of the
 * parent's threads, which do not exist in the child. (The child used to
 * mark each of them not live, a write to a page it shares with its parent
 * for every record: a page copied each, about 20 us a thread on a VM, for
 * every fork of a process with many threads.) */
extern _Atomic uint32_t lg__fork_gen;

/* A thread of this process uses r now. */
static inline bool lg__thread_live(const struct lg_thread *r)
{
    struct lg_thread *w = (struct lg_thread *)r;
    return atomic_load_explicit(&w->live, memory_order_acquire) &&
           atomic_load_explicit(&w->fork_gen, memory_order_relaxed) ==
               atomic_load_explicit(&lg__fork_gen, memory_order_relaxed);
}

/* The calling thread's name, NUL-terminated, 16 bytes. */
void lg__thread_name(char name[16]);

/* lockgraph's own threads (the watchdog, the dump thread). Start: detached,
 * 256 KiB of stack, made with the guard set so the creation is not watched;
 * false when it could not be made. Its body begins with
 * lg__own_thread_enter: the guard set for its whole life (nothing it does
 * is watched), every signal blocked (the program's handlers never run on
 * it), and a name that says whose it is. */
bool lg__own_thread_start(void *(*body)(void *));
void lg__own_thread_enter(const char *name);
/* The same for t (the caller's own record), read again from the kernel at
 * most every 100 ms: a new edge names its thread, and a system call per
 * edge was a third of a new edge's cost. */
void lg__thread_name_recent(struct lg_thread *t, char name[16]);

/* The pthread key whose destructor ends a record; made at init. */
int lg__thread_key_init(void (*destructor)(void *));

void lg__thread_lock_all(void);
void lg__thread_unlock_all(void);

#endif
