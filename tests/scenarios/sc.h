/*
 * sc.h - helpers for the scenario programs: run a function on a new thread
 * and wait for it, so each scenario reads as the interleaving it tests.
 */
#ifndef LG_SC_H
#define LG_SC_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static inline void sc_run(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0) {
        perror("pthread_create");
        exit(3);
    }
    pthread_join(t, NULL);
}

static inline void sc_lock2(pthread_mutex_t *a, pthread_mutex_t *b)
{
    pthread_mutex_lock(a);
    pthread_mutex_lock(b);
    pthread_mutex_unlock(b);
    pthread_mutex_unlock(a);
}

#endif
