/*
 * io.h - locks held across blocking calls: blocking I/O (held-across-io) and
 * waits on other threads and processes (held-across-wait). The check, the
 * fd table, the allowlists and the per-site deduplication, shared by both.
 *
 * The shims (interpose_io.c) ask one question first, lg__io_armed(): does
 * this thread hold a lock at all? That is one thread-local load and one
 * load of the held count, and it is all an I/O call made with no lock held
 * pays. Only when a lock is held does the shim look at its arguments (a
 * zero timeout, MSG_DONTWAIT) and call lg__io_check(), which decides
 * whether the call can block (the fd table: O_NONBLOCK and file type,
 * tracked from the calls that create and change fds), applies the
 * allowlist (io_allow=), and counts the call against its pair of sites:
 * (where each held lock was taken, where the I/O call is made). The first
 * call of a pair is written as a held-across-io finding; later ones only
 * add to its count, and lg__io_exit() writes the pairs whose count grew
 * once more, with the final count, when the process exits.
 *
 * Locking: io_lock guards insertion into the pair table and is taken after
 * threads and before alloc (sync.h). Lookups and counting take no lock.
 * Stacks are captured and interned before io_lock is taken, and the
 * finding is written after it is released.
 */
#ifndef LG_IO_H
#define LG_IO_H

#include "thread.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The watched calls, X(ID, name, family). A fortified __*_chk variant is
 * reported, and allowed, under its plain name; a 64 variant is a call of
 * its own. Names are what findings say in "call" and what io_allow takes. */
/* clang-format off */
#define LG_IO_CALLS(X)                                                                             \
    /* fd I/O */                                                                                   \
    X(READ, read, fd) X(WRITE, write, fd) X(PREAD, pread, fd) X(PREAD64, pread64, fd)               \
    X(PWRITE, pwrite, fd) X(PWRITE64, pwrite64, fd) X(READV, readv, fd) X(WRITEV, writev, fd)       \
    X(PREADV, preadv, fd) X(PREADV64, preadv64, fd) X(PWRITEV, pwritev, fd)                         \
    X(PWRITEV64, pwritev64, fd) X(PREADV2, preadv2, fd) X(PREADV64V2, preadv64v2, fd)               \
    X(PWRITEV2, pwritev2, fd) X(PWRITEV64V2, pwritev64v2, fd)                                       \
    /* sockets */                                                                                  \
    X(CONNECT, connect, socket) X(ACCEPT, accept, socket) X(ACCEPT4, accept4, socket)               \
    X(SEND, send, socket) X(RECV, recv, socket) X(SENDTO, sendto, socket)                           \
    X(RECVFROM, recvfrom, socket) X(SENDMSG, sendmsg, socket) X(RECVMSG, recvmsg, socket)           \
    X(SENDMMSG, sendmmsg, socket) X(RECVMMSG, recvmmsg, socket)                                     \
    /* waiting */                                                                                  \
    X(POLL, poll, wait) X(PPOLL, ppoll, wait) X(SELECT, select, wait) X(PSELECT, pselect, wait)     \
    X(EPOLL_WAIT, epoll_wait, wait) X(EPOLL_PWAIT, epoll_pwait, wait)                               \
    /* durability */                                                                               \
    X(FSYNC, fsync, sync) X(FDATASYNC, fdatasync, sync) X(SYNC_FILE_RANGE, sync_file_range, sync)   \
    X(MSYNC, msync, sync) X(SYNC, sync, sync) X(SYNCFS, syncfs, sync)                               \
    /* sleeping */                                                                                 \
    X(NANOSLEEP, nanosleep, sleep) X(CLOCK_NANOSLEEP, clock_nanosleep, sleep)                       \
    X(USLEEP, usleep, sleep) X(SLEEP, sleep, sleep)                                                 \
    /* stdio */                                                                                    \
    X(FREAD, fread, stdio) X(FWRITE, fwrite, stdio) X(FFLUSH, fflush, stdio)                        \
    X(FGETS, fgets, stdio) X(FPUTS, fputs, stdio) X(GETLINE, getline, stdio)                        \
    X(GETDELIM, getdelim, stdio) X(FPRINTF, fprintf, stdio) X(VFPRINTF, vfprintf, stdio)            \
    X(PRINTF, printf, stdio) X(VPRINTF, vprintf, stdio) X(DPRINTF, dprintf, stdio)                  \
    X(VDPRINTF, vdprintf, stdio) X(FPUTC, fputc, stdio) X(PUTC, putc, stdio)                        \
    X(PUTS, puts, stdio) X(PUTCHAR, putchar, stdio) X(FGETC, fgetc, stdio) X(GETC, getc, stdio)     \
    X(GETCHAR, getchar, stdio) X(FREAD_UNLOCKED, fread_unlocked, stdio)                             \
    X(FWRITE_UNLOCKED, fwrite_unlocked, stdio) X(FPUTS_UNLOCKED, fputs_unlocked, stdio)             \
    X(FGETS_UNLOCKED, fgets_unlocked, stdio) X(FFLUSH_UNLOCKED, fflush_unlocked, stdio)             \
    X(FPUTC_UNLOCKED, fputc_unlocked, stdio) X(FGETC_UNLOCKED, fgetc_unlocked, stdio)               \
    X(PUTC_UNLOCKED, putc_unlocked, stdio) X(GETC_UNLOCKED, getc_unlocked, stdio)

/* The waits on another thread or process (held-across-wait), the same way:
 * X(ID, name, family). Their shims are in interpose_wait.c (and
 * interpose.c for the condition waits); wait_allow takes these names. */
#define LG_WAIT_CALLS(X)                                                                           \
    X(COND_WAIT, pthread_cond_wait, cond) X(COND_TIMEDWAIT, pthread_cond_timedwait, cond)         \
    X(COND_CLOCKWAIT, pthread_cond_clockwait, cond)                                                \
    X(JOIN, pthread_join, join) X(TIMEDJOIN, pthread_timedjoin_np, join)                          \
    X(CLOCKJOIN, pthread_clockjoin_np, join)                                                       \
    X(BARRIER_WAIT, pthread_barrier_wait, barrier)                                                 \
    X(SEM_WAIT, sem_wait, semaphore) X(SEM_TIMEDWAIT, sem_timedwait, semaphore)                   \
    X(SEM_CLOCKWAIT, sem_clockwait, semaphore)                                                     \
    X(WAITPID, waitpid, process) X(WAIT, wait, process) X(WAIT3, wait3, process)                  \
    X(WAIT4, wait4, process) X(WAITID, waitid, process) X(SYSTEM, system, process)
/* clang-format on */

enum lg_io_call {
#define LG_IO_ENUM(id, name, family) LG_IO_##id,
    LG_IO_CALLS(LG_IO_ENUM) LG_WAIT_CALLS(LG_IO_ENUM)
#undef LG_IO_ENUM
        LG_IO_NCALLS
};

/* The first wait call: calls from here on are held-across-wait. */
#define LG_IO_COUNT_ONE(id, name, family) +1
enum { LG_IO_FIRST_WAIT = 0 LG_IO_CALLS(LG_IO_COUNT_ONE) };
#undef LG_IO_COUNT_ONE
_Static_assert(LG_IO_NCALLS <= 128, "the allowlist keeps a bit per call in two words");

static inline bool lg__io_is_wait(int call)
{
    return call >= LG_IO_FIRST_WAIT;
}

const char *lg__io_call_name(int call);
const char *lg__io_call_family(int call);

/* ---- the fd table ----
 * One byte per fd below LG_IO_FD_MAX: 0 means nothing known (inherited,
 * opened before lockgraph or by a call not interposed); otherwise KNOWN,
 * whether O_NONBLOCK is set, and the file type when known. Written by the
 * calls that create, change and close fds, with relaxed atomic stores, and
 * filled on demand by lg__io_check (one fcntl(F_GETFL), and one fstat when
 * the type decides, per fd, only when a lock is held). */
#define LG_IO_FD_MAX 65536
enum {
    LG_FD_KNOWN = 0x80,
    LG_FD_NONBLOCK = 0x40,
    LG_FD_TYPE_MASK = 0x07,
    LG_FD_T_UNKNOWN = 0, /* flags known, type not looked at */
    LG_FD_T_REG = 1,
    LG_FD_T_SOCK = 2,
    LG_FD_T_PIPE = 3, /* pipe or FIFO */
    LG_FD_T_CHR = 4,
    LG_FD_T_BLK = 5,
    LG_FD_T_DIR = 6,
    LG_FD_T_OTHER = 7 /* epoll, eventfd, timerfd, signalfd, ... */
};
extern unsigned char lg__io_fdtab[LG_IO_FD_MAX];

static inline void lg__io_fd_set(int fd, unsigned v)
{
    if ((unsigned)fd < LG_IO_FD_MAX)
        __atomic_store_n(&lg__io_fdtab[fd], (unsigned char)v, __ATOMIC_RELAXED);
}

static inline unsigned lg__io_fd_get(int fd)
{
    return (unsigned)fd < LG_IO_FD_MAX ? __atomic_load_n(&lg__io_fdtab[fd], __ATOMIC_RELAXED) : 0;
}

/* O_NONBLOCK set or cleared on fd (fcntl F_SETFL, ioctl FIONBIO): the type
 * stays whatever it was. */
void lg__io_fd_nonblock(int fd, bool on);
/* newfd now refers to what oldfd refers to (dup, dup2, F_DUPFD). */
static inline void lg__io_fd_dup(int oldfd, int newfd)
{
    lg__io_fd_set(newfd, lg__io_fd_get(oldfd));
}

/* ---- the check ---- */

/* Does this thread hold any lock? The whole cost of an I/O call made with
 * no lock held. lg__self is NULL before the thread's first lock and
 * LG_THREAD_GONE (1) after its exit. */
static inline bool lg__io_armed(void)
{
    struct lg_thread *t = lg__self;
    return __builtin_expect((uintptr_t)t > (uintptr_t)LG_THREAD_GONE, 1) &&
           __builtin_expect(t->held.n != 0, 0);
}

enum {
    /* The call does not block on an fd in O_NONBLOCK mode (unless it is a
     * regular file or block device, which O_NONBLOCK does not affect). */
    LG_IO_FD_NB = 1,
};

struct lg_wait_on;

struct lg_io_call_info {
    int call;       /* enum lg_io_call */
    int fd;         /* -1: none (sleep, poll, select, fflush(NULL), every wait) */
    unsigned how;   /* LG_IO_FD_NB */
    uintptr_t pc;   /* return address of the I/O call */
    uintptr_t cfa;  /* frame address of the shim */
    const void *to; /* connect, sendto: the address called, or NULL */
    unsigned tolen;
    const struct lg_wait_on *on; /* a wait call: what it waits on (report.h) */
};

/* The call is about to be made and, by its arguments, could block; the
 * thread holds a lock. Decide, count, report: held-across-io for an I/O
 * call, held-across-wait for a wait call (on_wait=, wait_allow=). Call
 * between lg__enter and lg__leave; errno may be changed (the shim restores
 * it). */
void lg__io_check(struct lg_thread *t, const struct lg_io_call_info *c);

/* ---- the allowlists (io_allow=, wait_allow=) ----
 * Comma-separated items: a call name (as findings give it), name:NAME (a
 * lock named NAME), site:MODULE+0xOFF (a lock created, or first locked, at
 * that return address) or addr:0xADDR (the lock object at that address).
 * Returns 0, or -1 with a reason in err. With out NULL, only checks.
 * lg__io_allow_parse takes the I/O calls' names; lg__allow_parse with waits
 * set takes the wait calls' names instead. */
#define LG_IO_ALLOW_LOCKS 32
struct lg_io_allow {
    uint64_t calls[2]; /* bit per enum lg_io_call */
    int nlocks;
    struct lg_io_allow_lock {
        enum { LG_ALLOW_NAME, LG_ALLOW_SITE, LG_ALLOW_ADDR, LG_ALLOW_SYM } kind;
        const char *s; /* name, the module of a site, or MODULE:SYMBOL of a sym */
        size_t len;
        uintptr_t off;  /* site or sym offset, or the address */
        uintptr_t addr; /* a site or sym, resolved: 0 while its module is not loaded */
    } lock[LG_IO_ALLOW_LOCKS];
};
int lg__io_allow_parse(const char *s, size_t len, struct lg_io_allow *out, char *err,
                       size_t errlen);
int lg__allow_parse(const char *s, size_t len, struct lg_io_allow *out, char *err, size_t errlen,
                    bool waits);

/* From init, after the options are parsed. */
void lg__io_init(void);
/* At exit (the library destructor): write once more every pair whose count
 * grew since it was written, with "final": true. */
void lg__io_exit(void);

void lg__io_lock_all(void);
void lg__io_unlock_all(void);
/* In a fork child: the parent's pairs and counts are the parent's. */
void lg__io_reset_child(void);

/* What a finding says is in report.h (struct lg_across_finding): the
 * writer depends on nothing here. */

#endif
