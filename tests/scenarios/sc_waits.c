/* Waits that are not locks: joins, condition variables, semaphores,
 * barriers, processes, and locks whose owner is gone. argv[1] picks one:
 *
 *   join_held    main takes L, starts a worker and joins it; the worker's
 *                first act is to take L: hangs (a deadlock of one lock and
 *                one join; the test kills it)
 *   cond_held    a thread takes the cache lock, then waits on a condition
 *                variable (with its own mutex) for a refill; the refiller
 *                needs the cache lock: hangs
 *   fork_held    a worker holds M when main forks; the child locks M, whose
 *                owner does not exist in the child: the child hangs (it
 *                dies with its parent, which the test kills)
 *   exit_held    a thread exits holding M; main then locks M: hangs
 *   sem_lock     a semaphore made with 1, waited and posted by the same
 *                thread, and a mutex, taken in opposite orders: exit 0
 *   sem_named    sem_lock with a named semaphore (sem_open): exit 0
 *   sem_signal   a semaphore made with 1 but posted by a thread that did not
 *                take it (a signal): no lock after all. The taker's hold is
 *                dropped: no cycle through it, no held-at-exit; main's
 *                later wait on it holding M is a held-across-wait: exit 0
 *   sem_deadlock T1 takes semaphore S (made with 1), then waits for mutex M;
 *                T2 holds M and waits for S: hangs (barrier waits holding
 *                them: on_wait=off)
 *   calls        each watched wait made once holding a lock: a join, a
 *                barrier, a counting semaphore, waitpid, system: exit 0
 *   atexit       main exits holding M; an atexit handler locks M: hangs
 *   busy         four threads take locks in one order, wait on a condition
 *                variable and a counting semaphore, for good (for
 *                `lockgraph dump`; the test kills it): nothing to report
 *   busy_closefds  busy, after closing every fd but 0-2 as a daemon does
 *                (the dump's socket is lockgraph's own: still answers)
 *
 * and the quiet ones (exit 0, nothing to report):
 *
 *   cond_own     a condition wait holding only its own mutex
 *   join_free    a join holding no lock
 *   sem_counter  a producer and a consumer on a counting semaphore
 *   pshared      a process-shared mutex held by a thread of another process
 *                (a fork child, which talks and sleeps holding it: on_io=off)
 *                while this one waits for it
 *   robust       a robust mutex whose owner thread died: EOWNERDEAD
 *   fork_exec    fork, then exec in the child, holding nothing
 */
#include "sc.h"
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static pthread_mutex_t L = PTHREAD_MUTEX_INITIALIZER, M = PTHREAD_MUTEX_INITIALIZER,
                       cache = PTHREAD_MUTEX_INITIALIZER, qm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t refill = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t bar;
static int stock;

/* ---- join_held ---- */

static void *take_L(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&L);
    pthread_mutex_unlock(&L);
    return NULL;
}

static int join_held(void)
{
    pthread_t t;
    pthread_mutex_lock(&L);
    pthread_create(&t, NULL, take_L, NULL);
    pthread_join(t, NULL); /* the worker waits for L, which we hold: forever */
    pthread_mutex_unlock(&L);
    return 0;
}

/* ---- cond_held ---- */

static void *refiller(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cache); /* the consumer holds it while it waits */
    pthread_mutex_lock(&qm);
    stock = 10;
    pthread_cond_signal(&refill);
    pthread_mutex_unlock(&qm);
    pthread_mutex_unlock(&cache);
    return NULL;
}

static int cond_held(void)
{
    pthread_t t;
    pthread_mutex_lock(&cache);
    pthread_mutex_lock(&qm);
    pthread_create(&t, NULL, refiller, NULL);
    while (stock == 0)
        pthread_cond_wait(&refill, &qm); /* holding the cache lock: forever */
    pthread_mutex_unlock(&qm);
    pthread_mutex_unlock(&cache);
    pthread_join(t, NULL);
    return 0;
}

/* ---- fork_held ---- */

static void *hold_M(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&M);
    pthread_barrier_wait(&bar); /* M is held */
    pthread_barrier_wait(&bar); /* until the fork is done */
    pthread_mutex_unlock(&M);
    return NULL;
}

static int fork_held(void)
{
    pthread_t t;
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&t, NULL, hold_M, NULL);
    pthread_barrier_wait(&bar);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the test kills the parent */
        pthread_mutex_lock(&M);           /* its owner is in the parent: forever */
        _exit(0);
    }
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    int st;
    waitpid(pid, &st, 0);
    return 0;
}

/* ---- exit_held ---- */

static void *lock_M_and_leave(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&M);
    return NULL;
}

static int exit_held(void)
{
    sc_run(lock_M_and_leave, NULL); /* held-at-exit */
    pthread_mutex_lock(&M);         /* its owner has ended: forever */
    return 0;
}

/* ---- sem_lock ---- */

static sem_t S;

static void *sem_then_mutex(void *arg)
{
    (void)arg;
    sem_wait(&S);
    pthread_mutex_lock(&M);
    pthread_mutex_unlock(&M);
    sem_post(&S);
    return NULL;
}

static void *mutex_then_sem(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&M);
    sem_wait(&S);
    sem_post(&S);
    pthread_mutex_unlock(&M);
    return NULL;
}

static int sem_lock(void)
{
    sem_init(&S, 0, 1);
    sc_run(sem_then_mutex, NULL);
    sc_run(mutex_then_sem, NULL);
    sem_destroy(&S);
    return 0;
}

static int sem_named(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/lockgraph-sc.%d", (int)getpid());
    sem_t *n = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (n == SEM_FAILED)
        return 1;
    sem_t *again = sem_open(name, 0); /* the same one, opened again */
    sem_unlink(name);
    if (again != n)
        return 1;
    pthread_mutex_lock(&M);
    sem_wait(n);
    sem_post(n);
    pthread_mutex_unlock(&M);
    sem_wait(n);
    pthread_mutex_lock(&M);
    pthread_mutex_unlock(&M);
    sem_post(n);
    sem_close(n);
    return 0;
}

static atomic_int step;

static void *take_S_then_M(void *arg)
{
    (void)arg;
    sem_wait(&S); /* a lock, as far as anyone can tell yet */
    atomic_store(&step, 1);
    while (atomic_load(&step) != 2) /* main posts S meanwhile */
        sched_yield();
    pthread_mutex_lock(&M); /* S is a counter now: no S -> M */
    pthread_mutex_unlock(&M);
    return NULL; /* and no held-at-exit for S */
}

static int sem_signal(void)
{
    pthread_t t;
    sem_init(&S, 0, 1);
    pthread_create(&t, NULL, take_S_then_M, NULL);
    while (atomic_load(&step) != 1)
        sched_yield();
    sem_post(&S); /* by a thread that did not take it: a signal */
    atomic_store(&step, 2);
    pthread_join(t, NULL);
    pthread_mutex_lock(&M);
    sem_wait(&S); /* a wait on a counter, holding M */
    pthread_mutex_unlock(&M);
    sem_destroy(&S);
    return 0;
}

static void *sem_deadlock_1(void *arg)
{
    (void)arg;
    sem_wait(&S);
    pthread_barrier_wait(&bar);
    pthread_mutex_lock(&M);
    return NULL;
}

static void *sem_deadlock_2(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&M);
    pthread_barrier_wait(&bar);
    sem_wait(&S);
    return NULL;
}

static int sem_deadlock(void)
{
    pthread_t a, b;
    sem_init(&S, 0, 1);
    pthread_barrier_init(&bar, NULL, 2);
    pthread_create(&a, NULL, sem_deadlock_1, NULL);
    pthread_create(&b, NULL, sem_deadlock_2, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return 0;
}

/* ---- calls ---- */

static void *nothing(void *arg)
{
    return arg;
}

static void *post_later(void *arg)
{
    sem_post(arg);
    return NULL;
}

static int calls(void)
{
    pthread_t t;
    sem_t counter;
    sem_init(&counter, 0, 0);
    pthread_barrier_init(&bar, NULL, 1);
    pthread_mutex_lock(&L);
    pthread_create(&t, NULL, nothing, NULL);
    pthread_join(t, NULL);
    pthread_barrier_wait(&bar);
    pthread_create(&t, NULL, post_later, &counter);
    sem_wait(&counter);
    pthread_join(t, NULL); /* another site: a pair of its own */
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int st;
    waitpid(pid, &st, 0);
    if (system("true") != 0)
        return 1;
    pthread_mutex_unlock(&L);
    sem_destroy(&counter);
    return 0;
}

/* ---- atexit ---- */

static void relock_M(void)
{
    pthread_mutex_lock(&M); /* main still holds it: a self-deadlock */
}

static int at_exit(void)
{
    atexit(relock_M);
    pthread_mutex_lock(&M);
    exit(0);
}

/* ---- busy ---- */

static sem_t tokens;

static void *busy_worker(void *arg)
{
    long id = (long)arg;
    for (unsigned long i = 0;; i++) {
        pthread_mutex_lock(&L);
        pthread_mutex_lock(&M);
        stock++;
        pthread_mutex_unlock(&M);
        pthread_mutex_unlock(&L);
        if (id == 0) {
            sem_post(&tokens);
            pthread_mutex_lock(&qm);
            pthread_cond_broadcast(&refill);
            pthread_mutex_unlock(&qm);
        } else if (id == 1) {
            sem_wait(&tokens);
        } else if (i % 64 == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_mutex_lock(&qm);
            pthread_cond_timedwait(&refill, &qm, &ts);
            pthread_mutex_unlock(&qm);
        }
    }
    return NULL;
}

static int busy(void)
{
    pthread_t t[4];
    sem_init(&tokens, 0, 0);
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, busy_worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    return 0;
}

static int busy_closefds(void)
{
    sc_run(nothing, NULL); /* the first thread starts the dump's */
    for (int fd = 3; fd < 4096; fd++)
        close(fd);
    return busy();
}

/* ---- the quiet ones ---- */

static void *signal_stock(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qm);
    stock = 1;
    pthread_cond_signal(&refill);
    pthread_mutex_unlock(&qm);
    return NULL;
}

static int cond_own(void)
{
    pthread_t t;
    pthread_mutex_lock(&qm);
    pthread_create(&t, NULL, signal_stock, NULL);
    while (stock == 0)
        pthread_cond_wait(&refill, &qm);
    pthread_mutex_unlock(&qm);
    pthread_join(t, NULL);
    return 0;
}

static int join_free(void)
{
    pthread_t t;
    pthread_mutex_lock(&L);
    pthread_create(&t, NULL, take_L, NULL);
    pthread_mutex_unlock(&L);
    pthread_join(t, NULL);
    return 0;
}

static sem_t items;

static void *produce(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        sem_post(&items);
    return NULL;
}

static int sem_counter(void)
{
    pthread_t t;
    sem_init(&items, 0, 0);
    pthread_create(&t, NULL, produce, NULL);
    for (int i = 0; i < 1000; i++) {
        sem_wait(&items);
        pthread_mutex_lock(&M); /* a lock under a counter is no lock order */
        pthread_mutex_unlock(&M);
    }
    pthread_join(t, NULL);
    pthread_mutex_lock(&M);
    sem_post(&items); /* and a post or a try under a lock is no wait */
    sem_trywait(&items);
    pthread_mutex_unlock(&M);
    sem_destroy(&items);
    return 0;
}

static int pshared(void)
{
    pthread_mutex_t *pm =
        mmap(NULL, sizeof(*pm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int go[2], held[2];
    if (pm == MAP_FAILED || pipe(go) != 0 || pipe(held) != 0)
        return 1;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(pm, &a);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        pthread_mutex_lock(pm);
        if (write(held[1], "h", 1) != 1 || read(go[0], &c, 1) != 1)
            _exit(1);
        usleep(200000); /* let the parent wait for it a while */
        pthread_mutex_unlock(pm);
        _exit(0);
    }
    char c;
    if (read(held[0], &c, 1) != 1 || write(go[1], "g", 1) != 1)
        return 1;
    pthread_mutex_lock(pm); /* its owner is a thread of the child: not gone */
    pthread_mutex_unlock(pm);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static pthread_mutex_t R;

static void *lock_R_and_die(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R);
    return NULL;
}

static int robust(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&R, &a);
    sc_run(lock_R_and_die, NULL);
    int rc = pthread_mutex_lock(&R); /* handed over */
    if (rc == EOWNERDEAD)
        pthread_mutex_consistent(&R);
    pthread_mutex_unlock(&R);
    return rc == EOWNERDEAD ? 0 : 1;
}

static int fork_exec(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(void);
    } modes[] = {
        {"join_held", join_held},
        {"cond_held", cond_held},
        {"fork_held", fork_held},
        {"exit_held", exit_held},
        {"sem_lock", sem_lock},
        {"calls", calls},
        {"atexit", at_exit},
        {"sem_named", sem_named},
        {"sem_signal", sem_signal},
        {"sem_deadlock", sem_deadlock},
        {"cond_own", cond_own},
        {"join_free", join_free},
        {"sem_counter", sem_counter},
        {"pshared", pshared},
        {"robust", robust},
        {"fork_exec", fork_exec},
        {"busy", busy},
        {"busy_closefds", busy_closefds},
    };
    for (size_t i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(argv[1], modes[i].name) == 0)
            return modes[i].fn();
    fprintf(stderr, "usage: %s MODE\n", argv[0]);
    return 2;
}
