/*
 * bytes_lib.c - a module for test_report.sh's case bytes: the test copies
 * it into a directory whose name is not UTF-8 ("mod\377dir"), under a
 * file name that is not either ("libbytes\351.so"), and loads it there
 * with bytes_prog. The library writes those bytes as \u00XX; the tool must
 * read them back as bytes to open the module and symbolize its frames,
 * and to write rank-file keys the library will recognize.
 *
 *   bytes_order  locks a, then b
 *   bytes_cycle  locks a, then b; then b, then a (one thread: a cycle
 *                that did not hang)
 *
 * Built with -g -O0: its functions, files and lines are checked.
 */
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t *lock_a, *lock_b;

__attribute__((noinline)) static void make_locks(void)
{
    lock_a = malloc(sizeof(*lock_a));
    pthread_mutex_init(lock_a, NULL);
    lock_b = malloc(sizeof(*lock_b));
    pthread_mutex_init(lock_b, NULL);
}

__attribute__((noinline)) static void bytes_ab(void)
{
    pthread_mutex_lock(lock_a);
    pthread_mutex_lock(lock_b);
    pthread_mutex_unlock(lock_b);
    pthread_mutex_unlock(lock_a);
}

__attribute__((noinline)) static void bytes_ba(void)
{
    pthread_mutex_lock(lock_b);
    pthread_mutex_lock(lock_a);
    pthread_mutex_unlock(lock_a);
    pthread_mutex_unlock(lock_b);
}

void bytes_order(void)
{
    make_locks();
    bytes_ab();
}

void bytes_cycle(void)
{
    make_locks();
    bytes_ab();
    bytes_ba();
}
