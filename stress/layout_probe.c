/*
 * layout_probe.c - nested4 under lockgraph and bare in one process, with the
 * addresses that differ from one process start to the next.
 *
 * What it does: run under LD_PRELOAD=liblockgraph.so, it times nested4 (A,
 * B, C, D locked, then unlocked in reverse) through the interposed
 * pthread_mutex_lock/unlock and, alternately, through libc's own (looked up
 * in libc.so.6 directly), in many short samples, so that both see the same
 * moments of a shared machine; the best sample of each and their
 * difference are what this start's layout costs. It prints them with the
 * addresses ASLR moves: the mutexes (on the stack), lockgraph's
 * thread-locals (lg__tls: lg__self, lg__busy) and the thread record holding the
 * held stack. --series prints every sample instead, to tell a start that
 * is slow throughout from one slowed for a while by a neighbour.
 *
 * LG_SELF_OFF: offset of lg__tls, whose first word is lg__self, in
 * liblockgraph.so's TLS block (nm shows it; layout.sh passes it), to find
 * the thread record; optional. (An
 * LG_TABLE_OFF that printed each mutex's graph node went with the instance
 * graph it read.)
 *
 * What it does not do: decide anything; layout.sh gathers many starts.
 *
 * --moff N puts the mutexes at page offset N of a static buffer instead of
 * on the stack, so their offset moves apart from the stack's. --evict N
 * touches N bytes (one byte a line) after every round in both loops: what
 * each side costs when its lines have left the L1, as when another thread
 * on the same core (an SMT sibling) uses it.
 *
 * Usage: layout_probe [--samples N] [--rounds N] [--series] [--single]
 *                     [--moff N] [--evict N]
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


typedef int (*mutex_fn)(pthread_mutex_t *);
static mutex_fn libc_lock, libc_unlock;
static volatile char *evict_buf;
static long evict_bytes;

static inline void evict(void)
{
    for (long i = 0; i < evict_bytes; i += 64)
        evict_buf[i]++;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void nested4_lg(pthread_mutex_t *m, long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&m[0]);
        pthread_mutex_lock(&m[1]);
        pthread_mutex_lock(&m[2]);
        pthread_mutex_lock(&m[3]);
        pthread_mutex_unlock(&m[3]);
        pthread_mutex_unlock(&m[2]);
        pthread_mutex_unlock(&m[1]);
        pthread_mutex_unlock(&m[0]);
        evict();
    }
}

__attribute__((noinline)) static void nested4_bare(pthread_mutex_t *m, long n)
{
    for (long i = 0; i < n; i++) {
        libc_lock(&m[0]);
        libc_lock(&m[1]);
        libc_lock(&m[2]);
        libc_lock(&m[3]);
        libc_unlock(&m[3]);
        libc_unlock(&m[2]);
        libc_unlock(&m[1]);
        libc_unlock(&m[0]);
        evict();
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct tls_query {
    void *block;
    uintptr_t base;
};

static int find_lg_tls(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct tls_query *q = arg;
    if (info->dlpi_name && strstr(info->dlpi_name, "liblockgraph")) {
        q->block = info->dlpi_tls_data;
        q->base = info->dlpi_addr;
        return 1;
    }
    return 0;
}


static void *idle(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    int samples = 300;
    long rounds = 20000;
    bool series = false, single = false;
    long moff = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atol(argv[++i]);
        else if (strcmp(argv[i], "--series") == 0)
            series = true;
        else if (strcmp(argv[i], "--single") == 0)
            single = true;
        else if (strcmp(argv[i], "--moff") == 0 && i + 1 < argc)
            moff = atol(argv[++i]) % 4096;
        else if (strcmp(argv[i], "--evict") == 0 && i + 1 < argc)
            evict_bytes = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: layout_probe [--samples N] [--rounds N] [--series] "
                            "[--single] [--moff N] [--evict N]\n");
            return 2;
        }
    }
    if (samples < 1 || rounds < 1 || evict_bytes < 0)
        return 2;
    if (evict_bytes) {
        evict_buf = calloc(1, (size_t)evict_bytes);
        if (!evict_buf)
            return 1;
    }
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    libc_lock = libc ? (mutex_fn)dlsym(libc, "pthread_mutex_lock") : NULL;
    libc_unlock = libc ? (mutex_fn)dlsym(libc, "pthread_mutex_unlock") : NULL;
    if (!libc_lock || !libc_unlock) {
        fprintf(stderr, "layout_probe: libc's pthread_mutex_lock not found\n");
        return 1;
    }
    if (!single) { /* glibc's atomic path, as in any threaded program */
        pthread_t t;
        pthread_create(&t, NULL, idle, NULL);
        pthread_join(t, NULL);
    }
    static char area[3 * 4096] __attribute__((aligned(4096)));
    pthread_mutex_t stack_m[4];
    pthread_mutex_t *m = moff >= 0 ? (pthread_mutex_t *)(area + 4096 + moff) : stack_m;
    for (int i = 0; i < 4; i++)
        pthread_mutex_init(&m[i], NULL);
    nested4_lg(m, rounds); /* warm-up: the edges are made here */
    nested4_bare(m, rounds);

    double *lg = calloc((size_t)samples, sizeof(double));
    double *bare = calloc((size_t)samples, sizeof(double));
    if (!lg || !bare)
        return 1;
    for (int s = 0; s < samples; s++) {
        uint64_t t0 = now_ns();
        nested4_lg(m, rounds);
        uint64_t t1 = now_ns();
        nested4_bare(m, rounds);
        uint64_t t2 = now_ns();
        lg[s] = (double)(t1 - t0) / (double)(rounds * 4);
        bare[s] = (double)(t2 - t1) / (double)(rounds * 4);
        if (series)
            printf("sample %d lg %.2f bare %.2f\n", s, lg[s], bare[s]);
    }

    struct tls_query q = {NULL};
    dl_iterate_phdr(find_lg_tls, &q);
    uintptr_t self_at = 0, rec = 0, held = 0;
    const char *off = getenv("LG_SELF_OFF");
    if (q.block && off) {
        self_at = (uintptr_t)q.block + strtoul(off, NULL, 0);
        rec = *(const uintptr_t *)self_at;
        held = rec > 1 ? *(const uintptr_t *)rec : 0; /* held.e, the first member */
    }
    qsort(lg, (size_t)samples, sizeof(double), cmp_double);
    qsort(bare, (size_t)samples, sizeof(double), cmp_double);
    printf("lg %.2f p10 %.2f bare %.2f p10 %.2f diff %.2f m %#lx tls %#lx self %#lx rec %#lx "
           "held %#lx sp %#lx\n",
           lg[0], lg[samples / 10], bare[0], bare[samples / 10], lg[0] - bare[0],
           (unsigned long)(uintptr_t)m, (unsigned long)(uintptr_t)q.block, (unsigned long)self_at,
           (unsigned long)rec, (unsigned long)held,
           (unsigned long)(uintptr_t)__builtin_frame_address(0));
    return 0;
}
