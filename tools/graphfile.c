/*
 * graphfile.c - read a graph file (JSON Lines written by graph= or
 * lg_dump_graph) into the structs of graphfile.h.
 *
 * Does: insist on the `graph` header first (without it there is no module
 * map, and the file is likely something else: a findings file, a typo);
 * read graph-lock and graph-edge lines, skipping a bad one with file:line
 * and the reason; ignore kinds it does not know (the schema only adds
 * them); notice a file cut short (no graph-end, or a last line without
 * newline) and a graph-end whose counts disagree with what was read.
 * Does not: merge files or interpret keys (keygraph.c does), symbolize.
 */
#include "graphfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

/* A key: a non-empty string. */
static bool get_key(struct lg_json_ctx *c, json_object *o, const char *field, char **out)
{
    if (!lg_json_string(c, o, field, out))
        return false;
    if (!*out)
        return lg_json_fail(c, "no \"%s\"", field);
    if (!**out)
        return lg_json_fail(c, "\"%s\" is empty", field);
    return true;
}

static bool parse_lock(struct lg_json_ctx *c, json_object *o, struct lg_graph_lock *l)
{
    if (!get_key(c, o, "key", &l->key) || !lg_json_string(c, o, "type", &l->type) ||
        !lg_json_string(c, o, "mode", &l->mode) ||
        !lg_json_long(c, o, "instances", &l->instances) ||
        !lg_json_string(c, o, "name", &l->name) || !lg_json_string(c, o, "class", &l->class_name) ||
        !lg_json_long(c, o, "rank", &l->rank) || !lg_json_bool(c, o, "created", &l->created) ||
        !lg_json_stack(c, o, "stack", &l->stack) ||
        !lg_json_string(c, o, "class_kind", &l->class_kind))
        return false;
    l->has_rank = lg_json_member(o, "rank") != NULL;
    if (!l->type && !(l->type = strdup("mutex")))
        return lg_json_fail(c, "out of memory");
    return true;
}

static void free_lock(struct lg_graph_lock *l)
{
    free(l->key);
    free(l->type);
    free(l->mode);
    free(l->name);
    free(l->class_name);
    free(l->class_kind);
    lg_stack_free(&l->stack);
    memset(l, 0, sizeof *l);
}

static bool parse_edge(struct lg_json_ctx *c, json_object *o, struct lg_graph_edge *e)
{
    json_object *thread;
    if (!get_key(c, o, "from", &e->from) || !get_key(c, o, "to", &e->to) ||
        !lg_json_long(c, o, "instances", &e->instances) ||
        !lg_json_string(c, o, "held", &e->held) || !lg_json_string(c, o, "waited", &e->waited) ||
        !lg_json_string(c, o, "address_order", &e->address_order) ||
        !lg_json_string(c, o, "gate", &e->gate) || !lg_json_bool(c, o, "timed", &e->timed) ||
        !lg_json_bool(c, o, "first_stack_exact", &e->first_exact) ||
        !lg_json_stack(c, o, "first_stack", &e->first) ||
        !lg_json_stack(c, o, "second_stack", &e->second))
        return false;
    thread = lg_json_object(c, o, "thread", false);
    if (c->failed)
        return false;
    return !thread || lg_json_thread(c, thread, &e->thread);
}

static void free_edge(struct lg_graph_edge *e)
{
    free(e->from);
    free(e->to);
    free(e->held);
    free(e->waited);
    free(e->address_order);
    free(e->gate);
    lg_thread_free(&e->thread);
    lg_stack_free(&e->first);
    lg_stack_free(&e->second);
    memset(e, 0, sizeof *e);
}

/* Room for one more element of `size` bytes in *arr (n used, *cap). */
static bool grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * size);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static const char *kind_of(json_object *o)
{
    json_object *k = lg_json_member(o, "kind");
    return k && json_object_is_type(k, json_type_string) ? json_object_get_string(k) : NULL;
}

/* The header line. Returns false with the reason in the context. */
static bool parse_header(struct lg_json_ctx *c, json_object *o, struct lg_graph_file *g)
{
    const char *kind = kind_of(o);
    if (!kind)
        return lg_json_fail(c, "its first line has no \"kind\"");
    if (strcmp(kind, "graph") != 0)
        return lg_json_fail(c, "its first line is a \"%.40s\" line, not the \"graph\" header%s",
                            kind,
                            strncmp(kind, "graph-", 6) == 0 ? " (the start of the file is missing)"
                                                            : " (a findings file?)");
    long t = 0;
    bool ok = lg_json_long(c, o, "version", &g->version) && lg_json_long(c, o, "pid", &g->pid) &&
              lg_json_long(c, o, "time_ns", &t) && lg_json_string(c, o, "exe", &g->exe) &&
              lg_json_modules(c, o, &g->modules, &g->n_modules);
    g->time_ns = t;
    return ok;
}

/* One line after the header. Returns false with the reason in the context
 * (the line is then skipped). */
static bool parse_body_line(struct lg_json_ctx *c, json_object *o, struct lg_graph_file *g,
                            size_t lineno, size_t *unknown, char *first_unknown, size_t fu_len)
{
    const char *kind = kind_of(o);
    if (!kind)
        return lg_json_fail(c, "no \"kind\"");
    if (g->complete)
        return lg_json_fail(c, "a \"%.40s\" line after graph-end", kind);

    if (strcmp(kind, "graph-lock") == 0) {
        if (!grow((void **)&g->locks, g->n_locks, &g->cap_locks, sizeof *g->locks))
            return lg_json_fail(c, "out of memory");
        struct lg_graph_lock *l = &g->locks[g->n_locks];
        memset(l, 0, sizeof *l);
        if (!parse_lock(c, o, l)) {
            free_lock(l);
            return false;
        }
        l->line = lineno;
        g->n_locks++;
        if (l->class_kind && strcmp(l->class_kind, "addr") != 0)
            g->classes = true;
        return true;
    }
    if (strcmp(kind, "graph-edge") == 0) {
        if (!grow((void **)&g->edges, g->n_edges, &g->cap_edges, sizeof *g->edges))
            return lg_json_fail(c, "out of memory");
        struct lg_graph_edge *e = &g->edges[g->n_edges];
        memset(e, 0, sizeof *e);
        if (!parse_edge(c, o, e)) {
            free_edge(e);
            return false;
        }
        e->line = lineno;
        g->n_edges++;
        return true;
    }
    if (strcmp(kind, "graph-end") == 0) {
        if (!lg_json_long(c, o, "locks", &g->end_locks) ||
            !lg_json_long(c, o, "edges", &g->end_edges))
            return false;
        g->complete = true;
        return true;
    }
    if (strcmp(kind, "graph") == 0)
        return lg_json_fail(c, "a second \"graph\" header");
    if ((*unknown)++ == 0)
        snprintf(first_unknown, fu_len, "%.60s", kind);
    return true;
}

int lg_graph_read(const char *path, struct lg_graph_file *g, FILE *diag)
{
    memset(g, 0, sizeof *g);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(diag, "lockgraph: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!(g->path = strdup(path))) {
        fprintf(diag, "lockgraph: %s: out of memory\n", path);
        fclose(fp);
        return -1;
    }

    struct lg_jsonl_reader rd;
    lg_jsonl_open(&rd, fp);
    bool have_header = false, unusable = false;
    size_t unknown = 0;
    char first_unknown[64] = "";
    char err[512];
    const char *text;
    size_t len;
    enum lg_jsonl_next next;

    while ((next = lg_jsonl_next(&rd, &text, &len)) == LG_JSONL_LINE || next == LG_JSONL_LONG) {
        if (next == LG_JSONL_LONG) {
            if (!have_header) {
                fprintf(diag,
                        "lockgraph: %s:%zu: not a graph file: its first line is longer than "
                        "%zu MiB\n",
                        path, rd.lineno, LG_JSONL_MAX_LINE >> 20);
                unusable = true;
                break;
            }
            if (g->bad_lines++ < LG_FINDINGS_MAX_PROBLEMS)
                fprintf(diag,
                        "lockgraph: %s:%zu: bad line skipped: %llu bytes, longer than the %zu "
                        "MiB a line may have\n",
                        path, rd.lineno, (unsigned long long)rd.run_len, LG_JSONL_MAX_LINE >> 20);
            continue;
        }
        struct lg_json_ctx c = {.err = err, .errlen = sizeof err};
        bool blank;
        json_object *o = lg_json_line(&c, text, len, &blank);
        if (blank)
            continue;
        if (!have_header) {
            /* Without the header there is no module map, and the file is
             * most likely not a graph file at all: do not guess. */
            if (o)
                parse_header(&c, o, g);
            json_object_put(o);
            if (c.failed) {
                fprintf(diag, "lockgraph: %s:%zu: not a graph file: %s\n", path, rd.lineno, err);
                unusable = true;
                break;
            }
            have_header = true;
            continue;
        }
        if (o)
            parse_body_line(&c, o, g, rd.lineno, &unknown, first_unknown, sizeof first_unknown);
        json_object_put(o);
        if (c.failed && g->bad_lines++ < LG_FINDINGS_MAX_PROBLEMS)
            fprintf(diag, "lockgraph: %s:%zu: bad line skipped: %s\n", path, rd.lineno, err);
    }
    if (g->bad_lines > LG_FINDINGS_MAX_PROBLEMS)
        fprintf(diag, "lockgraph: %s: ... and %zu more bad lines (the first %d are named)\n", path,
                g->bad_lines - LG_FINDINGS_MAX_PROBLEMS, LG_FINDINGS_MAX_PROBLEMS);

    if (!unusable && next == LG_JSONL_ENDLESS) {
        fprintf(diag,
                "lockgraph: %s:%zu: no end of line in %llu MiB: not a graph file (binary data, "
                "or endless input?); stopped reading it\n",
                path, rd.lineno, (unsigned long long)(rd.run_len >> 20));
        unusable = true;
    }
    if (!unusable && next == LG_JSONL_ERROR) {
        fprintf(diag, "lockgraph: %s:%zu: read error: %s\n", path, rd.lineno + 1,
                strerror(errno ? errno : EIO));
        unusable = true;
    }
    if (!unusable && next == LG_JSONL_CUT) {
        fprintf(diag,
                "lockgraph: %s:%zu: warning: last line is incomplete (the process died while "
                "writing it?); ignored\n",
                path, rd.lineno);
        g->cut_line = true;
    }
    if (!unusable && !have_header) {
        fprintf(diag, "lockgraph: %s: not a graph file: %s\n", path,
                g->cut_line ? "its only line is incomplete" : "it is empty");
        unusable = true;
    }
    lg_jsonl_close(&rd);
    fclose(fp);
    if (unusable) {
        lg_graph_free(g);
        return -1;
    }

    g->read_locks = g->n_locks;
    g->read_edges = g->n_edges;
    if (unknown) {
        fprintf(diag,
                "lockgraph: %s: note: ignored %zu line%s of a kind this lockgraph does not "
                "know (\"%s\"%s)\n",
                path, unknown, unknown == 1 ? "" : "s", first_unknown, unknown > 1 ? ", ..." : "");
        g->unknown_lines = unknown;
    }
    if (!g->complete)
        fprintf(diag,
                "lockgraph: %s: warning: no graph-end line: the file was cut short (the "
                "process died while writing it?); using the %zu %s and %zu edge%s read\n",
                path, g->n_locks, lg_graph_noun(g->classes, g->n_locks), g->n_edges,
                g->n_edges == 1 ? "" : "s");
    else if ((size_t)g->end_locks != g->n_locks || (size_t)g->end_edges != g->n_edges)
        fprintf(diag,
                "lockgraph: %s: warning: graph-end counts %ld %s and %ld edges, %zu and "
                "%zu were read\n",
                path, g->end_locks, lg_graph_noun(g->classes, 2), g->end_edges, g->n_locks,
                g->n_edges);
    return 0;
}

const char *lg_graph_noun(bool classes, size_t n)
{
    if (classes)
        return n == 1 ? "lock class" : "lock classes";
    return n == 1 ? "lock" : "locks";
}

void lg_graph_free_lines(struct lg_graph_file *g)
{
    for (size_t i = 0; i < g->n_locks; i++)
        free_lock(&g->locks[i]);
    free(g->locks);
    for (size_t i = 0; i < g->n_edges; i++)
        free_edge(&g->edges[i]);
    free(g->edges);
    g->locks = NULL;
    g->edges = NULL;
    g->n_locks = g->cap_locks = g->n_edges = g->cap_edges = 0;
}

void lg_graph_free(struct lg_graph_file *g)
{
    free(g->path);
    free(g->exe);
    lg_modules_free(g->modules, g->n_modules);
    lg_graph_free_lines(g);
    memset(g, 0, sizeof *g);
}

void lg_graph_lock_free(struct lg_graph_lock *l)
{
    free_lock(l);
}

void lg_graph_edge_free(struct lg_graph_edge *e)
{
    free_edge(e);
}
