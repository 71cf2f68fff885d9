/*
 * jsonl.c - JSON Lines reading shared by the findings and graph readers.
 *
 * Does: split a file into lines (a last line without newline is a writer
 * that died mid-write, FINDINGS.md says, and is not handed out), turn one
 * line into a json-c object with a precise reason when it is not one, and
 * read typed fields with the first error kept for the message.
 * Does not: know any kind; findings.c and graphfile.c decide what a line
 * must hold.
 */
#include "jsonl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- lines ---- */

#define CHUNK (64 * 1024)

void lg_jsonl_open(struct lg_jsonl_reader *r, FILE *fp)
{
    memset(r, 0, sizeof *r);
    r->fp = fp;
}

int lg_jsonl_seek(struct lg_jsonl_reader *r, uint64_t offset, size_t lineno)
{
    if (fseeko(r->fp, (off_t)offset, SEEK_SET) != 0)
        return -1;
    r->chunk_pos = r->chunk_len = 0;
    r->pos = offset;
    r->lineno = lineno ? lineno - 1 : 0;
    r->done = false;
    return 0;
}

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* More bytes in the chunk: false at end of file or on an error (errno set,
 * r->fp's error flag too). */
static bool refill(struct lg_jsonl_reader *r)
{
    if (!r->chunk && !(r->chunk = malloc(CHUNK)))
        return false;
    errno = 0;
    r->chunk_len = fread(r->chunk, 1, CHUNK, r->fp);
    r->chunk_pos = 0;
    return r->chunk_len > 0;
}

/* Keep `n` more bytes of the line, while it is within the bound. */
static bool keep(struct lg_jsonl_reader *r, size_t have, const char *p, size_t n)
{
    if (have + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < have + n + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            return false;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + have, p, n);
    return true;
}

enum lg_jsonl_next lg_jsonl_next(struct lg_jsonl_reader *r, const char **text, size_t *len)
{
    *text = "";
    *len = 0;
    if (r->done)
        return LG_JSONL_END;
    r->offset = r->pos;
    r->run_len = 0;
    uint64_t total = 0; /* bytes of the line so far */
    size_t have = 0;    /* of them kept in buf */
    bool too_long = false;
    for (;;) {
        if (r->chunk_pos == r->chunk_len && !refill(r)) {
            r->done = true;
            if (ferror(r->fp)) {
                if (!errno)
                    errno = EIO;
                return LG_JSONL_ERROR;
            }
            if (total == 0 || (!too_long && is_blank(r->buf, have)))
                return LG_JSONL_END;
            r->lineno++;
            r->run_len = total;
            if (too_long)
                return LG_JSONL_LONG;
            /* The library writes each line whole, newline included. */
            r->buf[have] = '\0';
            *text = r->buf;
            *len = have;
            return LG_JSONL_CUT;
        }
        const char *p = r->chunk + r->chunk_pos;
        size_t avail = r->chunk_len - r->chunk_pos;
        const char *nl = memchr(p, '\n', avail);
        size_t n = nl ? (size_t)(nl - p) : avail;
        r->chunk_pos += n + (nl != NULL);
        r->pos += n + (nl != NULL);
        total += n;
        if (!too_long && total > LG_JSONL_MAX_LINE)
            too_long = true;
        if (!too_long && !keep(r, have, p, n)) {
            /* Out of memory for a line under the bound: say so as a long
             * line, it is skipped the same way. */
            too_long = true;
        } else if (!too_long) {
            have += n;
        }
        if (nl)
            break;
        if (total > LG_JSONL_MAX_RUN) {
            r->lineno++;
            r->run_len = total;
            r->done = true;
            return LG_JSONL_ENDLESS;
        }
    }
    r->lineno++;
    if (too_long) {
        r->run_len = total;
        return LG_JSONL_LONG;
    }
    if (!r->buf && !keep(r, 0, "", 0)) {
        r->run_len = total;
        return LG_JSONL_LONG;
    }
    r->buf[have] = '\0';
    *text = r->buf;
    *len = have;
    return LG_JSONL_LINE;
}

void lg_jsonl_close(struct lg_jsonl_reader *r)
{
    free(r->buf);
    free(r->chunk);
    r->buf = r->chunk = NULL;
    r->cap = 0;
    r->chunk_pos = r->chunk_len = 0;
}

bool lg_json_is_cut_object(const char *text, size_t len)
{
    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\r'))
        start++;
    if (start == len || text[start] != '{' || len - start > (size_t)0x7fffffff)
        return false;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return true; /* cannot tell: the benefit of the doubt */
    json_object *o = json_tokener_parse_ex(tok, text + start, (int)(len - start));
    enum json_tokener_error err = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (o) {
        json_object_put(o); /* a whole object without its newline: cut at the newline */
        return true;
    }
    return err == json_tokener_continue;
}

/* ---- one parse ---- */

bool lg_json_fail(struct lg_json_ctx *c, const char *fmt, ...)
{
    if (!c->failed && c->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    c->failed = true;
    return false;
}

/* Out of memory while parsing is reported as a bad line rather than an
 * abort: the tool keeps going with what it could read. */
void *lg_json_calloc(struct lg_json_ctx *c, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        lg_json_fail(c, "out of memory");
    return p;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* \u00XX with XX 80..ff at text[i], inside a string: its byte, else -1. */
static int escaped_byte(const char *text, size_t len, size_t i)
{
    if (len - i < 6 || text[i + 1] != 'u' || text[i + 2] != '0' || text[i + 3] != '0')
        return -1;
    int hi = hex_digit(text[i + 4]), lo = hex_digit(text[i + 5]);
    return hi >= 8 && lo >= 0 ? hi << 4 | lo : -1;
}

char *lg_json_bytes_unescape(const char *text, size_t len, size_t *out_len)
{
    /* Most lines have no such escape: find the first before copying. */
    size_t first = len;
    bool in_string = false;
    for (size_t i = 0; i < len && first == len; i++) {
        if (text[i] == '"')
            in_string = !in_string;
        else if (text[i] == '\\' && in_string) {
            if (escaped_byte(text, len, i) >= 0)
                first = i;
            else
                i++; /* the escaped character, '"' or '\\' too */
        }
    }
    if (first == len)
        return NULL;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    memcpy(out, text, first);
    size_t k = first;
    for (size_t i = first; i < len;) {
        int b;
        if (text[i] == '"') {
            in_string = !in_string;
            out[k++] = text[i++];
        } else if (text[i] == '\\' && in_string && (b = escaped_byte(text, len, i)) >= 0) {
            out[k++] = (char)b;
            i += 6;
        } else if (text[i] == '\\' && in_string && i + 1 < len) {
            out[k++] = text[i++];
            out[k++] = text[i++];
        } else {
            out[k++] = text[i++];
        }
    }
    out[k] = '\0';
    *out_len = k;
    return out;
}

/* `text[0..len)` as one JSON object, or NULL with the reason in `c`. */
static json_object *parse_object(struct lg_json_ctx *c, const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        lg_json_fail(c, "out of memory");
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);

    if (!o) {
        if (jerr == json_tokener_continue)
            lg_json_fail(c, "not valid JSON: the object is incomplete");
        else
            lg_json_fail(c, "not valid JSON: %s at byte %zu", json_tokener_error_desc(jerr),
                         used + 1);
        return NULL;
    }
    for (size_t i = used; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r') {
            lg_json_fail(c, "not valid JSON: text after the object at byte %zu", i + 1);
            json_object_put(o);
            return NULL;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        lg_json_fail(c, "not a JSON object");
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *lg_json_line(struct lg_json_ctx *c, const char *text, size_t len, bool *blank)
{
    *blank = false;
    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\r'))
        start++;
    if (start == len) {
        *blank = true; /* carries nothing and is not worth a warning */
        return NULL;
    }
    /* json-c takes an int length; a line past 2 GiB is not ours. */
    if (len > (size_t)0x7fffffff) {
        lg_json_fail(c, "line of %zu bytes is too long", len);
        return NULL;
    }
    /* Strings with the bytes the library meant. When that copy is not an
     * object, neither is the line: the line itself is read again, for a
     * message in its own byte offsets. */
    size_t blen = 0;
    char *bytes = lg_json_bytes_unescape(text, len, &blen);
    if (bytes) {
        struct lg_json_ctx quiet = {.err = NULL, .errlen = 0};
        json_object *o = parse_object(&quiet, bytes, blen);
        free(bytes);
        if (o)
            return o;
    }
    return parse_object(c, text, len);
}

json_object *lg_json_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

bool lg_json_string(struct lg_json_ctx *c, json_object *obj, const char *key, char **out)
{
    json_object *v = lg_json_member(obj, key);
    *out = NULL;
    if (!v)
        return !c->failed;
    if (!json_object_is_type(v, json_type_string))
        return lg_json_fail(c, "\"%s\" is not a string", key);
    *out = strdup(json_object_get_string(v));
    if (!*out)
        return lg_json_fail(c, "out of memory");
    return !c->failed;
}

bool lg_json_long(struct lg_json_ctx *c, json_object *obj, const char *key, long *out)
{
    json_object *v = lg_json_member(obj, key);
    *out = 0;
    if (!v)
        return !c->failed;
    if (!json_object_is_type(v, json_type_int))
        return lg_json_fail(c, "\"%s\" is not an integer", key);
    *out = (long)json_object_get_int64(v);
    return !c->failed;
}

bool lg_json_bool(struct lg_json_ctx *c, json_object *obj, const char *key, bool *out)
{
    json_object *v = lg_json_member(obj, key);
    *out = false;
    if (!v)
        return !c->failed;
    if (!json_object_is_type(v, json_type_boolean))
        return lg_json_fail(c, "\"%s\" is not a boolean", key);
    *out = json_object_get_boolean(v);
    return !c->failed;
}

bool lg_json_parse_addr(struct lg_json_ctx *c, json_object *v, const char *what, uint64_t *out)
{
    *out = 0;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_uint64(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return lg_json_fail(c, "%s is not an address", what);
    const char *s = json_object_get_string(v);
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 16);
    if (errno || end == s || *end != '\0' || s[0] == '-')
        return lg_json_fail(c, "%s \"%.40s\" is not a hex address", what, s);
    *out = x;
    return true;
}

bool lg_json_addr(struct lg_json_ctx *c, json_object *obj, const char *key, uint64_t *out)
{
    json_object *v = lg_json_member(obj, key);
    *out = 0;
    if (!v)
        return !c->failed;
    return lg_json_parse_addr(c, v, key, out);
}

static json_object *typed(struct lg_json_ctx *c, json_object *obj, const char *key, bool required,
                          json_type type, const char *what)
{
    json_object *v = lg_json_member(obj, key);
    if (!v) {
        if (required)
            lg_json_fail(c, "no \"%s\"", key);
        return NULL;
    }
    if (!json_object_is_type(v, type)) {
        lg_json_fail(c, "\"%s\" is not %s", key, what);
        return NULL;
    }
    return v;
}

json_object *lg_json_array(struct lg_json_ctx *c, json_object *obj, const char *key, bool required)
{
    return typed(c, obj, key, required, json_type_array, "an array");
}

json_object *lg_json_object(struct lg_json_ctx *c, json_object *obj, const char *key, bool required)
{
    return typed(c, obj, key, required, json_type_object, "an object");
}

/* ---- building blocks ---- */

bool lg_json_stack(struct lg_json_ctx *c, json_object *obj, const char *key, struct lg_stack *out)
{
    out->pcs = NULL;
    out->n = 0;
    json_object *arr = lg_json_array(c, obj, key, false);
    if (!arr)
        return !c->failed;
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return true;
    out->pcs = lg_json_calloc(c, n, sizeof *out->pcs);
    if (!out->pcs)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lg_json_parse_addr(c, json_object_array_get_idx(arr, i), key, &out->pcs[i]))
            return false;
    out->n = n;
    return true;
}

void lg_stack_free(struct lg_stack *s)
{
    free(s->pcs);
    s->pcs = NULL;
    s->n = 0;
}

bool lg_json_thread(struct lg_json_ctx *c, json_object *obj, struct lg_thread *t)
{
    return lg_json_long(c, obj, "tid", &t->tid) && lg_json_long(c, obj, "seq", &t->seq) &&
           lg_json_string(c, obj, "name", &t->name);
}

void lg_thread_free(struct lg_thread *t)
{
    free(t->name);
    t->name = NULL;
}

static bool parse_module(struct lg_json_ctx *c, json_object *obj, struct lg_module *m)
{
    if (!json_object_is_type(obj, json_type_object))
        return lg_json_fail(c, "a module is not an object");
    if (!lg_json_string(c, obj, "path", &m->path) || !lg_json_addr(c, obj, "base", &m->base) ||
        !lg_json_addr(c, obj, "end", &m->end) || !lg_json_string(c, obj, "build_id", &m->build_id))
        return false;
    if (!m->path)
        return lg_json_fail(c, "a module has no \"path\"");
    return true;
}

bool lg_json_modules(struct lg_json_ctx *c, json_object *obj, struct lg_module **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    json_object *mods = lg_json_array(c, obj, "modules", false);
    if (!mods)
        return !c->failed;
    size_t len = json_object_array_length(mods);
    if (!(*out = lg_json_calloc(c, len, sizeof **out)))
        return false;
    *n = len; /* zeroed, so a half-parsed array frees cleanly */
    for (size_t i = 0; i < len; i++)
        if (!parse_module(c, json_object_array_get_idx(mods, i), &(*out)[i]))
            return false;
    return true;
}

void lg_modules_free(struct lg_module *mods, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(mods[i].path);
        free(mods[i].build_id);
    }
    free(mods);
}
