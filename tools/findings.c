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
#include "hash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jsonl.h"
#include "u64map.h"

static const char *const kind_names[LG_KIND_COUNT] = {
    [LG_KIND_CYCLE] = "lock-order-cycle",
    [LG_KIND_SELF_DEADLOCK] = "self-deadlock",
    [LG_KIND_UNLOCK_NOT_HELD] = "unlock-not-held",
    [LG_KIND_HELD_AT_EXIT] = "held-at-exit",
    [LG_KIND_RANK_VIOLATION] = "rank-violation",
    [LG_KIND_RANK_CYCLE] = "rank-order-cycle",
    [LG_KIND_DETECTOR_ERROR] = "detector-error",
    [LG_KIND_DEADLOCK] = "deadlock",
    [LG_KIND_LONG_WAIT] = "long-wait",
    [LG_KIND_LONG_HOLD] = "long-hold",
    [LG_KIND_HELD_ACROSS_IO] = "held-across-io",
    [LG_KIND_HELD_ACROSS_WAIT] = "held-across-wait",
    [LG_KIND_FORK_HELD] = "fork-with-locks-held",
    [LG_KIND_HELD_LOCK_FREED] = "held-lock-freed",
    [LG_KIND_OTHER] = "other",
};

const char *lg_kind_name(enum lg_kind kind)
{
    return (unsigned)kind < LG_KIND_COUNT ? kind_names[kind] : "unknown";
}

bool lg_finding_class_scope(const struct lg_finding *f)
{
    return f->kind == LG_KIND_CYCLE && f->scope && strcmp(f->scope, "class") == 0;
}

const char *lg_finding_kind(const struct lg_finding *f)
{
    if (f->kind == LG_KIND_OTHER)
        return f->other_kind ? f->other_kind : "unknown";
    return lg_kind_name(f->kind);
}

/* ---- the schema's building blocks ---- */

/* A lock's "lock_class": absent in files of earlier versions. */
static bool parse_lock_class(struct lg_json_ctx *c, json_object *obj, struct lg_lock_class *k)
{
    json_object *o = lg_json_object(c, obj, "lock_class", false);
    if (!o)
        return !c->failed;
    k->known = true;
    return lg_json_long(c, o, "id", &k->id) && lg_json_string(c, o, "kind", &k->kind) &&
           lg_json_string(c, o, "key", &k->key) && lg_json_stack(c, o, "site", &k->site);
}

static bool parse_lock(struct lg_json_ctx *c, json_object *obj, struct lg_lock *l)
{
    if (!json_object_is_type(obj, json_type_object))
        return lg_json_fail(c, "a lock is not an object");
    l->has_lock_id = lg_json_member(obj, "lock_id") != NULL;
    if (!lg_json_long(c, obj, "lock_id", &l->lock_id) || !parse_lock_class(c, obj, &l->cls))
        return false;
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
    free(l->cls.kind);
    free(l->cls.key);
    lg_stack_free(&l->cls.site);
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

/* An edge's "from_lock" or "to_lock": absent in files of earlier versions. */
static bool parse_edge_lock(struct lg_json_ctx *c, json_object *obj, const char *key,
                            struct lg_edge_lock *l)
{
    json_object *o = lg_json_object(c, obj, key, false);
    if (!o)
        return !c->failed;
    l->known = true;
    return lg_json_long(c, o, "id", &l->id) && lg_json_addr(c, o, "addr", &l->addr);
}

static bool parse_edge(struct lg_json_ctx *c, json_object *obj, struct lg_edge *e)
{
    if (!json_object_is_type(obj, json_type_object))
        return lg_json_fail(c, "an edge is not an object");
    if (!parse_edge_lock(c, obj, "from_lock", &e->from_lock) ||
        !parse_edge_lock(c, obj, "to_lock", &e->to_lock))
        return false;
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

/* A "held" array: held-at-exit's locks, those a rank-violation may not be
 * taken under (with stack_exact and why), a blocked thread's, or those
 * held across an I/O call (with key, shared and stack_exact). Absent reads
 * as none unless `required`. */
static bool parse_held_array(struct lg_json_ctx *c, json_object *o, bool required,
                             struct lg_held **out, size_t *n_out)
{
    json_object *arr = lg_json_array(c, o, "held", required), *obj;
    if (!arr)
        return !c->failed;
    size_t n = json_object_array_length(arr);
    if (!(*out = lg_json_calloc(c, n, sizeof **out)))
        return false;
    *n_out = n; /* zeroed, so a half-parsed array frees cleanly */
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(arr, i);
        struct lg_held *e = &(*out)[i];
        if (!json_object_is_type(h, json_type_object))
            return lg_json_fail(c, "a \"held\" entry is not an object");
        if (!(obj = lg_json_object(c, h, "lock", true)) || !parse_lock(c, obj, &e->lock) ||
            !lg_json_stack(c, h, "stack", &e->stack) ||
            !lg_json_bool(c, h, "stack_exact", &e->stack_exact) ||
            !lg_json_string(c, h, "why", &e->why) || !lg_json_string(c, h, "key", &e->key) ||
            !lg_json_bool(c, h, "shared", &e->shared))
            return false;
    }
    return true;
}

static bool parse_held(struct lg_json_ctx *c, json_object *o, struct lg_finding *f)
{
    return parse_held_array(c, o, true, &f->held, &f->n_held);
}

static void free_held(struct lg_held *held, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free_lock(&held[i].lock);
        lg_stack_free(&held[i].stack);
        free(held[i].why);
        free(held[i].key);
    }
    free(held);
}

/* A blocked thread: one of a deadlock's "threads", or a long wait's
 * "waiter" (FINDINGS.md "deadlock"). */
static bool parse_waiter(struct lg_json_ctx *c, json_object *obj, struct lg_waiter *w)
{
    json_object *sub;
    if (!json_object_is_type(obj, json_type_object))
        return lg_json_fail(c, "a waiting thread is not an object");
    if (!(sub = lg_json_object(c, obj, "thread", true)) || !lg_json_thread(c, sub, &w->thread))
        return false;
    if (!(sub = lg_json_object(c, obj, "waits_for", true)) || !parse_lock(c, sub, &w->waits_for))
        return false;
    /* A stack is whole unless the file says otherwise. */
    w->stack_full = true;
    if ((sub = lg_json_object(c, obj, "joins", false)) != NULL) {
        w->joins_known = true;
        if (!lg_json_thread(c, sub, &w->joins))
            return false;
    } else if (c->failed) {
        return false;
    }
    return lg_json_string(c, obj, "wait", &w->wait) && lg_json_bool(c, obj, "timed", &w->timed) &&
           lg_json_long(c, obj, "waiting_ms", &w->waiting_ms) &&
           lg_json_stack(c, obj, "stack", &w->stack) &&
           (!lg_json_member(obj, "stack_full") ||
            lg_json_bool(c, obj, "stack_full", &w->stack_full)) &&
           parse_held_array(c, obj, false, &w->held, &w->n_held);
}

static void free_waiter(struct lg_waiter *w)
{
    lg_thread_free(&w->thread);
    lg_thread_free(&w->joins);
    free_lock(&w->waits_for);
    free(w->wait);
    lg_stack_free(&w->stack);
    free_held(w->held, w->n_held);
    memset(w, 0, sizeof *w);
}

/* held-across-wait's "waits_on", as words for the reports. */
static bool parse_waits_on(struct lg_json_ctx *c, json_object *o, char **out)
{
    json_object *on = lg_json_object(c, o, "waits_on", false);
    if (!on)
        return !c->failed;
    char *what = NULL, *a = NULL, *name = NULL, *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return lg_json_fail(c, "out of memory");
    bool ok = lg_json_string(c, on, "what", &what);
    json_object *sub;
    if (!ok || !what) {
        fputs("?", m);
    } else if (strcmp(what, "join") == 0) {
        struct lg_thread t = {0};
        if ((sub = lg_json_object(c, on, "thread", false)) && lg_json_thread(c, sub, &t)) {
            fprintf(m, "thread %ld", t.seq);
            if (t.name && *t.name)
                fprintf(m, " \"%s\"", t.name);
            fprintf(m, " (tid %ld)", t.tid);
        } else {
            ok = ok && !c->failed && lg_json_string(c, on, "pthread", &a);
            fprintf(m, "thread with pthread_t %s", a ? a : "?");
        }
        lg_thread_free(&t);
    } else if (strcmp(what, "cond") == 0) {
        ok = lg_json_string(c, on, "cond", &a);
        fprintf(m, "condition variable %s", a ? a : "?");
        struct lg_lock l = {0};
        if (ok && (sub = lg_json_object(c, on, "mutex", false)) && lg_lock_from_json(sub, &l))
            fprintf(m, " with its mutex 0x%" PRIx64, l.addr);
        lg_lock_free(&l);
    } else if (strcmp(what, "barrier") == 0) {
        ok = lg_json_string(c, on, "barrier", &a);
        fprintf(m, "barrier %s", a ? a : "?");
    } else if (strcmp(what, "semaphore") == 0) {
        ok = lg_json_string(c, on, "semaphore", &a) && lg_json_string(c, on, "name", &name);
        fprintf(m, "semaphore %s", name ? name : a ? a : "?");
    } else if (strcmp(what, "process") == 0) {
        if (lg_json_member(on, "pid")) {
            long pid = 0;
            ok = lg_json_long(c, on, "pid", &pid);
            if (pid == -1)
                fputs("any child process", m);
            else
                fprintf(m, "process %ld", pid);
        } else {
            fputs("a child process", m);
        }
    } else {
        fputs(what, m);
    }
    fclose(m);
    free(what);
    free(a);
    free(name);
    if (!buf)
        return lg_json_fail(c, "out of memory");
    *out = buf;
    return ok && !c->failed;
}

/* A deadlock's "gone_owner": absent for a cycle. */
static bool parse_gone(struct lg_json_ctx *c, json_object *o, struct lg_finding *f)
{
    json_object *g = lg_json_object(c, o, "gone_owner", false), *sub;
    if (!g)
        return !c->failed;
    f->gone.known = true;
    if (!(sub = lg_json_object(c, g, "thread", true)) || !lg_json_thread(c, sub, &f->gone.thread))
        return false;
    f->gone.fork = lg_json_member(g, "fork_stack") != NULL;
    return lg_json_string(c, g, "gone", &f->gone.gone) &&
           lg_json_stack(c, g, "stack", &f->gone.stack) &&
           lg_json_stack(c, g, f->gone.fork ? "fork_stack" : "end_stack", &f->gone.where);
}

/* fork-with-locks-held's "threads": each a thread and what it held. */
static bool parse_fork_threads(struct lg_json_ctx *c, json_object *o, struct lg_finding *f)
{
    json_object *arr = lg_json_array(c, o, "threads", true), *sub;
    if (!arr)
        return false;
    size_t n = json_object_array_length(arr);
    if (!(f->waiters = lg_json_calloc(c, n, sizeof *f->waiters)))
        return false;
    f->n_waiters = n;
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(arr, i);
        struct lg_waiter *w = &f->waiters[i];
        if (!json_object_is_type(t, json_type_object))
            return lg_json_fail(c, "a thread is not an object");
        if (!(sub = lg_json_object(c, t, "thread", true)) || !lg_json_thread(c, sub, &w->thread) ||
            !parse_held_array(c, t, true, &w->held, &w->n_held))
            return false;
    }
    return lg_json_long(c, o, "parent_pid", &f->parent_pid) &&
           lg_json_stack(c, o, "fork_stack", &f->stack);
}

/* held-across-io's "fd": absent for calls that have none. */
static bool parse_fd(struct lg_json_ctx *c, json_object *o, struct lg_fd *fd)
{
    json_object *obj = lg_json_object(c, o, "fd", false);
    if (!obj)
        return !c->failed;
    fd->present = true;
    return lg_json_long(c, obj, "num", &fd->num) && lg_json_string(c, obj, "type", &fd->type) &&
           lg_json_string(c, obj, "path", &fd->path) && lg_json_string(c, obj, "peer", &fd->peer) &&
           lg_json_string(c, obj, "local", &fd->local);
}

/* ---- one line ---- */

static bool parse_kind_fields(struct lg_json_ctx *c, json_object *o, struct lg_finding *f)
{
    json_object *arr, *obj;

    switch (f->kind) {
    case LG_KIND_CYCLE: {
        if (!lg_json_bool(c, o, "timed", &f->timed) ||
            !lg_json_bool(c, o, "single_thread", &f->single_thread) ||
            !lg_json_string(c, o, "scope", &f->scope))
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
    case LG_KIND_DEADLOCK: {
        if (!lg_json_bool(c, o, "timed", &f->timed) ||
            !lg_json_string(c, o, "found_by", &f->found_by))
            return false;
        if (!(arr = lg_json_array(c, o, "threads", true)))
            return false;
        size_t n = json_object_array_length(arr);
        if (n == 0)
            return lg_json_fail(c, "a deadlock with no threads");
        if (!(f->waiters = lg_json_calloc(c, n, sizeof *f->waiters)))
            return false;
        f->n_waiters = n; /* zeroed, so a half-parsed array frees cleanly */
        for (size_t i = 0; i < n; i++)
            if (!parse_waiter(c, json_object_array_get_idx(arr, i), &f->waiters[i]))
                return false;
        return parse_gone(c, o, f);
    }
    case LG_KIND_LONG_WAIT:
        if (!lg_json_long(c, o, "threshold_ms", &f->threshold_ms))
            return false;
        if (!(obj = lg_json_object(c, o, "waiter", true)))
            return false;
        if (!(f->waiters = lg_json_calloc(c, 1, sizeof *f->waiters)))
            return false;
        f->n_waiters = 1;
        if (!parse_waiter(c, obj, &f->waiters[0]))
            return false;
        if (!(obj = lg_json_object(c, o, "owner", false)))
            return !c->failed;
        f->owner.known = true;
        if (!(o = lg_json_object(c, obj, "thread", true)) ||
            !lg_json_thread(c, o, &f->owner.thread))
            return false;
        return lg_json_stack(c, obj, "stack", &f->owner.stack);
    case LG_KIND_LONG_HOLD:
        if (!(obj = lg_json_object(c, o, "lock", true)) || !parse_lock(c, obj, &f->lock))
            return false;
        if (!(obj = lg_json_object(c, o, "thread", true)) || !lg_json_thread(c, obj, &f->thread))
            return false;
        f->has_held_ms = lg_json_member(o, "held_ms") != NULL;
        return lg_json_stack(c, o, "stack", &f->stack) &&
               lg_json_long(c, o, "held_ms", &f->held_ms) &&
               lg_json_long(c, o, "count", &f->count) &&
               lg_json_long(c, o, "worst_ms", &f->worst_ms) &&
               lg_json_bool(c, o, "final", &f->final) &&
               lg_json_long(c, o, "threshold_ms", &f->threshold_ms);
    case LG_KIND_HELD_ACROSS_IO:
        if (!(obj = lg_json_object(c, o, "thread", true)) || !lg_json_thread(c, obj, &f->thread))
            return false;
        return lg_json_long(c, o, "pair", &f->pair) && lg_json_long(c, o, "count", &f->count) &&
               lg_json_bool(c, o, "final", &f->final) && lg_json_string(c, o, "call", &f->call) &&
               lg_json_string(c, o, "family", &f->family) && parse_fd(c, o, &f->fd) &&
               lg_json_stack(c, o, "stack", &f->stack) && parse_held(c, o, f);
    case LG_KIND_HELD_ACROSS_WAIT:
        if (!(obj = lg_json_object(c, o, "thread", true)) || !lg_json_thread(c, obj, &f->thread))
            return false;
        return lg_json_long(c, o, "pair", &f->pair) && lg_json_long(c, o, "count", &f->count) &&
               lg_json_bool(c, o, "final", &f->final) && lg_json_string(c, o, "call", &f->call) &&
               lg_json_string(c, o, "family", &f->family) && parse_waits_on(c, o, &f->waits_on) &&
               lg_json_stack(c, o, "stack", &f->stack) && parse_held(c, o, f);
    case LG_KIND_FORK_HELD:
        return parse_fork_threads(c, o, f);
    case LG_KIND_HELD_LOCK_FREED:
        /* Who frees it and where, the lock, and who holds it: the holder
         * is kept as the owner. */
        if (!(obj = lg_json_object(c, o, "lock", true)) || !parse_lock(c, obj, &f->lock))
            return false;
        if (!(obj = lg_json_object(c, o, "thread", true)) || !lg_json_thread(c, obj, &f->thread))
            return false;
        if ((obj = lg_json_object(c, o, "holder", false)) != NULL) {
            f->owner.known = true;
            if (!lg_json_thread(c, obj, &f->owner.thread))
                return false;
        } else if (c->failed) {
            return false;
        }
        return lg_json_string(c, o, "call", &f->call) && lg_json_stack(c, o, "stack", &f->stack) &&
               lg_json_stack(c, o, "holder_stack", &f->owner.stack) &&
               lg_json_string(c, o, "held", &f->hold);
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
    free(f->scope);
    free(f->hold);
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
    free_held(f->held, f->n_held);
    for (size_t i = 0; i < f->n_waiters; i++)
        free_waiter(&f->waiters[i]);
    free(f->waiters);
    free(f->found_by);
    lg_thread_free(&f->owner.thread);
    lg_stack_free(&f->owner.stack);
    free(f->waits_on);
    lg_thread_free(&f->gone.thread);
    free(f->gone.gone);
    lg_stack_free(&f->gone.stack);
    lg_stack_free(&f->gone.where);
    free(f->call);
    free(f->family);
    free(f->fd.type);
    free(f->fd.path);
    free(f->fd.peer);
    free(f->fd.local);
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

/* ---- the last line wins ---- */

/* The library writes a long-hold site, or a held-across-io or
 * held-across-wait pair, again at exit with its totals, and a reader keeps
 * the last line of each, where the first one stood (FINDINGS.md).
 * Streaming, the first line is handed on before the last is read; so a
 * regular file is first scanned for the lines that repeat a key, cheaply
 * (only lines naming one of those kinds are parsed), and when the first
 * line of a key comes, its later lines are read ahead and folded in.
 * Memory: a few words per such key and line, not the findings. A pipe
 * cannot be read twice: there such findings are held back, each with its
 * last line, until the end of the file. */

/* The key of a finding that may be written again (of kind `kind` in
 * process `pid`, with its first stack frame or pair), or 0 for one that is
 * not. */
static uint64_t repeat_key(enum lg_kind kind, long pid, const uint64_t *pc0, long pair)
{
    uint64_t what;
    if (kind == LG_KIND_LONG_HOLD && pc0)
        what = *pc0;
    else if ((kind == LG_KIND_HELD_ACROSS_IO || kind == LG_KIND_HELD_ACROSS_WAIT) && pair > 0)
        what = (uint64_t)pair;
    else
        return 0;
    uint64_t k = lg_mix64(lg_mix64((uint64_t)kind * 0x9e3779b97f4a7c15ull + (uint64_t)pid) ^ what);
    return k ? k : 1;
}

static uint64_t last_line_key(const struct lg_finding *f)
{
    return repeat_key(f->kind, f->pid, f->stack.n ? &f->stack.pcs[0] : NULL, f->pair);
}

/* Can this line be one of those kinds? The kind is a JSON string. */
static bool may_repeat(const char *text, size_t len)
{
    return memmem(text, len, "long-hold\"", 10) || memmem(text, len, "held-across-io\"", 15) ||
           memmem(text, len, "held-across-wait\"", 17);
}

/* ---- a quick look at a line's top-level members ---- */

/* What the scan needs of a line: its kind, pid, pair and first stack
 * frame, read without building the object. */
struct glance {
    enum lg_kind kind;
    long pid, pair;
    bool has_pc0;
    uint64_t pc0;
};

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* Past a JSON string starting at p ('"'); NULL when it does not end. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past one value of any type; NULL when the line ends first. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if (!(p = skip_string(p, end)))
                return NULL;
            if (depth == 0)
                return p;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return p; /* the end of the enclosing object: an empty value */
            if (--depth == 0)
                return p + 1;
        } else if (c == ',' && depth == 0) {
            return p;
        }
        p++;
    }
    return depth == 0 ? p : NULL;
}

/* A plain string value (no escapes) equal to `want`? */
static bool string_is(const char *p, const char *end, const char *want)
{
    size_t n = strlen(want);
    return (size_t)(end - p) > n + 1 && p[0] == '"' && memcmp(p + 1, want, n) == 0 &&
           p[n + 1] == '"';
}

/* The members of the top-level object that the key of a repeated line is
 * made of. False when the line is not that simple (escaped keys, bad
 * syntax): the caller then parses it properly. */
static bool glance_at(const char *text, size_t len, struct glance *g)
{
    const char *p = text, *end = text + len;
    memset(g, 0, sizeof *g);
    g->kind = LG_KIND_OTHER;
    p = skip_ws(p, end);
    if (p == end || *p++ != '{')
        return false;
    for (;;) {
        p = skip_ws(p, end);
        if (p < end && *p == '}')
            return true;
        if (p == end || *p != '"')
            return false;
        const char *key = p + 1, *kend = skip_string(p, end);
        if (!kend || memchr(key, '\\', (size_t)(kend - key)))
            return false;
        size_t klen = (size_t)(kend - 1 - key);
        p = skip_ws(kend, end);
        if (p == end || *p++ != ':')
            return false;
        p = skip_ws(p, end);
        if (klen == 4 && memcmp(key, "kind", 4) == 0) {
            if (string_is(p, end, "long-hold"))
                g->kind = LG_KIND_LONG_HOLD;
            else if (string_is(p, end, "held-across-io"))
                g->kind = LG_KIND_HELD_ACROSS_IO;
            else if (string_is(p, end, "held-across-wait"))
                g->kind = LG_KIND_HELD_ACROSS_WAIT;
        } else if ((klen == 3 && memcmp(key, "pid", 3) == 0) ||
                   (klen == 4 && memcmp(key, "pair", 4) == 0)) {
            char *num_end;
            long v = strtol(p, &num_end, 10);
            if (num_end == p)
                return false;
            *(klen == 3 ? &g->pid : &g->pair) = v;
        } else if (klen == 5 && memcmp(key, "stack", 5) == 0 && p < end && *p == '[') {
            const char *q = skip_ws(p + 1, end);
            if (q < end && *q == '"') {
                char *num_end;
                g->pc0 = strtoull(q + 1, &num_end, 16);
                g->has_pc0 = num_end > q + 1 && *num_end == '"';
            }
        }
        if (!(p = skip_value(p, end)))
            return false;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        return p < end && *p == '}';
    }
}

/* The key of a line that may repeat one before it, or 0. */
static uint64_t line_key(const char *text, size_t len, enum lg_kind *kind, long *pid)
{
    struct glance g;
    if (glance_at(text, len, &g)) {
        *kind = g.kind;
        *pid = g.pid;
        return repeat_key(g.kind, g.pid, g.has_pc0 ? &g.pc0 : NULL, g.pair);
    }
    /* Not simple enough to glance at: parsed whole. */
    struct lg_finding f;
    bool unknown;
    char err[8];
    if (lg_finding_parse(text, len, &f, &unknown, err, sizeof err) != 1)
        return 0;
    uint64_t key = last_line_key(&f);
    *kind = f.kind;
    *pid = f.pid;
    lg_finding_free(&f);
    return key;
}

/* `f` replaces `old`: the final line of a long hold is written at exit,
 * when the thread may have lost its name; the first line's still says who
 * it was. */
static void replace_finding(struct lg_finding *old, struct lg_finding *f)
{
    if ((!f->thread.name || !*f->thread.name) && old->thread.name && *old->thread.name &&
        old->thread.tid == f->thread.tid) {
        free(f->thread.name);
        f->thread.name = old->thread.name;
        old->thread.name = NULL;
    }
    lg_finding_free(old);
    *old = *f;
}

struct repeat_key {
    enum lg_kind kind;
    long pid;
    uint64_t tail; /* offset of the last line of the key so far */
};

struct link {
    uint64_t next; /* offset of the line that replaces this one */
    size_t next_line;
};

/* What the scan of a regular file found. */
struct plan {
    struct lg_u64map keys; /* key -> index in `rk` */
    struct repeat_key *rk;
    size_t n_rk, cap_rk;
    struct lg_u64map links; /* offset of a line -> index in `ln` */
    struct link *ln;
    size_t n_ln, cap_ln;
    struct lg_u64map folded; /* offsets of lines folded into an earlier one */
};

static void plan_free(struct plan *p)
{
    lg_u64map_free(&p->keys);
    lg_u64map_free(&p->links);
    lg_u64map_free(&p->folded);
    free(p->rk);
    free(p->ln);
    memset(p, 0, sizeof *p);
}

static bool grow_array(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? 2 * *cap : 16;
    void *q = realloc(*arr, ncap * size);
    if (!q)
        return false;
    *arr = q;
    *cap = ncap;
    return true;
}

/* A line of key `key` at `off`: the first of its key, or one that follows
 * the last. Out of memory, lines are simply all kept. */
static void plan_line(struct plan *p, uint64_t key, enum lg_kind kind, long pid, uint64_t off,
                      size_t lineno)
{
    uint64_t i;
    if (!lg_u64map_get(&p->keys, key, &i)) {
        if (!grow_array((void **)&p->rk, p->n_rk, &p->cap_rk, sizeof *p->rk) ||
            lg_u64map_put(&p->keys, key, p->n_rk) != 0)
            return;
        p->rk[p->n_rk++] = (struct repeat_key){.kind = kind, .pid = pid, .tail = off};
        return;
    }
    struct repeat_key *k = &p->rk[i];
    if (k->kind != kind || k->pid != pid)
        return; /* a collision of the hash: keep both */
    if (!grow_array((void **)&p->ln, p->n_ln, &p->cap_ln, sizeof *p->ln) ||
        lg_u64map_put(&p->links, k->tail, p->n_ln) != 0)
        return;
    p->ln[p->n_ln++] = (struct link){.next = off, .next_line = lineno};
    k->tail = off;
}

/* Scan `fp` for lines that repeat a key. Lines that cannot be read plan
 * nothing: the main read says what is wrong with them. */
static void plan_file(struct plan *p, FILE *fp)
{
    struct lg_jsonl_reader rd;
    lg_jsonl_open(&rd, fp);
    const char *text;
    size_t len;
    enum lg_jsonl_next next;
    while ((next = lg_jsonl_next(&rd, &text, &len)) == LG_JSONL_LINE || next == LG_JSONL_LONG) {
        if (next != LG_JSONL_LINE || !may_repeat(text, len))
            continue;
        enum lg_kind kind;
        long pid;
        uint64_t key = line_key(text, len, &kind, &pid);
        if (key)
            plan_line(p, key, kind, pid, rd.offset, rd.lineno);
    }
    lg_jsonl_close(&rd);
}

/* Fold the later lines of `f` (read at `off`) into it, reading them from
 * `ahead` (the same file). A later line that is not a finding after all
 * is skipped here, and named where it stands. */
static void fold_later_lines(struct plan *p, FILE *ahead, uint64_t off, struct lg_finding *f,
                             size_t *line)
{
    uint64_t i;
    struct lg_jsonl_reader rd;
    lg_jsonl_open(&rd, ahead);
    while (lg_u64map_get(&p->links, off, &i) && i < p->n_ln) {
        const struct link *l = &p->ln[i];
        const char *text;
        size_t len;
        struct lg_finding g;
        bool unknown;
        char err[8];
        off = l->next;
        if (lg_jsonl_seek(&rd, l->next, l->next_line) != 0 ||
            lg_jsonl_next(&rd, &text, &len) != LG_JSONL_LINE)
            break; /* the file changed under us: keep what we have */
        if (lg_finding_parse(text, len, &g, &unknown, err, sizeof err) != 1)
            continue; /* not a finding: named where it stands */
        if (g.kind != f->kind || g.pid != f->pid || last_line_key(&g) != last_line_key(f)) {
            lg_finding_free(&g); /* the glance was wrong: it stays a finding of its own */
            continue;
        }
        if (lg_u64map_put(&p->folded, l->next, 1) != 0) {
            lg_finding_free(&g);
            break; /* out of memory: the line stays a finding of its own */
        }
        replace_finding(f, &g);
        *line = l->next_line;
    }
    lg_jsonl_close(&rd);
}

/* Findings held back from a pipe, each with its last line so far. */
struct held_back {
    struct lg_u64map keys; /* key -> index in items */
    struct lg_finding *items;
    size_t n, cap;
};

/* ---- reading a file ---- */

struct reading {
    struct lg_findings *counts;
    const char *path;
    FILE *diag;
    size_t problems; /* lines of this file that could not be used */
    size_t emitted;  /* findings handed on */
    lg_finding_sink sink;
    void *arg;
    bool stopped; /* the sink said stop */
};

__attribute__((format(printf, 3, 4))) static void problem(struct reading *rd, size_t lineno,
                                                          const char *fmt, ...)
{
    rd->counts->corrupt_lines++;
    if (rd->problems++ >= LG_FINDINGS_MAX_PROBLEMS)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(rd->diag, "lockgraph: %s:%zu: ", rd->path, lineno);
    vfprintf(rd->diag, fmt, ap);
    fputc('\n', rd->diag);
    va_end(ap);
}

static void emit(struct reading *rd, struct lg_finding *f, size_t lineno)
{
    f->line = lineno;
    if (!(f->file = strdup(rd->path))) {
        fprintf(rd->diag, "lockgraph: %s:%zu: out of memory; stopped reading\n", rd->path, lineno);
        lg_finding_free(f);
        rd->counts->corrupt_lines++;
        rd->stopped = true;
        return;
    }
    rd->emitted++;
    if (rd->sink(rd->arg, f) != 0) {
        fprintf(rd->diag, "lockgraph: %s:%zu: out of memory; stopped reading\n", rd->path, lineno);
        rd->stopped = true;
    }
}

static bool hold_back(struct held_back *h, struct lg_finding *f, uint64_t key)
{
    uint64_t i;
    if (lg_u64map_get(&h->keys, key, &i)) {
        struct lg_finding *old = &h->items[i];
        if (old->kind != f->kind || old->pid != f->pid)
            return false; /* a collision of the hash: keep both */
        size_t line = f->line;
        replace_finding(old, f);
        old->line = line;
        return true;
    }
    if (!grow_array((void **)&h->items, h->n, &h->cap, sizeof *h->items) ||
        lg_u64map_put(&h->keys, key, h->n) != 0)
        return false;
    h->items[h->n++] = *f;
    return true;
}

int lg_findings_stream_file(struct lg_findings *counts, const char *path, FILE *diag,
                            lg_finding_sink sink, void *arg)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(diag, "lockgraph: cannot open %s: %s\n", path, strerror(errno));
        counts->unreadable_files++;
        return -1;
    }
    struct stat st;
    bool regular = fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode);
    struct plan plan = {0};
    struct held_back held = {0};
    FILE *ahead = NULL;
    if (regular) {
        plan_file(&plan, fp);
        if (plan.n_ln && !(ahead = fopen(path, "r")))
            plan_free(&plan); /* no second look: the lines are all kept */
        if (fseeko(fp, 0, SEEK_SET) != 0)
            regular = false;
    }

    struct reading rd = {.counts = counts, .path = path, .diag = diag, .sink = sink, .arg = arg};
    struct lg_jsonl_reader jr;
    lg_jsonl_open(&jr, fp);
    size_t unknown = 0, lines = 0;
    char first_unknown[80] = "";
    char err[512];
    const char *buf;
    size_t len;
    enum lg_jsonl_next next;
    int rc = 0;
    bool graph = false;

    while (!rd.stopped &&
           ((next = lg_jsonl_next(&jr, &buf, &len)) == LG_JSONL_LINE || next == LG_JSONL_LONG)) {
        size_t lineno = jr.lineno;
        uint64_t off = jr.offset;
        if (next == LG_JSONL_LONG) {
            lines++;
            problem(&rd, lineno,
                    "line of %llu bytes is longer than the %zu MiB a line may have; "
                    "skipped",
                    (unsigned long long)jr.run_len, LG_JSONL_MAX_LINE >> 20);
            continue;
        }
        if (lines++ == 0 && lg_is_graph_header(buf, len)) {
            fprintf(diag,
                    "lockgraph: %s:%zu: a graph file (written by graph=), not a findings file: "
                    "read it with lockgraph merge, dot or ranks; skipped\n",
                    path, lineno);
            graph = true;
            break;
        }
        uint64_t dummy;
        if (plan.n_ln && lg_u64map_get(&plan.folded, off, &dummy))
            continue; /* folded into an earlier line already */
        struct lg_finding f;
        bool unknown_kind;
        int r = lg_finding_parse(buf, len, &f, &unknown_kind, err, sizeof err);
        if (r < 0) {
            problem(&rd, lineno, "corrupt line skipped: %s", err);
            continue;
        }
        if (r == 0)
            continue;
        if (unknown_kind && unknown++ == 0)
            snprintf(first_unknown, sizeof first_unknown, "\"%.40s\" on line %zu", f.other_kind,
                     lineno);
        if (plan.n_ln)
            fold_later_lines(&plan, ahead, off, &f, &lineno);
        uint64_t key;
        if (!regular && (key = last_line_key(&f)) != 0) {
            f.line = lineno;
            if (hold_back(&held, &f, key))
                continue;
        }
        emit(&rd, &f, lineno);
    }
    if (graph) {
        counts->unreadable_files++;
        rc = -1;
        next = LG_JSONL_END;
    }
    for (size_t i = 0; i < held.n; i++) {
        if (rd.stopped)
            lg_finding_free(&held.items[i]);
        else
            emit(&rd, &held.items[i], held.items[i].line);
    }
    free(held.items);
    lg_u64map_free(&held.keys);

    if (!graph && next == LG_JSONL_CUT) {
        if (lg_json_is_cut_object(buf, len)) {
            fprintf(diag,
                    "lockgraph: %s:%zu: warning: last line is incomplete "
                    "(the process died while writing it?); ignored\n",
                    path, jr.lineno);
            counts->truncated_lines++;
        } else {
            /* Not the start of a finding: garbage, not a writer cut short. */
            problem(&rd, jr.lineno,
                    "corrupt line skipped: not valid JSON (and no newline at "
                    "the end)");
        }
    }
    if (rd.problems > LG_FINDINGS_MAX_PROBLEMS)
        fprintf(diag, "lockgraph: %s: ... and %zu more unreadable lines (the first %d are named)\n",
                path, rd.problems - LG_FINDINGS_MAX_PROBLEMS, LG_FINDINGS_MAX_PROBLEMS);
    if (!graph && next == LG_JSONL_ENDLESS) {
        fprintf(diag,
                "lockgraph: %s:%zu: no end of line in %llu MiB: not a findings file (binary "
                "data, or endless input?); stopped reading it\n",
                path, jr.lineno, (unsigned long long)(jr.run_len >> 20));
        counts->unreadable_files++;
        rc = -1;
    } else if (!graph && next == LG_JSONL_ERROR) {
        fprintf(diag, "lockgraph: %s:%zu: read error: %s\n", path, jr.lineno + 1,
                strerror(errno ? errno : EIO));
        counts->unreadable_files++;
        rc = -1;
    } else if (!graph) {
        counts->files_read++;
        if (lines == 0 && next != LG_JSONL_CUT)
            counts->empty_files++;
        if (rd.emitted > 0 || rd.problems == 0)
            counts->usable_files++;
    }
    if (unknown) {
        /* Named with the first line that has one, so the user can look. */
        fprintf(diag,
                "lockgraph: %s: note: %zu finding%s of a kind this lockgraph does not know "
                "(%s%s); a newer liblockgraph? shown field by field\n",
                path, unknown, unknown == 1 ? "" : "s", first_unknown, unknown > 1 ? ", ..." : "");
        counts->unknown_lines += unknown;
    }
    plan_free(&plan);
    if (ahead)
        fclose(ahead);
    lg_jsonl_close(&jr);
    fclose(fp);
    return rc;
}

/* ---- into a set ---- */

static int push_sink(void *arg, struct lg_finding *f)
{
    struct lg_findings *set = arg;
    if (push(set, f))
        return 0;
    lg_finding_free(f);
    return -1;
}

int lg_findings_read_file(struct lg_findings *set, const char *path, FILE *diag)
{
    return lg_findings_stream_file(set, path, diag, push_sink, set);
}
