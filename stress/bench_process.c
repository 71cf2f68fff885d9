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
 * Workloads (each timed per process, from fork to its reaping by waitpid):
 *   fork-idle      the child exits at once: the fork handlers alone
 *   fork-threads   the child makes T threads, each locks and unlocks one
 *                  mutex, joins them and exits (a worker's first locks)
 *   fork-warm      the same from a parent that has itself locked and made a
 *                  thread first (the detector's tables already exist)
 *   exec           fork, exec this program to do what fork-threads' child
 *                  does: a whole process start, constructor included
 *
 * Prints min, quartiles and median in microseconds per process, one line
 * per workload (one JSON object per line with --json).
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

enum what { IDLE, THREADS, EXEC };

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
    qsort(d, (size_t)count, sizeof(*d), cmp);
    double q1 = d[count / 4], med = d[count / 2], q3 = d[(3 * count) / 4];
    if (json)
        printf("{\"workload\":\"%s\",\"unit\":\"us/process\",\"min\":%.1f,\"p25\":%.1f,"
               "\"median\":%.1f,\"p75\":%.1f,\"count\":%d,\"threads\":%d}\n",
               name, d[0], q1, med, q3, count, threads);
    else
        printf("%-13s min %7.1f  p25 %7.1f  median %7.1f  p75 %7.1f us/process\n", name, d[0],
               q1, med, q3);
    fflush(stdout);
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
                    "fork-idle,fork-threads,fork-warm,exec|all] [--json]\n");
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
    if (wanted(list, "fork-warm")) {
        threads_that_lock(1);
        run("fork-warm", THREADS, count, threads, self, json);
    }
    return 0;
}
