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

/* The program's path (/proc/self/exe), read once: its first call is
 * lockgraph's start. "" when it cannot be read. */
const char *lg__exe_path(void);

/* write(2) until done or a hard error; returns 0 or -1. fd 2 means
 * lockgraph's own stderr (lg__stderr_keep), not whatever fd 2 is now. */
int lg__write_all(int fd, const void *p, size_t n);
void lg__write_str(int fd, const char *s);

/* Keep a private copy of the stderr the process started with (a high,
 * close-on-exec fd), so lockgraph's messages keep going there when the
 * program closes fd 2 or puts a file of its own there (a daemon's data
 * file). Until it is called, fd 2 is used as it is. */
void lg__stderr_keep(void);
/* The kept stderr while it is still the file it was at start, else -1:
 * lockgraph then writes nothing to stderr at all. */
int lg__stderr_fd(void);

/* lockgraph's own fds (its stderr, the findings file and its directory):
 * the close shims (interpose_io.c) leave them open, so a program that
 * closes every fd, as daemons do, cannot take them away. An fd found to be
 * no longer ours (the program dup2'ed over its number) is given up. */
void lg__fd_own(int fd);
void lg__fd_disown(int fd);
bool lg__fd_is_own(int fd);
bool lg__fd_any_own(void);
/* close_range(first, last, flags) through `real`, skipping the own fds:
 * one call per gap between them. */
int lg__close_range_around_own(unsigned first, unsigned last, int flags,
                               int (*real)(unsigned, unsigned, int));

/* A file descriptor number at or above LG_FD_HIGH when the limit allows:
 * clear of the low numbers programs dup2 onto. Closes fd when it moved it. */
#define LG_FD_HIGH 700
int lg__fd_high(int fd);

/* Open `name` (relative to dirfd, or absolute) to write into, the way a file
 * lockgraph writes must be: never through a final symbolic link; created
 * with O_EXCL when it is not there; when it is, only a regular file of this
 * process's effective user with no other hard link. `flags` adds O_APPEND
 * or O_TRUNC (applied only once the file passed those checks). Returns the
 * fd (close-on-exec), or -1 with errno set and *why a phrase saying what
 * was refused ("is a symbolic link"), NULL when errno says it all. */
int lg__open_output(int dirfd, const char *name, int flags, const char **why);

/* `path` made absolute against the working directory now. 0, or -1 when
 * the working directory is unknown or the result does not fit. */
int lg__path_absolute(const char *path, char *out, size_t outlen);

/* For the library's big tables (hash tables of 32-128 KiB, touched a
 * random page at a time): after .bss, so that the small variables every
 * process start and every fork child writes share a few pages instead of
 * being spread between the tables (on a VM a page's first touch costs a
 * fault of about 13 us). */
#define LG_LARGE_BSS __attribute__((section(".lbss")))

/* A growable buffer. On allocation failure it stops growing and sets
 * `failed`; what was appended so far stays valid. */
struct lg_buf {
    char *p;
    size_t len, cap;
    bool failed;
    bool borrowed; /* p is the caller's storage (lg__buf_in), not a mapping */
};

/* A buffer that starts in the caller's storage: a short string costs no
 * mapping (an mmap, a page fault and an munmap, which in a process with
 * threads is a TLB flush on every CPU it runs on). Grows into a mapping
 * when it must. */
void lg__buf_in(struct lg_buf *b, char *storage, size_t size);
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
