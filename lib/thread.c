/*
 * thread.c - per-thread records: creation at first lock, numbering, reuse.
 *
 * Records of ended threads go to a free list and are reused, so a program
 * that starts a thread per request does not grow lockgraph's memory.
 *
 * Locking: threads_lock guards the free list; it is taken after report and
 * before alloc (sync.h).
 */

#include "thread.h"
#include "alloc.h"
#include "sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct lg_thread *lg__self LG_TLS;
__thread int lg__busy LG_TLS;

static lg__lock_t threads_lock = LG__LOCK_INIT;
static struct lg_thread *free_records;
static atomic_uint next_seq = 1;
static pthread_key_t exit_key;
static bool have_key;

int lg__thread_key_init(void (*destructor)(void *))
{
    if (pthread_key_create(&exit_key, destructor) != 0)
        return -1;
    have_key = true;
    return 0;
}

struct lg_thread *lg__thread_create(void)
{
    if (lg__self == LG_THREAD_GONE)
        return NULL;
    struct lg_thread *t = NULL;
    lg__lock(&threads_lock);
    if (free_records) {
        t = free_records;
        free_records = t->next_free;
    }
    lg__unlock(&threads_lock);
    if (!t)
        t = lg__alloc(sizeof(*t));
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    lg__held_init(&t->held);
    t->tid = (int32_t)syscall(SYS_gettid);
    t->seq = atomic_fetch_add(&next_seq, 1);
    if (have_key)
        pthread_setspecific(exit_key, t);
    lg__self = t;
    return t;
}

void lg__thread_exit(struct lg_thread *t)
{
    lg__held_release(&t->held);
    lg__lock(&threads_lock);
    t->next_free = free_records;
    free_records = t;
    lg__unlock(&threads_lock);
}

void lg__thread_reset_child(struct lg_thread *self)
{
    (void)self;
    lg__lock_reset(&threads_lock);
    /* Records of the parent's other threads are simply left behind: their
     * threads do not exist here and will never use them. */
    if (self && self != LG_THREAD_GONE)
        self->tid = (int32_t)syscall(SYS_gettid);
}

void lg__thread_name(char name[16])
{
    memset(name, 0, 16);
    if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0)
        name[0] = 0;
    name[15] = 0;
}

void lg__thread_lock_all(void)
{
    lg__lock(&threads_lock);
}

void lg__thread_unlock_all(void)
{
    lg__unlock(&threads_lock);
}
