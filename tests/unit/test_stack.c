/*
 * test_stack.c - capture (own frames dropped), depot interning, splicing,
 * and the unwinder: the same stacks as libgcc's _Unwind_Backtrace on
 * several call shapes (with and without frame pointers, alloca, a realigned
 * stack, a DRAP frame whose CFA is a DWARF expression, a shared library, a
 * thread, signal handlers on the thread's stack and on an alternate stack,
 * signals landing anywhere in a busy loop), its rule cache, and garbage.
 */
#include "unit.h"

#include "stack.h"
#include "stack_shapes.h"
#include "unwinder.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) static int capture_two_deep(uintptr_t *pcs, uintptr_t *cfas)
{
    int n = lg__stack_capture(pcs, cfas, 32);
    __asm__ volatile("" ::: "memory");
    return n;
}

static void test_capture(void)
{
    lg__stack_init();
    uintptr_t pcs[32], cfas[32];
    int n = capture_two_deep(pcs, cfas);
    /* This test binary is not lockgraph's own module, so frames start in
     * capture_two_deep or its caller and go up through CUnit to main. */
    CU_ASSERT(n >= 3);
    for (int i = 1; i < n; i++)
        CU_ASSERT(cfas[i] >= cfas[i - 1]); /* outer frames sit higher */
}

static void test_intern(void)
{
    uintptr_t a[] = {1, 2, 3}, b[] = {1, 2, 3}, c[] = {1, 2, 4};
    const struct lg_stack *sa = lg__stack_intern(a, 3), *sb = lg__stack_intern(b, 3),
                          *sc = lg__stack_intern(c, 3), *sd = lg__stack_intern(a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT_PTR_EQUAL(sa, sb);
    CU_ASSERT_PTR_NOT_EQUAL(sa, sc);
    CU_ASSERT_PTR_NOT_EQUAL(sa, sd);
    CU_ASSERT_EQUAL(sd->n, 2);
    CU_ASSERT_EQUAL(sa->pc[2], 3);
    /* The same again, as this thread's last one and not. */
    CU_ASSERT_PTR_EQUAL(lg__stack_intern(c, 3), sc);
    CU_ASSERT_PTR_EQUAL(lg__stack_intern(c, 3), sc);
    CU_ASSERT_PTR_EQUAL(lg__stack_intern(a, 2), sd);
    CU_ASSERT_PTR_EQUAL(lg__stack_intern(b, 3), sa);
}

/* The depot starts small and doubles as stacks come (stack.c): every
 * stack interned before a resize is the same copy after it, and distinct
 * stacks stay distinct. 20,000 stacks: eight doublings from one page. */
static void test_intern_grows(void)
{
    enum { N = 20000 };
    static const struct lg_stack *first[N];
    for (uintptr_t i = 0; i < N; i++) {
        uintptr_t pcs[] = {0x5000 + i, 0x77, i * 3};
        first[i] = lg__stack_intern(pcs, 3);
        CU_ASSERT_PTR_NOT_NULL_FATAL(first[i]);
    }
    int same = 0, apart = 0;
    for (uintptr_t i = 0; i < N; i++) {
        uintptr_t pcs[] = {0x5000 + i, 0x77, i * 3};
        const struct lg_stack *s = lg__stack_intern(pcs, 3);
        same += s == first[i];
        apart += i == 0 || first[i] != first[i - 1];
    }
    CU_ASSERT_EQUAL(same, N);
    CU_ASSERT_EQUAL(apart, N);
    CU_ASSERT_EQUAL(first[N - 1]->pc[0], 0x5000 + N - 1);
}

static void test_splice(void)
{
    /* Now: frames f0..f3 at increasing frame addresses. The earlier lock
     * was taken at pc 0x99 with frame address 200: frames at 200 and above
     * were live then. */
    uintptr_t pcs[] = {0x10, 0x20, 0x30, 0x40}, cfas[] = {100, 200, 300, 400}, out[8];
    int k = lg__stack_splice(0x99, 200, pcs, cfas, 4, out, 8);
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_EQUAL(out[0], 0x99);
    CU_ASSERT_EQUAL(out[1], 0x20);
    CU_ASSERT_EQUAL(out[3], 0x40);
    CU_ASSERT_EQUAL(lg__stack_splice(0x99, 200, pcs, cfas, 4, out, 2), 2);
}

/* ---- the unwinder against libgcc's ---------------------------------- */

#define CMP_MAX 64

struct cmp {
    int n_new, n_old;
    uintptr_t pn[CMP_MAX], cn[CMP_MAX], po[CMP_MAX], co[CMP_MAX];
};

/* Both captures from one frame: frame 0 is this function at two call
 * sites, every frame above must be the same, pc and stack pointer. */
__attribute__((noinline)) static void capture_both(void *arg)
{
    struct cmp *c = arg;
    c->n_new = lg__stack_capture(c->pn, c->cn, CMP_MAX);
    c->n_old = lg__unwind_capture_libgcc(c->po, c->co, CMP_MAX);
    __asm__ volatile("" ::: "memory");
}

/* 0 when the two captures agree; else the first frame that differs + 1
 * (or -1 when the counts differ). Safe in a signal handler. */
static int differs(const struct cmp *c)
{
    if (c->n_new != c->n_old || c->n_new < 2)
        return -1;
    uintptr_t d = c->pn[0] > c->po[0] ? c->pn[0] - c->po[0] : c->po[0] - c->pn[0];
    if (d > 64 || c->cn[0] != c->co[0])
        return 1;
    for (int i = 1; i < c->n_new; i++)
        if (c->pn[i] != c->po[i] || c->cn[i] != c->co[i])
            return i + 1;
    return 0;
}

static void show(const char *what, const struct cmp *c)
{
    if (differs(c) == 0)
        return;
    fprintf(stderr, "\n%s: new %d frames, libgcc %d\n", what, c->n_new, c->n_old);
    for (int i = 0; i < CMP_MAX && (i < c->n_new || i < c->n_old); i++)
        fprintf(
            stderr, "  %2d new %#lx sp %#lx | libgcc %#lx sp %#lx\n", i,
            i < c->n_new ? (unsigned long)c->pn[i] : 0, i < c->n_new ? (unsigned long)c->cn[i] : 0,
            i < c->n_old ? (unsigned long)c->po[i] : 0, i < c->n_old ? (unsigned long)c->co[i] : 0);
}

/* This test binary holds lockgraph's engine, so "own" frames would be all
 * of it: keep every frame while comparing. */
static void keep_all_frames(void)
{
    lg__unwind_init(0, 0);
}

static uint64_t fallbacks(void)
{
    struct lg_unwind_stats st;
    lg__unwind_stats(&st);
    return st.fallbacks;
}

static void check_shape(const char *what, int (*shape)(int, lg_shape_cb, void *), int depth)
{
    struct cmp c;
    memset(&c, 0, sizeof(c));
    keep_all_frames();
    uint64_t f0 = fallbacks();
    shape(depth, capture_both, &c);
    show(what, &c);
    CU_ASSERT_EQUAL(differs(&c), 0);
    CU_ASSERT(c.n_new >= depth + 5); /* capture_both, leaf, aligned, dynamic, entries */
    /* The walk was the rule cache's own, not libgcc's under its name. */
    CU_ASSERT_EQUAL(fallbacks(), f0);
    lg__stack_init();
}

static void test_same_nofp(void)
{
    check_shape("no frame pointers", lg_shape_nofp, 4);
}

static void test_same_fp(void)
{
    check_shape("frame pointers", lg_shape_fp, 4);
}

static void test_same_lib(void)
{
    check_shape("shared library", lg_shape_lib, 3);
}

/* Mixed: a shape calling into the library calling back into a shape. */
static void lib_then_fp(void *arg)
{
    lg_shape_fp(2, capture_both, arg);
}

static int lib_mixed(int depth, lg_shape_cb cb, void *arg)
{
    (void)cb;
    return lg_shape_lib(depth, lib_then_fp, arg);
}

static void test_same_mixed(void)
{
    check_shape("library and executable", lib_mixed, 2);
}

#if defined(__x86_64__)
/* A DRAP frame, as GCC makes for a realigned stack that also needs the
 * caller's frame: the CFA is a DWARF expression, *(rbp - 8), and rbp is
 * saved at *(rbp). lg_drap_call(fn, arg) calls fn(arg). */
void lg_drap_call(void (*fn)(void *), void *arg);
__asm__(".text\n"
        ".globl lg_drap_call\n"
        ".type lg_drap_call, @function\n"
        "lg_drap_call:\n"
        ".cfi_startproc\n"
        "leaq 8(%rsp), %r10\n"
        ".cfi_def_cfa %r10, 0\n"
        "andq $-32, %rsp\n"
        "pushq -8(%r10)\n"
        "pushq %rbp\n"
        ".cfi_escape 0x10, 0x06, 0x02, 0x76, 0x00\n" /* rbp at *(rbp + 0) */
        "movq %rsp, %rbp\n"
        "pushq %r10\n"
        ".cfi_escape 0x0f, 0x03, 0x76, 0x78, 0x06\n" /* CFA = *(rbp - 8) */
        "subq $8, %rsp\n"
        "movq %rdi, %rax\n"
        "movq %rsi, %rdi\n"
        "call *%rax\n"
        "movq -8(%rbp), %r10\n"
        "leave\n"
        ".cfi_def_cfa %r10, 0\n"
        "leaq -8(%r10), %rsp\n"
        ".cfi_def_cfa %rsp, 8\n"
        "ret\n"
        ".cfi_endproc\n"
        ".size lg_drap_call, .-lg_drap_call\n");

static void drap_leaf(void *arg)
{
    lg_shape_nofp(1, capture_both, arg);
}

static int drap_shape(int depth, lg_shape_cb cb, void *arg)
{
    (void)depth;
    (void)cb;
    lg_drap_call(drap_leaf, arg);
    return 0;
}

static void test_same_drap(void)
{
    check_shape("DRAP frame", drap_shape, 0);
}
#endif

static void *body(void *arg)
{
    lg_shape_nofp(3, capture_both, arg);
    return NULL;
}

static void test_same_thread(void)
{
    struct cmp c;
    memset(&c, 0, sizeof(c));
    keep_all_frames();
    uint64_t f0 = fallbacks();
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, body, &c), 0);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(fallbacks(), f0);
    show("thread", &c);
    CU_ASSERT_EQUAL(differs(&c), 0);
    CU_ASSERT(c.n_new >= 8);
    lg__stack_init();
}

/* Signals. The handler compares in place and keeps the verdicts. */
static struct cmp sig_cmp;
static volatile sig_atomic_t sig_seen, sig_bad, sig_short;

static void on_signal(int sig)
{
    (void)sig;
    capture_both(&sig_cmp);
    sig_seen++;
    if (differs(&sig_cmp) != 0)
        sig_bad++;
    if (sig_cmp.n_new < 4) /* the handler, __restore_rt, raise's frames, ... */
        sig_short++;
}

static void raise_usr1(void *arg)
{
    (void)arg;
    raise(SIGUSR1);
}

static void signal_case(bool altstack)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = altstack ? SA_ONSTACK : 0;
    sigemptyset(&sa.sa_mask);
    stack_t ss = {0}, old_ss;
    void *mem = NULL;
    if (altstack) {
        mem = malloc(1 << 16);
        CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
        ss.ss_sp = mem;
        ss.ss_size = 1 << 16;
        CU_ASSERT_EQUAL_FATAL(sigaltstack(&ss, &old_ss), 0);
    }
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR1, &sa, &old), 0);
    keep_all_frames();
    sig_seen = sig_bad = sig_short = 0;
    uint64_t f0 = fallbacks();
    lg_shape_nofp(2, raise_usr1, NULL);
    CU_ASSERT_EQUAL(fallbacks(), f0);
    sigaction(SIGUSR1, &old, NULL);
    if (altstack) {
        sigaltstack(&old_ss, NULL);
        free(mem);
    }
    show(altstack ? "signal handler on an alternate stack" : "signal handler", &sig_cmp);
    CU_ASSERT_EQUAL(sig_seen, 1);
    CU_ASSERT_EQUAL(sig_bad, 0);
    CU_ASSERT_EQUAL(sig_short, 0);
    lg__stack_init();
}

static void test_same_signal(void)
{
    signal_case(false);
}

static void test_same_altstack(void)
{
    signal_case(true);
}

/* Signals landing anywhere in a busy loop without frame pointers:
 * prologues, epilogues, alloca, the middle of a loop. */
static volatile int spin_stop;
static _Atomic int spin_started;

static void *spin_main(void *arg)
{
    (void)arg;
    atomic_store(&spin_started, 1);
    lg_shape_spin(&spin_stop);
    return NULL;
}

/* Start fn, wait until it says it runs, then signal it `rounds`
 * times (each handled before the next) or until a capture went wrong, and
 * stop it. The handler compares its captures (on_signal). */
static volatile int capture_bad; /* set by capture_loop */

static void signal_thread(void *(*fn)(void *), int rounds)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR1, &sa, &old), 0);
    sig_seen = sig_bad = sig_short = 0;
    capture_bad = 0;
    spin_stop = 0;
    atomic_store(&spin_started, 0);
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, fn, NULL), 0);
    while (!atomic_load(&spin_started))
        usleep(100);
    for (int i = 0; i < rounds && !sig_bad && !capture_bad; i++) {
        int seen = sig_seen;
        pthread_kill(t, SIGUSR1);
        while (sig_seen == seen)
            usleep(50);
    }
    spin_stop = 1;
    pthread_join(t, NULL);
    sigaction(SIGUSR1, &old, NULL);
}

static void test_same_async_signals(void)
{
    keep_all_frames();
    uint64_t f0 = fallbacks();
    signal_thread(spin_main, 300);
    CU_ASSERT_EQUAL(fallbacks(), f0);
    show("signal in a busy loop", &sig_cmp);
    CU_ASSERT(sig_seen >= 1);
    CU_ASSERT_EQUAL(sig_bad, 0);
    lg__stack_init();
}

/* The second capture from one place reads no CFI; after the modules
 * changed it reads it again, and gives the same stack. */
__attribute__((noinline)) static void capture_shape(struct cmp *c)
{
    lg_shape_nofp(2, capture_both, c);
    __asm__ volatile("" ::: "memory");
}

static void test_rule_cache(void)
{
    struct cmp c[3];
    struct lg_unwind_stats st[3];
    keep_all_frames();
    /* One call site, three times: warm, warm again, after a flush (the
     * count is volatile so that the loop is not unrolled into three). */
    volatile int rounds = 3;
    for (int i = 0; i < rounds; i++) {
        if (i == 2)
            lg__unwind_modules_changed();
        capture_shape(&c[i]);
        lg__unwind_stats(&st[i]);
    }
    CU_ASSERT_EQUAL(st[1].misses, st[0].misses);
    CU_ASSERT(st[2].misses > st[1].misses);
    CU_ASSERT_EQUAL(st[2].flushes, st[1].flushes + 1);
    for (int i = 1; i < 3; i++) {
        CU_ASSERT_EQUAL(c[i].n_new, c[0].n_new);
        CU_ASSERT_EQUAL(memcmp(c[0].pn, c[i].pn, sizeof(uintptr_t) * (size_t)c[0].n_new), 0);
        CU_ASSERT_EQUAL(differs(&c[i]), 0);
    }
    lg__stack_init();
}

/* Garbage: walks from made-up register states over a buffer of random
 * words, code addresses and pointers into itself end without a fault. */
__attribute__((noinline)) static void garbage_walks(uintptr_t *buf, int words)
{
    unsigned long long seed = 0x9e3779b97f4a7c15ull;
    const uintptr_t code[] = {(uintptr_t)capture_both, (uintptr_t)lg_shape_nofp,
                              (uintptr_t)lg_shape_lib, (uintptr_t)memcpy,
                              (uintptr_t)raise,        (uintptr_t)lg__stack_capture};
    const int ncode = (int)(sizeof(code) / sizeof(code[0]));
    uintptr_t pcs[32], cfas[32];
    for (int round = 0; round < 2000; round++) {
        for (int i = 0; i < words; i++) {
            unsigned long long r = lg_test_rand(&seed);
            switch (r % 4) {
            case 0:
                buf[i] = (uintptr_t)r;
                break;
            case 1:
                buf[i] = code[(r >> 8) % (unsigned)ncode] + (r >> 16) % 256;
                break;
            case 2:
                buf[i] = (uintptr_t)&buf[(r >> 8) % (unsigned)words] + (r >> 20) % 8;
                break;
            default:
                buf[i] = (uintptr_t)(r >> 24) % 4096;
                break;
            }
        }
        unsigned long long r = lg_test_rand(&seed);
        uintptr_t sp = (uintptr_t)&buf[r % (unsigned)(words / 2)];
        uintptr_t pc = code[(r >> 16) % (unsigned)ncode] + (r >> 24) % 512;
        uintptr_t rbp = buf[(r >> 40) % (unsigned)words];
        int n = lg__unwind_walk(pcs, cfas, 32, pc, sp, rbp);
        CU_ASSERT(n >= 0 && n <= 32);
    }
    /* A stack pointer on no stack at all. */
    int n = lg__unwind_walk(pcs, cfas, 32, (uintptr_t)capture_both + 5, 4096, 0);
    CU_ASSERT(n >= 0 && n <= 32);
}

/* The walk memo (unwinder.c): a walk over stack words that changed since
 * the last one must not be answered from it. Fake stacks of code
 * addresses and pointers into themselves, walked twice (the second from
 * the memo), then again after one word changed; each walk against one that
 * the memo cannot answer (more frames than it keeps), cut to the same
 * length. */
static int walk_ref(uintptr_t *pcs, uintptr_t *cfas, int max, uintptr_t pc, uintptr_t sp,
                    uintptr_t rbp)
{
    uintptr_t p[CMP_MAX], c[CMP_MAX];
    int n = lg__unwind_walk(p, c, CMP_MAX, pc, sp, rbp);
    n = n < max ? n : max;
    memcpy(pcs, p, sizeof(*p) * (size_t)n);
    memcpy(cfas, c, sizeof(*c) * (size_t)n);
    return n;
}

static bool same_walk(int n, const uintptr_t *p, const uintptr_t *c, int m, const uintptr_t *q,
                      const uintptr_t *d)
{
    return n == m && memcmp(p, q, sizeof(*p) * (size_t)n) == 0 &&
           memcmp(c, d, sizeof(*c) * (size_t)n) == 0;
}

__attribute__((noinline)) static void memo_walks(uintptr_t *buf, int words)
{
    unsigned long long seed = 0x2545f4914f6cdd1dull;
    const uintptr_t code[] = {(uintptr_t)capture_both, (uintptr_t)lg_shape_nofp,
                              (uintptr_t)lg_shape_lib, (uintptr_t)walk_ref};
    enum { MAX = 16 };
    uintptr_t p1[MAX], c1[MAX], p2[MAX], c2[MAX], pr[MAX], cr[MAX];
    int hits = 0, changed = 0;
    for (int round = 0; round < 3000; round++) {
        for (int i = 0; i < words; i++) {
            unsigned long long r = lg_test_rand(&seed);
            buf[i] = r % 3 == 0   ? code[(r >> 8) % 4] + (r >> 16) % 128
                     : r % 3 == 1 ? (uintptr_t)&buf[(r >> 8) % (unsigned)words]
                                  : (uintptr_t)(r >> 24) % 64;
        }
        unsigned long long r = lg_test_rand(&seed);
        uintptr_t sp = (uintptr_t)&buf[r % 8];
        uintptr_t pc = code[(r >> 16) % 4] + (r >> 24) % 128;
        uintptr_t rbp = (uintptr_t)&buf[(r >> 40) % (unsigned)words];
        struct lg_unwind_stats st0, st1;
        int n1 = lg__unwind_walk(p1, c1, MAX, pc, sp, rbp);
        lg__unwind_stats(&st0);
        int n2 = lg__unwind_walk(p2, c2, MAX, pc, sp, rbp);
        lg__unwind_stats(&st1);
        hits += st1.memo_hits > st0.memo_hits;
        CU_ASSERT(same_walk(n1, p1, c1, n2, p2, c2));
        int nr = walk_ref(pr, cr, MAX, pc, sp, rbp);
        CU_ASSERT(same_walk(n1, p1, c1, nr, pr, cr));
        /* One word the walk may have read changes: what the walk now gives,
         * memo or not, is what a fresh walk gives. */
        buf[(r >> 48) % (unsigned)words] = code[r % 4] + (r >> 8) % 128;
        lg__unwind_walk(p1, c1, MAX, pc, sp, rbp); /* (fills the memo again when it missed) */
        n1 = lg__unwind_walk(p1, c1, MAX, pc, sp, rbp);
        n2 = lg__unwind_walk(p2, c2, MAX, pc, sp, rbp);
        nr = walk_ref(pr, cr, MAX, pc, sp, rbp);
        changed += !same_walk(n1, p1, c1, nr, pr, cr);
        CU_ASSERT(same_walk(n1, p1, c1, nr, pr, cr));
        CU_ASSERT(same_walk(n2, p2, c2, nr, pr, cr));
    }
    CU_ASSERT_EQUAL(changed, 0);
    CU_ASSERT(hits > 100); /* the memo answered, not only the walk */
}

/* Signals landing in the middle of walks that fill the memo: the
 * handler's walks (another stack) must not leave it saying something the
 * interrupted walk did not read, nor the interrupted walk the handler's. */
static void *capture_loop(void *arg)
{
    (void)arg;
    atomic_store(&spin_started, 1);
    struct cmp c;
    while (!spin_stop) {
        memset(&c, 0, sizeof(c));
        capture_shape(&c);
        if (differs(&c) != 0)
            capture_bad++;
    }
    return NULL;
}

static void test_memo_signals(void)
{
    keep_all_frames();
    signal_thread(capture_loop, 2000);
    show("signal during walks", &sig_cmp);
    CU_ASSERT_EQUAL(sig_bad, 0);
    CU_ASSERT_EQUAL(capture_bad, 0);
    lg__stack_init();
}

static void test_memo(void)
{
    uintptr_t buf[256];
    keep_all_frames();
    memo_walks(buf, 256);
    lg__stack_init();
}

static void test_garbage(void)
{
    uintptr_t buf[512];
    keep_all_frames();
    garbage_walks(buf, 512);
    lg__stack_init();
}

void lg_suite_stack(void)
{
    CU_pSuite s = CU_add_suite("stack", NULL, NULL);
    lg_add_test(s, "capture walks outward", test_capture);
    lg_add_test(s, "depot interns equal stacks once", test_intern);
    lg_add_test(s, "depot keeps each stack across its growth", test_intern_grows);
    lg_add_test(s, "splice keeps the frames live at the earlier lock", test_splice);
    lg_add_test(s, "unwinder matches libgcc: no frame pointers", test_same_nofp);
    lg_add_test(s, "unwinder matches libgcc: frame pointers", test_same_fp);
    lg_add_test(s, "unwinder matches libgcc: shared library", test_same_lib);
    lg_add_test(s, "unwinder matches libgcc: library and executable", test_same_mixed);
#if defined(__x86_64__)
    lg_add_test(s, "unwinder matches libgcc: DRAP frame", test_same_drap);
#endif
    lg_add_test(s, "unwinder matches libgcc: another thread", test_same_thread);
    lg_add_test(s, "unwinder matches libgcc: signal handler", test_same_signal);
    lg_add_test(s, "unwinder matches libgcc: alternate signal stack", test_same_altstack);
    lg_add_test(s, "unwinder matches libgcc: signals anywhere in a loop", test_same_async_signals);
    lg_add_test(s, "walk memo: changed stack words walked again", test_memo);
    lg_add_test(s, "walk memo: signals in the middle of walks", test_memo_signals);
    lg_add_test(s, "unwinder caches rules and forgets them on unload", test_rule_cache);
    lg_add_test(s, "unwinder survives garbage", test_garbage);
}
