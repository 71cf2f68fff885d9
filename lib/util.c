/*
 * util.c - string, write and buffer helpers for code reachable from a shim.
 * Buffers grow through lg__map (whole pages), so a finding of any size can
 * be formatted without the host's malloc.
 */
#include "util.h"
#include "alloc.h"

#include <errno.h>
#include <string.h>
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

void lg__buf_free(struct lg_buf *b)
{
    lg__unmap(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
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
        lg__unmap(b->p, b->cap);
    }
    b->p = p;
    b->cap = cap;
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
