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

#include <stdbool.h>
#include <stdint.h>

#define LG_TLS __attribute__((tls_model("initial-exec")))

struct lg_thread {
    struct lg_held_stack held;
    int32_t tid;
    uint32_t seq;
    /* Some acquisition could not be recorded (out of memory, or lockgraph
     * was not yet running): unlock-not-held and held-at-exit would lie. */
    bool lossy;
    struct lg_thread *next_free;
};

/* The calling thread's record: NULL before its first lock, LG_THREAD_GONE
 * after its exit destructor ran. */
extern __thread struct lg_thread *lg__self LG_TLS;
/* Non-zero while lockgraph code runs on this thread: an interposed call made
 * from inside lockgraph (by the unwinder, dlsym, the host allocator) passes
 * straight through. */
extern __thread int lg__busy LG_TLS;

#define LG_THREAD_GONE ((struct lg_thread *)1)

/* Make the calling thread's record; NULL when out of memory or when the
 * thread is past its exit destructor. Call with lg__busy set. */
struct lg_thread *lg__thread_create(void);

/* Called from the key destructor and by fork in the child. */
void lg__thread_exit(struct lg_thread *t);

/* Forget every record but the caller's (after fork, in the child). */
void lg__thread_reset_child(struct lg_thread *self);

/* The calling thread's name, NUL-terminated, 16 bytes. */
void lg__thread_name(char name[16]);

/* The pthread key whose destructor ends a record; made at init. */
int lg__thread_key_init(void (*destructor)(void *));

void lg__thread_lock_all(void);
void lg__thread_unlock_all(void);

#endif
