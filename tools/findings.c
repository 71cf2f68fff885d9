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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

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
    [LG_KIND_OTHER] = "other",
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

/* ---- the last line wins ---- */

/* The library writes a long-hold site, or a held-across-io pair, again at
 * exit with its totals; a reader keeps the last line of each. One file at
 * a time, keyed by (kind, pid, site or pair), in a table that grows: a
 * file of a hundred thousand pairs stays linear. */
struct last_line {
    uint64_t *keys; /* 0: empty slot */
    size_t *idx;    /* where in the set the finding of that key is */
    size_t cap, n;
};

/* The key of a finding that may be written again, or 0 for one that is not. */
static uint64_t last_line_key(const struct lg_finding *f)
{
    uint64_t what;
    if (f->kind == LG_KIND_LONG_HOLD && f->stack.n > 0)
        what = f->stack.pcs[0];
    else if ((f->kind == LG_KIND_HELD_ACROSS_IO || f->kind == LG_KIND_HELD_ACROSS_WAIT) &&
             f->pair > 0)
        what = (uint64_t)f->pair;
    else
        return 0;
    uint64_t k = lg_mix64(lg_mix64((uint64_t)f->kind * 0x9e3779b97f4a7c15ull + (uint64_t)f->pid) ^ what);
    return k ? k : 1;
}

/* The slot of `key`: where it is, or the empty one where it would go. */
static size_t last_line_slot(const struct last_line *t, uint64_t key)
{
    size_t i = (size_t)key & (t->cap - 1);
    while (t->keys[i] && t->keys[i] != key)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static bool last_line_grow(struct last_line *t)
{
    size_t cap = t->cap ? 2 * t->cap : 64;
    struct last_line g = {.keys = calloc(cap, sizeof *g.keys),
                          .idx = calloc(cap, sizeof *g.idx),
                          .cap = cap,
                          .n = t->n};
    if (!g.keys || !g.idx) {
        free(g.keys);
        free(g.idx);
        return false;
    }
    for (size_t i = 0; i < t->cap; i++)
        if (t->keys[i]) {
            size_t j = last_line_slot(&g, t->keys[i]);
            g.keys[j] = t->keys[i];
            g.idx[j] = t->idx[i];
        }
    free(t->keys);
    free(t->idx);
    *t = g;
    return true;
}

/* Put `f` in place of an earlier line of the same key and return true, or
 * note where it will go (set->n) and return false. Out of memory, lines
 * are simply all kept. */
static bool last_line_replace(struct last_line *t, struct lg_findings *set, struct lg_finding *f)
{
    uint64_t key = last_line_key(f);
    if (!key || ((t->n + 1) * 2 > t->cap && !last_line_grow(t)))
        return false;
    size_t i = last_line_slot(t, key);
    if (!t->keys[i]) {
        t->keys[i] = key;
        t->idx[i] = set->n;
        t->n++;
        return false;
    }
    struct lg_finding *old = &set->items[t->idx[i]];
    if (old->kind != f->kind || old->pid != f->pid)
        return false; /* a collision of the hash: keep both */
    /* The final line of a long hold is written at exit, when the thread
     * may have lost its name: the first line's still says who it was. */
    if ((!f->thread.name || !*f->thread.name) && old->thread.name && *old->thread.name &&
        old->thread.tid == f->thread.tid) {
        free(f->thread.name);
        f->thread.name = old->thread.name;
        old->thread.name = NULL;
    }
    lg_finding_free(old);
    *old = *f;
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
    struct last_line last = {0};
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
        if (f.file && last_line_replace(&last, set, &f))
            continue;
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
    free(last.keys);
    free(last.idx);
    lg_jsonl_close(&rd);
    fclose(fp);
    return rc;
}
