/*
 * util.c - string, write, file and buffer helpers for code reachable from a
 * shim. Buffers grow through lg__map (whole pages), so a finding of any size
 * can be formatted without the host's malloc. Files are opened with system
 * calls (no cancellation point, no stdio).
 */
#include "util.h"
#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

size_t lg__strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = 0;
    }
    return n;
}

size_t lg__strlcat(char *dst, const char *src, size_t size)
{
    size_t d = strnlen(dst, size);
    if (d == size)
        return d + strlen(src);
    return d + lg__strlcpy(dst + d, src, size - d);
}

/* The system call itself, not libc's write(): that one is a cancellation
 * point, and a thread with a cancel pending would unwind out of lockgraph
 * in the middle of writing a finding, holding the report lock. */
int lg__write_all(int fd, const void *p, size_t n)
{
    if (fd == 2 && (fd = lg__stderr_fd()) < 0)
        return -1;
    const char *c = p;
    while (n) {
        ssize_t w = syscall(SYS_write, fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

void lg__write_str(int fd, const char *s)
{
    int saved = errno;
    (void)lg__write_all(fd, s, strlen(s));
    errno = saved;
}

/* ---- lockgraph's own fds ----
 * fd + 1 in each slot, 0 free: a handful, set and cleared rarely, read by
 * every close() of the program. */
#define OWN_FDS 8
static _Atomic int own_fds[OWN_FDS];

void lg__fd_own(int fd)
{
    if (fd < 0)
        return;
    for (int i = 0; i < OWN_FDS; i++) {
        int free_slot = 0;
        if (__atomic_compare_exchange_n(&own_fds[i], &free_slot, fd + 1, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return;
    }
}

void lg__fd_disown(int fd)
{
    if (fd < 0)
        return;
    for (int i = 0; i < OWN_FDS; i++) {
        int mine = fd + 1;
        __atomic_compare_exchange_n(&own_fds[i], &mine, 0, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED);
    }
}

bool lg__fd_is_own(int fd)
{
    for (int i = 0; i < OWN_FDS; i++)
        if (__atomic_load_n(&own_fds[i], __ATOMIC_ACQUIRE) == fd + 1)
            return fd >= 0;
    return false;
}

bool lg__fd_any_own(void)
{
    for (int i = 0; i < OWN_FDS; i++)
        if (__atomic_load_n(&own_fds[i], __ATOMIC_ACQUIRE))
            return true;
    return false;
}

static int own_sorted(int *out, int max)
{
    int n = 0;
    for (int i = 0; i < OWN_FDS && n < max; i++) {
        int fd = __atomic_load_n(&own_fds[i], __ATOMIC_ACQUIRE) - 1;
        if (fd < 0)
            continue;
        int k = n++;
        for (; k > 0 && out[k - 1] > fd; k--)
            out[k] = out[k - 1];
        out[k] = fd;
    }
    return n;
}

int lg__close_range_around_own(unsigned first, unsigned last, int flags,
                               int (*real)(unsigned, unsigned, int))
{
    int own[OWN_FDS];
    int n = own_sorted(own, OWN_FDS);
    unsigned lo = first;
    for (int i = 0; i < n; i++) {
        unsigned fd = (unsigned)own[i];
        if (fd < lo || fd > last)
            continue;
        if (fd > lo && real(lo, fd - 1, flags) != 0)
            return -1;
        if (fd == last)
            return 0;
        lo = fd + 1;
    }
    return real(lo, last, flags);
}

/* ---- lockgraph's own stderr ----
 * Set once at start (before any thread of the program's but the starting
 * one can call in) and inherited by fork children; read without a lock. */
static int err_fd = -1;
static bool err_kept;
static dev_t err_dev;
static ino_t err_ino;

int lg__fd_high(int fd)
{
    int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, LG_FD_HIGH);
    if (high < 0) /* RLIMIT_NOFILE below it: keep the low one */
        return fd;
    syscall(SYS_close, fd);
    return high;
}

void lg__stderr_keep(void)
{
    struct stat st;
    int fd = (int)syscall(SYS_fcntl, 2, F_DUPFD_CLOEXEC, LG_FD_HIGH);
    if (fd < 0)
        fd = (int)syscall(SYS_fcntl, 2, F_DUPFD_CLOEXEC, 3);
    if (fd >= 0 && fstat(fd, &st) != 0) {
        syscall(SYS_close, fd);
        fd = -1;
    }
    if (fd >= 0) {
        err_dev = st.st_dev;
        err_ino = st.st_ino;
        lg__fd_own(fd);
    }
    err_fd = fd; /* -1: the program started with fd 2 closed; say nothing */
    err_kept = true;
}

int lg__stderr_fd(void)
{
    if (!err_kept)
        return 2;
    int fd = err_fd;
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || st.st_dev != err_dev || st.st_ino != err_ino) {
        lg__fd_disown(fd); /* the number is the program's now */
        return -1;
    }
    return fd;
}

/* ---- files lockgraph writes ---- */

static bool acceptable(const struct stat *st, const char **why)
{
    if (S_ISLNK(st->st_mode))
        *why = "is a symbolic link";
    else if (!S_ISREG(st->st_mode))
        *why = "is not a regular file";
    else if (st->st_uid != geteuid())
        *why = "belongs to another user";
    else if (st->st_nlink > 1)
        *why = "has other hard links";
    else
        return true;
    errno = EPERM;
    return false;
}

int lg__open_output(int dirfd, const char *name, int flags, const char **why)
{
    *why = NULL;
    int extra = flags & O_APPEND;
    for (int tries = 0; tries < 2; tries++) {
        struct stat st, now;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT)
                return -1;
            int fd =
                (int)syscall(SYS_openat, dirfd, name,
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | extra, 0644);
            if (fd >= 0 || errno != EEXIST)
                return fd;
            continue; /* made by someone else meanwhile: look at what it is */
        }
        if (!acceptable(&st, why))
            return -1;
        /* O_NONBLOCK: should it have become a FIFO since, open must not
         * wait for a reader; the check below then refuses it. */
        int fd = (int)syscall(SYS_openat, dirfd, name,
                              O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | extra);
        if (fd < 0) {
            if (errno == ELOOP)
                *why = "is a symbolic link";
            return -1;
        }
        if (fstat(fd, &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino ||
            !acceptable(&now, why)) {
            if (!*why)
                *why = "was replaced while it was opened";
            syscall(SYS_close, fd);
            errno = EPERM;
            return -1;
        }
        syscall(SYS_fcntl, fd, F_SETFL, (long)(O_WRONLY | extra));
        if ((flags & O_TRUNC) && syscall(SYS_ftruncate, fd, 0) != 0) {
            int e = errno;
            syscall(SYS_close, fd);
            errno = e;
            return -1;
        }
        return fd;
    }
    *why = "keeps changing";
    errno = EAGAIN;
    return -1;
}

int lg__path_absolute(const char *path, char *out, size_t outlen)
{
    if (path[0] == '/')
        return lg__strlcpy(out, path, outlen) < outlen ? 0 : -1;
    /* getcwd with a buffer of ours allocates nothing */
    if (outlen < 2 || !getcwd(out, outlen))
        return -1;
    size_t n = strlen(out);
    if (n > 1 && lg__strlcat(out, "/", outlen) >= outlen)
        return -1;
    return lg__strlcat(out, path, outlen) < outlen ? 0 : -1;
}

void lg__buf_in(struct lg_buf *b, char *storage, size_t size)
{
    *b = (struct lg_buf){.p = storage, .cap = size, .borrowed = true};
    if (size)
        storage[0] = 0;
}

void lg__buf_free(struct lg_buf *b)
{
    if (!b->borrowed)
        lg__unmap(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
    b->borrowed = false;
}

static bool grow(struct lg_buf *b, size_t need)
{
    if (b->failed)
        return false;
    if (b->len + need + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + need + 1)
        cap *= 2;
    char *p = lg__map(cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    if (b->p) {
        memcpy(p, b->p, b->len);
        if (!b->borrowed)
            lg__unmap(b->p, b->cap);
    }
    b->p = p;
    b->cap = cap;
    b->borrowed = false;
    return true;
}

void lg__buf_put(struct lg_buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void lg__buf_str(struct lg_buf *b, const char *s)
{
    lg__buf_put(b, s, strlen(s));
}

void lg__buf_char(struct lg_buf *b, char c)
{
    lg__buf_put(b, &c, 1);
}

void lg__buf_u64(struct lg_buf *b, uint64_t v)
{
    char tmp[24];
    int i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    lg__buf_put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

void lg__buf_i64(struct lg_buf *b, int64_t v)
{
    if (v < 0) {
        lg__buf_char(b, '-');
        lg__buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        lg__buf_u64(b, (uint64_t)v);
    }
}

void lg__buf_hex(struct lg_buf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[20];
    int i = sizeof(tmp);
    do {
        tmp[--i] = digits[v & 15];
        v >>= 4;
    } while (v);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    lg__buf_put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static int utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xC2))
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

void lg__buf_json_str(struct lg_buf *b, const char *s)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    lg__buf_char(b, '"');
    while (*u) {
        unsigned char c = *u;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            lg__buf_put(b, e, 2);
            u++;
        } else if (c == '\n') {
            lg__buf_put(b, "\\n", 2);
            u++;
        } else if (c == '\t') {
            lg__buf_put(b, "\\t", 2);
            u++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
            lg__buf_put(b, e, 6);
            u++;
        } else {
            int n = utf8_len(u);
            if (n == 0) { /* not UTF-8: keep the byte visible, keep JSON valid */
                char e[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
                lg__buf_put(b, e, 6);
                u++;
            } else {
                lg__buf_put(b, (const char *)u, (size_t)n);
                u += n;
            }
        }
    }
    lg__buf_char(b, '"');
}

const char *lg__exe_path(void)
{
    /* The first call is lockgraph's start, which runs once (lg__start);
     * every later one reads what it wrote. */
    static char path[1024];
    static atomic_bool done;
    if (!atomic_load_explicit(&done, memory_order_acquire)) {
        long n = syscall(SYS_readlink, "/proc/self/exe", path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = 0;
        atomic_store_explicit(&done, true, memory_order_release);
    }
    return path;
}
