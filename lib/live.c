/*
 * live.c - the live dump's thread and snapshot (see live.h).
 *
 * What it does: listen on the abstract socket "lockgraph.PID"; for each
 * connection from the same user, write the snapshot and close. What it does
 * not: stop or signal anything, or report a finding (a deadlock seen here
 * is also reported by its waiters and the watchdog, as always).
 *
 * Reading other threads: a waiting thread's record and held stack do not
 * change while its wait lasts (wait.c); a running thread's held stack is
 * copied with process_vm_readv on our own process, which returns short
 * instead of faulting when the storage moved meanwhile, and only plain
 * values (the lock's address, the return address of its lock call) are
 * kept from it: the lock is looked up again by address, as it is now.
 *
 * Everything runs on the dump thread with lg__busy set: nothing it calls
 * is watched. No lockgraph lock is held while the snapshot is made.
 */

#include "live.h"
#include "alloc.h"
#include "gone.h"
#include "keys.h"
#include "options.h"
#include "registry.h"
#include "report.h"
#include "sem.h"
#include "stack.h"
#include "util.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HELD_SHOWN 256 /* held locks shown per thread */
#define TIDS_MAX 4096  /* threads listed */
#define CYCLES_MAX 64  /* distinct deadlocks listed */

static atomic_bool running;
static int listen_fd = -1; /* the dump thread's own */

/* ---------------------------------------------------------------------- */
/* The socket.                                                             */

/* "\0lockgraph.PID": the address, and its length. */
static socklen_t address(struct sockaddr_un *a)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    char tmp[64];
    struct lg_buf b;
    lg__buf_in(&b, tmp, sizeof(tmp));
    lg__buf_str(&b, "lockgraph.");
    lg__buf_u64(&b, (uint64_t)getpid());
    size_t n = b.p && b.len < sizeof(a->sun_path) - 1 ? b.len : 0;
    if (n)
        memcpy(a->sun_path + 1, b.p, n);
    lg__buf_free(&b);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int make_socket(void)
{
    struct sockaddr_un a;
    socklen_t len = address(&a);
    int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (syscall(SYS_bind, fd, &a, len) != 0 || syscall(SYS_listen, fd, 8) != 0) {
        syscall(SYS_close, fd);
        return -1;
    }
    /* High, and lockgraph's own: the program's close shims leave it open
     * (util.h), as they do the findings file. */
    fd = lg__fd_high(fd);
    lg__fd_own(fd);
    return fd;
}

/* Is fd still our listening socket? A program that closes every fd may
 * have put something else there. */
static bool still_ours(int fd)
{
    struct sockaddr_un want, got;
    socklen_t wlen = address(&want), glen = sizeof(got);
    return fd >= 0 && syscall(SYS_getsockname, fd, &got, &glen) == 0 && glen == wlen &&
           memcmp(&got, &want, wlen) == 0;
}

/* ---------------------------------------------------------------------- */
/* The snapshot.                                                           */

/* Copy n bytes of our own memory at src without faulting: the bytes
 * copied. */
static size_t safe_copy(void *dst, const void *src, size_t n)
{
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    ssize_t got =
        (ssize_t)syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
    return got > 0 ? (size_t)got : 0;
}

/* ,"key":"..." for the lock at addr (keys.h: what rank files and
 * allowlists take). */
static void put_key(struct lg_buf *b, const struct lg_node *n, uintptr_t addr)
{
    char key[LG_KEY_MAX];
    if (n) {
        lg__key_of(n, key);
    } else {
        struct lg_buf k = {0};
        lg__buf_str(&k, "addr:");
        lg__buf_hex(&k, addr);
        lg__strlcpy(key, k.p ? k.p : "addr:0", sizeof(key));
        lg__buf_free(&k);
    }
    lg__buf_str(b, ",\"key\":");
    lg__buf_json_str(b, key);
}

static void put_pc(struct lg_buf *b, uintptr_t pc)
{
    lg__buf_str(b, "[\"");
    lg__buf_hex(b, pc);
    lg__buf_str(b, "\"]");
}

struct cycles {
    uint64_t key[CYCLES_MAX];
    int n;
};

/* True the first time this set of threads is seen. */
static bool first_cycle(struct cycles *c, const int32_t *tid, int n)
{
    uint64_t k = 0;
    for (int i = 0; i < n; i++)
        k += (uint64_t)(uint32_t)tid[i] * 0x9e3779b97f4a7c15ull + 1; /* any order */
    for (int i = 0; i < c->n; i++)
        if (c->key[i] == k)
            return false;
    if (c->n < CYCLES_MAX)
        c->key[c->n++] = k;
    return true;
}

static void put_thread_id(struct lg_buf *b, int32_t tid, uint32_t seq)
{
    char name[16] = "";
    lg__thread_name_of(tid, name);
    lg__report_put_thread(b, tid, seq, name);
}

/* The locks r holds, and what it waits for. */
static void put_record(struct lg_buf *b, struct lg_buf *dl, struct lg_thread *r, struct cycles *cyc,
                       int *ndl, uint64_t now)
{
    /* Held locks first: a waiting thread's do not change until its wait
     * ends, which the snapshot below checks. */
    uint32_t n = __atomic_load_n(&r->held.n, __ATOMIC_ACQUIRE);
    struct lg_held *e = __atomic_load_n(&r->held.e, __ATOMIC_ACQUIRE);
    if (n > HELD_SHOWN)
        n = HELD_SHOWN;
    size_t copy_size = n * sizeof(struct lg_held);
    struct lg_held *copy = n ? lg__map(copy_size) : NULL;
    n = copy ? (uint32_t)(safe_copy(copy, e, n * sizeof(*copy)) / sizeof(*copy)) : 0;
    struct lg_wait_snap w;
    bool waiting = lg__wait_snapshot(r, &w);

    lg__buf_str(b, "{\"kind\":\"live-thread\",\"thread\":");
    put_thread_id(b, r->tid, r->seq);
    lg__buf_str(b, waiting ? ",\"tracked\":true,\"state\":\"waiting\""
                           : ",\"tracked\":true,\"state\":\"running\"");
    lg__buf_str(b, ",\"held\":[");
    const struct lg_stack *cfas = waiting && w.stack ? r->wait_cfas : NULL;
    int shown = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct lg_held *h = &copy[i];
        if (!h->addr || !h->count)
            continue;
        struct lg_node *node = lg__registry_lookup(h->addr);
        if (!node && lg__sem_hold_stale(h->addr))
            continue; /* a semaphore that turned out to be a counter */
        if (shown++)
            lg__buf_char(b, ',');
        lg__buf_str(b, "{\"lock\":");
        lg__report_put_lock(b, node, h->addr);
        put_key(b, node, h->addr);
        lg__buf_str(b, ",\"count\":");
        lg__buf_u64(b, h->count);
        lg__buf_str(b, ",\"stack\":");
        if (cfas && cfas->n == w.stack->n) {
            uintptr_t f[LG_STACK_MAX];
            int k = lg__stack_splice(h->pc, h->cfa, w.stack->pc, cfas->pc, (int)w.stack->n, f,
                                     (int)lg__opt.stack_depth);
            lg__buf_char(b, '[');
            for (int j = 0; j < k; j++) {
                if (j)
                    lg__buf_char(b, ',');
                lg__buf_char(b, '"');
                lg__buf_hex(b, f[j]);
                lg__buf_char(b, '"');
            }
            lg__buf_char(b, ']');
        } else {
            put_pc(b, h->pc);
        }
        if (h->since_ns && now > h->since_ns) {
            lg__buf_str(b, ",\"held_ms\":");
            lg__buf_u64(b, (now - h->since_ns) / 1000000u);
        }
        lg__buf_char(b, '}');
    }
    lg__buf_char(b, ']');
    if (copy)
        lg__unmap(copy, copy_size);
    if (waiting) {
        lg__buf_str(b, ",\"waits\":{\"on\":");
        lg__report_put_wait_on(b, &w.on);
        if (w.on.what == LG_ON_LOCK)
            put_key(b, w.on.node, w.on.addr);
        lg__buf_str(b, w.timed ? ",\"timed\":true" : ",\"timed\":false");
        lg__buf_str(b, ",\"waiting_ms\":");
        lg__buf_u64(b, w.waited_ns / 1000000u);
        lg__buf_str(b, ",\"stack\":");
        if (w.stack)
            lg__report_put_pcs(b, w.stack);
        else
            put_pc(b, w.pc);
        lg__buf_str(b, w.stack ? ",\"stack_full\":true" : ",\"stack_full\":false");
        if (w.owner_tid) {
            lg__buf_str(b, ",\"owner\":");
            put_thread_id(b, w.owner_tid, w.owner_seq);
            if (w.owner_gone)
                lg__buf_str(b, ",\"owner_gone\":true");
        }
        if (w.ncycle) {
            lg__buf_str(b, ",\"cycle\":[");
            for (int i = 0; i < w.ncycle; i++) {
                if (i)
                    lg__buf_char(b, ',');
                lg__buf_i64(b, w.cycle_tid[i]);
            }
            lg__buf_char(b, ']');
        }
        lg__buf_char(b, '}');
    }
    lg__buf_str(b, "}\n");

    /* A deadlock it is in: a cycle (once per set of threads), or a lock
     * whose owner is gone. */
    if (waiting && w.ncycle && first_cycle(cyc, w.cycle_tid, w.ncycle)) {
        lg__buf_str(dl, "{\"kind\":\"live-deadlock\",\"threads\":[");
        for (int i = 0; i < w.ncycle; i++) {
            if (i)
                lg__buf_char(dl, ',');
            lg__buf_i64(dl, w.cycle_tid[i]);
        }
        lg__buf_str(dl, "]}\n");
        (*ndl)++;
    } else if (waiting && w.owner_gone) {
        struct lg_gone_owner g = {.tid = w.owner_tid};
        lg__gone_find(w.owner_tid, w.on.addr, &g);
        lg__buf_str(dl, "{\"kind\":\"live-deadlock\",\"threads\":[");
        lg__buf_i64(dl, r->tid);
        lg__buf_char(dl, ']');
        lg__report_put_gone_owner(dl, &g);
        lg__buf_str(dl, "}\n");
        (*ndl)++;
    }
}

/* The thread ids of this process, from /proc/self/task; up to max. */
static int task_ids(int32_t *out, int max)
{
    int fd =
        (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int n = 0;
    char buf[4096];
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));
        if (got <= 0)
            break;
        for (long off = 0; off < got;) {
            /* struct linux_dirent64: ino, off, reclen, type, name */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof(reclen));
            const char *name = buf + off + 19;
            int32_t tid = 0;
            bool digits = name[0] != 0;
            for (const char *c = name; *c && digits; c++) {
                digits = *c >= '0' && *c <= '9';
                tid = tid * 10 + (*c - '0');
            }
            if (digits && n < max)
                out[n++] = tid;
            off += reclen;
        }
    }
    syscall(SYS_close, fd);
    return n;
}

static void snapshot(struct lg_buf *b)
{
    uint64_t now = lg__now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lg__buf_str(b, "{\"kind\":\"live\",\"version\":1,\"pid\":");
    lg__buf_i64(b, getpid());
    lg__buf_str(b, ",\"time_ns\":");
    lg__buf_u64(b, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    lg__buf_str(b, ",\"exe\":");
    lg__buf_json_str(b, lg__report_exe_path());
    lg__buf_str(b, ",\"held_ms_known\":");
    lg__buf_str(b, lg__opt.hold_warn_ms ? "true" : "false");
    lg__buf_str(b, ",\"modules\":");
    lg__report_put_modules(b);
    lg__buf_str(b, "}\n");

    int32_t *tids = lg__map(TIDS_MAX * sizeof(*tids));
    int ntids = tids ? task_ids(tids, TIDS_MAX) : 0;
    int32_t me = (int32_t)syscall(SYS_gettid);
    struct lg_buf dl = {0};
    struct cycles cyc = {.n = 0};
    int ndl = 0, nthreads = 0;
    for (int i = 0; i < ntids; i++) {
        if (tids[i] == me)
            continue;
        char name[16] = "";
        lg__thread_name_of(tids[i], name);
        if (strncmp(name, "lockgraph-", 10) == 0)
            continue; /* lockgraph's own: the watchdog */
        nthreads++;
        struct lg_thread *r = lg__thread_by_tid(tids[i]);
        if (r && lg__thread_live(r)) {
            put_record(b, &dl, r, &cyc, &ndl, now);
            continue;
        }
        lg__buf_str(b, "{\"kind\":\"live-thread\",\"thread\":");
        lg__report_put_thread(b, tids[i], 0, name);
        lg__buf_str(b, ",\"tracked\":false,\"state\":\"running\",\"held\":[]}\n");
    }
    if (tids)
        lg__unmap(tids, TIDS_MAX * sizeof(*tids));
    if (dl.p)
        lg__buf_put(b, dl.p, dl.len);
    lg__buf_free(&dl);
    lg__buf_str(b, "{\"kind\":\"live-end\",\"threads\":");
    lg__buf_i64(b, nthreads);
    lg__buf_str(b, ",\"deadlocks\":");
    lg__buf_i64(b, ndl);
    lg__buf_str(b, "}\n");
}

/* ---------------------------------------------------------------------- */
/* The thread.                                                             */

static void answer(int c)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    struct timeval tv = {5, 0}; /* a reader that stops reading cannot keep us */
    syscall(SYS_setsockopt, c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (syscall(SYS_getsockopt, c, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
        (cr.uid != geteuid() && cr.uid != 0)) {
        lg__write_str(c, "{\"kind\":\"live-error\",\"error\":\"not-permitted\",\"message\":"
                         "\"only the process's own user (or root) may dump it\"}\n");
        return;
    }
    struct lg_buf b = {0};
    snapshot(&b);
    if (b.failed)
        lg__write_str(c, "{\"kind\":\"live-error\",\"error\":\"out-of-memory\",\"message\":"
                         "\"lockgraph could not format the dump\"}\n");
    else if (b.p)
        (void)lg__write_all(c, b.p, b.len);
    lg__buf_free(&b);
}

static void *serve(void *arg)
{
    (void)arg;
    lg__own_thread_enter("lockgraph-dump");
    for (;;) {
        if (!still_ours(listen_fd)) {
            lg__fd_disown(listen_fd); /* replaced by the program: not ours to close */
            listen_fd = make_socket();
            if (listen_fd < 0) {
                struct timespec ts = {1, 0};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        int c = (int)syscall(SYS_accept4, listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue; /* EINTR, a connection gone already, or our fd closed */
        answer(c);
        syscall(SYS_close, c);
    }
    return NULL;
}

bool lg__live_running(void)
{
    return atomic_load_explicit(&running, memory_order_relaxed);
}

void lg__live_start(void)
{
    if (atomic_exchange(&running, true) || !lg__opt.dump)
        return;
    listen_fd = make_socket();
    if (listen_fd < 0)
        return; /* `lockgraph dump` will say that nobody answers; not asked again */
    if (!lg__own_thread_start(serve)) {
        lg__fd_disown(listen_fd);
        syscall(SYS_close, listen_fd);
        listen_fd = -1;
    }
}

void lg__live_reset_child(void)
{
    /* The fd is the parent's socket, inherited: not ours to accept on. */
    if (listen_fd >= 0) {
        lg__fd_disown(listen_fd);
        syscall(SYS_close, listen_fd);
    }
    listen_fd = -1;
    atomic_store(&running, false);
}
