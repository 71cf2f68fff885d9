/*
 * outfile.h - where a verb's output goes, and what keeps it well formed.
 *
 * The model: a report is written as it is made, to stdout or to a file
 * given with -o. A file is written under a temporary name beside it and
 * renamed into place only when the output is complete and wanted: a
 * failed or unwanted run (no input could be read) leaves whatever was
 * there before, and never a half-written file. Formats that must be valid
 * UTF-8 (JSON, SARIF, HTML, DOT) are written through a filter that
 * replaces each byte of an invalid sequence - a file name in another
 * encoding, text from the program under test - with U+FFFD, so one odd
 * name cannot make the whole output unreadable. Memory: a stdio buffer.
 */
#ifndef LG_TOOL_OUTFILE_H
#define LG_TOOL_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct lg_outfile {
    const char *path; /* NULL: stdout */
    const char *who;  /* the verb, for messages */
    char *tmp;        /* the temporary file's name */
    FILE *file;       /* stdout or the temporary file */
    FILE *fp;         /* where to write: file, or the UTF-8 filter over it */
};

/* Open the output: `path` NULL or "-" is stdout. Returns 0, or -1 after
 * saying why on stderr ("lockgraph WHO: cannot write PATH: ..."). */
int lg_outfile_open(struct lg_outfile *o, const char *path, bool utf8, const char *who);

/* Finish: flush, and put a file in place. Returns 0, or -1 after saying
 * why (the temporary file is then removed). */
int lg_outfile_commit(struct lg_outfile *o);

/* Give up: a file is not written (whatever was at `path` stays); what was
 * written to stdout stays written. */
void lg_outfile_discard(struct lg_outfile *o);

/* Is this output a file (not stdout)? */
bool lg_outfile_is_file(const struct lg_outfile *o);

/* Write `text` to `path` ("-" or NULL: stdout) the same way. Returns 0, or
 * -1 after saying why on stderr. */
int lg_write_file(const char *path, const char *text, size_t len, const char *who);

/* A stream that writes to `under` with every byte of an invalid UTF-8
 * sequence replaced by U+FFFD (EF BF BD). Closing it flushes a sequence
 * left incomplete (replaced) and leaves `under` open. NULL when out of
 * memory. */
FILE *lg_utf8_filter(FILE *under);

/* How many bytes of s[0..n) start with one valid UTF-8 sequence: 1 to 4;
 * 0 when s[0] starts no valid sequence; -1 when the bytes so far could
 * start one but n is too short to tell. */
int lg_utf8_seq_len(const unsigned char *s, size_t n);

#endif
