/*
 * findings.c - read a lockgraph findings file (JSON Lines) into lg_finding
 * structs, using json-c.
 *
 * Does: one JSON object per line, each turned into the structs of
 * findings.h; tolerant of what real files contain: a last line cut short by a
 * dying process is skipped with a warning, a corrupt line is reported with
 * file:line and skipped, unknown kinds and fields are ignored (the schema only
 * ever adds them).
 * Does not: symbolize, print findings, or decide exit codes.
 */
#include "findings.h"

#include <errno.h>
#include <json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[LG_KIND_COUNT] = {
    [LG_KIND_CYCLE] = "lock-order-cycle",          [LG_KIND_SELF_DEADLOCK] = "self-deadlock",
    [LG_KIND_UNLOCK_NOT_HELD] = "unlock-not-held", [LG_KIND_HELD_AT_EXIT] = "held-at-exit",
    [LG_KIND_DETECTOR_ERROR] = "detector-error",
};

const char *lg_kind_name(enum lg_kind kind)
{
    return (unsigned)kind < LG_KIND_COUNT ? kind_names[kind] : "unknown";
}

/* ---- parse context: the first error wins, later ones are consequences ---- */

struct ctx {
    char *err;
    size_t errlen;
    bool failed;
};

static bool fail(struct ctx *c, const char *fmt, ...)
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

/* Out of memory while parsing is reported as a corrupt line rather than an
 * abort: the tool keeps going with what it could read. */
static void *xcalloc(struct ctx *c, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        fail(c, "out of memory");
    return p;
}

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

/* Absent or null strings are NULL; a string of another type is an error. */
static bool get_string(struct ctx *c, json_object *obj, const char *key, char **out)
{
    json_object *v = member(obj, key);
    *out = NULL;
    if (!v)
        return true;
    if (!json_object_is_type(v, json_type_string))
        return fail(c, "\"%s\" is not a string", key);
    *out = strdup(json_object_get_string(v));
    if (!*out)
        return fail(c, "out of memory");
    return true;
}

static bool get_long(struct ctx *c, json_object *obj, const char *key, long *out)
{
    json_object *v = member(obj, key);
    *out = 0;
    if (!v)
        return true;
    if (!json_object_is_type(v, json_type_int))
        return fail(c, "\"%s\" is not an integer", key);
    *out = (long)json_object_get_int64(v);
    return true;
}

static bool get_bool(struct ctx *c, json_object *obj, const char *key, bool *out)
{
    json_object *v = member(obj, key);
    *out = false;
    if (!v)
        return true;
    if (!json_object_is_type(v, json_type_boolean))
        return fail(c, "\"%s\" is not a boolean", key);
    *out = json_object_get_boolean(v);
    return true;
}

/* Addresses are hex strings ("0x7ffd5c1e3a40"); a plain integer is accepted
 * too, since it says the same thing. */
static bool parse_addr(struct ctx *c, json_object *v, const char *what, uint64_t *out)
{
    *out = 0;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_uint64(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return fail(c, "%s is not an address", what);
    const char *s = json_object_get_string(v);
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 16);
    if (errno || end == s || *end != '\0' || s[0] == '-')
        return fail(c, "%s \"%.40s\" is not a hex address", what, s);
    *out = x;
    return true;
}

static bool get_addr(struct ctx *c, json_object *obj, const char *key, uint64_t *out)
{
    json_object *v = member(obj, key);
    *out = 0;
    if (!v)
        return true;
    return parse_addr(c, v, key, out);
}

/* Returns the array, NULL (and no error) when absent unless `required`. */
static json_object *get_array(struct ctx *c, json_object *obj, const char *key, bool required)
{
    json_object *v = member(obj, key);
    if (!v) {
        if (required)
            fail(c, "no \"%s\"", key);
        return NULL;
    }
    if (!json_object_is_type(v, json_type_array)) {
        fail(c, "\"%s\" is not an array", key);
        return NULL;
    }
    return v;
}

static json_object *get_object(struct ctx *c, json_object *obj, const char *key, bool required)
{
    json_object *v = member(obj, key);
    if (!v) {
        if (required)
            fail(c, "no \"%s\"", key);
        return NULL;
    }
    if (!json_object_is_type(v, json_type_object)) {
        fail(c, "\"%s\" is not an object", key);
        return NULL;
    }
    return v;
}

/* ---- the schema's building blocks ---- */

static bool get_stack(struct ctx *c, json_object *obj, const char *key, struct lg_stack *out)
{
    out->pcs = NULL;
    out->n = 0;
    json_object *arr = get_array(c, obj, key, false);
    if (!arr)
        return !c->failed;
    size_t n = json_object_array_length(arr);
    if (n == 0)
        return true;
    out->pcs = xcalloc(c, n, sizeof *out->pcs);
    if (!out->pcs)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!parse_addr(c, json_object_array_get_idx(arr, i), key, &out->pcs[i]))
            return false;
    out->n = n;
    return true;
}

static void free_stack(struct lg_stack *s)
{
    free(s->pcs);
    s->pcs = NULL;
    s->n = 0;
}

static bool parse_thread(struct ctx *c, json_object *obj, struct lg_thread *t)
{
    return get_long(c, obj, "tid", &t->tid) && get_long(c, obj, "seq", &t->seq) &&
           get_string(c, obj, "name", &t->name);
}

static void free_thread(struct lg_thread *t)
{
    free(t->name);
    t->name = NULL;
}

static bool parse_lock(struct ctx *c, json_object *obj, struct lg_lock *l)
{
    if (!json_object_is_type(obj, json_type_object))
        return fail(c, "a lock is not an object");
    if (!get_long(c, obj, "id", &l->id) || !get_addr(c, obj, "addr", &l->addr) ||
        !get_string(c, obj, "type", &l->type) || !get_string(c, obj, "mode", &l->mode) ||
        !get_string(c, obj, "name", &l->name) || !get_bool(c, obj, "created", &l->created) ||
        !get_stack(c, obj, "stack", &l->stack))
        return false;
    /* Printing code may rely on a type: the schema's only one so far. */
    if (!l->type && !(l->type = strdup("mutex")))
        return fail(c, "out of memory");
    return true;
}

static void free_lock(struct lg_lock *l)
{
    free(l->type);
    free(l->mode);
    free(l->name);
    free_stack(&l->stack);
    memset(l, 0, sizeof *l);
}

static bool parse_module(struct ctx *c, json_object *obj, struct lg_module *m)
{
    if (!json_object_is_type(obj, json_type_object))
        return fail(c, "a module is not an object");
    if (!get_string(c, obj, "path", &m->path) || !get_addr(c, obj, "base", &m->base) ||
        !get_addr(c, obj, "end", &m->end) || !get_string(c, obj, "build_id", &m->build_id))
        return false;
    if (!m->path)
        return fail(c, "a module has no \"path\"");
    return true;
}

static bool parse_edge(struct ctx *c, json_object *obj, struct lg_edge *e)
{
    if (!json_object_is_type(obj, json_type_object))
        return fail(c, "an edge is not an object");
    json_object *thread = get_object(c, obj, "thread", false);
    if (c->failed)
        return false;
    if (thread && !parse_thread(c, thread, &e->thread))
        return false;
    return get_long(c, obj, "from", &e->from) && get_long(c, obj, "to", &e->to) &&
           get_bool(c, obj, "timed", &e->timed) &&
           get_bool(c, obj, "first_stack_exact", &e->first_exact) &&
           get_stack(c, obj, "first_stack", &e->first) &&
           get_stack(c, obj, "second_stack", &e->second);
}

/* ---- one line ---- */

static bool parse_kind_fields(struct ctx *c, json_object *o, struct lg_finding *f)
{
    json_object *arr, *obj;

    switch (f->kind) {
    case LG_KIND_CYCLE: {
        if (!get_bool(c, o, "timed", &f->timed) ||
            !get_bool(c, o, "single_thread", &f->single_thread))
            return false;
        if (!(arr = get_array(c, o, "locks", true)))
            return false;
        size_t n = json_object_array_length(arr);
        if (n == 0)
            return fail(c, "a cycle with no locks");
        if (!(f->locks = xcalloc(c, n, sizeof *f->locks)))
            return false;
        f->n_locks = n; /* zeroed, so a half-parsed array frees cleanly */
        for (size_t i = 0; i < n; i++)
            if (!parse_lock(c, json_object_array_get_idx(arr, i), &f->locks[i]))
                return false;
        if (!(arr = get_array(c, o, "edges", true)))
            return false;
        n = json_object_array_length(arr);
        if (!(f->edges = xcalloc(c, n, sizeof *f->edges)))
            return false;
        f->n_edges = n;
        for (size_t i = 0; i < n; i++)
            if (!parse_edge(c, json_object_array_get_idx(arr, i), &f->edges[i]))
                return false;
        return true;
    }
    case LG_KIND_SELF_DEADLOCK:
    case LG_KIND_UNLOCK_NOT_HELD:
        if (!(obj = get_object(c, o, "lock", true)) || !parse_lock(c, obj, &f->lock))
            return false;
        if (!(obj = get_object(c, o, "thread", true)) || !parse_thread(c, obj, &f->thread))
            return false;
        return get_bool(c, o, "timed", &f->timed) &&
               get_stack(c, o, "first_stack", &f->first_stack) &&
               get_stack(c, o, "second_stack", &f->second_stack) &&
               get_stack(c, o, "stack", &f->stack);
    case LG_KIND_HELD_AT_EXIT: {
        if (!(obj = get_object(c, o, "thread", true)) || !parse_thread(c, obj, &f->thread))
            return false;
        if (!(arr = get_array(c, o, "held", true)))
            return false;
        size_t n = json_object_array_length(arr);
        if (!(f->held = xcalloc(c, n, sizeof *f->held)))
            return false;
        f->n_held = n;
        for (size_t i = 0; i < n; i++) {
            json_object *h = json_object_array_get_idx(arr, i);
            struct lg_held *out = &f->held[i];
            if (!json_object_is_type(h, json_type_object))
                return fail(c, "a \"held\" entry is not an object");
            if (!(obj = get_object(c, h, "lock", true)) || !parse_lock(c, obj, &out->lock) ||
                !get_stack(c, h, "stack", &out->stack))
                return false;
        }
        return true;
    }
    case LG_KIND_DETECTOR_ERROR:
        return get_string(c, o, "error", &f->error) && get_string(c, o, "message", &f->message);
    case LG_KIND_COUNT:
        break;
    }
    return fail(c, "internal: unhandled kind");
}

int lg_finding_parse(const char *text, size_t len, struct lg_finding *out, bool *unknown_kind,
                     char *errbuf, size_t errlen)
{
    struct ctx c = {.err = errbuf, .errlen = errlen, .failed = false};
    memset(out, 0, sizeof *out);
    *unknown_kind = false;
    if (errlen)
        errbuf[0] = '\0';

    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\r'))
        start++;
    if (start == len)
        return 0; /* blank lines carry nothing and are not worth a warning */

    /* json-c takes an int length; a line past 2 GiB is not a finding. */
    if (len > (size_t)0x7fffffff) {
        fail(&c, "line of %zu bytes is too long", len);
        return -1;
    }

    json_tokener *tok = json_tokener_new();
    if (!tok) {
        fail(&c, "out of memory");
        return -1;
    }
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);

    if (!o) {
        if (jerr == json_tokener_continue)
            fail(&c, "not valid JSON: the object is incomplete");
        else
            fail(&c, "not valid JSON: %s at byte %zu", json_tokener_error_desc(jerr), used + 1);
        return -1;
    }
    for (size_t i = used; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r') {
            fail(&c, "not valid JSON: text after the object at byte %zu", i + 1);
            json_object_put(o);
            return -1;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        fail(&c, "not a JSON object");
        json_object_put(o);
        return -1;
    }

    json_object *kind = member(o, "kind");
    if (!kind || !json_object_is_type(kind, json_type_string)) {
        fail(&c, "no \"kind\"");
        json_object_put(o);
        return -1;
    }
    const char *kname = json_object_get_string(kind);
    int k = 0;
    while (k < LG_KIND_COUNT && strcmp(kind_names[k], kname) != 0)
        k++;
    if (k == LG_KIND_COUNT) {
        *unknown_kind = true;
        if (errlen)
            snprintf(errbuf, errlen, "%s", kname);
        json_object_put(o);
        return 0;
    }
    out->kind = (enum lg_kind)k;

    long t = 0;
    bool ok = get_long(&c, o, "version", &out->version) && get_long(&c, o, "seq", &out->seq) &&
              get_long(&c, o, "pid", &out->pid) && get_long(&c, o, "time_ns", &t);
    out->time_ns = t;

    json_object *mods = ok ? get_array(&c, o, "modules", false) : NULL;
    if (mods && !c.failed) {
        size_t n = json_object_array_length(mods);
        out->modules = xcalloc(&c, n, sizeof *out->modules);
        if (out->modules)
            out->n_modules = n;
        for (size_t i = 0; i < out->n_modules && !c.failed; i++)
            parse_module(&c, json_object_array_get_idx(mods, i), &out->modules[i]);
    }
    if (!c.failed)
        parse_kind_fields(&c, o, out);
    json_object_put(o);

    if (c.failed) {
        /* Prefix the kind: "lock-order-cycle: no \"edges\"" says where to look. */
        if (errlen) {
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%s", errbuf);
            snprintf(errbuf, errlen, "%s: %s", kind_names[k], tmp);
        }
        lg_finding_free(out);
        return -1;
    }
    return 1;
}

void lg_finding_free(struct lg_finding *f)
{
    free(f->file);
    for (size_t i = 0; i < f->n_modules; i++) {
        free(f->modules[i].path);
        free(f->modules[i].build_id);
    }
    free(f->modules);
    /* Arrays are allocated zeroed at full length, so this is safe after
     * a parse that failed half-way. */
    for (size_t i = 0; i < f->n_locks; i++)
        free_lock(&f->locks[i]);
    free(f->locks);
    for (size_t i = 0; i < f->n_edges; i++) {
        free_thread(&f->edges[i].thread);
        free_stack(&f->edges[i].first);
        free_stack(&f->edges[i].second);
    }
    free(f->edges);
    free_lock(&f->lock);
    free_thread(&f->thread);
    free_stack(&f->first_stack);
    free_stack(&f->second_stack);
    free_stack(&f->stack);
    for (size_t i = 0; i < f->n_held; i++) {
        free_lock(&f->held[i].lock);
        free_stack(&f->held[i].stack);
    }
    free(f->held);
    free(f->error);
    free(f->message);
    memset(f, 0, sizeof *f);
}

/* ---- a whole file ---- */

void lg_findings_init(struct lg_findings *set)
{
    memset(set, 0, sizeof *set);
}

void lg_findings_free(struct lg_findings *set)
{
    for (size_t i = 0; i < set->n; i++)
        lg_finding_free(&set->items[i]);
    free(set->items);
    lg_findings_init(set);
}

static bool push(struct lg_findings *set, struct lg_finding *f)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct lg_finding *p = realloc(set->items, cap * sizeof *p);
        if (!p)
            return false;
        set->items = p;
        set->cap = cap;
    }
    set->items[set->n++] = *f;
    return true;
}

int lg_findings_read_file(struct lg_findings *set, const char *path, FILE *diag)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(diag, "lockgraph: cannot open %s: %s\n", path, strerror(errno));
        set->unreadable_files++;
        return -1;
    }

    char *buf = NULL;
    size_t bufcap = 0, lineno = 0, unknown = 0;
    char first_unknown[64] = "";
    ssize_t got;
    char err[512];

    errno = 0;
    while ((got = getline(&buf, &bufcap, fp)) >= 0) {
        size_t len = (size_t)got;
        lineno++;
        if (len == 0 || buf[len - 1] != '\n') {
            /* The library writes each line whole, newline included: a
             * last line without one is a process that died mid-write. */
            bool blank = true;
            for (size_t i = 0; i < len && blank; i++)
                blank = buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r';
            if (!blank) {
                fprintf(diag,
                        "lockgraph: %s:%zu: warning: last line is incomplete "
                        "(the process died while writing it?); ignored\n",
                        path, lineno);
                set->truncated_lines++;
            }
            break;
        }
        len--;

        struct lg_finding f;
        bool unknown_kind;
        int r = lg_finding_parse(buf, len, &f, &unknown_kind, err, sizeof err);
        if (r < 0) {
            fprintf(diag, "lockgraph: %s:%zu: corrupt line skipped: %s\n", path, lineno, err);
            set->corrupt_lines++;
            continue;
        }
        if (r == 0) {
            if (unknown_kind && unknown++ == 0)
                snprintf(first_unknown, sizeof first_unknown, "%.60s", err);
            continue;
        }
        f.file = strdup(path);
        f.line = lineno;
        if (!f.file || !push(set, &f)) {
            fprintf(diag, "lockgraph: %s:%zu: out of memory; stopped reading\n", path, lineno);
            lg_finding_free(&f);
            set->corrupt_lines++;
            break;
        }
    }
    int rc = 0;
    if (ferror(fp)) {
        fprintf(diag, "lockgraph: %s:%zu: read error: %s\n", path, lineno + 1,
                strerror(errno ? errno : EIO));
        set->unreadable_files++;
        rc = -1;
    } else {
        set->files_read++;
    }
    if (unknown) {
        fprintf(diag,
                "lockgraph: %s: note: ignored %zu line%s of a kind this lockgraph does "
                "not know (\"%s\"%s); a newer liblockgraph?\n",
                path, unknown, unknown == 1 ? "" : "s", first_unknown, unknown > 1 ? ", ..." : "");
        set->unknown_lines += unknown;
    }
    free(buf);
    fclose(fp);
    return rc;
}
