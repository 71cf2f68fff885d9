/* Signal handlers that lock, landing inside the known-order fast path.
 *
 * The main thread takes the same orders over and over (so every lock and
 * unlock goes the fast way: lib/runtime.h) while another thread sends it
 * SIGUSR1 as fast as it can. The handler locks and unlocks a mutex of its
 * own (and try-locks it), which is the only lock it touches: every order in
 * the program is consistent, and nothing is held at exit.
 *
 * The fast path fills the next held entry before the real lock call and
 * pushes it after (lg__held_stage, lg__held_commit), and an unlock pops
 * without marking the thread busy (lg__unlock_fast). A handler running
 * between those steps must neither overwrite the entry about to be pushed
 * nor leave the stack changed: either would show here as a lock held that
 * is not (an unlock of a lock not held, a relock of the handler's mutex, a
 * held-at-exit) or as an order never taken.
 *
 * The program fails (exit 5) when fewer than 1,000 signals were handled
 * while it ran: then it tested nothing.
 *
 * Modes:
 *   (none)   mutexes, two and three deep, a recursive relock, a trylock
 *   deep     twelve mutexes held at once (the held stack's index) and a
 *            rwlock read and written */
#include "sc.h"
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define DEEP 12
#define ROUNDS 200000

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
                       c = PTHREAD_MUTEX_INITIALIZER, h = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t rec;
static pthread_mutex_t d[DEEP];
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int handled, stop;
static pthread_t main_thread;

static void on_signal(int sig)
{
    (void)sig;
    pthread_mutex_lock(&h);
    pthread_mutex_unlock(&h);
    if (pthread_mutex_trylock(&h) == 0)
        pthread_mutex_unlock(&h);
    atomic_fetch_add(&handled, 1);
}

static void *signaller(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_kill(main_thread, SIGUSR1);
        for (volatile int i = 0; i < 2000; i++)
            ;
    }
    return NULL;
}

static void shallow_round(void)
{
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&c);
    pthread_mutex_unlock(&c);
    pthread_mutex_unlock(&b);
    pthread_mutex_lock(&rec);
    pthread_mutex_lock(&rec);
    pthread_mutex_unlock(&rec);
    pthread_mutex_unlock(&rec);
    if (pthread_mutex_trylock(&c) == 0)
        pthread_mutex_unlock(&c);
    pthread_mutex_unlock(&a);
}

static void deep_round(void)
{
    for (int i = 0; i < DEEP; i++)
        pthread_mutex_lock(&d[i]);
    pthread_rwlock_rdlock(&rw);
    pthread_rwlock_unlock(&rw);
    for (int i = DEEP - 1; i >= 0; i--)
        pthread_mutex_unlock(&d[i]);
    pthread_rwlock_wrlock(&rw);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_rwlock_unlock(&rw);
}

int main(int argc, char **argv)
{
    bool deep = argc > 1 && strcmp(argv[1], "deep") == 0;
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&rec, &at);
    for (int i = 0; i < DEEP; i++)
        pthread_mutex_init(&d[i], NULL);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    main_thread = pthread_self();
    pthread_t th;
    pthread_create(&th, NULL, signaller, NULL);
    int rounds = deep ? ROUNDS / 4 : ROUNDS;
    for (int r = 0; r < rounds || atomic_load(&handled) < 1000; r++) {
        if (deep)
            deep_round();
        else
            shallow_round();
        if (r > 50 * ROUNDS)
            break;
    }
    atomic_store(&stop, 1);
    pthread_join(th, NULL);
    printf("handled %d signals\n", atomic_load(&handled));
    return atomic_load(&handled) >= 1000 ? 0 : 5;
}
