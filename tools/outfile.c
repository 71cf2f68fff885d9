/*
 * outfile.c - the output of a verb: stdout or a file put in place by
 * rename, through a UTF-8 filter for the formats that need one.
 *
 * Does: mkstemp beside the target (mode as for any new file), rename when
 * done, unlink when not; fopencookie for the filter, which keeps at most
 * three bytes of a sequence split between two writes.
 * Does not: decide whether output is wanted (the verbs do), or escape
 * anything for a format (each format escapes its own syntax).
 */
#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- UTF-8 ---- */

int lg_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    int len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* no overlong forms */
        else if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
            return 0;
    }
    return len;
}

static const char replacement[] = "\xef\xbf\xbd";

struct filter {
    FILE *under;
    unsigned char pending[4]; /* the start of a sequence cut by a write */
    size_t n_pending;
};

/* Write the valid part of s[0..n) to the stream, replacing invalid bytes;
 * an incomplete sequence at the end is left for the next write (unless
 * `last`). Returns false on a write error. */
static bool put_valid(struct filter *f, const unsigned char *s, size_t n, bool last, size_t *used)
{
    size_t i = 0, run = 0; /* s[i - run .. i) is valid and not yet written */
    while (i < n) {
        int len = lg_utf8_seq_len(s + i, n - i);
        if (len > 0) {
            i += (size_t)len;
            run += (size_t)len;
            continue;
        }
        if (len < 0 && !last)
            break; /* wait for the rest */
        if (run && fwrite(s + i - run, 1, run, f->under) != run)
            return false;
        run = 0;
        if (fwrite(replacement, 1, 3, f->under) != 3)
            return false;
        i++;
    }
    if (run && fwrite(s + i - run, 1, run, f->under) != run)
        return false;
    *used = i;
    return true;
}

static ssize_t filter_write(void *cookie, const char *buf, size_t size)
{
    struct filter *f = cookie;
    size_t done = 0;
    /* Complete a pending sequence byte by byte. */
    while (f->n_pending && done < size) {
        f->pending[f->n_pending++] = (unsigned char)buf[done++];
        size_t used = 0;
        if (!put_valid(f, f->pending, f->n_pending, false, &used))
            return -1;
        memmove(f->pending, f->pending + used, f->n_pending - used);
        f->n_pending -= used;
    }
    if (done == size)
        return (ssize_t)size; /* all of it went to the pending sequence */
    size_t used = 0;
    const unsigned char *s = (const unsigned char *)buf + done;
    if (!put_valid(f, s, size - done, false, &used))
        return -1;
    f->n_pending = size - done - used; /* at most 3: an incomplete sequence */
    memcpy(f->pending, s + used, f->n_pending);
    return (ssize_t)size;
}

static int filter_close(void *cookie)
{
    struct filter *f = cookie;
    size_t used;
    bool ok = put_valid(f, f->pending, f->n_pending, true, &used);
    free(f);
    return ok ? 0 : EOF;
}

FILE *lg_utf8_filter(FILE *under)
{
    struct filter *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->under = under;
    cookie_io_functions_t io = {.write = filter_write, .close = filter_close};
    FILE *fp = fopencookie(f, "w", io);
    if (!fp)
        free(f);
    return fp;
}

/* ---- the output ---- */

static bool to_stdout(const char *path)
{
    return !path || strcmp(path, "-") == 0;
}

int lg_outfile_open(struct lg_outfile *o, const char *path, bool utf8, const char *who)
{
    memset(o, 0, sizeof *o);
    o->who = who;
    if (to_stdout(path)) {
        o->file = stdout;
    } else {
        o->path = path;
        size_t tlen = strlen(path) + 16;
        int fd = -1;
        if ((o->tmp = malloc(tlen))) {
            snprintf(o->tmp, tlen, "%s.XXXXXX", path);
            fd = mkstemp(o->tmp);
        } else {
            errno = ENOMEM;
        }
        if (fd < 0 || !(o->file = fdopen(fd, "w"))) {
            fprintf(stderr, "lockgraph %s: cannot write %s: %s\n", who, path, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(o->tmp);
            }
            free(o->tmp);
            o->tmp = NULL;
            return -1;
        }
        /* mkstemp makes it 0600; an artifact is as readable as any new file. */
        mode_t mask = umask(0);
        umask(mask);
        (void)fchmod(fd, 0666 & ~mask);
    }
    o->fp = o->file;
    if (utf8 && !(o->fp = lg_utf8_filter(o->file))) {
        fprintf(stderr, "lockgraph %s: out of memory\n", who);
        lg_outfile_discard(o);
        return -1;
    }
    return 0;
}

bool lg_outfile_is_file(const struct lg_outfile *o)
{
    return o->path != NULL;
}

/* Close the filter and the file; the first error, or 0. */
static int close_all(struct lg_outfile *o)
{
    int err = 0;
    if (o->fp && o->fp != o->file && fclose(o->fp) != 0)
        err = errno ? errno : EIO;
    o->fp = NULL;
    if (o->file == stdout) {
        if ((fflush(stdout) != 0 || ferror(stdout)) && !err)
            err = errno ? errno : EIO;
    } else if (o->file) {
        int bad = ferror(o->file);
        if (fclose(o->file) != 0 || bad) {
            if (!err)
                err = errno ? errno : EIO;
        }
    }
    o->file = NULL;
    return err;
}

int lg_outfile_commit(struct lg_outfile *o)
{
    bool file = o->path != NULL;
    errno = 0;
    int err = close_all(o);
    if (!err && file && rename(o->tmp, o->path) != 0)
        err = errno;
    if (err) {
        if (file)
            fprintf(stderr, "lockgraph %s: cannot write %s: %s\n", o->who, o->path, strerror(err));
        else
            fprintf(stderr, "lockgraph %s: cannot write to stdout: %s\n", o->who, strerror(err));
    }
    if (file && err)
        unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    return err ? -1 : 0;
}

void lg_outfile_discard(struct lg_outfile *o)
{
    close_all(o);
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}

int lg_write_file(const char *path, const char *text, size_t len, const char *who)
{
    struct lg_outfile o;
    if (lg_outfile_open(&o, path, false, who) != 0)
        return -1;
    if (len && fwrite(text, 1, len, o.fp) != len) {
        /* commit reports the stream's error */
    }
    return lg_outfile_commit(&o);
}
