/*
 * util.h - small helpers that code reachable from a shim may use: string
 * copies, whole writes to a file descriptor, and a growable text buffer with
 * JSON escaping. No stdio, no host malloc (see alloc.h).
 */
#ifndef LG_UTIL_H
#define LG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t lg__strlcpy(char *dst, const char *src, size_t size);
size_t lg__strlcat(char *dst, const char *src, size_t size);

/* write(2) until done or a hard error; returns 0 or -1. */
int lg__write_all(int fd, const void *p, size_t n);
void lg__write_str(int fd, const char *s);

/* A growable buffer. On allocation failure it stops growing and sets
 * `failed`; what was appended so far stays valid. */
struct lg_buf {
    char *p;
    size_t len, cap;
    bool failed;
};

void lg__buf_free(struct lg_buf *b);
void lg__buf_put(struct lg_buf *b, const char *s, size_t n);
void lg__buf_str(struct lg_buf *b, const char *s);
void lg__buf_char(struct lg_buf *b, char c);
void lg__buf_u64(struct lg_buf *b, uint64_t v);
void lg__buf_i64(struct lg_buf *b, int64_t v);
void lg__buf_hex(struct lg_buf *b, uint64_t v); /* 0x... */
/* A JSON string literal, quotes included; bytes that are not valid UTF-8
 * are written as \u00XX so the line stays valid JSON. */
void lg__buf_json_str(struct lg_buf *b, const char *s);

#endif
