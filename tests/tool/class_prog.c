/*
 * class_prog.c - the program whose lock-class findings the report tests
 * record and check against golden text (test_report.sh, case classes).
 * Built with -g -O0 so every function, file and line can be checked; its
 * threads run one after the other, so the findings come in the same order
 * every time and it never hangs.
 *
 *   conn     conn_update(c1) takes a connection's lock, then the table's;
 *            table_sweep(c2) the table's, then a connection's: a cycle
 *            between the classes "connection lock" and "table lock",
 *            never between two locks
 *   helper   the same, every lock made by a mutex_create() wrapper
 *   freed    an object freed while its lock is held (held-lock-freed)
 *   destroy  an rwlock another thread holds for reading, destroyed
 *
 * Line numbers matter: tests/tool/data/golden-classes.expected names them.
 * Add code at the end of the file.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conn {
    pthread_mutex_t *lock;
};
static pthread_mutex_t *table_lock;
static bool through_helper;

__attribute__((noinline)) pthread_mutex_t *mutex_create(void)
{
    pthread_mutex_t *m = malloc(sizeof(*m));
    pthread_mutex_init(m, NULL);
    return m;
}

__attribute__((noinline)) static struct conn *conn_new(void)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (through_helper) {
        c->lock = mutex_create();
    } else {
        c->lock = malloc(sizeof(*c->lock));
        pthread_mutex_init(c->lock, NULL);
    }
    return c;
}

__attribute__((noinline)) static void table_new(void)
{
    if (through_helper) {
        table_lock = mutex_create();
    } else {
        table_lock = malloc(sizeof(*table_lock));
        pthread_mutex_init(table_lock, NULL);
    }
}

__attribute__((noinline)) static void conn_update(struct conn *c)
{
    pthread_mutex_lock(c->lock);
    pthread_mutex_lock(table_lock);
    pthread_mutex_unlock(table_lock);
    pthread_mutex_unlock(c->lock);
}

__attribute__((noinline)) static void table_sweep(struct conn *c)
{
    pthread_mutex_lock(table_lock);
    pthread_mutex_lock(c->lock);
    pthread_mutex_unlock(c->lock);
    pthread_mutex_unlock(table_lock);
}

static void *updater(void *arg)
{
    pthread_setname_np(pthread_self(), "updater");
    conn_update(arg);
    return NULL;
}

static int conns(void)
{
    table_new();
    struct conn *c1 = conn_new(), *c2 = conn_new();
    pthread_t t;
    pthread_create(&t, NULL, updater, c1);
    pthread_join(t, NULL);
    table_sweep(c2);
    return 0;
}

struct obj {
    long payload;
    pthread_mutex_t lock;
};

__attribute__((noinline)) static int freed(void)
{
    struct obj *o = malloc(sizeof(*o));
    pthread_mutex_init(&o->lock, NULL);
    pthread_mutex_lock(&o->lock);
    free(o);
    return 0;
}

static pthread_rwlock_t *rw;
static pthread_barrier_t bar;

static void *reader(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "reader");
    pthread_rwlock_rdlock(rw);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    return NULL;
}

__attribute__((noinline)) static int destroy(void)
{
    rw = malloc(sizeof(*rw));
    pthread_rwlock_init(rw, NULL);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    pthread_barrier_wait(&bar);
    pthread_rwlock_destroy(rw);
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    free(rw);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "conn") == 0)
        return conns();
    if (strcmp(mode, "helper") == 0) {
        through_helper = true;
        return conns();
    }
    if (strcmp(mode, "freed") == 0)
        return freed();
    if (strcmp(mode, "destroy") == 0)
        return destroy();
    fprintf(stderr, "usage: class_prog conn|helper|freed|destroy\n");
    return 2;
}
