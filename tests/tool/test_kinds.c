/*
 * test_kinds.c - deadlock, long-wait, long-hold and held-across-io, from
 * findings files recorded by real runs of liblockgraph.so (the data files
 * record_findings.sh made): read into their structs (the last line of
 * a long-hold site or held-across-io pair wins), printed as text (the
 * deadlock table, the waits and holds, the counts), and grouped (the same
 * deadlock in two runs is one).
 *
 * The kinds the waits add (held-across-wait, fork-with-locks-held, a
 * deadlock through a join or on a gone owner) from lines written here in
 * the library's shape: read, printed, their last lines, and grouped (a
 * lock left by a thread that ended and one inherited across a fork are two
 * problems, not one).
 *
 * The recorded module paths point nowhere (/nonexistent/...), so frames
 * print as module+offset on every machine.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedupe.h"
#include "findings.h"
#include "summary.h"

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Read data files into `set`; returns false (and says why) on a problem. */
static bool load(struct lg_findings *set, const char *const *names, size_t n)
{
    lg_findings_init(set);
    FILE *diag = fopen("/dev/null", "w");
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, names[i]);
        if (lg_findings_read_file(set, path, diag ? diag : stderr) != 0)
            ok = false;
    }
    if (diag)
        fclose(diag);
    return ok && set->corrupt_lines == 0 && set->unknown_lines == 0;
}

static bool load1(struct lg_findings *set, const char *name)
{
    return load(set, &name, 1);
}

/* The text of `set` with the closing line (to free). */
static char *render(const struct lg_findings *set)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    struct lg_summary_opts o = {.out = fp, .sym = lg_symbolizer_new(NULL)};
    lg_summary_print(set, &o);
    lg_summary_closing(fp, set, "REPORT");
    lg_symbolizer_free(o.sym);
    fclose(fp);
    return buf;
}

/* CU_ASSERT on a substring, printing the text when it is missing. */
#define HAS(text, needle)                                                                          \
    do {                                                                                           \
        bool has_ = strstr((text), (needle)) != NULL;                                              \
        CU_ASSERT(has_);                                                                           \
        if (!has_)                                                                                 \
            fprintf(stderr, "\nmissing: [%s]\nin:\n%s\n", (needle), (text));                       \
    } while (0)

static const struct lg_finding *find_kind(const struct lg_findings *set, enum lg_kind k)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].kind == k)
            return &set->items[i];
    return NULL;
}

/* ---- reading ---- */

static void test_read_deadlock(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "deadlock-two.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 2); /* the cycle, then the deadlock itself */
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_CYCLE);
    const struct lg_finding *f = &set.items[1];
    CU_ASSERT_EQUAL_FATAL(f->kind, LG_KIND_DEADLOCK);
    CU_ASSERT_STRING_EQUAL(lg_finding_kind(f), "deadlock");
    CU_ASSERT_EQUAL(f->pid, 30315);
    CU_ASSERT_FALSE(f->timed);
    CU_ASSERT_STRING_EQUAL(f->found_by, "waiter");
    CU_ASSERT_EQUAL_FATAL(f->n_waiters, 2);
    const struct lg_waiter *w = &f->waiters[0];
    CU_ASSERT_EQUAL(w->thread.tid, 30318);
    CU_ASSERT_EQUAL(w->thread.seq, 2);
    CU_ASSERT_STRING_EQUAL(w->thread.name, "sc_deadlock");
    CU_ASSERT_EQUAL(w->waits_for.id, 3);
    CU_ASSERT_EQUAL(w->waits_for.addr, 0x55b37425f100);
    CU_ASSERT_STRING_EQUAL(w->waits_for.type, "mutex");
    CU_ASSERT_STRING_EQUAL(w->wait, "exclusive");
    CU_ASSERT_EQUAL(w->waiting_ms, 101);
    CU_ASSERT_TRUE(w->stack_full);
    CU_ASSERT_EQUAL_FATAL(w->stack.n, 3);
    CU_ASSERT_EQUAL(w->stack.pcs[0], 0x55b37425c27b);
    CU_ASSERT_EQUAL_FATAL(w->n_held, 1);
    CU_ASSERT_EQUAL(w->held[0].lock.addr, 0x55b37425f0c0);
    CU_ASSERT_EQUAL(w->held[0].stack.pcs[0], 0x55b37425c25c);
    /* threads[i] waits for a lock threads[i+1] holds, the last for the first's. */
    CU_ASSERT_EQUAL(f->waiters[1].held[0].lock.addr, w->waits_for.addr);
    CU_ASSERT_EQUAL(f->waiters[1].waits_for.addr, w->held[0].lock.addr);
    lg_findings_free(&set);

    CU_ASSERT_FATAL(load1(&set, "deadlock-timed.jsonl"));
    f = find_kind(&set, LG_KIND_DEADLOCK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_TRUE(f->timed);
    CU_ASSERT_TRUE(f->waiters[0].timed);
    lg_findings_free(&set);
}

static void test_read_long_wait(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "long-wait.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 1);
    const struct lg_finding *f = &set.items[0];
    CU_ASSERT_EQUAL_FATAL(f->kind, LG_KIND_LONG_WAIT);
    CU_ASSERT_EQUAL(f->threshold_ms, 1000);
    CU_ASSERT_EQUAL_FATAL(f->n_waiters, 1);
    CU_ASSERT_EQUAL(f->waiters[0].thread.seq, 3);
    CU_ASSERT_EQUAL(f->waiters[0].waiting_ms, 1000);
    CU_ASSERT_EQUAL(f->waiters[0].waits_for.addr, 0x55e30b5250c0);
    CU_ASSERT_EQUAL(f->waiters[0].n_held, 0);
    CU_ASSERT_TRUE(f->owner.known);
    CU_ASSERT_EQUAL(f->owner.thread.seq, 2);
    CU_ASSERT_EQUAL(f->owner.thread.tid, 30352);
    CU_ASSERT_EQUAL_FATAL(f->owner.stack.n, 1);
    CU_ASSERT_EQUAL(f->owner.stack.pcs[0], 0x55e30b5223f1);
    lg_findings_free(&set);
}

/* A site held too long three times: the first line (count 1, held_ms)
 * and the final one (count 3, worst_ms) are one finding, the final's. */
static void test_read_long_hold_last_line(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "long-hold.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 1);
    const struct lg_finding *f = &set.items[0];
    CU_ASSERT_EQUAL_FATAL(f->kind, LG_KIND_LONG_HOLD);
    CU_ASSERT_TRUE(f->final);
    CU_ASSERT_EQUAL(f->count, 3);
    CU_ASSERT_EQUAL(f->worst_ms, 60);
    CU_ASSERT_FALSE(f->has_held_ms);
    CU_ASSERT_EQUAL(f->threshold_ms, 40);
    CU_ASSERT_EQUAL(f->line, 2);
    CU_ASSERT_EQUAL(f->lock.addr, 0x55b0d06e80c0);
    /* Written at exit, the final line has lost the thread's name; the
     * first line's stands. */
    CU_ASSERT_STRING_EQUAL(f->thread.name, "sc_deadlock");
    struct lg_summary_counts c;
    lg_summary_count(&set, &c);
    CU_ASSERT_EQUAL(c.findings, 1);
    lg_findings_free(&set);
}

static void test_read_held_across_io(void)
{
    struct lg_findings set;
    /* 100,000 writes under one lock: one pair, its final count. */
    CU_ASSERT_FATAL(load1(&set, "io-fd.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 1);
    const struct lg_finding *f = &set.items[0];
    CU_ASSERT_EQUAL_FATAL(f->kind, LG_KIND_HELD_ACROSS_IO);
    CU_ASSERT_EQUAL(f->pair, 1);
    CU_ASSERT_EQUAL(f->count, 100000);
    CU_ASSERT_TRUE(f->final);
    CU_ASSERT_STRING_EQUAL(f->call, "write");
    CU_ASSERT_STRING_EQUAL(f->family, "fd");
    CU_ASSERT_TRUE(f->fd.present);
    CU_ASSERT_EQUAL(f->fd.num, 3);
    CU_ASSERT_STRING_EQUAL(f->fd.type, "char-device");
    CU_ASSERT_STRING_EQUAL(f->fd.path, "/dev/null");
    CU_ASSERT_PTR_NULL(f->fd.peer);
    CU_ASSERT_EQUAL_FATAL(f->n_held, 1);
    CU_ASSERT_STRING_EQUAL(f->held[0].key, "name:fd%20lock");
    CU_ASSERT_STRING_EQUAL(f->held[0].lock.name, "fd lock");
    CU_ASSERT_FALSE(f->held[0].shared);
    CU_ASSERT_FALSE(f->held[0].stack_exact);
    CU_ASSERT_EQUAL(f->stack.pcs[0], 0x55ab884e184d);
    lg_findings_free(&set);

    /* Sockets: the peer, or a listening socket's own address. */
    CU_ASSERT_FATAL(load1(&set, "io-socket.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 8);
    CU_ASSERT_STRING_EQUAL(set.items[0].call, "connect");
    CU_ASSERT_STRING_EQUAL(set.items[0].fd.peer, "127.0.0.1:59469");
    CU_ASSERT_STRING_EQUAL(set.items[1].call, "accept");
    CU_ASSERT_STRING_EQUAL(set.items[1].fd.local, "127.0.0.1:59469");
    CU_ASSERT_PTR_NULL(set.items[1].fd.peer);
    lg_findings_free(&set);

    /* The sleeps have no fd. */
    CU_ASSERT_FATAL(load1(&set, "io-sleep.jsonl"));
    CU_ASSERT_EQUAL_FATAL(set.n, 3);
    CU_ASSERT_STRING_EQUAL(set.items[0].call, "nanosleep");
    CU_ASSERT_STRING_EQUAL(set.items[0].family, "sleep");
    CU_ASSERT_FALSE(set.items[0].fd.present);
    lg_findings_free(&set);
}

/* Write `text` to a temporary file and read it into `set`. */
static void read_text(struct lg_findings *set, const char *text)
{
    char path[] = "/tmp/lockgraph-test-kinds.XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    FILE *diag = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(lg_findings_read_file(set, path, diag), 0);
    fclose(diag);
    unlink(path);
}

#define HOLD(pid, site, count, final)                                                              \
    "{\"kind\":\"long-hold\",\"pid\":" #pid ",\"lock\":{\"id\":1,\"addr\":\"0x10\"},"              \
    "\"thread\":{\"tid\":1,\"seq\":1},\"stack\":[\"" site "\"],\"count\":" #count                  \
    ",\"worst_ms\":" #count ",\"final\":" #final "}\n"
#define IO(pid, pair, count, final)                                                                \
    "{\"kind\":\"held-across-io\",\"pid\":" #pid ",\"pair\":" #pair ",\"count\":" #count           \
    ",\"final\":" #final ",\"call\":\"write\",\"thread\":{\"tid\":1,\"seq\":1},\"held\":[]}\n"

/* Only the same (pid, site) or (pid, pair) of one file is replaced, in
 * the place of its first line. */
static void test_last_line_keys(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    read_text(&set, HOLD(1, "0x100", 1, false) HOLD(1, "0x200", 1, false) HOLD(2, "0x100", 1, false)
                        IO(1, 1, 1, false) IO(1, 2, 1, false) IO(2, 1, 1, false) IO(1, 0, 1, false)
                            IO(1, 0, 1, false) HOLD(1, "0x100", 5, true) IO(1, 1, 7, true));
    CU_ASSERT_EQUAL_FATAL(set.n, 8);
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_LONG_HOLD);
    CU_ASSERT_EQUAL(set.items[0].count, 5); /* replaced where it stood */
    CU_ASSERT_TRUE(set.items[0].final);
    CU_ASSERT_EQUAL(set.items[0].line, 9);
    CU_ASSERT_EQUAL(set.items[1].count, 1); /* another site */
    CU_ASSERT_EQUAL(set.items[2].count, 1); /* another process */
    CU_ASSERT_EQUAL(set.items[2].pid, 2);
    CU_ASSERT_EQUAL(set.items[3].kind, LG_KIND_HELD_ACROSS_IO);
    CU_ASSERT_EQUAL(set.items[3].count, 7);
    CU_ASSERT_EQUAL(set.items[4].count, 1); /* pair 2 */
    CU_ASSERT_EQUAL(set.items[5].pid, 2);   /* pair 1 of another process */
    CU_ASSERT_EQUAL(set.items[5].count, 1);
    CU_ASSERT_EQUAL(set.items[6].pair, 0); /* no pair: nothing to match */
    CU_ASSERT_EQUAL(set.items[7].pair, 0);

    /* Another file is another process's: its lines stand. */
    read_text(&set, HOLD(1, "0x100", 9, true));
    CU_ASSERT_EQUAL(set.n, 9);
    CU_ASSERT_EQUAL(set.items[0].count, 5);
    lg_findings_free(&set);
}

/* Three lines of one site: the last wins, where the first stood. A later
 * line that only looks like one (no thread: corrupt) is named where it is
 * and replaces nothing; a line whose keys are escaped is read properly. */
static void test_last_line_chain(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    read_text(&set, HOLD(1, "0x100", 1, false) IO(1, 0, 1, false) HOLD(1, "0x100", 2, false)
                        "{\"kind\":\"long-hold\",\"pid\":1,\"stack\":[\"0x100\"],\"count\":9}\n"
                        "{\"kin\\u0064\":\"long-hold\",\"pid\":1,\"lock\":{\"id\":1,\"addr\":"
                        "\"0x10\"},\"thread\":{\"tid\":1,\"seq\":1},\"stack\":[\"0x100\"],"
                        "\"count\":4,\"worst_ms\":4,\"final\":true}\n");
    CU_ASSERT_EQUAL_FATAL(set.n, 2);
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_LONG_HOLD);
    CU_ASSERT_EQUAL(set.items[0].count, 4);
    CU_ASSERT_TRUE(set.items[0].final);
    CU_ASSERT_EQUAL(set.items[0].line, 5);
    CU_ASSERT_EQUAL(set.items[1].kind, LG_KIND_HELD_ACROSS_IO);
    CU_ASSERT_EQUAL(set.corrupt_lines, 1);
    lg_findings_free(&set);
}

/* From a pipe, which cannot be read ahead, such findings come after the
 * others of the file, still with their last lines. */
static void test_last_line_from_pipe(void)
{
    const char *text = HOLD(1, "0x100", 1, false) IO(1, 0, 1, false) HOLD(1, "0x100", 3, true);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    CU_ASSERT_FATAL(write(fds[1], text, strlen(text)) == (ssize_t)strlen(text));
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    struct lg_findings set;
    lg_findings_init(&set);
    FILE *diag = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(lg_findings_read_file(&set, path, diag), 0);
    fclose(diag);
    close(fds[0]);
    CU_ASSERT_EQUAL_FATAL(set.n, 2);
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_HELD_ACROSS_IO);
    CU_ASSERT_EQUAL(set.items[1].kind, LG_KIND_LONG_HOLD);
    CU_ASSERT_EQUAL(set.items[1].count, 3);
    CU_ASSERT_EQUAL(set.items[1].line, 3);
    lg_findings_free(&set);
}

static void test_corrupt(void)
{
    struct lg_finding f;
    bool unknown;
    char err[256];
    const char *none = "{\"kind\":\"deadlock\",\"pid\":1,\"threads\":[]}";
    CU_ASSERT_EQUAL(lg_finding_parse(none, strlen(none), &f, &unknown, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "deadlock: a deadlock with no threads"));
    const char *bad = "{\"kind\":\"deadlock\",\"pid\":1,\"threads\":[{\"thread\":{\"tid\":1},"
                      "\"waits_for\":{\"id\":1,\"addr\":\"0x10\"},\"held\":[{\"lock\":3}]}]}";
    CU_ASSERT_EQUAL(lg_finding_parse(bad, strlen(bad), &f, &unknown, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "deadlock: \"lock\" is not an object"));
    const char *nowaiter = "{\"kind\":\"long-wait\",\"pid\":1,\"threshold_ms\":5}";
    CU_ASSERT_EQUAL(lg_finding_parse(nowaiter, strlen(nowaiter), &f, &unknown, err, sizeof err),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "long-wait: "));
    const char *fd = "{\"kind\":\"held-across-io\",\"pid\":1,\"thread\":{\"tid\":1},\"held\":[],"
                     "\"fd\":{\"num\":\"three\"}}";
    CU_ASSERT_EQUAL(lg_finding_parse(fd, strlen(fd), &f, &unknown, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "held-across-io: "));
    /* Without stack_full, a stack is taken as whole. */
    const char *ok = "{\"kind\":\"deadlock\",\"pid\":1,\"threads\":[{\"thread\":{\"tid\":1},"
                     "\"waits_for\":{\"id\":1,\"addr\":\"0x10\"}}]}";
    CU_ASSERT_EQUAL_FATAL(lg_finding_parse(ok, strlen(ok), &f, &unknown, err, sizeof err), 1);
    CU_ASSERT_FALSE(unknown);
    CU_ASSERT_TRUE(f.waiters[0].stack_full);
    CU_ASSERT_EQUAL(f.waiters[0].n_held, 0);
    lg_finding_free(&f);
}

/* ---- the text ---- */

static void test_render_deadlock_two(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "deadlock-two.jsonl"));
    char *out = render(&set);
    HAS(out, "== DEADLOCK #1 (pid 30315): 2 threads are blocked on each other (now, not a "
             "prediction)\n");
    /* The table: each thread, the lock it holds, the one it waits for,
     * and who holds that. */
    HAS(out, "   thread           holds                      waits for                  held by "
             "  waiting at\n");
    HAS(out, "   2 \"sc_deadlock\"  L1 0x55b37425f0c0 (mutex)  L2 0x55b37425f100 (mutex)  thread "
             "3  0x55b37425c27b (sc_deadlock+0x127b)\n");
    HAS(out, "   3 \"sc_deadlock\"  L2 0x55b37425f100 (mutex)  L1 0x55b37425f0c0 (mutex)  thread "
             "2  0x55b37425c27b (sc_deadlock+0x127b)\n");
    HAS(out, "   lock L1 mutex 0x55b37425f0c0 (normal), first locked at 0x55b37425c25c "
             "(sc_deadlock+0x125c)\n");
    HAS(out, "   lock L2 mutex 0x55b37425f100 (normal), first locked at 0x55b37425c25c "
             "(sc_deadlock+0x125c)\n");
    /* Each thread: where it waits, and where it took what it holds. */
    HAS(out, "   thread 2 \"sc_deadlock\" (tid 30318):\n"
             "     waits for L2 (exclusive), 101 ms so far, at:\n"
             "       #0 0x55b37425c27b (sc_deadlock+0x127b)\n");
    HAS(out, "     holds L1, taken at:\n       #0 0x55b37425c25c (sc_deadlock+0x125c)\n");
    HAS(out, "   thread 3 \"sc_deadlock\" (tid 30319):\n"
             "     waits for L1 (exclusive), 101 ms so far, at:\n");
    HAS(out, "     holds L2, taken at:\n");
    HAS(out, "   Found by the thread that closed the cycle, just before it blocked.\n");
    HAS(out, "   None of these threads can go on: the program hangs here.\n");
    CU_ASSERT_EQUAL(count(out, "only the lock call's frame is known"), 0);
    CU_ASSERT_EQUAL(count(out, "a timeout"), 0);
    CU_ASSERT_EQUAL(count(out, "a kind this lockgraph does not know"), 0);
    HAS(out, "lockgraph: 2 findings (1 lock-order-cycle, 1 deadlock) in 1 process; report: "
             "REPORT\n");
    free(out);
    lg_findings_free(&set);
}

static void test_render_deadlock_three(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "deadlock-three.jsonl"));
    char *out = render(&set);
    HAS(out, "== DEADLOCK #1 (pid 30331): 3 threads are blocked on each other");
    /* Around the cycle: each holds what the one before waits for. */
    HAS(out, "   2 \"sc_deadlock\"  L1 0x55eefb1860c0 (mutex)  L2 0x55eefb186100 (mutex)  thread "
             "3  ");
    HAS(out, "   3 \"sc_deadlock\"  L2 0x55eefb186100 (mutex)  L3 0x55eefb186140 (mutex)  thread "
             "4  ");
    HAS(out, "   4 \"sc_deadlock\"  L3 0x55eefb186140 (mutex)  L1 0x55eefb1860c0 (mutex)  thread "
             "2  ");
    HAS(out, "   lock L3 mutex 0x55eefb186140 (normal)");
    /* After the cycle's edges, each thread of the deadlock once. */
    const char *dl = strstr(out, "== DEADLOCK");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dl);
    CU_ASSERT_EQUAL(count(dl, "     holds L"), 3);
    free(out);
    lg_findings_free(&set);
}

/* A timed deadlock stalls; a stack with only its lock call's frame and
 * the watchdog as finder are said so. */
static void test_render_deadlock_timed_partial(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "deadlock-timed.jsonl"));
    struct lg_finding *f = &set.items[1];
    CU_ASSERT_EQUAL_FATAL(f->kind, LG_KIND_DEADLOCK);
    char *out = render(&set);
    HAS(out, "     waits for L2 (exclusive), 10 ms so far, with a timeout, at:\n");
    HAS(out, "   A wait has a timeout: the threads stall until it expires, rather than hang for "
             "good.\n");
    CU_ASSERT_EQUAL(count(out, "the program hangs here"), 0);
    free(out);

    f->waiters[1].stack_full = false;
    f->waiters[1].stack.n = 1;
    free(f->found_by);
    f->found_by = strdup("watchdog");
    out = render(&set);
    HAS(out, "     waits for L1 (exclusive), 0 ms so far, with a timeout, at:\n"
             "       #0 0x558eda72552c (sc_deadlock+0x152c)\n"
             "       (only the lock call's frame is known: the rest of the stack was not "
             "recorded)\n");
    CU_ASSERT_EQUAL(count(out, "only the lock call's frame is known"), 1);
    HAS(out, "   Found by the watchdog, while the threads were blocked.\n");
    free(out);
    lg_findings_free(&set);
}

static void test_render_long_wait(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "long-wait.jsonl"));
    char *out = render(&set);
    HAS(out, "== long-wait #1 (pid 30348): thread 3 \"sc_deadlock\" (tid 30353) has waited 1000 "
             "ms for a lock (watchdog: 1000 ms)\n");
    HAS(out, "   lock mutex 0x55e30b5250c0 (normal), first locked at 0x55e30b5223f1 "
             "(sc_deadlock+0x13f1)\n");
    /* The owner's name was empty: left out. */
    HAS(out, "   held by thread 2 (tid 30352), taken at:\n"
             "     #0 0x55e30b5223f1 (sc_deadlock+0x13f1)\n");
    HAS(out, "     waits for the lock (exclusive), 1000 ms so far, at:\n"
             "       #0 0x55e30b52244b (sc_deadlock+0x144b)\n");
    HAS(out, "lockgraph: 1 finding (1 long-wait) in 1 process");
    free(out);
    lg_findings_free(&set);
}

static void test_render_long_hold(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "long-hold.jsonl"));
    char *out = render(&set);
    HAS(out, "== long-hold #1 (pid 30357): a lock held too long 3 times at one site, the longest "
             "60 ms (hold_warn_ms=40)\n");
    HAS(out, "   lock mutex 0x55b0d06e80c0 (normal)");
    HAS(out, "   by thread 1 \"sc_deadlock\" (tid 30357) (the first time), taken at:\n"
             "     #0 0x55b0d06e547c (sc_deadlock+0x147c)\n");
    HAS(out, "   3 times past the threshold at this site, the longest 60 ms (the totals at "
             "exit)\n");
    CU_ASSERT_EQUAL(count(out, "== long-hold"), 1);
    HAS(out, "lockgraph: 1 finding (1 long-hold) in 1 process");
    free(out);
    lg_findings_free(&set);
}

static void test_render_held_across_io(void)
{
    struct lg_findings set;
    CU_ASSERT_FATAL(load1(&set, "io-fd.jsonl"));
    char *out = render(&set);
    HAS(out, "== held-across-io #1 (pid 30363): thread 1 \"sc_io_fd\" (tid 30363) calls write "
             "while holding 1 lock, 100000 times\n");
    HAS(out, "   call write (fd) on fd 3 (char-device \"/dev/null\")\n");
    HAS(out, "   lock L1 mutex 0x55ab884e4120 \"fd lock\" (normal), first locked at "
             "0x55ab884e161f (sc_io_fd+0x161f), io_allow key name:fd%20lock\n"
             "     taken at:\n"
             "       #0 0x55ab884e182b (sc_io_fd+0x182b)\n");
    HAS(out, "   write called at:\n     #0 0x55ab884e184d (sc_io_fd+0x184d)\n");
    HAS(out, "   100000 calls from these sites (the total, at exit)\n");
    HAS(out, "io_allow=write (the call) or io_allow=name:fd%20lock (the lock)");
    CU_ASSERT_EQUAL(count(out, "== held-across-io"), 1);
    HAS(out, "lockgraph: 1 finding (1 held-across-io) in 1 process");
    free(out);
    lg_findings_free(&set);

    CU_ASSERT_FATAL(load1(&set, "io-socket.jsonl"));
    out = render(&set);
    HAS(out, "   call connect (socket) on fd 4 (socket \"socket:[216985]\", peer "
             "\"127.0.0.1:59469\")\n");
    HAS(out, "   call accept (socket) on fd 3 (socket \"socket:[216984]\", local "
             "\"127.0.0.1:59469\")\n");
    HAS(out, "   1 call from these sites when reported (no total followed");
    CU_ASSERT_EQUAL(count(out, "== held-across-io"), 8);
    HAS(out, "== held-across-io #8 (pid 30369): thread 1 \"sc_io_socket\" (tid 30369) calls "
             "recvmsg while holding 1 lock\n");
    free(out);
    lg_findings_free(&set);

    CU_ASSERT_FATAL(load1(&set, "io-sleep.jsonl"));
    out = render(&set);
    HAS(out, "   call nanosleep (sleep), no fd\n");
    free(out);
    lg_findings_free(&set);
}

/* ---- grouping ---- */

/* Two runs of the same deadlock (other pids, other addresses, the threads
 * listed from another starting point) are one; another deadlock is not. */
static void test_dedupe_deadlock(void)
{
    static const char *const files[] = {"deadlock-two.jsonl", "deadlock-two-rerun.jsonl",
                                        "deadlock-three.jsonl"};
    struct lg_findings set;
    CU_ASSERT_FATAL(load(&set, files, 3));
    CU_ASSERT_EQUAL_FATAL(set.n, 6);
    const struct lg_finding *a = &set.items[1], *b = &set.items[3], *c = &set.items[5];
    CU_ASSERT_EQUAL_FATAL(a->kind, LG_KIND_DEADLOCK);
    CU_ASSERT_EQUAL_FATAL(b->kind, LG_KIND_DEADLOCK);
    CU_ASSERT_EQUAL_FATAL(c->kind, LG_KIND_DEADLOCK);
    CU_ASSERT_NOT_EQUAL(a->pid, b->pid);
    CU_ASSERT_NOT_EQUAL(a->waiters[0].waits_for.addr, b->waiters[0].waits_for.addr);
    CU_ASSERT_EQUAL(lg_finding_signature(a), lg_finding_signature(b));
    CU_ASSERT_NOT_EQUAL(lg_finding_signature(a), lg_finding_signature(c));

    struct lg_groups g;
    CU_ASSERT_EQUAL_FATAL(lg_group_findings(&set, NULL, true, &g), 0);
    CU_ASSERT_EQUAL_FATAL(g.n, 4); /* two cycles and two deadlocks */
    size_t deadlocks = 0;
    for (size_t i = 0; i < g.n; i++) {
        if (set.items[g.items[i].first].kind != LG_KIND_DEADLOCK)
            continue;
        deadlocks++;
        if (g.items[i].first == 1) {
            CU_ASSERT_EQUAL(g.items[i].n, 2);
            CU_ASSERT_EQUAL(g.items[i].processes, 2);
            CU_ASSERT_EQUAL(g.items[i].paths, 1);
            CU_ASSERT_EQUAL(g.items[i].members[1], 3);
        } else {
            CU_ASSERT_EQUAL(g.items[i].first, 5);
            CU_ASSERT_EQUAL(g.items[i].n, 1);
        }
    }
    CU_ASSERT_EQUAL(deadlocks, 2);
    lg_groups_free(&g);
    CU_ASSERT_EQUAL_FATAL(lg_group_findings(&set, NULL, false, &g), 0);
    CU_ASSERT_EQUAL(g.n, 6);
    lg_groups_free(&g);
    lg_findings_free(&set);
}

/* One finding per pair of sites: the socket calls are eight; the same
 * file read twice is the same eight. */
static void test_dedupe_held_across_io(void)
{
    static const char *const files[] = {"io-socket.jsonl", "io-socket.jsonl", "long-hold.jsonl",
                                        "long-hold.jsonl"};
    struct lg_findings set;
    CU_ASSERT_FATAL(load(&set, files, 4));
    CU_ASSERT_EQUAL_FATAL(set.n, 18);
    for (size_t i = 0; i < 8; i++)
        for (size_t j = i + 1; j < 8; j++)
            CU_ASSERT_NOT_EQUAL(lg_finding_signature(&set.items[i]),
                                lg_finding_signature(&set.items[j]));
    struct lg_groups g;
    CU_ASSERT_EQUAL_FATAL(lg_group_findings(&set, NULL, true, &g), 0);
    CU_ASSERT_EQUAL(g.n, 9);
    for (size_t i = 0; i < g.n; i++)
        CU_ASSERT_EQUAL(g.items[i].n, 2);
    lg_groups_free(&g);
    lg_findings_free(&set);
}

/* ---- the kinds the waits add ---- */

/* clang-format off: lines of JSON, laid out as the objects nest */
#define MODS ",\"modules\":[{\"path\":\"/nonexistent/prog\",\"base\":\"0x400000\"," \
             "\"end\":\"0x500000\",\"build_id\":\"ab\"}]"
#define LOCK(id, addr, site) \
    "{\"id\":" #id ",\"addr\":\"" addr "\",\"type\":\"mutex\",\"mode\":\"normal\"," \
    "\"created\":true,\"stack\":[\"" site "\"]}"
#define THREAD(tid, seq) "{\"tid\":" #tid ",\"seq\":" #seq ",\"name\":\"t" #seq "\"}"
#define HELD(lock, site) "{\"lock\":" lock ",\"stack\":[\"" site "\"]}"
/* A thread of a deadlock: waits for `waits` at `site`, holding `held`. */
#define WAITER(tid, seq, waits, site, held) \
    "{\"thread\":" THREAD(tid, seq) ",\"waits_for\":" waits ",\"wait\":\"exclusive\"," \
    "\"waiting_ms\":0,\"stack\":[\"" site "\"],\"stack_full\":true,\"held\":[" held "]}"
#define DEADLOCK(pid, threads, more) \
    "{\"kind\":\"deadlock\",\"pid\":" #pid ",\"timed\":false,\"found_by\":\"waiter\"," \
    "\"threads\":[" threads "]" more MODS "}\n"
/* Thread 1 waits for lock 1 at 0x401100; its owner, tid 9, is gone (`why`),
 * having taken it at 0x401200; `where` (end_stack or fork_stack) says
 * where it ended or forked. */
#define GONE(pid, why, where) \
    DEADLOCK(pid, WAITER(7, 1, LOCK(1, "0x10", "0x401000"), "0x401100", ""), \
             ",\"gone_owner\":{\"thread\":" THREAD(9, 2) ",\"gone\":\"" why "\"," \
             "\"stack\":[\"0x401200\"],\"" where "\":[\"0x401300\"]}")
/* Threads 1 and 2 blocked on locks 1 and 2, lock 1 being GONE's. */
#define CYCLE_DEADLOCK(pid) \
    DEADLOCK(pid, \
             WAITER(7, 1, LOCK(1, "0x10", "0x401000"), "0x401100", \
                    HELD(LOCK(2, "0x20", "0x401010"), "0x4010f0")) "," \
             WAITER(8, 2, LOCK(2, "0x20", "0x401010"), "0x401110", \
                    HELD(LOCK(1, "0x10", "0x401000"), "0x4011f0")), "")
#define JOIN_ON "{\"what\":\"join\",\"pthread\":\"0x7f00\",\"thread\":" THREAD(8, 2) "}"
/* Thread 1 holds lock 1 and joins thread 2, which waits for lock 1. */
#define JOIN_DEADLOCK(pid) \
    DEADLOCK(pid, \
             "{\"thread\":" THREAD(7, 1) "," \
             "\"waits_for\":{\"id\":0,\"addr\":\"0x7f00\",\"type\":\"thread\"}," \
             "\"joins\":" THREAD(8, 2) ",\"waits_on\":" JOIN_ON "," \
             "\"wait\":\"exclusive\",\"waiting_ms\":0,\"stack\":[\"0x401400\"]," \
             "\"stack_full\":true," \
             "\"held\":[" HELD(LOCK(1, "0x10", "0x401000"), "0x4013f0") "]}," \
             WAITER(8, 2, LOCK(1, "0x10", "0x401000"), "0x401500", ""), "")
#define WAIT(pid, pair, count, final) \
    "{\"kind\":\"held-across-wait\",\"pid\":" #pid ",\"pair\":" #pair \
    ",\"count\":" #count ",\"final\":" #final ",\"call\":\"pthread_join\"," \
    "\"family\":\"join\",\"waits_on\":" JOIN_ON ",\"thread\":" THREAD(7, 1) "," \
    "\"held\":[{\"lock\":" LOCK(1, "0x10", "0x401000") ",\"stack\":[\"0x4013f0\"]," \
    "\"key\":\"site:prog+0x1000\"}],\"stack\":[\"0x401400\"]" MODS "}\n"
#define FORK_HELD(pid) \
    "{\"kind\":\"fork-with-locks-held\",\"pid\":" #pid ",\"parent_pid\":41," \
    "\"threads\":[{\"thread\":" THREAD(9, 2) "," \
    "\"held\":[" HELD(LOCK(1, "0x10", "0x401000"), "0x401200") "]}]," \
    "\"fork_stack\":[\"0x401600\"]" MODS "}\n"
/* clang-format on */

/* What each kind reads into; each is printed in its own words, none as a
 * kind this lockgraph does not know. */
static void test_wait_kinds_read_render(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    read_text(&set, GONE(1, "ended", "end_stack") GONE(2, "not-in-process", "fork_stack")
                        JOIN_DEADLOCK(3) WAIT(4, 1, 1, false) FORK_HELD(5));
    CU_ASSERT_EQUAL_FATAL(set.n, 5);
    CU_ASSERT_EQUAL(set.corrupt_lines, 0);
    const struct lg_finding *ended = &set.items[0], *fork = &set.items[1], *join = &set.items[2];
    CU_ASSERT_EQUAL(ended->kind, LG_KIND_DEADLOCK);
    CU_ASSERT_TRUE(ended->gone.known);
    CU_ASSERT_STRING_EQUAL(ended->gone.gone, "ended");
    CU_ASSERT_FALSE(ended->gone.fork);
    CU_ASSERT_EQUAL(ended->gone.thread.tid, 9);
    CU_ASSERT_EQUAL(ended->gone.where.n, 1);
    CU_ASSERT_TRUE(fork->gone.fork);
    CU_ASSERT_EQUAL(fork->gone.where.pcs[0], 0x401300);
    CU_ASSERT_FALSE(join->gone.known);
    CU_ASSERT_TRUE(join->waiters[0].joins_known);
    CU_ASSERT_EQUAL(join->waiters[0].joins.seq, 2);
    CU_ASSERT_EQUAL(set.items[3].kind, LG_KIND_HELD_ACROSS_WAIT);
    CU_ASSERT_STRING_EQUAL(set.items[3].waits_on, "thread 2 \"t2\" (tid 8)");
    CU_ASSERT_EQUAL(set.items[4].kind, LG_KIND_FORK_HELD);
    CU_ASSERT_EQUAL(set.items[4].parent_pid, 41);
    CU_ASSERT_EQUAL_FATAL(set.items[4].n_waiters, 1);
    CU_ASSERT_EQUAL(set.items[4].waiters[0].n_held, 1);

    char *out = render(&set);
    HAS(out, "== DEADLOCK #1 (pid 1): 1 thread waits for a lock whose owner is gone");
    HAS(out, "   The lock's owner, thread 2 \"t2\" (tid 9), has ended without letting it go.\n"
             "     it took the lock at:\n");
    HAS(out, "     it ended at:\n");
    HAS(out, "== DEADLOCK #2 (pid 2): 1 thread waits for a lock whose owner is gone");
    HAS(out, "is a thread of the parent process: it does not exist in this one");
    HAS(out, "     the fork was made at:\n");
    HAS(out, "== DEADLOCK #3 (pid 3): 2 threads are blocked on each other, through a join");
    HAS(out, "     joins thread 2 \"t2\" (tid 8), 0 ms so far, at:\n");
    HAS(out, "== held-across-wait #1 (pid 4): thread 1 \"t1\" (tid 7) calls pthread_join while "
             "holding 1 lock\n");
    HAS(out, "   call pthread_join (join), waits on thread 2 \"t2\" (tid 8)\n");
    HAS(out, ", wait_allow key site:prog+0x1000\n");
    HAS(out, "accept it with wait_allow=pthread_join (the call) or wait_allow=site:prog+0x1000");
    HAS(out, "== fork-with-locks-held #1 (pid 5): a child of process 41 inherited 1 lock held "
             "by 1 thread it does not have\n");
    HAS(out, "   the fork was made at:\n     #0 0x401600 (prog+0x1600)\n");
    HAS(out, "lockgraph: 5 findings (3 deadlock, 1 held-across-wait, 1 fork-with-locks-held) in "
             "5 processes");
    CU_ASSERT_PTR_NULL(strstr(out, "does not know"));
    free(out);
    lg_findings_free(&set);
}

/* A held-across-wait pair is written again at exit like an I/O pair: the
 * last line wins, and an I/O pair of the same number is another finding. */
static void test_wait_kinds_last_line(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    read_text(&set,
              WAIT(1, 1, 1, false) IO(1, 1, 1, false) WAIT(1, 2, 1, false) WAIT(1, 1, 6, true));
    CU_ASSERT_EQUAL_FATAL(set.n, 3);
    CU_ASSERT_EQUAL(set.items[0].kind, LG_KIND_HELD_ACROSS_WAIT);
    CU_ASSERT_EQUAL(set.items[0].count, 6);
    CU_ASSERT_TRUE(set.items[0].final);
    CU_ASSERT_EQUAL(set.items[0].line, 4);
    CU_ASSERT_EQUAL(set.items[1].kind, LG_KIND_HELD_ACROSS_IO);
    CU_ASSERT_EQUAL(set.items[1].count, 1);
    CU_ASSERT_EQUAL(set.items[2].pair, 2);
    lg_findings_free(&set);
}

/* Deadlocks on a gone owner: the same one in two processes is one group;
 * the same lock and waiter, its owner inherited across a fork instead of
 * ended, is another problem; and a wait-for cycle through that same lock
 * is a third, as the streaming grouper sees them one at a time. */
static void test_wait_kinds_dedupe(void)
{
    struct lg_findings set;
    lg_findings_init(&set);
    read_text(&set, GONE(1, "ended", "end_stack") GONE(2, "not-in-process", "fork_stack")
                        GONE(3, "ended", "end_stack") CYCLE_DEADLOCK(4) CYCLE_DEADLOCK(5)
                            GONE(6, "not-in-process", "fork_stack"));
    CU_ASSERT_EQUAL_FATAL(set.n, 6);
    const struct lg_finding *it = set.items;
    CU_ASSERT_EQUAL(lg_finding_signature(&it[0]), lg_finding_signature(&it[2]));
    CU_ASSERT_NOT_EQUAL(lg_finding_signature(&it[0]), lg_finding_signature(&it[1]));
    CU_ASSERT_NOT_EQUAL(lg_finding_signature(&it[0]), lg_finding_signature(&it[3]));

    struct lg_grouper *gr = lg_grouper_new(true, false, SIZE_MAX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
    for (size_t i = 0; i < set.n; i++)
        CU_ASSERT_EQUAL(lg_grouper_add(gr, i, &set.items[i]), 0);
    const struct lg_group *g;
    size_t n = lg_grouper_groups(gr, &g);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(g[0].first, 0); /* ended: processes 1 and 3 */
    CU_ASSERT_EQUAL(g[0].n, 2);
    CU_ASSERT_EQUAL_FATAL(g[0].n_seen, 2);
    CU_ASSERT_EQUAL(g[0].seen[1].pid, 3);
    CU_ASSERT_EQUAL(g[1].first, 1); /* not in the process: 2 and 6 */
    CU_ASSERT_EQUAL(g[1].n, 2);
    CU_ASSERT_EQUAL(g[2].first, 3); /* the cycle: 4 and 5 */
    CU_ASSERT_EQUAL(g[2].n, 2);
    lg_grouper_free(gr);
    lg_findings_free(&set);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("kinds", NULL, NULL);
    CU_add_test(s, "read deadlock", test_read_deadlock);
    CU_add_test(s, "read long-wait", test_read_long_wait);
    CU_add_test(s, "read long-hold: the last line wins", test_read_long_hold_last_line);
    CU_add_test(s, "read held-across-io", test_read_held_across_io);
    CU_add_test(s, "last line per (pid, site or pair)", test_last_line_keys);
    CU_add_test(s, "last line of three, corrupt and escaped lines", test_last_line_chain);
    CU_add_test(s, "last line from a pipe", test_last_line_from_pipe);
    CU_add_test(s, "corrupt lines of the new kinds", test_corrupt);
    CU_add_test(s, "render a two-thread deadlock", test_render_deadlock_two);
    CU_add_test(s, "render a three-thread deadlock", test_render_deadlock_three);
    CU_add_test(s, "render a timed deadlock, a partial stack", test_render_deadlock_timed_partial);
    CU_add_test(s, "render long-wait", test_render_long_wait);
    CU_add_test(s, "render long-hold", test_render_long_hold);
    CU_add_test(s, "render held-across-io", test_render_held_across_io);
    CU_add_test(s, "dedupe deadlocks", test_dedupe_deadlock);
    CU_add_test(s, "dedupe held-across-io and long-hold", test_dedupe_held_across_io);
    CU_add_test(s, "the waits' kinds: read and render", test_wait_kinds_read_render);
    CU_add_test(s, "the waits' kinds: held-across-wait's last line", test_wait_kinds_last_line);
    CU_add_test(s, "the waits' kinds: gone owners grouped apart", test_wait_kinds_dedupe);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
