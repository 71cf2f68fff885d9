/* fork with lockgraph inside: the parent makes a cycle, the child makes a
 * different one; each process reports its own in its own file (%p), and a
 * child forked while another thread hammers locks starts consistent. */
#include "sc.h"
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER,
                       c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER,
                       e = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;

static void *hammer(void *arg)
{
    (void)arg;
    while (!stop)
        sc_lock2(&c, &d);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, hammer, NULL);
    for (int i = 0; i < 20; i++) {
        pid_t p = fork();
        if (p == 0) {
            /* c and d may be held by the hammer thread, which does not
             * exist here: locking them would hang with or without
             * lockgraph. The child keeps to locks nobody else holds. */
            if (i == 19) {
                sc_lock2(&e, &b);
                sc_lock2(&b, &e); /* the child's own cycle */
            }
            _exit(0);
        }
        int st;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    stop = 1;
    pthread_join(t, NULL);
    sc_lock2(&a, &b);
    sc_lock2(&b, &a);
    return 0;
}
