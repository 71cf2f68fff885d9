/*
 * findings.c - read a lockgraph findings file (JSON Lines) into lg_finding
 * structs, using json-c (through jsonl.c, shared with the graph-file reader).
 *
 * Does: one JSON object per line, each turned into the structs of
 * findings.h; tolerant of what real files contain: a last line cut short by a
 * dying process is skipped with a warning, a corrupt line is reported with
 * file:line and skipped, unknown fields are ignored (the schema only ever adds
 * them), and a kind this reader does not know (a newer runtime's) is kept
 * whole as LG_KIND_OTHER, so reports can still show it field by field.
 * Does not: symbolize, print findings, or decide exit codes.
 */
#include "findings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

static const char *const kind_names[LG_KIND_COUNT] = {
    [LG_KIND_CYCLE] = "lock-order-cycle",          [LG_KIND_SELF_DEADLOCK] = "self-deadlock",
    [LG_KIND_UNLOCK_NOT_HELD] = "unlock-not-held", [LG_KIND_HELD_AT_EXIT] = "held-at-exit",
    [LG_KIND_RANK_VIOLATION] = "rank-violation",   [LG_KIND_RANK_CYCLE] = "rank-order-cycle",
    [LG_KIND_DETECTOR_ERROR] = "detector-error",   [LG_KIND_OTHER] = "other",
};

const char *lg_kind_name(enum lg_kind kind)
{
    return (unsigned)kind < LG_KIND_COUNT ? kind_names[kind] : "unknown";
}

const char *lg_finding_kind(const struct lg_finding *f)
{
    if (f->kind == LG_KIND_OTHER)
        return f->other_kind ? f->other_kind : "unknown";
    return lg_kind_name(f->kind);
}

/* ---- the schema's building blocks ---- */

static bool parse_lock(struct lg_json_ctx *c, json_object *obj, struct lg_lock *l)
{
    if (!json_object_is_type(obj, json_type_object))
        return lg_json_fail(c, "a lock is not an object");
    if (!lg_json_long(c, obj, "id", &l->id) || !lg_json_addr(c, obj, "addr", &l->addr) ||
        !lg_json_string(c, obj, "type", &l->type) || !lg_json_string(c, obj, "mode", &l->mode) ||
        !lg_json_string(c, obj, "name", &l->name) ||
        !lg_json_bool(c, obj, "created", &l->created) ||
        !lg_json_stack(c, obj, "stack", &l->stack) || !lg_json_string(c, obj, "key", &l->key) ||
        !lg_json_string(c, obj, "class", &l->class_name) || !lg_json_long(c, obj, "rank", &l->rank))
        return false;
    l->has_rank = lg_json_member(obj, "rank") != NULL;
    /* Printing code may rely on a type: the schema's only one so far. */
    if (!l->type && !(l->type = strdup("mutex")))
        return lg_json_fail(c, "out of memory");
    return true;
}

static void free_lock(struct lg_lock *l)
{
    free(l->type);
    free(l->mode);
    free(l->name);
    free(l->key);
    free(l->class_name);
    lg_stack_free(&l->stack);
    memset(l, 0, sizeof *l);
}

bool lg_lock_from_json(struct json_object *obj, struct lg_lock *out)
{
    struct lg_json_ctx c = {0};
    memset(out, 0, sizeof *out);
    if (!parse_lock(&c, obj, out)) {
        free_lock(out);
        return false;
    }
    return true;
}

void lg_lock_free(struct lg_lock *l)
{
    free_lock(l);
}

static bool parse_edge(struct lg_json_ctx *c, json_object *obj, struct lg_edge *e)
{
    if (!json_object_is_type(obj, json_type_object))
        return lg_json_fail(c, "an edge is not an object");
    json_object *thread = lg_json_object(c, obj, "thread", false);
    if (c->failed)
        return false;
    if (thread && !lg_json_thread(c, thread, &e->thread))
        return false;
    return lg_json_long(c, obj, "from", &e->from) && lg_json_long(c, obj, "to", &e->to) &&
           lg_json_bool(c, obj, "timed", &e->timed) &&
           lg_json_bool(c, obj, "first_stack_exact", &e->first_exact) &&
           lg_json_stack(c, obj, "first_stack", &e->first) &&
           lg_json_stack(c, obj, "second_stack", &e->second);
}

/* "held": held-at-exit's locks, or those a rank-violation may not be taken
 * under (with stack_exact and why). */
static bool parse_held(struct lg_json_ctx *c, json_object *o, struct lg_finding *f)
{
    json_object *arr = lg_json_array(c, o, "held", true), *obj;
    if (!arr)
        return false;
    size_t n = json_object_array_length(arr);
    if (!(f->held = lg_json_calloc(c, n, sizeof *f->held)))
        return false;
    f->n_held = n; /* zeroed, so a half-parsed array frees cleanly */
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(arr, i);
        struct lg_held *out = &f->held[i];
        if (!json_object_is_type(h, json_type_object))
            return lg_json_fail(c, "a \"held\" entry is not an object");
        if (!(obj = lg_json_object(c, h, "lock", true)) || !parse_lock(c, obj, &out->lock) ||
            !lg_json_stack(c, h, "stack", &out->stack) ||
            !lg_json_bool(c, h, "stack_exact", &out->stack_exact) ||
            !lg_json_string(c, h, "why", &out->why))
            return false;
    }
    return true;
}

/* ---- one line ---- */

static bool parse_kind_fields(struct lg_json_ctx *c, json_object *o, struct lg_finding *f)
{
    json_object *arr, *obj;

    switch (f->kind) {
    case LG_KIND_CYCLE: {
        if (!lg_json_bool(c, o, "timed", &f->timed) ||
            !lg_json_bool(c, o, "single_thread", &f->single_thread))
            return false;
        if (!(arr = lg_json_array(c, o, "locks", true)))
            return false;
        size_t n = json_object_array_length(arr);
        if (n == 0)
            return lg_json_fail(c, "a cycle with no locks");
        if (!(f->locks = lg_json_calloc(c, n, sizeof *f->locks)))
            return false;
        f->n_locks = n; /* zeroed, so a half-parsed array frees cleanly */
        for (size_t i = 0; i < n; i++)
            if (!parse_lock(c, json_object_array_get_idx(arr, i), &f->locks[i]))
                return false;
        if (!(arr = lg_json_array(c, o, "edges", true)))
            return false;
        n = json_object_array_length(arr);
        if (!(f->edges = lg_json_calloc(c, n, sizeof *f->edges)))
            return false;
        f->n_edges = n;
        for (size_t i = 0; i < n; i++)
            if (!parse_edge(c, json_object_array_get_idx(arr, i), &f->edges[i]))
                return false;
        return true;
    }
    case LG_KIND_SELF_DEADLOCK:
    case LG_KIND_UNLOCK_NOT_HELD:
        if (!(obj = lg_json_object(c, o, "lock", true)) || !parse_lock(c, obj, &f->lock))
            return false;
        if (!(obj = lg_json_object(c, o, "thread", true)) || !lg_json_thread(c, obj, &f->thread))
            return false;
        return lg_json_bool(c, o, "timed", &f->timed) &&
               lg_json_stack(c, o, "first_stack", &f->first_stack) &&
               lg_json_stack(c, o, "second_stack", &f->second_stack) &&
               lg_json_stack(c, o, "stack", &f->stack);
    case LG_KIND_HELD_AT_EXIT:
        if (!(obj = lg_json_object(c, o, "thread", true)) || !lg_json_thread(c, obj, &f->thread))
            return false;
        return parse_held(c, o, f);
    case LG_KIND_RANK_VIOLATION:
        if (!(obj = lg_json_object(c, o, "lock", true)) || !parse_lock(c, obj, &f->lock))
            return false;
        if (!(obj = lg_json_object(c, o, "thread", true)) || !lg_json_thread(c, obj, &f->thread))
            return false;
        return lg_json_stack(c, o, "stack", &f->stack) && parse_held(c, o, f);
    case LG_KIND_RANK_CYCLE: {
        if (!(arr = lg_json_array(c, o, "classes", true)))
            return false;
        size_t n = json_object_array_length(arr);
        if (n == 0)
            return lg_json_fail(c, "a cycle with no classes");
        if (!(f->classes = lg_json_calloc(c, n, sizeof *f->classes)))
            return false;
        f->n_classes = n;
        for (size_t i = 0; i < n; i++) {
            json_object *v = json_object_array_get_idx(arr, i);
            if (!json_object_is_type(v, json_type_string))
                return lg_json_fail(c, "a class in \"classes\" is not a string");
            if (!(f->classes[i] = strdup(json_object_get_string(v))))
                return lg_json_fail(c, "out of memory");
        }
        return true;
    }
    case LG_KIND_DETECTOR_ERROR:
        return lg_json_string(c, o, "error", &f->error) &&
               lg_json_string(c, o, "message", &f->message);
    case LG_KIND_OTHER:
        return true; /* kept whole in f->raw */
    case LG_KIND_COUNT:
        break;
    }
    return lg_json_fail(c, "internal: unhandled kind");
}

int lg_finding_parse(const char *text, size_t len, struct lg_finding *out, bool *unknown_kind,
                     char *errbuf, size_t errlen)
{
    struct lg_json_ctx c = {.err = errbuf, .errlen = errlen, .failed = false};
    memset(out, 0, sizeof *out);
    *unknown_kind = false;
    if (errlen)
        errbuf[0] = '\0';

    bool blank;
    json_object *o = lg_json_line(&c, text, len, &blank);
    if (!o)
        return blank ? 0 : -1;

    json_object *kind = lg_json_member(o, "kind");
    if (!kind || !json_object_is_type(kind, json_type_string)) {
        lg_json_fail(&c, "no \"kind\"");
        json_object_put(o);
        return -1;
    }
    const char *kname = json_object_get_string(kind);
    int k = 0;
    while (k < LG_KIND_OTHER && strcmp(kind_names[k], kname) != 0)
        k++;
    if (k == LG_KIND_OTHER) {
        /* A newer runtime's kind: kept whole, shown field by field. */
        *unknown_kind = true;
        if (!*kname) {
            lg_json_fail(&c, "\"kind\" is empty");
            json_object_put(o);
            return -1;
        }
        if (!(out->other_kind = strdup(kname))) {
            lg_json_fail(&c, "out of memory");
            json_object_put(o);
            return -1;
        }
    }
    out->kind = (enum lg_kind)k;
    out->raw = o; /* the reference json_tokener gave us, put by lg_finding_free */

    long t = 0;
    bool ok = lg_json_long(&c, o, "version", &out->version) &&
              lg_json_long(&c, o, "seq", &out->seq) && lg_json_long(&c, o, "pid", &out->pid) &&
              lg_json_long(&c, o, "time_ns", &t);
    out->time_ns = t;

    if (ok)
        lg_json_modules(&c, o, &out->modules, &out->n_modules);
    if (!c.failed)
        parse_kind_fields(&c, o, out);

    if (c.failed) {
        /* Prefix the kind: "lock-order-cycle: no \"edges\"" says where to look. */
        if (errlen) {
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%s", errbuf);
            snprintf(errbuf, errlen, "%.60s: %s", k == LG_KIND_OTHER ? kname : kind_names[k],
                     tmp);
        }
        lg_finding_free(out);
        return -1;
    }
    return 1;
}

void lg_finding_free(struct lg_finding *f)
{
    free(f->file);
    lg_modules_free(f->modules, f->n_modules);
    /* Arrays are allocated zeroed at full length, so this is safe after
     * a parse that failed half-way. */
    for (size_t i = 0; i < f->n_locks; i++)
        free_lock(&f->locks[i]);
    free(f->locks);
    for (size_t i = 0; i < f->n_edges; i++) {
        lg_thread_free(&f->edges[i].thread);
        lg_stack_free(&f->edges[i].first);
        lg_stack_free(&f->edges[i].second);
    }
    free(f->edges);
    free_lock(&f->lock);
    lg_thread_free(&f->thread);
    lg_stack_free(&f->first_stack);
    lg_stack_free(&f->second_stack);
    lg_stack_free(&f->stack);
    for (size_t i = 0; i < f->n_held; i++) {
        free_lock(&f->held[i].lock);
        lg_stack_free(&f->held[i].stack);
        free(f->held[i].why);
    }
    free(f->held);
    for (size_t i = 0; i < f->n_classes; i++)
        free(f->classes[i]);
    free(f->classes);
    free(f->error);
    free(f->message);
    free(f->other_kind);
    if (f->raw)
        json_object_put(f->raw);
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

/* Is this line a graph file's header? Graph files (graph=) are JSON Lines
 * too, and easily given to the wrong verb. */
bool lg_is_graph_header(const char *text, size_t len)
{
    struct lg_json_ctx c = {0};
    bool blank;
    json_object *o = lg_json_line(&c, text, len, &blank);
    json_object *k = lg_json_member(o, "kind");
    bool yes = k && json_object_is_type(k, json_type_string) &&
               strcmp(json_object_get_string(k), "graph") == 0;
    if (o)
        json_object_put(o);
    return yes;
}

int lg_findings_read_file(struct lg_findings *set, const char *path, FILE *diag)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(diag, "lockgraph: cannot open %s: %s\n", path, strerror(errno));
        set->unreadable_files++;
        return -1;
    }

    struct lg_jsonl_reader rd;
    lg_jsonl_open(&rd, fp);
    size_t unknown = 0, lines = 0;
    char first_unknown[80] = "";
    char err[512];
    const char *buf;
    size_t len;
    enum lg_jsonl_next next;
    int rc = 0;

    while ((next = lg_jsonl_next(&rd, &buf, &len)) == LG_JSONL_LINE) {
        size_t lineno = rd.lineno;
        if (lines++ == 0 && lg_is_graph_header(buf, len)) {
            fprintf(diag,
                    "lockgraph: %s:%zu: a graph file (written by graph=), not a findings file: "
                    "read it with lockgraph merge, dot or ranks; skipped\n",
                    path, lineno);
            set->unreadable_files++;
            lg_jsonl_close(&rd);
            fclose(fp);
            return -1;
        }
        struct lg_finding f;
        bool unknown_kind;
        int r = lg_finding_parse(buf, len, &f, &unknown_kind, err, sizeof err);
        if (r < 0) {
            fprintf(diag, "lockgraph: %s:%zu: corrupt line skipped: %s\n", path, lineno, err);
            set->corrupt_lines++;
            continue;
        }
        if (r == 0)
            continue;
        if (unknown_kind && unknown++ == 0)
            snprintf(first_unknown, sizeof first_unknown, "\"%.40s\" on line %zu", f.other_kind,
                     lineno);
        f.file = strdup(path);
        f.line = lineno;
        if (!f.file || !push(set, &f)) {
            fprintf(diag, "lockgraph: %s:%zu: out of memory; stopped reading\n", path, lineno);
            lg_finding_free(&f);
            set->corrupt_lines++;
            break;
        }
    }
    if (next == LG_JSONL_CUT) {
        fprintf(diag,
                "lockgraph: %s:%zu: warning: last line is incomplete "
                "(the process died while writing it?); ignored\n",
                path, rd.lineno);
        set->truncated_lines++;
    }
    if (next == LG_JSONL_ERROR) {
        fprintf(diag, "lockgraph: %s:%zu: read error: %s\n", path, rd.lineno + 1,
                strerror(errno ? errno : EIO));
        set->unreadable_files++;
        rc = -1;
    } else {
        set->files_read++;
        if (lines == 0 && next != LG_JSONL_CUT)
            set->empty_files++;
    }
    if (unknown) {
        /* Named with the first line that has one, so the user can look. */
        fprintf(diag,
                "lockgraph: %s: note: %zu finding%s of a kind this lockgraph does not know "
                "(%s%s); a newer liblockgraph? shown field by field\n",
                path, unknown, unknown == 1 ? "" : "s", first_unknown, unknown > 1 ? ", ..." : "");
        set->unknown_lines += unknown;
    }
    lg_jsonl_close(&rd);
    fclose(fp);
    return rc;
}
