/*
 * bench_io.c - time small I/O calls, to measure what lockgraph's I/O shims
 * cost a program.
 *
 * What it does: runs each workload --reps times (5) and prints the best and
 * the median in nanoseconds per call, timed with CLOCK_MONOTONIC. It is a
 * plain program that knows nothing of lockgraph: run it bare and under
 * LD_PRELOAD=liblockgraph.so and compare (bench_io.sh does both, in one
 * run, interleaved).
 *
 * Before any workload the main thread starts and joins one idle thread
 * (glibc locks differently in a process that never had one) and locks and
 * unlocks a mutex, so lockgraph has a record for the thread: the no-lock
 * workloads then time the real check (the thread's held count is zero),
 * not the cheaper "thread never locked" case.
 *
 * Workloads:
 *   write-null    write(2) of 1 byte to /dev/null, no lock held
 *   read-zero     read(2) of 1 byte from /dev/zero, no lock held
 *   fwrite-buf    fwrite of 1 byte to a fully buffered stream on /dev/null
 *                 (64 KiB buffer: a system call once per 65,536 calls), no
 *                 lock held. The cheapest call a shim sits in front of, so
 *                 the shim's own cost shows best here.
 *   putc-buf      putc of 1 byte, same stream, no lock held
 *   held-write    write-null while holding a mutex: under lockgraph, the
 *                 path of a (held site, call site) pair already reported
 *   held-fwrite   fwrite-buf while holding a mutex, the same
 *
 * What it does not do: check results or decide pass/fail.
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPS_MAX 64

static struct {
    int reps;
    double scale;
    bool json;
    const char *label;
    const char *only;
} opt = {5, 1.0, false, NULL, NULL};

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int fd_null, fd_zero;
static FILE *stream;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Each returns elapsed ns for n calls. noinline: the loop stays a loop of
 * calls through the PLT, as in a real program. */
__attribute__((noinline)) static double w_write(long n, bool held)
{
    char c = 'x';
    if (held)
        pthread_mutex_lock(&m);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (write(fd_null, &c, 1) != 1)
            abort();
    double t1 = now_ns();
    if (held)
        pthread_mutex_unlock(&m);
    return t1 - t0;
}

__attribute__((noinline)) static double w_read(long n, bool held)
{
    char c;
    (void)held;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (read(fd_zero, &c, 1) != 1)
            abort();
    return now_ns() - t0;
}

__attribute__((noinline)) static double w_fwrite(long n, bool held)
{
    char c = 'x';
    if (held)
        pthread_mutex_lock(&m);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (fwrite(&c, 1, 1, stream) != 1)
            abort();
    double t1 = now_ns();
    if (held)
        pthread_mutex_unlock(&m);
    return t1 - t0;
}

__attribute__((noinline)) static double w_putc(long n, bool held)
{
    (void)held;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        if (putc('x', stream) == EOF)
            abort();
    return now_ns() - t0;
}

static const struct workload {
    const char *name;
    double (*fn)(long, bool);
    bool held;
    double iters; /* per repetition at --scale 1: 0.2-0.5 s bare here */
} workloads[] = {
    {"write-null", w_write, false, 2e6},  {"read-zero", w_read, false, 2e6},
    {"fwrite-buf", w_fwrite, false, 2e7}, {"putc-buf", w_putc, false, 2e7},
    {"held-write", w_write, true, 2e6},   {"held-fwrite", w_fwrite, true, 2e7},
};

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *idle(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            opt.json = true;
        } else if (!strcmp(a, "--reps") && v) {
            opt.reps = atoi(v);
            i++;
        } else if (!strcmp(a, "--scale") && v) {
            opt.scale = atof(v);
            i++;
        } else if (!strcmp(a, "--label") && v) {
            opt.label = v;
            i++;
        } else if (!strcmp(a, "--workload") && v) {
            opt.only = strcmp(v, "all") ? v : NULL;
            i++;
        } else {
            fprintf(stderr, "usage: bench_io [--workload NAME|all] [--reps N] [--scale F] [--json] "
                            "[--label L]\nworkloads: write-null read-zero fwrite-buf putc-buf "
                            "held-write held-fwrite\n");
            return 2;
        }
    }
    if (opt.reps < 1 || opt.reps > REPS_MAX || !(opt.scale > 0)) {
        fprintf(stderr, "bench_io: --reps 1..%d, --scale > 0\n", REPS_MAX);
        return 2;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, idle, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 3;
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    fd_null = open("/dev/null", O_WRONLY);
    fd_zero = open("/dev/zero", O_RDONLY);
    stream = fopen("/dev/null", "w");
    if (fd_null < 0 || fd_zero < 0 || !stream || setvbuf(stream, NULL, _IOFBF, 65536) != 0)
        return 3;

    for (size_t w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++) {
        const struct workload *wl = &workloads[w];
        if (opt.only && strcmp(opt.only, wl->name))
            continue;
        long n = (long)(wl->iters * opt.scale);
        if (n < 1)
            n = 1;
        wl->fn(n / 10 + 1, wl->held); /* warm up: the first call of a pair is a finding */
        double ns[REPS_MAX];
        for (int r = 0; r < opt.reps; r++)
            ns[r] = wl->fn(n, wl->held) / (double)n;
        qsort(ns, (size_t)opt.reps, sizeof(double), cmp);
        double min = ns[0], med = ns[opt.reps / 2], max = ns[opt.reps - 1];
        if (opt.json)
            printf("{\"workload\":\"%s\",\"label\":\"%s\",\"unit\":\"ns/call\",\"min\":%.2f,"
                   "\"median\":%.2f,\"max\":%.2f,\"reps\":%d,\"calls_per_rep\":%ld}\n",
                   wl->name, opt.label ? opt.label : "", min, med, max, opt.reps, n);
        else
            printf("%-12s %9.2f %9.2f %9.2f ns/call  %d reps x %ld\n", wl->name, min, med, max,
                   opt.reps, n);
        fflush(stdout);
    }
    fclose(stream);
    return 0;
}
