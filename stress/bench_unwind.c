/*
 * bench_unwind.c - what one stack capture costs: libgcc's _Unwind_Backtrace
 * (the unwinder lockgraph used before) against unwinder.c's rule-cache walk,
 * warm (every return address seen before: the steady state) and cold (the
 * rule table cleared before each capture: every frame looked up in the
 * CFI, as at the first sight of a code path).
 *
 * What it does: recurses 40 frames deep through functions built without
 * frame pointers, then captures 4, 8, 16 and 32 frames --iters times per
 * repetition with each method, and prints ns per capture, the best and the
 * median of --reps repetitions (warm ones timed as a loop, cold ones one
 * by one less the cost of reading the clock), and the ratio old / new. It links
 * lockgraph's engine objects (as the unit tests do); nothing is preloaded.
 *
 * What it does not do: decide anything. A measurement, not a test.
 *
 * Usage: bench_unwind [--iters N] [--reps N] [--frames N] [--method old|warm|cold]
 * (--frames and --method narrow the run, e.g. for valgrind --tool=callgrind:
 * instructions per capture are lg__unwind_walk's inclusive cost over its
 * calls).
 */

#include "stack.h"
#include "unwinder.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEPTH 40
#define REPS_MAX 64

enum method { OLD, NEW_WARM, NEW_COLD, NMETHODS };
static const char *const method_name[NMETHODS] = {"libgcc", "new, warm", "new, cold"};

static int iters = 20000, reps = 7;
static int only_frames;      /* --frames: just this count */
static int only_method = -1; /* --method: just this one */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What timing an empty region costs (two clock reads), to take off the
 * cold captures, which are timed one by one. */
static double clock_cost;

static void calibrate(void)
{
    uint64_t total = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t t0 = now_ns();
        total += now_ns() - t0;
    }
    clock_cost = (double)total / 10000;
}

/* ns per capture of `frames` frames by method m, over one repetition. */
__attribute__((noinline)) static double time_captures(enum method m, int frames)
{
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int got = frames;
    if (m != NEW_COLD) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < iters && got == frames; i++)
            got = m == OLD ? lg__unwind_capture_libgcc(pcs, cfas, frames)
                           : lg__stack_capture(pcs, cfas, frames);
        double ns = (double)(now_ns() - t0) / iters;
        if (got == frames)
            return ns;
    } else {
        /* Clearing the table is not part of a capture: timed one by one. */
        int n = iters / 20 + 1;
        uint64_t total = 0;
        for (int i = 0; i < n && got == frames; i++) {
            lg__unwind_modules_changed();
            uint64_t t0 = now_ns();
            got = lg__stack_capture(pcs, cfas, frames);
            total += now_ns() - t0;
        }
        if (got == frames)
            return (double)total / n - clock_cost;
    }
    fprintf(stderr, "bench_unwind: %s captured %d frames, not %d\n", method_name[m], got, frames);
    exit(1);
}

static void measure(void)
{
    static const int frames[] = {4, 8, 16, 32};
    printf("%-7s %-10s %10s %10s %12s\n", "frames", "method", "min ns", "median ns", "old/new min");
    for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
        double best[NMETHODS] = {0};
        if (only_frames && frames[f] != only_frames)
            continue;
        for (int m = 0; m < NMETHODS; m++) {
            if (only_method >= 0 && m != only_method)
                continue;
            double s[REPS_MAX];
            time_captures((enum method)m, frames[f]); /* warm-up */
            for (int r = 0; r < reps; r++)
                s[r] = time_captures((enum method)m, frames[f]);
            qsort(s, (size_t)reps, sizeof(double), cmp_double);
            best[m] = s[0];
            double med = reps % 2 ? s[reps / 2] : (s[reps / 2 - 1] + s[reps / 2]) / 2;
            printf("%-7d %-10s %10.1f %10.1f", frames[f], method_name[m], s[0], med);
            if (m != OLD && best[OLD] > 0)
                printf(" %11.1fx", best[OLD] / s[0]);
            printf("\n");
        }
    }
    struct lg_unwind_stats st;
    lg__unwind_stats(&st);
    printf("rule lookups %llu, libgcc fallbacks %llu (0 expected), stack bounds found %llu\n",
           (unsigned long long)st.misses, (unsigned long long)st.fallbacks,
           (unsigned long long)st.bounds);
}

/* The frames below the captures: no frame pointers (see CMakeLists.txt). */
__attribute__((noinline)) static int descend(int depth)
{
    if (depth == 0) {
        measure();
        return 0;
    }
    int r = descend(depth - 1);
    __asm__ volatile("" : "+r"(r)); /* not a tail call */
    return r + 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            iters = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
            only_frames = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--method") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            only_method = strcmp(m, "old") == 0    ? OLD
                          : strcmp(m, "warm") == 0 ? NEW_WARM
                          : strcmp(m, "cold") == 0 ? NEW_COLD
                                                   : -2;
            if (only_method == -2) {
                fprintf(stderr, "bench_unwind: --method old, warm or cold\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_unwind [--iters N] [--reps N] [--frames N] "
                            "[--method old|warm|cold]\n");
            return 2;
        }
    }
    if (iters < 1 || reps < 1 || reps > REPS_MAX) {
        fprintf(stderr, "bench_unwind: bad --iters or --reps\n");
        return 2;
    }
    lg__stack_init();
    lg__unwind_init(0, 0); /* this program holds the engine: keep every frame */
    calibrate();
    return descend(DEPTH) == DEPTH ? 0 : 1;
}
