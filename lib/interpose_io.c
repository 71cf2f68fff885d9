/*
 * interpose_io.c - the I/O shims: blocking calls checked for held locks, and
 * the calls that create, change and close fds, which keep the fd table.
 *
 * Every blocking-call shim has one shape: if the thread holds a lock
 * (lg__io_armed: one thread-local load and one compare, the whole cost of
 * an I/O call made with no lock held) and the call's arguments allow it to
 * block (no zero timeout, no MSG_DONTWAIT, ...), io_slow() hands it to
 * lg__io_check (io.c); then the real function is called, unchanged, so its
 * cancellation point and errno are the real ones. io_slow saves and
 * restores errno. Calls from inside lockgraph (lg__busy: its own write of a
 * finding) and the write a stdio shim's real function makes (in_stdio)
 * are not checked.
 *
 * stdio: glibc's fwrite, printf and friends reach write(2) through libc's
 * internal calls, which no interposer sees, so they are checked themselves,
 * on the stream's fd. <stdio.h> is not included: glibc's extern inline
 * getchar, putchar, getline... would clash with these definitions.
 *
 * The real functions are found with dlsym(RTLD_NEXT) at start-up
 * (lg__interpose_io_resolve). Until then the system-call-like ones go
 * straight to the kernel with syscall(2), and the rest are resolved on
 * their first call.
 */
#undef _FORTIFY_SOURCE

#include "interpose.h"
#include "io.h"
#include "runtime.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifdef _STDIO_H
#error "interpose_io.c must not include <stdio.h>: see the header comment"
#endif

typedef struct _IO_FILE FILE;
extern FILE *stdout;
extern FILE *stdin;
extern int fileno_unlocked(FILE *f);

#define LG_EXPORT __attribute__((visibility("default")))

/* ---------------------------------------------------------------------- */
/* Before dlsym: the kernel.                                               */

static ssize_t sys_read(int fd, void *b, size_t n)
{
    return syscall(SYS_read, fd, b, n);
}
static ssize_t sys_write(int fd, const void *b, size_t n)
{
    return syscall(SYS_write, fd, b, n);
}
static ssize_t sys_pread(int fd, void *b, size_t n, off_t o)
{
    return syscall(SYS_pread64, fd, b, n, o);
}
static ssize_t sys_pwrite(int fd, const void *b, size_t n, off_t o)
{
    return syscall(SYS_pwrite64, fd, b, n, o);
}
static ssize_t sys_readv(int fd, const struct iovec *v, int n)
{
    return syscall(SYS_readv, fd, v, n);
}
static ssize_t sys_writev(int fd, const struct iovec *v, int n)
{
    return syscall(SYS_writev, fd, v, n);
}
static int sys_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}

static int sys_close_range(unsigned lo, unsigned hi, int fl)
{
    return (int)syscall(SYS_close_range, lo, hi, fl);
}
static int sys_open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = __OPEN_NEEDS_MODE(flags) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}
static int sys_openat(int dir, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = __OPEN_NEEDS_MODE(flags) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return (int)syscall(SYS_openat, dir, path, flags, mode);
}
static int sys_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}
static int sys_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return (int)syscall(SYS_ioctl, fd, req, arg);
}
static int sys_dup(int fd)
{
    return (int)syscall(SYS_dup, fd);
}
static int sys_dup2(int a, int b)
{
    return (int)syscall(SYS_dup2, a, b);
}
static int sys_dup3(int a, int b, int f)
{
    return (int)syscall(SYS_dup3, a, b, f);
}
static int sys_socket(int d, int t, int p)
{
    return (int)syscall(SYS_socket, d, t, p);
}
static int sys_pipe2(int fds[2], int f)
{
    return (int)syscall(SYS_pipe2, fds, f);
}
static int sys_pipe(int fds[2])
{
    return sys_pipe2(fds, 0);
}
static int sys_nanosleep(const struct timespec *req, struct timespec *rem)
{
    return (int)syscall(SYS_nanosleep, req, rem);
}
static int sys_fsync(int fd)
{
    return (int)syscall(SYS_fsync, fd);
}
static int sys_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    return (int)syscall(SYS_poll, fds, n, timeout);
}

/* ---------------------------------------------------------------------- */
/* The real functions. X(name, return type, parameters, before dlsym).     */

#define LG_IO_REAL_TABLE(X)                                                                        \
    X(read, ssize_t, (int, void *, size_t), sys_read)                                              \
    X(write, ssize_t, (int, const void *, size_t), sys_write)                                      \
    X(pread, ssize_t, (int, void *, size_t, off_t), sys_pread)                                     \
    X(pread64, ssize_t, (int, void *, size_t, off64_t), sys_pread)                                 \
    X(pwrite, ssize_t, (int, const void *, size_t, off_t), sys_pwrite)                             \
    X(pwrite64, ssize_t, (int, const void *, size_t, off64_t), sys_pwrite)                         \
    X(readv, ssize_t, (int, const struct iovec *, int), sys_readv)                                 \
    X(writev, ssize_t, (int, const struct iovec *, int), sys_writev)                               \
    X(preadv, ssize_t, (int, const struct iovec *, int, off_t), NULL)                              \
    X(preadv64, ssize_t, (int, const struct iovec *, int, off64_t), NULL)                          \
    X(pwritev, ssize_t, (int, const struct iovec *, int, off_t), NULL)                             \
    X(pwritev64, ssize_t, (int, const struct iovec *, int, off64_t), NULL)                         \
    X(preadv2, ssize_t, (int, const struct iovec *, int, off_t, int), NULL)                        \
    X(preadv64v2, ssize_t, (int, const struct iovec *, int, off64_t, int), NULL)                   \
    X(pwritev2, ssize_t, (int, const struct iovec *, int, off_t, int), NULL)                       \
    X(pwritev64v2, ssize_t, (int, const struct iovec *, int, off64_t, int), NULL)                  \
    X(__read_chk, ssize_t, (int, void *, size_t, size_t), NULL)                                    \
    X(__pread_chk, ssize_t, (int, void *, size_t, off_t, size_t), NULL)                            \
    X(__pread64_chk, ssize_t, (int, void *, size_t, off64_t, size_t), NULL)                        \
    X(connect, int, (int, __CONST_SOCKADDR_ARG, socklen_t), NULL)                                  \
    X(accept, int, (int, __SOCKADDR_ARG, socklen_t *), NULL)                                       \
    X(accept4, int, (int, __SOCKADDR_ARG, socklen_t *, int), NULL)                                 \
    X(send, ssize_t, (int, const void *, size_t, int), NULL)                                       \
    X(recv, ssize_t, (int, void *, size_t, int), NULL)                                             \
    X(sendto, ssize_t, (int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t), NULL)    \
    X(recvfrom, ssize_t, (int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *), NULL)            \
    X(sendmsg, ssize_t, (int, const struct msghdr *, int), NULL)                                   \
    X(recvmsg, ssize_t, (int, struct msghdr *, int), NULL)                                         \
    X(sendmmsg, int, (int, struct mmsghdr *, unsigned int, int), NULL)                             \
    X(recvmmsg, int, (int, struct mmsghdr *, unsigned int, int, struct timespec *), NULL)          \
    X(__recv_chk, ssize_t, (int, void *, size_t, size_t, int), NULL)                               \
    X(__recvfrom_chk, ssize_t, (int, void *, size_t, size_t, int, __SOCKADDR_ARG, socklen_t *),    \
      NULL)                                                                                        \
    X(poll, int, (struct pollfd *, nfds_t, int), sys_poll)                                         \
    X(__poll_chk, int, (struct pollfd *, nfds_t, int, size_t), NULL)                               \
    X(ppoll, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *), NULL)      \
    X(__ppoll_chk, int,                                                                            \
      (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t), NULL)          \
    X(select, int, (int, fd_set *, fd_set *, fd_set *, struct timeval *), NULL)                    \
    X(pselect, int,                                                                                \
      (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *), NULL)        \
    X(epoll_wait, int, (int, struct epoll_event *, int, int), NULL)                                \
    X(epoll_pwait, int, (int, struct epoll_event *, int, int, const sigset_t *), NULL)             \
    X(fsync, int, (int), sys_fsync)                                                                \
    X(fdatasync, int, (int), NULL)                                                                 \
    X(sync_file_range, int, (int, off64_t, off64_t, unsigned int), NULL)                           \
    X(msync, int, (void *, size_t, int), NULL)                                                     \
    X(sync, void, (void), NULL)                                                                    \
    X(syncfs, int, (int), NULL)                                                                    \
    X(nanosleep, int, (const struct timespec *, struct timespec *), sys_nanosleep)                 \
    X(clock_nanosleep, int, (clockid_t, int, const struct timespec *, struct timespec *), NULL)    \
    X(usleep, int, (useconds_t), NULL)                                                             \
    X(sleep, unsigned int, (unsigned int), NULL)                                                   \
    X(fread, size_t, (void *, size_t, size_t, FILE *), NULL)                                       \
    X(fwrite, size_t, (const void *, size_t, size_t, FILE *), NULL)                                \
    X(fflush, int, (FILE *), NULL)                                                                 \
    X(fgets, char *, (char *, int, FILE *), NULL)                                                  \
    X(fputs, int, (const char *, FILE *), NULL)                                                    \
    X(getline, ssize_t, (char **, size_t *, FILE *), NULL)                                         \
    X(getdelim, ssize_t, (char **, size_t *, int, FILE *), NULL)                                   \
    X(vfprintf, int, (FILE *, const char *, va_list), NULL)                                        \
    X(vprintf, int, (const char *, va_list), NULL)                                                 \
    X(vdprintf, int, (int, const char *, va_list), NULL)                                           \
    X(__vfprintf_chk, int, (FILE *, int, const char *, va_list), NULL)                             \
    X(__vprintf_chk, int, (int, const char *, va_list), NULL)                                      \
    X(__vdprintf_chk, int, (int, int, const char *, va_list), NULL)                                \
    X(fputc, int, (int, FILE *), NULL)                                                             \
    X(putc, int, (int, FILE *), NULL)                                                              \
    X(puts, int, (const char *), NULL)                                                             \
    X(putchar, int, (int), NULL)                                                                   \
    X(fgetc, int, (FILE *), NULL)                                                                  \
    X(getc, int, (FILE *), NULL)                                                                   \
    X(getchar, int, (void), NULL)                                                                  \
    X(fread_unlocked, size_t, (void *, size_t, size_t, FILE *), NULL)                              \
    X(fwrite_unlocked, size_t, (const void *, size_t, size_t, FILE *), NULL)                       \
    X(fputs_unlocked, int, (const char *, FILE *), NULL)                                           \
    X(fgets_unlocked, char *, (char *, int, FILE *), NULL)                                         \
    X(fflush_unlocked, int, (FILE *), NULL)                                                        \
    X(fputc_unlocked, int, (int, FILE *), NULL)                                                    \
    X(fgetc_unlocked, int, (FILE *), NULL)                                                         \
    X(putc_unlocked, int, (int, FILE *), NULL)                                                     \
    X(getc_unlocked, int, (FILE *), NULL)                                                          \
    X(__fread_chk, size_t, (void *, size_t, size_t, size_t, FILE *), NULL)                         \
    X(__fread_unlocked_chk, size_t, (void *, size_t, size_t, size_t, FILE *), NULL)                \
    X(__fgets_chk, char *, (char *, size_t, int, FILE *), NULL)                                    \
    X(__fgets_unlocked_chk, char *, (char *, size_t, int, FILE *), NULL)                           \
    X(open, int, (const char *, int, ...), sys_open)                                               \
    X(open64, int, (const char *, int, ...), sys_open)                                             \
    X(openat, int, (int, const char *, int, ...), sys_openat)                                      \
    X(openat64, int, (int, const char *, int, ...), sys_openat)                                    \
    X(__open_2, int, (const char *, int), NULL)                                                    \
    X(__open64_2, int, (const char *, int), NULL)                                                  \
    X(__openat_2, int, (int, const char *, int), NULL)                                             \
    X(__openat64_2, int, (int, const char *, int), NULL)                                           \
    X(creat, int, (const char *, mode_t), NULL)                                                    \
    X(creat64, int, (const char *, mode_t), NULL)                                                  \
    X(fcntl, int, (int, int, ...), sys_fcntl)                                                      \
    X(fcntl64, int, (int, int, ...), sys_fcntl)                                                    \
    X(ioctl, int, (int, unsigned long, ...), sys_ioctl)                                            \
    X(dup, int, (int), sys_dup)                                                                    \
    X(dup2, int, (int, int), sys_dup2)                                                             \
    X(dup3, int, (int, int, int), sys_dup3)                                                        \
    X(close, int, (int), sys_close)                                                                \
    X(close_range, int, (unsigned int, unsigned int, int), sys_close_range)                        \
    X(closefrom, void, (int), NULL)                                                                \
    X(socket, int, (int, int, int), sys_socket)                                                    \
    X(socketpair, int, (int, int, int, int *), NULL)                                               \
    X(pipe, int, (int *), sys_pipe)                                                                \
    X(pipe2, int, (int *, int), sys_pipe2)                                                         \
    X(epoll_create, int, (int), NULL)                                                              \
    X(epoll_create1, int, (int), NULL)                                                             \
    X(eventfd, int, (unsigned int, int), NULL)                                                     \
    X(timerfd_create, int, (clockid_t, int), NULL)                                                 \
    X(signalfd, int, (int, const sigset_t *, int), NULL)                                           \
    X(fopen, FILE *, (const char *, const char *), NULL)                                           \
    X(fopen64, FILE *, (const char *, const char *), NULL)                                         \
    X(freopen, FILE *, (const char *, const char *, FILE *), NULL)                                 \
    X(freopen64, FILE *, (const char *, const char *, FILE *), NULL)                               \
    X(fclose, int, (FILE *), NULL)                                                                 \
    X(popen, FILE *, (const char *, const char *), NULL)                                           \
    X(pclose, int, (FILE *), NULL)

#define LG_IO_REAL_DEF(name, ret, params, early) static ret(*real_##name) params = early;
LG_IO_REAL_TABLE(LG_IO_REAL_DEF)

void lg__interpose_io_resolve(void){
#define LG_IO_RESOLVE(name, ret, params, early)                                                    \
    {                                                                                              \
        void *p = dlsym(RTLD_NEXT, #name);                                                         \
        if (p)                                                                                     \
            __atomic_store_n(&real_##name, (ret(*) params)p, __ATOMIC_RELAXED);                    \
    }
    LG_IO_REAL_TABLE(LG_IO_RESOLVE)}

/* The ones with no system call behind them, called before start-up:
 * resolved on first use. */
#define LG_IO_LATE(name, ret, params, early)                                                       \
    __attribute__((noinline)) static ret(*resolve_##name(void)) params                             \
    {                                                                                              \
        int saved = lg__busy;                                                                      \
        lg__busy = 1;                                                                              \
        real_##name = (ret(*) params)dlsym(RTLD_NEXT, #name);                                      \
        lg__busy = saved;                                                                          \
        return real_##name;                                                                        \
    }
LG_IO_REAL_TABLE(LG_IO_LATE)

#define REAL(name) (__builtin_expect(real_##name != NULL, 1) ? real_##name : resolve_##name())

    /* ---------------------------------------------------------------------- */
    /* The check.                                                              */

    /* Set while a stdio shim runs its real function: a write it makes through
     * an interposable call (a fopencookie stream) is part of the stdio call. */
    static __thread int in_stdio LG_TLS;

#define PC ((uintptr_t)__builtin_return_address(0))
#define CFA ((uintptr_t)__builtin_dwarf_cfa())

__attribute__((noinline, cold)) static void io_slow_to(int call, int fd, unsigned how, uintptr_t pc,
                                                       uintptr_t cfa, const void *to,
                                                       unsigned tolen)
{
    if (lg__busy || in_stdio)
        return;
    int saved = errno;
    struct lg_thread *t = lg__enter();
    if (t) {
        struct lg_io_call_info c = {
            .call = call, .fd = fd, .how = how, .pc = pc, .cfa = cfa, .to = to, .tolen = tolen};
        lg__io_check(t, &c);
        lg__leave();
    }
    errno = saved;
}

static void io_slow(int call, int fd, unsigned how, uintptr_t pc, uintptr_t cfa)
{
    io_slow_to(call, fd, how, pc, cfa, NULL, 0);
}

/* A stdio call on stream f (NULL: fflush(NULL), every stream). A stream
 * with no fd (fmemopen, open_memstream) cannot block. */
__attribute__((noinline, cold)) static void stdio_slow(int call, FILE *f, uintptr_t pc,
                                                       uintptr_t cfa)
{
    if (lg__busy || in_stdio)
        return;
    if (!f) { /* fflush(NULL): every stream; may write any of them */
        io_slow(call, -1, 0, pc, cfa);
        return;
    }
    int saved = errno;
    int fd = fileno_unlocked(f);
    errno = saved;
    if (fd >= 0)
        io_slow(call, fd, LG_IO_FD_NB, pc, cfa);
}

#define ARMED __builtin_expect(lg__io_armed(), 0)

/* The checked path of a shim lives out of line, in a cold function that
 * takes the call's arguments plus its site and makes the real call too, so
 * that the unchecked path stays a test and a tail jump (no registers to
 * save around a call). */
#define WITH_SITE(...) (__VA_ARGS__, uintptr_t pc_, uintptr_t cfa_)
#define PASS_SITE(...) (__VA_ARGS__, PC, CFA)
#define COLD __attribute__((noinline, cold))

static inline bool zero_ts(const struct timespec *ts)
{
    return ts && ts->tv_sec == 0 && ts->tv_nsec == 0;
}

/* ---------------------------------------------------------------------- */
/* fd I/O and sockets: an fd in O_NONBLOCK mode does not block.            */

/* name(params): blocking unless `nb`; the fd is `fd`. */
/* The checked function also takes the rare call made before the real
 * function is known (it resolves it), so both branches are tail calls. */
#define CHECKED_SHIM(ret, name, ID, params, args, fd, how, nb)                                     \
    COLD static ret checked_##name WITH_SITE params                                                \
    {                                                                                              \
        if (lg__io_armed() && !(nb))                                                               \
            io_slow(LG_IO_##ID, fd, how, pc_, cfa_);                                               \
        return REAL(name) args;                                                                    \
    }                                                                                              \
    LG_EXPORT ret name params                                                                      \
    {                                                                                              \
        __typeof__(real_##name) real_ = real_##name;                                               \
        if ((ARMED && !(nb)) || __builtin_expect(real_ == NULL, 0))                                \
            return checked_##name PASS_SITE args;                                                  \
        return real_ args;                                                                         \
    }
#define FD_SHIM(ret, name, ID, params, args, fd, nb)                                               \
    CHECKED_SHIM(ret, name, ID, params, args, fd, LG_IO_FD_NB, nb)

FD_SHIM(ssize_t, read, READ, (int fd, void *b, size_t n), (fd, b, n), fd, 0)
FD_SHIM(ssize_t, write, WRITE, (int fd, const void *b, size_t n), (fd, b, n), fd, 0)
FD_SHIM(ssize_t, pread, PREAD, (int fd, void *b, size_t n, off_t o), (fd, b, n, o), fd, 0)
FD_SHIM(ssize_t, pread64, PREAD64, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o), fd, 0)
FD_SHIM(ssize_t, pwrite, PWRITE, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o), fd, 0)
FD_SHIM(ssize_t, pwrite64, PWRITE64, (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o),
        fd, 0)
FD_SHIM(ssize_t, readv, READV, (int fd, const struct iovec *v, int n), (fd, v, n), fd, 0)
FD_SHIM(ssize_t, writev, WRITEV, (int fd, const struct iovec *v, int n), (fd, v, n), fd, 0)
FD_SHIM(ssize_t, preadv, PREADV, (int fd, const struct iovec *v, int n, off_t o), (fd, v, n, o), fd,
        0)
FD_SHIM(ssize_t, preadv64, PREADV64, (int fd, const struct iovec *v, int n, off64_t o),
        (fd, v, n, o), fd, 0)
FD_SHIM(ssize_t, pwritev, PWRITEV, (int fd, const struct iovec *v, int n, off_t o), (fd, v, n, o),
        fd, 0)
FD_SHIM(ssize_t, pwritev64, PWRITEV64, (int fd, const struct iovec *v, int n, off64_t o),
        (fd, v, n, o), fd, 0)
FD_SHIM(ssize_t, preadv2, PREADV2, (int fd, const struct iovec *v, int n, off_t o, int fl),
        (fd, v, n, o, fl), fd, (fl & RWF_NOWAIT))
FD_SHIM(ssize_t, preadv64v2, PREADV64V2, (int fd, const struct iovec *v, int n, off64_t o, int fl),
        (fd, v, n, o, fl), fd, (fl & RWF_NOWAIT))
FD_SHIM(ssize_t, pwritev2, PWRITEV2, (int fd, const struct iovec *v, int n, off_t o, int fl),
        (fd, v, n, o, fl), fd, (fl & RWF_NOWAIT))
FD_SHIM(ssize_t, pwritev64v2, PWRITEV64V2,
        (int fd, const struct iovec *v, int n, off64_t o, int fl), (fd, v, n, o, fl), fd,
        (fl & RWF_NOWAIT))
FD_SHIM(ssize_t, __read_chk, READ, (int fd, void *b, size_t n, size_t len), (fd, b, n, len), fd, 0)
FD_SHIM(ssize_t, __pread_chk, PREAD, (int fd, void *b, size_t n, off_t o, size_t len),
        (fd, b, n, o, len), fd, 0)
FD_SHIM(ssize_t, __pread64_chk, PREAD64, (int fd, void *b, size_t n, off64_t o, size_t len),
        (fd, b, n, o, len), fd, 0)

/* connect and sendto say where they are going: the finding names it. */
COLD static int checked_connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t l, uintptr_t pc_,
                                uintptr_t cfa_)
{
    io_slow_to(LG_IO_CONNECT, fd, LG_IO_FD_NB, pc_, cfa_, a.__sockaddr__, l);
    return REAL(connect)(fd, a, l);
}

LG_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t l)
{
    if (ARMED)
        return checked_connect(fd, a, l, PC, CFA);
    return REAL(connect)(fd, a, l);
}

COLD static ssize_t checked_sendto(int fd, const void *b, size_t n, int fl, __CONST_SOCKADDR_ARG a,
                                   socklen_t l, uintptr_t pc_, uintptr_t cfa_)
{
    io_slow_to(LG_IO_SENDTO, fd, LG_IO_FD_NB, pc_, cfa_, a.__sockaddr__, l);
    return REAL(sendto)(fd, b, n, fl, a, l);
}

LG_EXPORT ssize_t sendto(int fd, const void *b, size_t n, int fl, __CONST_SOCKADDR_ARG a,
                         socklen_t l)
{
    if (ARMED && !(fl & MSG_DONTWAIT))
        return checked_sendto(fd, b, n, fl, a, l, PC, CFA);
    return REAL(sendto)(fd, b, n, fl, a, l);
}
FD_SHIM(ssize_t, send, SEND, (int fd, const void *b, size_t n, int fl), (fd, b, n, fl), fd,
        (fl & MSG_DONTWAIT))
FD_SHIM(ssize_t, recv, RECV, (int fd, void *b, size_t n, int fl), (fd, b, n, fl), fd,
        (fl & MSG_DONTWAIT))
FD_SHIM(ssize_t, recvfrom, RECVFROM,
        (int fd, void *b, size_t n, int fl, __SOCKADDR_ARG a, socklen_t *l), (fd, b, n, fl, a, l),
        fd, (fl & MSG_DONTWAIT))
FD_SHIM(ssize_t, sendmsg, SENDMSG, (int fd, const struct msghdr *m, int fl), (fd, m, fl), fd,
        (fl & MSG_DONTWAIT))
FD_SHIM(ssize_t, recvmsg, RECVMSG, (int fd, struct msghdr *m, int fl), (fd, m, fl), fd,
        (fl & MSG_DONTWAIT))
FD_SHIM(int, sendmmsg, SENDMMSG, (int fd, struct mmsghdr *m, unsigned int n, int fl),
        (fd, m, n, fl), fd, (fl & MSG_DONTWAIT))
FD_SHIM(int, recvmmsg, RECVMMSG,
        (int fd, struct mmsghdr *m, unsigned int n, int fl, struct timespec *t), (fd, m, n, fl, t),
        fd, (fl & MSG_DONTWAIT))
FD_SHIM(ssize_t, __recv_chk, RECV, (int fd, void *b, size_t n, size_t len, int fl),
        (fd, b, n, len, fl), fd, (fl & MSG_DONTWAIT))
FD_SHIM(ssize_t, __recvfrom_chk, RECVFROM,
        (int fd, void *b, size_t n, size_t len, int fl, __SOCKADDR_ARG a, socklen_t *l),
        (fd, b, n, len, fl, a, l), fd, (fl & MSG_DONTWAIT))

/* accept: checked on the listening fd; the new fd is a socket, blocking
 * unless accept4 says SOCK_NONBLOCK (it does not inherit O_NONBLOCK). The
 * call itself is slow (a system call that makes an fd): no cold split. */
LG_EXPORT int accept(int fd, __SOCKADDR_ARG a, socklen_t *l)
{
    if (ARMED)
        io_slow(LG_IO_ACCEPT, fd, LG_IO_FD_NB, PC, CFA);
    int r = REAL(accept)(fd, a, l);
    lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_SOCK);
    return r;
}

LG_EXPORT int accept4(int fd, __SOCKADDR_ARG a, socklen_t *l, int fl)
{
    if (ARMED)
        io_slow(LG_IO_ACCEPT4, fd, LG_IO_FD_NB, PC, CFA);
    int r = REAL(accept4)(fd, a, l, fl);
    lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_SOCK | ((fl & SOCK_NONBLOCK) ? LG_FD_NONBLOCK : 0));
    return r;
}

/* ---------------------------------------------------------------------- */
/* Waiting: a zero timeout does not block. O_NONBLOCK on an epoll fd does  */
/* not matter to epoll_wait; its fd is given to say which epoll it is.     */

#define WAIT_SHIM(ret, name, ID, params, args, fd, nb)                                             \
    CHECKED_SHIM(ret, name, ID, params, args, fd, 0, nb)

WAIT_SHIM(int, poll, POLL, (struct pollfd * f, nfds_t n, int t), (f, n, t), -1, t == 0)
WAIT_SHIM(int, __poll_chk, POLL, (struct pollfd * f, nfds_t n, int t, size_t len), (f, n, t, len),
          -1, t == 0)
WAIT_SHIM(int, ppoll, PPOLL,
          (struct pollfd * f, nfds_t n, const struct timespec *t, const sigset_t *s), (f, n, t, s),
          -1, zero_ts(t))
WAIT_SHIM(int, __ppoll_chk, PPOLL,
          (struct pollfd * f, nfds_t n, const struct timespec *t, const sigset_t *s, size_t len),
          (f, n, t, s, len), -1, zero_ts(t))
WAIT_SHIM(int, select, SELECT, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t),
          (n, r, w, e, t), -1, t && t->tv_sec == 0 && t->tv_usec == 0)
WAIT_SHIM(int, pselect, PSELECT,
          (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s),
          (n, r, w, e, t, s), -1, zero_ts(t))
WAIT_SHIM(int, epoll_wait, EPOLL_WAIT, (int ep, struct epoll_event *ev, int n, int t),
          (ep, ev, n, t), ep, t == 0)
WAIT_SHIM(int, epoll_pwait, EPOLL_PWAIT,
          (int ep, struct epoll_event *ev, int n, int t, const sigset_t *s), (ep, ev, n, t, s), ep,
          t == 0)

/* Durability: always waits for the disk, except msync without MS_SYNC
 * (MS_ASYNC is a no-op on Linux) and sync_file_range without a WAIT flag
 * (it only starts write-out). */
WAIT_SHIM(int, fsync, FSYNC, (int fd), (fd), fd, 0)
WAIT_SHIM(int, fdatasync, FDATASYNC, (int fd), (fd), fd, 0)
WAIT_SHIM(int, syncfs, SYNCFS, (int fd), (fd), fd, 0)
WAIT_SHIM(int, sync_file_range, SYNC_FILE_RANGE, (int fd, off64_t o, off64_t n, unsigned int fl),
          (fd, o, n, fl), fd, !(fl & (SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER)))
WAIT_SHIM(int, msync, MSYNC, (void *a, size_t n, int fl), (a, n, fl), -1, !(fl & MS_SYNC))

LG_EXPORT void sync(void)
{
    if (ARMED)
        io_slow(LG_IO_SYNC, -1, 0, PC, CFA);
    REAL(sync)();
}

/* Sleeping: a zero duration does not sleep. */
WAIT_SHIM(int, nanosleep, NANOSLEEP, (const struct timespec *r, struct timespec *m), (r, m), -1,
          zero_ts(r))
WAIT_SHIM(int, clock_nanosleep, CLOCK_NANOSLEEP,
          (clockid_t c, int fl, const struct timespec *r, struct timespec *m), (c, fl, r, m), -1,
          !(fl & TIMER_ABSTIME) && zero_ts(r))
WAIT_SHIM(int, usleep, USLEEP, (useconds_t us), (us), -1, us == 0)
WAIT_SHIM(unsigned int, sleep, SLEEP, (unsigned int s), (s), -1, s == 0)

/* ---------------------------------------------------------------------- */
/* stdio.                                                                  */

#define STDIO_SHIM(ret, name, ID, params, args, stream)                                            \
    COLD static ret checked_##name WITH_SITE params                                                \
    {                                                                                              \
        if (!lg__io_armed())                                                                       \
            return REAL(name) args; /* only not resolved yet */                                    \
        stdio_slow(LG_IO_##ID, stream, pc_, cfa_);                                                 \
        in_stdio++;                                                                                \
        ret r = REAL(name) args;                                                                   \
        in_stdio--;                                                                                \
        return r;                                                                                  \
    }                                                                                              \
    LG_EXPORT ret name params                                                                      \
    {                                                                                              \
        __typeof__(real_##name) real_ = real_##name;                                               \
        if (ARMED || __builtin_expect(real_ == NULL, 0))                                           \
            return checked_##name PASS_SITE args;                                                  \
        return real_ args;                                                                         \
    }

STDIO_SHIM(size_t, fread, FREAD, (void *p, size_t s, size_t n, FILE *f), (p, s, n, f), f)
STDIO_SHIM(size_t, fwrite, FWRITE, (const void *p, size_t s, size_t n, FILE *f), (p, s, n, f), f)
STDIO_SHIM(int, fflush, FFLUSH, (FILE * f), (f), f)
STDIO_SHIM(char *, fgets, FGETS, (char *s, int n, FILE *f), (s, n, f), f)
STDIO_SHIM(int, fputs, FPUTS, (const char *s, FILE *f), (s, f), f)
STDIO_SHIM(ssize_t, getline, GETLINE, (char **l, size_t *n, FILE *f), (l, n, f), f)
STDIO_SHIM(ssize_t, getdelim, GETDELIM, (char **l, size_t *n, int d, FILE *f), (l, n, d, f), f)
STDIO_SHIM(int, vfprintf, VFPRINTF, (FILE * f, const char *fmt, va_list ap), (f, fmt, ap), f)
STDIO_SHIM(int, vprintf, VPRINTF, (const char *fmt, va_list ap), (fmt, ap), stdout)
STDIO_SHIM(int, __vfprintf_chk, VFPRINTF, (FILE * f, int fl, const char *fmt, va_list ap),
           (f, fl, fmt, ap), f)
STDIO_SHIM(int, __vprintf_chk, VPRINTF, (int fl, const char *fmt, va_list ap), (fl, fmt, ap),
           stdout)
STDIO_SHIM(int, fputc, FPUTC, (int c, FILE *f), (c, f), f)
STDIO_SHIM(int, putc, PUTC, (int c, FILE *f), (c, f), f)
STDIO_SHIM(int, puts, PUTS, (const char *s), (s), stdout)
STDIO_SHIM(int, putchar, PUTCHAR, (int c), (c), stdout)
STDIO_SHIM(int, fgetc, FGETC, (FILE * f), (f), f)
STDIO_SHIM(int, getc, GETC, (FILE * f), (f), f)
COLD static int checked_getchar(uintptr_t pc_, uintptr_t cfa_)
{
    if (!lg__io_armed())
        return REAL(getchar)();
    stdio_slow(LG_IO_GETCHAR, stdin, pc_, cfa_);
    in_stdio++;
    int r = REAL(getchar)();
    in_stdio--;
    return r;
}

LG_EXPORT int getchar(void)
{
    __typeof__(real_getchar) real_ = real_getchar;
    if (ARMED || __builtin_expect(real_ == NULL, 0))
        return checked_getchar(PC, CFA);
    return real_();
}

STDIO_SHIM(size_t, fread_unlocked, FREAD_UNLOCKED, (void *p, size_t s, size_t n, FILE *f),
           (p, s, n, f), f)
STDIO_SHIM(size_t, fwrite_unlocked, FWRITE_UNLOCKED, (const void *p, size_t s, size_t n, FILE *f),
           (p, s, n, f), f)
STDIO_SHIM(int, fputs_unlocked, FPUTS_UNLOCKED, (const char *s, FILE *f), (s, f), f)
STDIO_SHIM(char *, fgets_unlocked, FGETS_UNLOCKED, (char *s, int n, FILE *f), (s, n, f), f)
STDIO_SHIM(int, fflush_unlocked, FFLUSH_UNLOCKED, (FILE * f), (f), f)
STDIO_SHIM(int, fputc_unlocked, FPUTC_UNLOCKED, (int c, FILE *f), (c, f), f)
STDIO_SHIM(int, fgetc_unlocked, FGETC_UNLOCKED, (FILE * f), (f), f)
STDIO_SHIM(int, putc_unlocked, PUTC_UNLOCKED, (int c, FILE *f), (c, f), f)
STDIO_SHIM(int, getc_unlocked, GETC_UNLOCKED, (FILE * f), (f), f)
STDIO_SHIM(size_t, __fread_chk, FREAD, (void *p, size_t len, size_t s, size_t n, FILE *f),
           (p, len, s, n, f), f)
STDIO_SHIM(size_t, __fread_unlocked_chk, FREAD_UNLOCKED,
           (void *p, size_t len, size_t s, size_t n, FILE *f), (p, len, s, n, f), f)
STDIO_SHIM(char *, __fgets_chk, FGETS, (char *s, size_t len, int n, FILE *f), (s, len, n, f), f)
STDIO_SHIM(char *, __fgets_unlocked_chk, FGETS_UNLOCKED, (char *s, size_t len, int n, FILE *f),
           (s, len, n, f), f)

/* The printf family: the variadic ones call the real v- function. dprintf
 * writes an fd, not a stream. */
#define PRINTF_BODY(ID, stream, vcall)                                                             \
    int r;                                                                                         \
    va_list ap;                                                                                    \
    va_start(ap, fmt);                                                                             \
    if (ARMED) {                                                                                   \
        stdio_slow(LG_IO_##ID, stream, PC, CFA);                                                   \
        in_stdio++;                                                                                \
        r = vcall;                                                                                 \
        in_stdio--;                                                                                \
    } else {                                                                                       \
        r = vcall;                                                                                 \
    }                                                                                              \
    va_end(ap);                                                                                    \
    return r;

LG_EXPORT int fprintf(FILE *f, const char *fmt,
                      ...){PRINTF_BODY(FPRINTF, f, REAL(vfprintf)(f, fmt, ap))}

LG_EXPORT int printf(const char *fmt, ...){PRINTF_BODY(PRINTF, stdout, REAL(vprintf)(fmt, ap))}

LG_EXPORT int __fprintf_chk(FILE *f, int fl, const char *fmt,
                            ...){PRINTF_BODY(FPRINTF, f, REAL(__vfprintf_chk)(f, fl, fmt, ap))}

LG_EXPORT int __printf_chk(int fl, const char *fmt,
                           ...){PRINTF_BODY(PRINTF, stdout, REAL(__vprintf_chk)(fl, fmt, ap))}

#define DPRINTF_BODY(ID, fd, vcall)                                                                \
    int r;                                                                                         \
    va_list ap;                                                                                    \
    va_start(ap, fmt);                                                                             \
    if (ARMED)                                                                                     \
        io_slow(LG_IO_##ID, fd, LG_IO_FD_NB, PC, CFA);                                             \
    r = vcall;                                                                                     \
    va_end(ap);                                                                                    \
    return r;

LG_EXPORT int dprintf(int fd, const char *fmt,
                      ...){DPRINTF_BODY(DPRINTF, fd, REAL(vdprintf)(fd, fmt, ap))}

LG_EXPORT int __dprintf_chk(int fd, int fl, const char *fmt,
                            ...){DPRINTF_BODY(DPRINTF, fd, REAL(__vdprintf_chk)(fd, fl, fmt, ap))}

FD_SHIM(int, vdprintf, VDPRINTF, (int fd, const char *fmt, va_list ap), (fd, fmt, ap), fd, 0)
    FD_SHIM(int, __vdprintf_chk, VDPRINTF, (int fd, int fl, const char *fmt, va_list ap),
            (fd, fl, fmt, ap), fd, 0)

    /* ---------------------------------------------------------------------- */
    /* The fd table: what creates, changes and closes fds. Unknown is always   */
    /* safe (the check then asks the kernel, once), so anything uncertain is   */
    /* forgotten rather than guessed.                                          */

    static inline unsigned nb_if(int flags, int bit)
{
    return (flags & bit) ? LG_FD_NONBLOCK : 0;
}

static inline int opened(int fd, int flags)
{
    lg__io_fd_set(fd, LG_FD_KNOWN | nb_if(flags, O_NONBLOCK));
    return fd;
}

static inline mode_t mode_arg(int flags, va_list ap)
{
    return __OPEN_NEEDS_MODE(flags) ? va_arg(ap, mode_t) : 0;
}

#define OPEN_SHIM(name)                                                                            \
    LG_EXPORT int name(const char *path, int flags, ...)                                           \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, flags);                                                                       \
        mode_t mode = mode_arg(flags, ap);                                                         \
        va_end(ap);                                                                                \
        return opened(REAL(name)(path, flags, mode), flags);                                       \
    }
OPEN_SHIM(open)
OPEN_SHIM(open64)

#define OPENAT_SHIM(name)                                                                          \
    LG_EXPORT int name(int dir, const char *path, int flags, ...)                                  \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, flags);                                                                       \
        mode_t mode = mode_arg(flags, ap);                                                         \
        va_end(ap);                                                                                \
        return opened(REAL(name)(dir, path, flags, mode), flags);                                  \
    }
OPENAT_SHIM(openat)
OPENAT_SHIM(openat64)

LG_EXPORT int __open_2(const char *path, int flags)
{
    return opened(REAL(__open_2)(path, flags), flags);
}
LG_EXPORT int __open64_2(const char *path, int flags)
{
    return opened(REAL(__open64_2)(path, flags), flags);
}
LG_EXPORT int __openat_2(int dir, const char *path, int flags)
{
    return opened(REAL(__openat_2)(dir, path, flags), flags);
}
LG_EXPORT int __openat64_2(int dir, const char *path, int flags)
{
    return opened(REAL(__openat64_2)(dir, path, flags), flags);
}
LG_EXPORT int creat(const char *path, mode_t mode)
{
    return opened(REAL(creat)(path, mode), 0);
}
LG_EXPORT int creat64(const char *path, mode_t mode)
{
    return opened(REAL(creat64)(path, mode), 0);
}

static int fcntl_done(int fd, int cmd, void *arg, int r)
{
    if (r < 0)
        return r;
    switch (cmd) {
    case F_SETFL:
        lg__io_fd_nonblock(fd, ((long)arg & O_NONBLOCK) != 0);
        break;
    case F_GETFL: /* the program asked: now we know too */
        lg__io_fd_nonblock(fd, (r & O_NONBLOCK) != 0);
        break;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        lg__io_fd_dup(fd, r);
        break;
    default:
        break;
    }
    return r;
}

/* The third argument is an int or a pointer, by cmd; read as a pointer
 * and passed on as one, as glibc does. */
LG_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_done(fd, cmd, arg, REAL(fcntl)(fd, cmd, arg));
}

LG_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_done(fd, cmd, arg, REAL(fcntl64)(fd, cmd, arg));
}

LG_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int r = REAL(ioctl)(fd, req, arg);
    if (r == 0 && req == FIONBIO && arg)
        lg__io_fd_nonblock(fd, *(const int *)arg != 0);
    return r;
}

LG_EXPORT int dup(int fd)
{
    int r = REAL(dup)(fd);
    if (r >= 0)
        lg__io_fd_dup(fd, r);
    return r;
}

LG_EXPORT int dup2(int fd, int to)
{
    int r = REAL(dup2)(fd, to);
    if (r >= 0)
        lg__io_fd_dup(fd, r);
    return r;
}

LG_EXPORT int dup3(int fd, int to, int fl)
{
    int r = REAL(dup3)(fd, to, fl);
    if (r >= 0)
        lg__io_fd_dup(fd, r);
    return r;
}

/* close, close_range, closefrom leave lockgraph's own fds open (util.h:
 * its stderr, the findings file and its directory), so a daemon closing
 * every fd cannot take them: as if the program never had them, close() of
 * one fails with EBADF and the ranges go around them. */
LG_EXPORT int close(int fd)
{
    if (__builtin_expect(lg__fd_is_own(fd), 0)) {
        errno = EBADF;
        return -1;
    }
    lg__io_fd_set(fd, 0);
    return REAL(close)(fd);
}

static void forget_range(unsigned lo, unsigned hi)
{
    for (unsigned fd = lo; fd <= hi && fd < LG_IO_FD_MAX; fd++)
        lg__io_fd_set((int)fd, 0);
}

LG_EXPORT int close_range(unsigned int lo, unsigned int hi, int fl)
{
    /* close-on-exec for lockgraph's own changes nothing: they are */
    int r = (fl & CLOSE_RANGE_CLOEXEC) ? REAL(close_range)(lo, hi, fl)
                                       : lg__close_range_around_own(lo, hi, fl, REAL(close_range));
    if (r == 0 && !(fl & CLOSE_RANGE_CLOEXEC))
        forget_range(lo, hi);
    return r;
}

LG_EXPORT void closefrom(int lo)
{
    if (lo >= 0)
        forget_range((unsigned)lo, LG_IO_FD_MAX - 1);
    if (!lg__fd_any_own()) {
        REAL(closefrom)(lo);
        return;
    }
    if (lo >= 0 && lg__close_range_around_own((unsigned)lo, ~0u, 0, REAL(close_range)) == 0)
        return;
    /* no close_range (a kernel before 5.9): one at a time, around ours */
    for (long fd = lo < 0 ? 0 : lo, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
        if (!lg__fd_is_own((int)fd))
            syscall(SYS_close, fd);
}

LG_EXPORT int socket(int d, int type, int p)
{
    int r = REAL(socket)(d, type, p);
    lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_SOCK | nb_if(type, SOCK_NONBLOCK));
    return r;
}

LG_EXPORT int socketpair(int d, int type, int p, int sv[2])
{
    int r = REAL(socketpair)(d, type, p, sv);
    if (r == 0) {
        lg__io_fd_set(sv[0], LG_FD_KNOWN | LG_FD_T_SOCK | nb_if(type, SOCK_NONBLOCK));
        lg__io_fd_set(sv[1], LG_FD_KNOWN | LG_FD_T_SOCK | nb_if(type, SOCK_NONBLOCK));
    }
    return r;
}

LG_EXPORT int pipe(int fds[2])
{
    int r = REAL(pipe)(fds);
    if (r == 0) {
        lg__io_fd_set(fds[0], LG_FD_KNOWN | LG_FD_T_PIPE);
        lg__io_fd_set(fds[1], LG_FD_KNOWN | LG_FD_T_PIPE);
    }
    return r;
}

LG_EXPORT int pipe2(int fds[2], int fl)
{
    int r = REAL(pipe2)(fds, fl);
    if (r == 0) {
        lg__io_fd_set(fds[0], LG_FD_KNOWN | LG_FD_T_PIPE | nb_if(fl, O_NONBLOCK));
        lg__io_fd_set(fds[1], LG_FD_KNOWN | LG_FD_T_PIPE | nb_if(fl, O_NONBLOCK));
    }
    return r;
}

LG_EXPORT int epoll_create(int n)
{
    int r = REAL(epoll_create)(n);
    lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_OTHER);
    return r;
}

LG_EXPORT int epoll_create1(int fl)
{
    int r = REAL(epoll_create1)(fl);
    lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_OTHER);
    return r;
}

LG_EXPORT int eventfd(unsigned int n, int fl)
{
    int r = REAL(eventfd)(n, fl);
    lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_OTHER | nb_if(fl, EFD_NONBLOCK));
    return r;
}

LG_EXPORT int timerfd_create(clockid_t c, int fl)
{
    int r = REAL(timerfd_create)(c, fl);
    lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_OTHER | nb_if(fl, TFD_NONBLOCK));
    return r;
}

LG_EXPORT int signalfd(int fd, const sigset_t *mask, int fl)
{
    int r = REAL(signalfd)(fd, mask, fl);
    if (fd == -1) /* a new one; an existing one keeps its flags */
        lg__io_fd_set(r, LG_FD_KNOWN | LG_FD_T_OTHER | nb_if(fl, SFD_NONBLOCK));
    return r;
}

/* Streams open and close their fds inside libc, where no shim sees it. */
static FILE *stream_opened(FILE *f, unsigned v)
{
    if (f) {
        int saved = errno;
        lg__io_fd_set(fileno_unlocked(f), v);
        errno = saved;
    }
    return f;
}

LG_EXPORT FILE *fopen(const char *path, const char *mode)
{
    return stream_opened(REAL(fopen)(path, mode), LG_FD_KNOWN);
}

LG_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    return stream_opened(REAL(fopen64)(path, mode), LG_FD_KNOWN);
}

LG_EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
    return stream_opened(REAL(freopen)(path, mode, f), 0);
}

LG_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
    return stream_opened(REAL(freopen64)(path, mode, f), 0);
}

LG_EXPORT FILE *popen(const char *cmd, const char *mode)
{
    return stream_opened(REAL(popen)(cmd, mode), LG_FD_KNOWN | LG_FD_T_PIPE);
}

static void stream_closing(FILE *f)
{
    if (f) {
        int saved = errno;
        lg__io_fd_set(fileno_unlocked(f), 0);
        errno = saved;
    }
}

LG_EXPORT int fclose(FILE *f)
{
    stream_closing(f);
    return REAL(fclose)(f);
}

LG_EXPORT int pclose(FILE *f)
{
    stream_closing(f);
    return REAL(pclose)(f);
}
