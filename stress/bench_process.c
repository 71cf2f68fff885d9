/*
 * bench_process.c - what lockgraph costs a process that starts, forks or
 * makes threads, as against what it costs a lock (bench_lock).
 *
 * A preloaded detector is paid for once per process and once per fork, not
 * only per lock: its constructor, the fork handlers and the copies of its
 * pages the child writes, the tables a process's first locks make, its own
 * threads. Programs that fork workers (stress-ng's stressors, prefork
 * servers, build tools, shell scripts) pay it many times. A plain pthread
 * program, like bench_lock: run it bare and under LD_PRELOAD.
 *
 *   bench_process [--count N] [--threads T] [--workload LIST] [--json]
 *
 * Workloads (timed per process, from fork to its reaping by waitpid; cold
 * per step):
 *   fork-idle      the child exits at once: the fork handlers alone
 *   fork-threads   the child makes T threads, each locks and unlocks one
 *                  mutex, joins them and exits (a worker's first locks)
 *   fork-warm      the same from a parent that has itself locked and made a
 *                  thread first (the detector's tables already exist)
 *   exec           fork, exec this program to do what fork-threads' child
 *                  does: a whole process start, constructor included
 *   cold           fork, exec this program, which makes a thread, then times
 *                  its own first steps: its first lock (the detector's
 *                  tables made), first sight of a lock at a new site,
 *                  another never-seen lock through the same function, its
 *                  first new edge, and a second one. A warm process pays
 *                  about 0.1 us for each (bench_lock); these are what a
 *                  short process, or a worker just forked, pays for them.
 *
 * Prints min, quartiles and median in microseconds, per process (or per
 * step for cold), one line per workload or step (one JSON object per line
 * with --json).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *locker(void *arg)
{
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    return arg;
}

static void threads_that_lock(int n)
{
    pthread_t t[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, locker, NULL) != 0)
            exit(3);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One line: min and quartiles of d[0..count), sorted here. */
static void report(const char *name, double *d, int count, int threads, int json,
                   const char *unit)
{
    qsort(d, (size_t)count, sizeof(*d), cmp);
    double q1 = d[count / 4], med = d[count / 2], q3 = d[(3 * count) / 4];
    if (json)
        printf("{\"workload\":\"%s\",\"unit\":\"%s\",\"min\":%.1f,\"p25\":%.1f,"
               "\"median\":%.1f,\"p75\":%.1f,\"count\":%d,\"threads\":%d}\n",
               name, unit, d[0], q1, med, q3, count, threads);
    else
        printf("%-16s min %7.1f  p25 %7.1f  median %7.1f  p75 %7.1f %s\n", name, d[0], q1, med,
               q3, unit);
    fflush(stdout);
}

enum what { IDLE, THREADS, EXEC };

/* ---- cold: a fresh process's first steps, timed by the process. */

enum { STEPS = 5 };
static const char *const step_name[STEPS] = {"cold-first-lock", "cold-first-sight",
                                             "cold-second-at-site", "cold-new-edge",
                                             "cold-new-edge2"};
static pthread_mutex_t ma = PTHREAD_MUTEX_INITIALIZER, mb = PTHREAD_MUTEX_INITIALIZER,
                       mc = PTHREAD_MUTEX_INITIALIZER, md = PTHREAD_MUTEX_INITIALIZER,
                       me = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) static void lock_unlock(pthread_mutex_t *x)
{
    pthread_mutex_lock(x);
    pthread_mutex_unlock(x);
}

static void *idle_thread(void *arg)
{
    return arg;
}

/* The exec'd child: its step times, in microseconds, written to fd. */
static int steps_child(int fd)
{
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
        return 3;
    pthread_join(t, NULL); /* a threaded process: glibc's atomic lock path */
    double d[STEPS], t0 = now_us();
    pthread_mutex_lock(&ma); /* the process's first lock */
    pthread_mutex_unlock(&ma);
    double t1 = now_us();
    lock_unlock(&mb); /* a lock never seen, at a new site */
    double t2 = now_us();
    lock_unlock(&me); /* another lock never seen, through the same function */
    double t3 = now_us();
    pthread_mutex_lock(&mc); /* mc -> mb: the first new edge */
    lock_unlock(&mb);
    pthread_mutex_unlock(&mc);
    double t4 = now_us();
    pthread_mutex_lock(&md); /* md -> mb: a second */
    lock_unlock(&mb);
    pthread_mutex_unlock(&md);
    double t5 = now_us();
    d[0] = t1 - t0, d[1] = t2 - t1, d[2] = t3 - t2, d[3] = t4 - t3, d[4] = t5 - t4;
    return write(fd, d, sizeof(d)) == (ssize_t)sizeof(d) ? 0 : 1;
}

static void run_cold(int count, const char *self, int json)
{
    double *d = malloc((size_t)count * STEPS * sizeof(*d));
    if (!d)
        exit(1);
    for (int i = 0; i < count; i++) {
        int p[2];
        if (pipe(p) != 0) {
            perror("bench_process: pipe");
            exit(1);
        }
        pid_t c = fork();
        if (c < 0) {
            perror("bench_process: fork");
            exit(1);
        }
        if (c == 0) {
            close(p[0]);
            char fd[16];
            snprintf(fd, sizeof(fd), "%d", p[1]);
            execl(self, self, "--steps-child", fd, (char *)NULL);
            _exit(127);
        }
        close(p[1]);
        double got[STEPS];
        ssize_t n = read(p[0], got, sizeof(got));
        close(p[0]);
        int st;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            n != (ssize_t)sizeof(got)) {
            fprintf(stderr, "bench_process: a cold child failed (status %d)\n", st);
            exit(1);
        }
        for (int k = 0; k < STEPS; k++)
            d[k * count + i] = got[k];
    }
    for (int k = 0; k < STEPS; k++)
        report(step_name[k], d + k * count, count, 0, json, "us/step");
    free(d);
}

/* One process: fork, the child's part, reaped. Microseconds. */
static double one(enum what w, int threads, const char *self)
{
    char nt[16];
    snprintf(nt, sizeof(nt), "%d", threads);
    double t0 = now_us();
    pid_t p = fork();
    if (p < 0) {
        perror("bench_process: fork");
        exit(1);
    }
    if (p == 0) {
        if (w == THREADS)
            threads_that_lock(threads);
        if (w == EXEC) {
            execl(self, self, "--child", nt, (char *)NULL);
            _exit(127);
        }
        _exit(0);
    }
    int st;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_process: a child failed (status %d)\n", st);
        exit(1);
    }
    return now_us() - t0;
}

static void run(const char *name, enum what w, int count, int threads, const char *self,
                int json)
{
    double *d = malloc((size_t)count * sizeof(*d));
    if (!d)
        exit(1);
    for (int i = 0; i < count; i++)
        d[i] = one(w, threads, self);
    report(name, d, count, threads, json, "us/process");
    free(d);
}

static int wanted(const char *list, const char *name)
{
    if (!list || strcmp(list, "all") == 0)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int count = 200, threads = 2, json = 0;
    const char *list = "all";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--child") == 0 && i + 1 < argc) {
            threads_that_lock(atoi(argv[i + 1]));
            return 0;
        } else if (strcmp(argv[i], "--steps-child") == 0 && i + 1 < argc) {
            return steps_child(atoi(argv[i + 1]));
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
            list = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            fprintf(stderr,
                    "usage: bench_process [--count N] [--threads T] [--workload "
                    "fork-idle,fork-threads,fork-warm,exec,cold|all] [--json]\n");
            return 2;
        }
    }
    if (count < 4 || threads < 0) {
        fprintf(stderr, "bench_process: --count must be 4 or more, --threads 0 or more\n");
        return 2;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        perror("bench_process: /proc/self/exe");
        return 1;
    }
    self[n] = 0;
    /* The cold workloads first: fork-warm warms this process for good. */
    if (wanted(list, "fork-idle"))
        run("fork-idle", IDLE, count, threads, self, json);
    if (wanted(list, "fork-threads"))
        run("fork-threads", THREADS, count, threads, self, json);
    if (wanted(list, "exec"))
        run("exec", EXEC, count, threads, self, json);
    if (wanted(list, "cold"))
        run_cold(count, self, json);
    if (wanted(list, "fork-warm")) {
        threads_that_lock(1);
        run("fork-warm", THREADS, count, threads, self, json);
    }
    return 0;
}
