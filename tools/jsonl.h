/*
 * jsonl.h - what the readers of lockgraph's JSON Lines files share: a line
 * reader that knows a last line without newline was cut short, and typed
 * field readers for the schema's building blocks (addresses, stacks,
 * threads, modules) over json-c.
 *
 * The model: a parse keeps one context; the first error wins (later ones are
 * its consequences) and every reader returns false once the context has
 * failed. Absent fields read as zero / NULL: the schema only ever adds
 * fields, so readers decide what they require. Internal to the tool: findings.c
 * and graphfile.c use it; nothing outside tools/ includes it.
 */
#ifndef LG_TOOL_JSONL_H
#define LG_TOOL_JSONL_H

#include <json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "findings.h"

/* ---- lines ---- */

/* The longest line read. The library writes one finding a line; the
 * longest it makes (a thousand-lock cycle with 128-frame stacks) is a few
 * MiB. A longer line is refused with its file:line and skipped; the rest
 * of the file is still read. */
#define LG_JSONL_MAX_LINE ((size_t)16 << 20)
/* A line still going past this many bytes is not a line of a JSON Lines
 * file at all (/dev/zero, a binary, an endless pipe): reading stops. */
#define LG_JSONL_MAX_RUN ((uint64_t)256 << 20)

struct lg_jsonl_reader {
    FILE *fp;
    char *buf; /* the line */
    size_t cap;
    char *chunk; /* read ahead from fp */
    size_t chunk_pos, chunk_len;
    size_t lineno;    /* of the line last returned, 1-based */
    uint64_t offset;  /* byte offset of the line last returned */
    uint64_t pos;     /* byte offset of the next byte */
    uint64_t run_len; /* LG_JSONL_LONG, LG_JSONL_ENDLESS: how long the line was */
    bool done;        /* end of file, error, or endless: nothing more to read */
};

enum lg_jsonl_next {
    LG_JSONL_LINE,    /* a whole line, newline removed */
    LG_JSONL_END,     /* end of file */
    LG_JSONL_CUT,     /* a last line with no newline (and not blank): the writer
                         died mid-line, or the file is not JSON Lines; the
                         bytes are in *text / *len for the caller to tell
                         (lg_json_is_cut_object) */
    LG_JSONL_ERROR,   /* read error (errno set) */
    LG_JSONL_LONG,    /* a line longer than LG_JSONL_MAX_LINE, skipped (run_len
                         says how long); reading goes on */
    LG_JSONL_ENDLESS, /* a line past LG_JSONL_MAX_RUN bytes with no end:
                         reading stops (run_len bytes were skipped) */
};

void lg_jsonl_open(struct lg_jsonl_reader *r, FILE *fp);
/* Start reading `fp` at byte `offset` of the file, as line `lineno` - 1.
 * Returns 0, or -1 when it cannot seek (errno set). */
int lg_jsonl_seek(struct lg_jsonl_reader *r, uint64_t offset, size_t lineno);
/* The next line in *text / *len; *text stays valid until the next call.
 * Memory: one line, at most LG_JSONL_MAX_LINE, and a 64 KiB buffer. */
enum lg_jsonl_next lg_jsonl_next(struct lg_jsonl_reader *r, const char **text, size_t *len);
void lg_jsonl_close(struct lg_jsonl_reader *r); /* frees the buffers; not fp */

/* Is `text` (a last line cut short) the start of a JSON object, as a writer
 * that died mid-line leaves it? Anything else is garbage, not a finding
 * cut short. */
bool lg_json_is_cut_object(const char *text, size_t len);

/* ---- one parse ---- */

struct lg_json_ctx {
    char *err; /* the first error, for messages */
    size_t errlen;
    bool failed;
};

/* Record an error (only the first is kept); returns false. */
__attribute__((format(printf, 2, 3))) bool lg_json_fail(struct lg_json_ctx *c, const char *fmt,
                                                        ...);

/* calloc that records "out of memory" on failure; n == 0 allocates one. */
void *lg_json_calloc(struct lg_json_ctx *c, size_t n, size_t size);

/*
 * The bytes the library meant: liblockgraph writes a byte of a string that
 * is not UTF-8 (a file name in another encoding: "/srv/caf\xe9/libx.so")
 * as \u00XX (lib/util.c), which any JSON reader takes for the character
 * U+00XX, two other bytes ("\xc3\xa9"): a module path read that way names
 * no file, and the module cannot be symbolized. The library writes every
 * character that is UTF-8 as it is, so in its files \u0080 to \u00ff
 * inside a string only ever stand for such a byte. Returns a copy of
 * `text[0..len)` (NUL-terminated, its length in *out_len, to free) with
 * each of them turned back into its byte, for json-c to read as it is
 * (json-c does not insist on UTF-8); NULL when there is none (or no
 * memory): read `text` itself.
 */
char *lg_json_bytes_unescape(const char *text, size_t len, size_t *out_len);

/*
 * Parse `text[0..len)` as one JSON object. Returns it (the caller puts it),
 * or NULL: with *blank set for a blank line, else with the reason in the
 * context ("not valid JSON: ...", "not a JSON object"). Strings hold the
 * bytes the library meant (lg_json_bytes_unescape).
 */
json_object *lg_json_line(struct lg_json_ctx *c, const char *text, size_t len, bool *blank);

/* `obj[key]`, NULL when absent or `obj` is not an object. */
json_object *lg_json_member(json_object *obj, const char *key);

/* Absent (or null for strings) reads as NULL / 0 / false; the wrong type is
 * an error naming the field. */
bool lg_json_string(struct lg_json_ctx *c, json_object *obj, const char *key, char **out);
bool lg_json_long(struct lg_json_ctx *c, json_object *obj, const char *key, long *out);
bool lg_json_bool(struct lg_json_ctx *c, json_object *obj, const char *key, bool *out);
/* Addresses are hex strings ("0x7ffd5c1e3a40"); a plain integer is accepted. */
bool lg_json_parse_addr(struct lg_json_ctx *c, json_object *v, const char *what, uint64_t *out);
bool lg_json_addr(struct lg_json_ctx *c, json_object *obj, const char *key, uint64_t *out);

/* The array / object at `key`; NULL when absent (an error if `required`) or
 * of another type (always an error). */
json_object *lg_json_array(struct lg_json_ctx *c, json_object *obj, const char *key, bool required);
json_object *lg_json_object(struct lg_json_ctx *c, json_object *obj, const char *key,
                            bool required);

/* The schema's building blocks (FINDINGS.md "Common fields"). Each leaves
 * its output freeable after a failure half-way. */
bool lg_json_stack(struct lg_json_ctx *c, json_object *obj, const char *key, struct lg_stack *out);
bool lg_json_thread(struct lg_json_ctx *c, json_object *obj, struct lg_thread *out);
/* `obj["modules"]`, absent reading as none. */
bool lg_json_modules(struct lg_json_ctx *c, json_object *obj, struct lg_module **out, size_t *n);

void lg_stack_free(struct lg_stack *s);
void lg_thread_free(struct lg_thread *t);
void lg_modules_free(struct lg_module *mods, size_t n);

#endif
