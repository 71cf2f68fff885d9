/* Every way a process forks, while three threads keep lockgraph busy (new
 * locks, new orders: its own locks are taken all the time). Each child
 * then makes new locks and a new order of its own (lockgraph's locks again)
 * and says "ok" on a pipe. A child that does not say so within its time
 * hung.
 *
 *   sc_fork_kinds KIND [N]   KIND: fork, vfork, forkpty, daemon, _Fork,
 *                            posix_spawn, system; N rounds (default 20)
 *
 * Exit 0 when every child answered, 1 when some hung (their count on
 * stderr), 3 on a setup error. With "cycle" as a third argument, the
 * children of fork, forkpty, daemon and _Fork each also close an AB/BA cycle
 * (their findings must land in their own file). */
#define _GNU_SOURCE
#include "sc.h"
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile int stop;
static int answer_fd = -1;
static int make_cycle;

/* New locks in new orders, all the time: lockgraph's graph, registry and
 * allocator locks are taken again and again. */
static void *churn(void *arg)
{
    (void)arg;
    pthread_mutex_t *m = malloc(4 * sizeof(*m));
    while (!stop) {
        for (int i = 0; i < 4; i++)
            pthread_mutex_init(&m[i], NULL);
        for (int i = 0; i < 3; i++)
            sc_lock2(&m[i], &m[i + 1]);
        for (int i = 0; i < 4; i++)
            pthread_mutex_destroy(&m[i]);
    }
    free(m);
    return NULL;
}

/* In the child: new locks, a new order (lockgraph's locks must be free),
 * then "ok". */
static void child_work(void)
{
    pthread_mutex_t a, b;
    pthread_mutex_init(&a, NULL);
    pthread_mutex_init(&b, NULL);
    sc_lock2(&a, &b);
    if (make_cycle)
        sc_lock2(&b, &a);
    pthread_mutex_destroy(&a);
    pthread_mutex_destroy(&b);
    if (write(answer_fd, "k", 1) != 1)
        _exit(4);
}

/* Wait up to 10 s for one byte on the answer pipe. */
static bool answered(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, 10000);
        if (r < 0 && errno == EINTR)
            continue;
        char c;
        return r == 1 && read(fd, &c, 1) == 1;
    }
}

static void reap(pid_t p)
{
    int st;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(p, &st, WNOHANG) == p)
            return;
        usleep(10000);
    }
    kill(p, SIGKILL); /* hung */
    waitpid(p, &st, 0);
}

static const char *true_argv[] = {"/bin/true", NULL};

/* One round; true when the child (or the program it ran) finished. */
static bool round_of(const char *kind, int pipe_rd)
{
    pid_t p;
    if (strcmp(kind, "fork") == 0 || strcmp(kind, "_Fork") == 0 ||
        strcmp(kind, "forkpty") == 0) {
        int master;
        p = strcmp(kind, "fork") == 0    ? fork()
            : strcmp(kind, "_Fork") == 0 ? _Fork()
                                         : forkpty(&master, NULL, NULL, NULL);
        if (p < 0) {
            perror(kind);
            exit(3);
        }
        if (p == 0) {
            child_work();
            _exit(0);
        }
        bool ok = answered(pipe_rd);
        if (strcmp(kind, "forkpty") == 0)
            close(master);
        reap(p);
        return ok;
    }
    if (strcmp(kind, "daemon") == 0) {
        /* daemon() ends its caller: the caller is a threaded child of ours,
         * and the daemon it becomes answers. */
        p = fork();
        if (p == 0) {
            pthread_t t[3];
            for (int i = 0; i < 3; i++)
                pthread_create(&t[i], NULL, churn, NULL);
            usleep(2000);
            if (daemon(1, 1) != 0)
                _exit(5);
            child_work();
            _exit(0);
        }
        bool ok = answered(pipe_rd);
        reap(p);
        return ok;
    }
    int st;
    if (strcmp(kind, "vfork") == 0) {
        p = vfork();
        if (p == 0) {
            execv(true_argv[0], (char *const *)true_argv);
            _exit(127);
        }
    } else if (strcmp(kind, "posix_spawn") == 0) {
        if (posix_spawn(&p, true_argv[0], NULL, NULL, (char *const *)true_argv, environ) != 0)
            exit(3);
    } else if (strcmp(kind, "system") == 0) {
        st = system("/bin/true");
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
    } else {
        fprintf(stderr, "unknown kind %s\n", kind);
        exit(3);
    }
    if (p < 0)
        exit(3);
    if (waitpid(p, &st, 0) != p)
        exit(3);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 3;
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    make_cycle = argc > 3 && strcmp(argv[3], "cycle") == 0;
    int fds[2];
    if (pipe(fds) != 0)
        return 3;
    answer_fd = fds[1];
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, churn, NULL);
    int hung = 0;
    for (int i = 0; i < rounds; i++)
        hung += !round_of(argv[1], fds[0]);
    stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    if (hung) {
        fprintf(stderr, "sc_fork_kinds %s: %d of %d children hung\n", argv[1], hung, rounds);
        return 1;
    }
    return 0;
}
